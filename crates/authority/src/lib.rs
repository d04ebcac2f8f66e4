//! The authority of IronPKI: the one place where issuance, renewal and revocation are
//! decided and recorded.
//!
//! Owns the PKI's life: creating the hierarchy (`init`), applying profiles to requests,
//! signing through the signer, recording before answering, revoking, and the audit
//! trail of each. Front ends (CLI, HTTP, ACME, EST) translate into calls here and must
//! never re-implement a decision. Time comes from a [`Clock`]; keys stay in the signer.
#![forbid(unsafe_code)]

pub mod acme;
pub mod acme_order;
pub mod ari;
mod access;
mod eab;
mod authority;
mod cas;
mod ceremony;
mod clock;
mod crl;
mod error;
mod home;
mod init;
mod issue;
mod listener;
pub mod notify;
pub mod ocsp;
pub mod publication;
mod reads;
mod revoke;
mod synthetic;
mod tokens;

pub use access::{Action, Caller};
pub use ceremony::Ceremony;
pub use eab::NewEabKey;
pub use ironpki_store::acme::EabKey;
pub use reads::{AuditCheck, PublicCa};
pub use authority::Authority;
pub use tokens::{NewToken, TokenSecret, CREDENTIAL_CACHE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::Error;
pub use home::Home;
pub use init::{init, AdminCredential, InitOptions, InitReport};
pub use issue::{CertFiles, Issued, IssueRequest, KeyRequest, Prepared, Subject as RequestSubject, CERT_FILES};
pub use listener::{LISTENER_PROFILE, LISTENER_VALIDITY};
pub use ironpki_signer::Passphrase;
/// The records front ends read and show; the store itself stays inside the authority.
pub use ironpki_store::acme::{AcmeAccount, RenewalSelection};
pub use ironpki_store::{AuditEntry, CaRecord, CertFilter, CertRecord, CertStatus, CrlRecord, StatusFilter, TokenRecord};
