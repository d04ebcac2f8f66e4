use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("serial {serial} is already used by issuer {issuer}")]
    DuplicateSerial { issuer: String, serial: String },
    #[error("CA {0:?} already exists")]
    DuplicateCa(String),
    #[error("no certificate with serial {serial} from issuer {issuer}")]
    NotFound { issuer: String, serial: String },
    #[error("certificate {serial} is already revoked")]
    AlreadyRevoked { serial: String },
    #[error("CRL number {number} of {issuer} is already taken")]
    CrlNumberTaken { issuer: String, number: i64 },
    #[error("store schema version {found} is newer than this ironpki understands ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("store: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Backend(e.to_string())
    }
}
