//! The signing interface the core builds against. Implementations (software keys,
//! PKCS#11) live in the signer crate; the core only ever sees this trait.

use crate::KeyType;

/// A key that signs. `sign` returns the signature in the encoding X.509 expects for
/// the key type (DER ECDSA-Sig-Value, PKCS#1 v1.5, raw Ed25519).
pub trait Signer: Send + Sync {
    fn key_type(&self) -> KeyType;
    /// The subjectPublicKey bits (uncompressed EC point, RSAPublicKey DER, or Ed25519 key).
    fn public_key_raw(&self) -> &[u8];
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String>;
}

/// Adapts a [`Signer`] to rcgen's signing interface.
pub(crate) struct RcgenKey(pub std::sync::Arc<dyn Signer>);

impl rcgen::PublicKeyData for RcgenKey {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key_raw()
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.0.key_type().rcgen_alg()
    }
}

impl rcgen::SigningKey for RcgenKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// A subject public key: its raw bits and its type, for certificates we sign.
pub(crate) struct SubjectKey<'a> {
    pub raw: &'a [u8],
    pub key_type: KeyType,
}

impl rcgen::PublicKeyData for SubjectKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.raw
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.key_type.rcgen_alg()
    }
}
