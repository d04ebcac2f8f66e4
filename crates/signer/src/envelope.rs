//! Keys at rest: PKCS#8 EncryptedPrivateKeyInfo (RFC 5958) with PBES2, scrypt as the
//! memory-hard KDF and AES-256-CBC. OpenSSL reads the result (`openssl pkey`).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use pkcs8::der::Decode;
use pkcs8::{pkcs5, EncryptedPrivateKeyInfo, PrivateKeyInfo};
use zeroize::Zeroizing;

use crate::{Error, Passphrase};

/// scrypt cost: N = 2^14, r = 8, p = 1 (16 MiB): the most OpenSSL accepts by default
/// (`openssl pkey` reads our keys), and what `openssl pkcs8 -scrypt` writes.
const SCRYPT_LOG_N: u8 = 14;

pub const PEM_TAG: &str = "ENCRYPTED PRIVATE KEY";

/// Encrypts a PKCS#8 DER key into PEM.
pub fn encrypt_pkcs8(pkcs8_der: &[u8], passphrase: &Passphrase) -> Result<String, Error> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| Error::Encrypt("random number generator failed".into()))?;
    rng.fill(&mut iv).map_err(|_| Error::Encrypt("random number generator failed".into()))?;
    let scrypt = pkcs5::scrypt::Params::new(SCRYPT_LOG_N, 8, 1, 32).map_err(|e| Error::Encrypt(e.to_string()))?;
    let params =
        pkcs5::pbes2::Parameters::scrypt_aes256cbc(scrypt, &salt, &iv).map_err(|e| Error::Encrypt(e.to_string()))?;
    let info = PrivateKeyInfo::from_der(pkcs8_der).map_err(|e| Error::MalformedKey(e.to_string()))?;
    let doc = info
        .encrypt_with_params(params, passphrase.expose().as_bytes())
        .map_err(|e| Error::Encrypt(e.to_string()))?;
    Ok(pem::encode_config(
        &pem::Pem::new(PEM_TAG, doc.as_bytes().to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ))
}

/// Decrypts an encrypted PKCS#8 PEM into PKCS#8 DER.
pub fn decrypt_pkcs8(pem_text: &str, passphrase: &Passphrase) -> Result<Zeroizing<Vec<u8>>, Error> {
    let block = pem::parse(pem_text).map_err(|e| Error::MalformedKey(e.to_string()))?;
    if block.tag() != PEM_TAG {
        return Err(Error::MalformedKey(format!("expected an {PEM_TAG} block, found {}", block.tag())));
    }
    let info = EncryptedPrivateKeyInfo::from_der(block.contents()).map_err(|e| Error::MalformedKey(e.to_string()))?;
    let doc = info.decrypt(passphrase.expose().as_bytes()).map_err(|_| Error::Decrypt)?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}
