//! The x509 core of IronPKI.
//!
//! Owns key types, serial numbers, CSR parsing and verification, profile policy, the
//! construction of certificates and their pre-signing lint, and path validation.
//! It performs no I/O: time, randomness and the CA key arrive as arguments
//! (`now`, `&dyn SecureRandom`, `&dyn Signer`). It never holds a CA private key.
#![forbid(unsafe_code)]

pub mod build;
pub mod crl;
pub mod csr;
pub mod der;
mod error;
mod ext;
pub mod inspect;
pub mod keytype;
pub mod lint;
pub mod name;
pub mod ocsp;
pub mod ocsp_check;
pub mod pem;
pub mod pkcs7;
pub mod profile;
pub mod revocation;
pub mod san;
pub mod serial;
pub mod signer;
pub mod verify;

pub use error::Error;
pub use keytype::KeyType;
pub use serial::Serial;
pub use signer::Signer;
