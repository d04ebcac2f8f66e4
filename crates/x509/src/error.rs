use thiserror::Error;

/// Errors of the x509 core. Each message is written for the person who sent the input.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("CSR signature does not verify")]
    BadCsrSignature,
    #[error("unsupported {what}: {value}")]
    Unsupported { what: &'static str, value: String },
    #[error("policy: {0}")]
    Policy(String),
    #[error("lint: {0}")]
    Lint(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub(crate) fn malformed(what: &'static str, reason: impl ToString) -> Self {
        Error::Malformed { what, reason: reason.to_string() }
    }
    pub(crate) fn policy(reason: impl Into<String>) -> Self {
        Error::Policy(reason.into())
    }
}
