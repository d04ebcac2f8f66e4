//! The signer of IronPKI: the only code that touches private keys.
//!
//! Owns key generation, the software key backend (encrypted PKCS#8 with scrypt and
//! AES-256-CBC on disk, decrypted only into memory), and writing key files 0600.
//! It must never log, print or return a private key in clear, except a freshly
//! generated leaf key handed to its owner.
#![forbid(unsafe_code)]

mod envelope;
mod error;
mod files;
mod passphrase;
mod software;
mod wrap;

pub use envelope::{decrypt_pkcs8, encrypt_pkcs8};
pub use error::Error;
pub use files::{write_private_file, write_public_file};
pub use ironpki_x509::Signer;
pub use passphrase::Passphrase;
pub use software::{GeneratedKey, SoftwareKey};
pub use wrap::WrapKey;
