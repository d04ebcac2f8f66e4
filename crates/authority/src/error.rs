use thiserror::Error;

/// Errors of the authority. `kind()` tells a front end how to answer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is refused: bad input or against policy. Nothing was changed.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    /// No credentials, or credentials that do not hold.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this (recorded in the audit log).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Config(#[from] ironpki_config::Error),
    #[error(transparent)]
    Signer(#[from] ironpki_signer::Error),
    #[error("{0}")]
    Store(ironpki_store::Error),
    /// A fault of ours (I/O, lint, signing) rather than of the request.
    #[error("{0}")]
    Internal(String),
}

impl From<ironpki_x509::Error> for Error {
    fn from(e: ironpki_x509::Error) -> Error {
        use ironpki_x509::Error as X;
        match e {
            X::Lint(_) | X::Signing(_) => Error::Internal(e.to_string()),
            _ => Error::Refused(e.to_string()),
        }
    }
}

impl From<ironpki_store::Error> for Error {
    fn from(e: ironpki_store::Error) -> Error {
        use ironpki_store::Error as S;
        match e {
            S::NotFound { .. } => Error::NotFound(e.to_string()),
            S::AlreadyRevoked { .. } | S::DuplicateCa(_) => Error::Conflict(e.to_string()),
            other => Error::Store(other),
        }
    }
}

pub(crate) fn io(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Internal(format!("{}: {e}", path.display()))
}
