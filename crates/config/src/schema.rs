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
    #[serde(default, deserialize_with = "store")]
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
    #[serde(default)]
    pub acme: crate::AcmeConfig,
    #[serde(default)]
    pub notify: crate::NotifyConfig,
}

/// `ironpki serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Plain-HTTP listener for CRLs, CA certificates and OCSP (what relying parties fetch).
    #[serde(default = "default_http_listen")]
    pub http_listen: String,
    /// HTTPS listener for the REST API (and the same public documents).
    #[serde(default = "default_https_listen")]
    pub https_listen: String,
    /// Names in the HTTPS server certificate (DNS names or IP addresses); empty for
    /// localhost, 127.0.0.1, ::1 and this machine's host name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_names: Vec<String>,
    /// The CA that issues the HTTPS server certificate (default: the first intermediate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_issuer: Option<String>,
    /// Client certificates that authenticate to the API: the profile a certificate was
    /// issued under → the role it carries. Only admins may issue from these profiles.
    #[serde(default = "default_client_roles")]
    pub client_roles: BTreeMap<String, RoleGrant>,
    /// Requests per second each identity may make (a token bucket of twice this size).
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body: usize,
}

/// What a role allows; `profiles` and `san_patterns` narrow an operator (empty: no limit).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san_patterns: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only: certificates, CAs, profiles, the audit log, metrics.
    Auditor,
    /// Issue, renew and revoke, within its profiles and SAN patterns.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Auditor => "auditor",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "auditor" => Ok(Role::Auditor),
            other => Err(format!("{other:?} is not a role (admin, operator, auditor)")),
        }
    }
}

fn default_http_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_https_listen() -> String {
    "127.0.0.1:8443".into()
}

/// The profile `ironpki init` issues the first admin client certificate from.
pub const ADMIN_PROFILE: &str = "admin";

fn default_client_roles() -> BTreeMap<String, RoleGrant> {
    BTreeMap::from([(ADMIN_PROFILE.to_string(), RoleGrant { role: Role::Admin, profiles: vec![], san_patterns: vec![] })])
}

fn default_rate_limit() -> u32 {
    2000
}

fn default_max_body() -> usize {
    64 * 1024
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            http_listen: default_http_listen(),
            https_listen: default_https_listen(),
            tls_names: Vec::new(),
            tls_issuer: None,
            client_roles: default_client_roles(),
            rate_limit: default_rate_limit(),
            max_body: default_max_body(),
        }
    }
}

fn default_base_url() -> String {
    "http://127.0.0.1:8080".into()
}

fn default_backdate() -> Dur {
    Dur(std::time::Duration::from_secs(300))
}

/// Where records live: the embedded SQLite file (default) or PostgreSQL, written either
/// as a map or, for PostgreSQL, as its URL alone (`store: postgres://user@host/db`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite database file, relative to the home.
    #[serde(default = "default_sqlite")]
    pub sqlite: String,
    /// `full` (every commit on disk before it is answered; one sync of the WAL serves the commits made meanwhile) or `normal` (survives a crash of ironpki, not of the machine).
    #[serde(default)]
    pub durability: Durability,
    /// A PostgreSQL URL (`postgres://user@host:5432/db?pool_size=16`); when set, SQLite is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
    /// PostgreSQL schema holding the tables (default: the server's search_path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// `store:` as written: a map, or a PostgreSQL URL alone.
pub(crate) fn store<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StoreConfig, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = StoreConfig;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map such as { sqlite: ironpki.db } or a postgres:// URL")
        }
        fn visit_str<E: serde::de::Error>(self, url: &str) -> Result<StoreConfig, E> {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(StoreConfig { postgres: Some(url.to_string()), ..StoreConfig::default() })
            } else {
                Err(E::custom(format!("{url:?} is not a postgres:// URL (or write a map: {{ sqlite: FILE }})")))
            }
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<StoreConfig, A::Error> {
            StoreConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(Visitor)
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { sqlite: default_sqlite(), durability: Durability::default(), postgres: None, schema: None }
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
    /// Whether intermediates publish delta CRLs, named in what they issue (Freshest CRL).
    #[serde(default = "yes")]
    pub delta_crl: bool,
    /// How long a delta CRL is valid; a new one is published at half of it.
    #[serde(default = "default_delta_crl_validity")]
    pub delta_crl_validity: Dur,
    /// How long the root's CRL is valid: the root publishes full CRLs only, and an
    /// offline root signs one at each key ceremony.
    #[serde(default = "default_root_crl_validity")]
    pub root_crl_validity: Dur,
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
fn default_delta_crl_validity() -> Dur {
    Dur::hours(1)
}
fn default_root_crl_validity() -> Dur {
    Dur::days(180)
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
            delta_crl: true,
            delta_crl_validity: default_delta_crl_validity(),
            root_crl_validity: default_root_crl_validity(),
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
    /// Whether the HTTPS listener refuses connections without a client certificate
    /// (then API tokens alone are not enough). Presented certificates are always verified.
    #[serde(default)]
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
        MtlsConfig { min_tls_version: default_tls(), client_auth_required: false, cipher_suites: Vec::new() }
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
