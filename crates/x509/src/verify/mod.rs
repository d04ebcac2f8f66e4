//! Path validation under one of two profiles: RFC 5280 (our validator, `rfc5280`), or
//! rustls-webpki's rules alone (`webpki_rules`). Every refusal says which rule failed.

mod rfc5280;
mod webpki_rules;

use time::OffsetDateTime;

use crate::Error;

pub use webpki_rules::delegated_ocsp_signer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Server,
    Client,
}

impl Purpose {
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Server => "server",
            Purpose::Client => "client",
        }
    }
}

/// Which rules a path must meet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// RFC 5280 path validation and certificate profile, plus sound practice on keys.
    #[default]
    Rfc5280,
    /// rustls-webpki's rules alone: what a rustls client or server accepts.
    Webpki,
}

pub struct Input<'a> {
    pub leaf: &'a [u8],
    pub intermediates: &'a [Vec<u8>],
    pub roots: &'a [Vec<u8>],
    pub name: Option<&'a str>,
    pub at: OffsetDateTime,
    /// `None`: valid for whichever of server and client the certificate allows.
    pub purpose: Option<Purpose>,
    /// CRLs (DER) to check the end-entity certificate against; when given, a certificate
    /// that no CRL covers is refused.
    pub crls: &'a [Vec<u8>],
    /// The rules the path must meet.
    pub profile: Profile,
}

#[derive(Debug, Clone)]
pub struct Verified {
    pub purposes: Vec<Purpose>,
    /// Subjects from the leaf up to the trust anchor.
    pub chain: Vec<String>,
}

pub fn verify(input: &Input<'_>) -> Result<Verified, Error> {
    match input.profile {
        Profile::Rfc5280 => rfc5280::verify(input),
        Profile::Webpki => webpki_rules::verify(input),
    }
}
