/// What is wrong with a request, named as the ACME problem type it is answered with
/// (RFC 8555 section 6.7).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `urn:ietf:params:acme:error:malformed`
    #[error("{0}")]
    Malformed(String),
    /// `urn:ietf:params:acme:error:badSignatureAlgorithm`
    #[error("{0}")]
    BadSignatureAlgorithm(String),
    /// `urn:ietf:params:acme:error:badPublicKey`
    #[error("{0}")]
    BadPublicKey(String),
    /// `urn:ietf:params:acme:error:unauthorized`: the signature does not verify.
    #[error("{0}")]
    Unauthorized(String),
}

impl Error {
    /// The ACME problem type (without the `urn:ietf:params:acme:error:` prefix).
    pub fn problem_type(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "malformed",
            Error::BadSignatureAlgorithm(_) => "badSignatureAlgorithm",
            Error::BadPublicKey(_) => "badPublicKey",
            Error::Unauthorized(_) => "unauthorized",
        }
    }
}
