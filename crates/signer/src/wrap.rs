//! Short secrets kept at rest (ACME External Account Binding MAC keys), sealed with
//! AES-256-GCM under a key derived from the CA passphrase with scrypt, so the store holds
//! them only encrypted; a process that knows the passphrase derives the key once.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use pkcs8::pkcs5;
use zeroize::Zeroizing;

use crate::{Error, Passphrase};

/// scrypt cost, as the CA key envelope's: N = 2^14, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 14;

pub struct WrapKey(LessSafeKey);

impl std::fmt::Debug for WrapKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WrapKey(redacted)")
    }
}

impl WrapKey {
    /// The key for `passphrase` and the store's `salt`.
    pub fn derive(passphrase: &Passphrase, salt: &[u8]) -> Result<WrapKey, Error> {
        let params = pkcs5::scrypt::Params::new(SCRYPT_LOG_N, 8, 1, 32).map_err(|e| Error::Encrypt(e.to_string()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        pkcs5::scrypt::scrypt(passphrase.expose().as_bytes(), salt, &params, key.as_mut()).map_err(|e| Error::Encrypt(e.to_string()))?;
        let unbound = UnboundKey::new(&AES_256_GCM, key.as_ref()).map_err(|_| Error::Encrypt("AES-256-GCM key".into()))?;
        Ok(WrapKey(LessSafeKey::new(unbound)))
    }

    /// Seals `secret`, bound to `context` (authenticated, not encrypted): a random nonce,
    /// then the ciphertext and its tag.
    pub fn seal(&self, secret: &[u8], context: &[u8]) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| Error::Encrypt("random number generator failed".into()))?;
        let mut sealed = secret.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut sealed)
            .map_err(|_| Error::Encrypt("sealing failed".into()))?;
        Ok([&nonce[..], &sealed].concat())
    }

    /// Opens what [`WrapKey::seal`] sealed with the same `context`; [`Error::Decrypt`] for
    /// another passphrase, another context, or damaged bytes.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        if sealed.len() < NONCE_LEN {
            return Err(Error::Decrypt);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).map_err(|_| Error::Decrypt)?;
        let mut buffer = Zeroizing::new(sealed[NONCE_LEN..].to_vec());
        let plain_len = self.0.open_in_place(nonce, Aad::from(context), buffer.as_mut_slice()).map_err(|_| Error::Decrypt)?.len();
        buffer.truncate(plain_len);
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_passphrase_salt_and_context() {
        let key = WrapKey::derive(&Passphrase::new("a passphrase".into()), b"salt").unwrap();
        let sealed = key.seal(b"mac key", b"kid-1").unwrap();
        assert_ne!(&sealed[NONCE_LEN..NONCE_LEN + 7], b"mac key");
        assert_eq!(key.open(&sealed, b"kid-1").unwrap().as_slice(), b"mac key");
        assert!(key.open(&sealed, b"kid-2").is_err(), "another context");
        let other = WrapKey::derive(&Passphrase::new("another passphrase".into()), b"salt").unwrap();
        assert!(other.open(&sealed, b"kid-1").is_err(), "another passphrase");
        let mut damaged = sealed.clone();
        damaged[NONCE_LEN] ^= 1;
        assert!(key.open(&damaged, b"kid-1").is_err());
    }
}
