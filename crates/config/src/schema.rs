//! The schema of `ironpki.yaml`.

use std::collections::BTreeMap;

use ironpki_x509::build::NameConstraints;
use ironpki_x509::name::Subject;
use ironpki_x509::profile::{ExtendedKeyUsage, KeyUsage};
use ironpki_x509::san::SanRules;
use ironpki_x509::KeyType;
use serde::{Deserialize, Serialize};

use crate::Dur;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    /// Base of the URLs stamped into certificates (CRL, OCSP, CA issuers).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// How far notBefore is set back to allow for clock skew of relying parties.
    #[serde(default = "default_backdate")]
    pub backdate: Dur,
    pub root_ca: CaConfig,
    pub intermediates: Vec<IntermediateConfig>,
    pub profiles: BTreeMap<String, ProfileConfig>,
    /// Used when a command names no profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(default)]
    pub revocation: RevocationConfig,
    #[serde(default)]
    pub automation: AutomationConfig,
    #[serde(default)]
    pub mtls: MtlsConfig,
    #[serde(default)]
    pub serve: ServeConfig,
}

/// `ironpki serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Plain-HTTP listener for CRLs, CA certificates and OCSP (what relying parties fetch).
    #[serde(default = "default_http_listen")]
    pub http_listen: String,
}

fn default_http_listen() -> String {
    "127.0.0.1:8080".into()
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig { http_listen: default_http_listen() }
    }
}

fn default_base_url() -> String {
    "http://127.0.0.1:8080".into()
}

fn default_backdate() -> Dur {
    Dur(std::time::Duration::from_secs(300))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file, relative to the home.
    #[serde(default = "default_sqlite")]
    pub sqlite: String,
    /// `full` (fsync every commit) or `normal` (survives a crash of ironpki, not of the machine).
    #[serde(default)]
    pub durability: Durability,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { sqlite: default_sqlite(), durability: Durability::default() }
    }
}

fn default_sqlite() -> String {
    "ironpki.db".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    pub name: String,
    pub subject: Subject,
    pub key_type: KeyType,
    pub validity_years: u32,
    /// Directory for the CA's certificate and encrypted key; default `ca/NAME` in the home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntermediateConfig {
    pub name: String,
    pub subject: Subject,
    pub key_type: KeyType,
    pub validity_years: u32,
    #[serde(default)]
    pub path_len: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_constraints: Option<NameConstraints>,
    /// Default `BASE_URL/crl/NAME.crl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_url: Option<String>,
    /// Default `BASE_URL/crl/NAME-delta.crl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_crl_url: Option<String>,
    /// Default `BASE_URL/ocsp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_url: Option<String>,
    /// Default `BASE_URL/ca/NAME.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_issuers_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// The intermediate that issues this profile.
    pub issuer: String,
    pub validity: ValidityConfig,
    pub key_usage: Vec<KeyUsage>,
    pub extended_key_usage: Vec<ExtendedKeyUsage>,
    #[serde(default = "all_key_types")]
    pub key_types: Vec<KeyType>,
    #[serde(default = "default_min_rsa")]
    pub min_rsa_bits: u32,
    #[serde(default)]
    pub san: SanRules,
    #[serde(default)]
    pub cn_in_san: bool,
    /// Fixed subject attributes (organization, …); the common name comes from the request.
    #[serde(default)]
    pub subject: Subject,
}

pub(crate) fn all_key_types() -> Vec<KeyType> {
    KeyType::ALL.to_vec()
}

