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
    #[error("no token {0:?}")]
    TokenNotFound(String),
    #[error("token {0:?} is already revoked")]
    TokenRevoked(String),
    #[error("token {0:?} already exists")]
    DuplicateToken(String),
    #[error("an ACME account for key {0} already exists")]
    DuplicateAccount(String),
    #[error("certificate {0} is replaced by another order already")]
    AlreadyReplaced(String),
    #[error("External Account Binding key {0:?} is unknown, revoked or bound to another account already")]
    EabUnusable(String),
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

impl From<::postgres::Error> for Error {
    /// The server's own words (message, detail, SQLSTATE), or the I/O cause: the
    /// error's Display alone says only "db error" or "error connecting to server".
    fn from(e: ::postgres::Error) -> Error {
        let text = match (e.as_db_error(), std::error::Error::source(&e)) {
            (Some(db), _) => {
                let mut text = format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code());
                if let Some(detail) = db.detail() {
                    text.push_str(": ");
                    text.push_str(detail);
                }
                text
            }
            (None, Some(cause)) => format!("{e}: {cause}"),
            (None, None) => e.to_string(),
        };
        Error::Backend(text)
    }
}
