//! Software keys held in memory, backed by aws-lc-rs.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use ironpki_x509::{KeyType, Signer};
use zeroize::Zeroizing;

use crate::Error;

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private key in memory. Its `Debug` shows only the type.
pub struct SoftwareKey {
    key_type: KeyType,
    inner: Inner,
    public: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SoftwareKey({})", self.key_type)
    }
}

/// A new key and its PKCS#8 (v1) DER encoding.
pub struct GeneratedKey {
    pub key: SoftwareKey,
    pub pkcs8: Zeroizing<Vec<u8>>,
}

impl GeneratedKey {
    /// The private key as PKCS#8 PEM ("PRIVATE KEY"), for a leaf's owner.
    pub fn pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem::encode_config(
            &pem::Pem::new("PRIVATE KEY", self.pkcs8.to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        ))
    }
}

fn ecdsa_alg(key_type: KeyType) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match key_type {
        KeyType::EcdsaP256 => Some(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeyType::EcdsaP384 => Some(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        _ => None,
    }
}

impl SoftwareKey {
    pub fn generate(key_type: KeyType) -> Result<GeneratedKey, Error> {
        let fail = |_| Error::KeyGen(key_type.to_string());
        let pkcs8 = if let Some(alg) = ecdsa_alg(key_type) {
            let pair = EcdsaKeyPair::generate(alg).map_err(fail)?;
            Zeroizing::new(pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec())
        } else if key_type == KeyType::Ed25519 {
            let pair = Ed25519KeyPair::generate().map_err(fail)?;
            Zeroizing::new(pair.to_pkcs8v1().map_err(fail)?.as_ref().to_vec())
        } else {
            let size = match key_type.rsa_bits() {
                Some(2048) => KeySize::Rsa2048,
                Some(3072) => KeySize::Rsa3072,
                _ => KeySize::Rsa4096,
            };
            let pair = RsaKeyPair::generate(size).map_err(fail)?;
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(fail)?;
            Zeroizing::new(der.as_ref().to_vec())
        };
        let key = SoftwareKey::from_pkcs8(&pkcs8, key_type)?;
        Ok(GeneratedKey { key, pkcs8 })
    }

    /// Loads a PKCS#8 key of the given type.
    pub fn from_pkcs8(der: &[u8], key_type: KeyType) -> Result<SoftwareKey, Error> {
        let bad = |e: aws_lc_rs::error::KeyRejected| Error::MalformedKey(format!("not a {key_type} key: {e}"));
        let (inner, public) = if let Some(alg) = ecdsa_alg(key_type) {
            let pair = EcdsaKeyPair::from_pkcs8(alg, der).map_err(bad)?;
            let public = pair.public_key().as_ref().to_vec();
            (Inner::Ecdsa(pair), public)
        } else if key_type == KeyType::Ed25519 {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?;
            let public = pair.public_key().as_ref().to_vec();
            (Inner::Ed25519(pair), public)
        } else {
            let pair = RsaKeyPair::from_pkcs8(der).map_err(bad)?;
            let bits = pair.public_modulus_len() as u32 * 8;
            if Some(bits) != key_type.rsa_bits() {
                return Err(Error::MalformedKey(format!("expected a {key_type} key, found rsa-{bits}")));
            }
            let public = pair.public_key().as_ref().to_vec();
            (Inner::Rsa(pair), public)
        };
        Ok(SoftwareKey { key_type, inner, public, rng: SystemRandom::new() })
    }
}

impl Signer for SoftwareKey {
    fn key_type(&self) -> KeyType {
        self.key_type
    }

    fn public_key_raw(&self) -> &[u8] {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match &self.inner {
            Inner::Ecdsa(pair) => pair.sign(&self.rng, msg).map(|s| s.as_ref().to_vec()).map_err(|e| e.to_string()),
            Inner::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
            Inner::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &self.rng, msg, &mut sig).map_err(|e| e.to_string())?;
                Ok(sig)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{decrypt_pkcs8, encrypt_pkcs8, Passphrase};

    #[test]
    fn every_key_type_generates_signs_and_round_trips() {
        for kt in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Ed25519, KeyType::Rsa2048] {
            let g = SoftwareKey::generate(kt).unwrap();
            assert!(!g.key.sign(b"msg").unwrap().is_empty());
            let again = SoftwareKey::from_pkcs8(&g.pkcs8, kt).unwrap();
            assert_eq!(again.public_key_raw(), g.key.public_key_raw());
        }
    }

    #[test]
    fn envelope_round_trip_and_wrong_passphrase() {
        let g = SoftwareKey::generate(KeyType::EcdsaP256).unwrap();
        let pass = Passphrase::new("correct horse".into());
        let pem = encrypt_pkcs8(&g.pkcs8, &pass).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert_eq!(&*decrypt_pkcs8(&pem, &pass).unwrap(), &*g.pkcs8);
        assert!(matches!(decrypt_pkcs8(&pem, &Passphrase::new("wrong".into())), Err(Error::Decrypt)));
        assert_eq!(format!("{pass:?}"), "Passphrase(<redacted>)");
    }
}