pub(crate) fn default_min_rsa() -> u32 {
    2048
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityConfig {
    pub default: Dur,
    pub max: Dur,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationConfig {
    /// How long a CRL is valid (nextUpdate - thisUpdate).
    #[serde(default = "default_crl_validity")]
    pub crl_validity: Dur,
    /// How often a new CRL is made even without revocations; less than `crl_validity`.
    #[serde(default = "default_crl_regenerate")]
    pub crl_regenerate: Dur,
    #[serde(default = "yes")]
    pub crl: bool,
    #[serde(default = "yes")]
    pub ocsp: bool,
    /// How long an OCSP response is valid (nextUpdate - thisUpdate); re-signed at half.
    #[serde(default = "default_ocsp_validity")]
    pub ocsp_validity: Dur,
    /// Lifetime of the delegated OCSP responder certificates; renewed at two thirds.
    #[serde(default = "default_responder_validity")]
    pub ocsp_responder_validity: Dur,
}

fn default_ocsp_validity() -> Dur {
    Dur::hours(4)
}
fn default_responder_validity() -> Dur {
    Dur::days(7)
}

fn default_crl_validity() -> Dur {
    Dur::days(7)
}
fn default_crl_regenerate() -> Dur {
    Dur::hours(24)
}
fn yes() -> bool {
    true
}

impl Default for RevocationConfig {
    fn default() -> Self {
        RevocationConfig {
            crl_validity: default_crl_validity(),
            crl_regenerate: default_crl_regenerate(),
            crl: true,
            ocsp: true,
            ocsp_validity: default_ocsp_validity(),
            ocsp_responder_validity: default_responder_validity(),
        }
    }
}

/// When an agent renews: at a fraction of the lifetime, or a fixed time before expiry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_at_fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_before: Option<Dur>,
    #[serde(default = "yes")]
    pub auto_renewal: bool,
    /// Generate a new key at renewal once the key is this old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_rotation: Option<Dur>,
}

impl Default for AutomationConfig {
    fn default() -> Self {
        AutomationConfig { renew_at_fraction: Some(2.0 / 3.0), renew_before: None, auto_renewal: true, key_rotation: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtlsConfig {
    #[serde(default = "default_tls")]
    pub min_tls_version: String,
    #[serde(default = "yes")]
    pub client_auth_required: bool,
    /// TLS 1.3 / 1.2 suite names (IANA); empty for the library's AEAD-only defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<String>,
}

fn default_tls() -> String {
    "1.2".into()
}

impl Default for MtlsConfig {
    fn default() -> Self {
        MtlsConfig { min_tls_version: default_tls(), client_auth_required: true, cipher_suites: Vec::new() }
    }
}

impl IntermediateConfig {
    pub fn ocsp_url(&self, base: &str) -> String {
        self.ocsp_url.clone().unwrap_or_else(|| format!("{}/ocsp", base.trim_end_matches('/')))
    }
    pub fn ca_issuers_url(&self, base: &str) -> String {
        self.ca_issuers_url.clone().unwrap_or_else(|| format!("{}/ca/{}.crt", base.trim_end_matches('/'), self.name))
    }
}

impl Config {
    /// Where the CRLs of CA `name` (root or intermediate) are published: (full, delta).
    pub fn crl_urls(&self, name: &str) -> (String, String) {
        let base = self.base_url.trim_end_matches('/');
        let configured = self.intermediate(name);
        let full = configured.and_then(|i| i.crl_url.clone()).unwrap_or_else(|| format!("{base}/crl/{name}.crl"));
        let delta = configured
            .and_then(|i| i.delta_crl_url.clone())
            .unwrap_or_else(|| format!("{base}/crl/{name}-delta.crl"));
        (full, delta)
    }

    pub fn intermediate(&self, name: &str) -> Option<&IntermediateConfig> {
        self.intermediates.iter().find(|i| i.name == name)
    }

    /// The profile as the authority applies it.
    pub fn profile(&self, name: &str) -> Option<ironpki_x509::profile::Profile> {
        let p = self.profiles.get(name)?;
        Some(ironpki_x509::profile::Profile {
            name: name.to_string(),
            issuer: p.issuer.clone(),
            default_validity: p.validity.default.0,
            max_validity: p.validity.max.0,
            key_usage: p.key_usage.clone(),
            extended_key_usage: p.extended_key_usage.clone(),
            key_types: p.key_types.clone(),
            min_rsa_bits: p.min_rsa_bits,
            san: p.san.clone(),
            cn_in_san: p.cn_in_san,
            subject: p.subject.clone(),
        })
    }
}
