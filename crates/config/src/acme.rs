//! `acme:`: the ACME provisioners, each a directory with its own policy.

use serde::{Deserialize, Serialize};

use crate::Dur;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeConfig {
    #[serde(default)]
    pub provisioners: Vec<Provisioner>,
}

/// One ACME directory, at `https://HOST:PORT/acme/NAME/directory`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provisioner {
    pub name: String,
    /// Every certificate is issued under this profile's policy; the identifiers an
    /// account may validate are those its SAN rules allow.
    pub profile: String,
    #[serde(default = "all_challenges")]
    pub challenges: Vec<Challenge>,
    /// Whether newAccount needs an External Account Binding.
    #[serde(default)]
    pub eab: bool,
    /// Lifetime of the certificates (default: the profile's default), within the
    /// profile's maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<Dur>,
    /// The port http-01 validation connects to.
    #[serde(default = "default_http01_port")]
    pub http01_port: u16,
    /// The port tls-alpn-01 validation connects to.
    #[serde(default = "default_tls_alpn01_port")]
    pub tls_alpn01_port: u16,
    /// The resolver every validation lookup uses (A/AAAA for http-01 and tls-alpn-01, TXT
    /// and CNAME for dns-01): `system` (resolv.conf and the hosts file) or `ADDR:PORT`.
    #[serde(default = "default_resolver")]
    pub dns_resolver: String,
    /// New orders an account may create in an hour (0: no limit).
    #[serde(default = "default_orders_per_hour")]
    pub orders_per_hour: u32,
    /// Failed authorizations an account may have among those it created in the last hour
    /// before its new orders are refused (0: no limit).
    #[serde(default = "default_failed_validations_per_hour")]
    pub failed_validations_per_hour: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Challenge {
    #[serde(rename = "http-01")]
    Http01,
    #[serde(rename = "dns-01")]
    Dns01,
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl Challenge {
    pub fn name(self) -> &'static str {
        match self {
            Challenge::Http01 => "http-01",
            Challenge::Dns01 => "dns-01",
            Challenge::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

fn all_challenges() -> Vec<Challenge> {
    vec![Challenge::Http01, Challenge::Dns01, Challenge::TlsAlpn01]
}
fn default_http01_port() -> u16 {
    80
}
fn default_tls_alpn01_port() -> u16 {
    443
}
fn default_orders_per_hour() -> u32 {
    300
}
fn default_failed_validations_per_hour() -> u32 {
    60
}
fn default_resolver() -> String {
    "system".into()
}
