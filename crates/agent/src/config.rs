//! `agent.yaml`: the certificates the agent keeps, where their files go, how they are
//! obtained, reloaded and checked. Read once at start; every field is checked then, so a
//! mistake stops the agent with one line instead of surfacing at the first renewal.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ironpki_x509::san::San;
use ironpki_x509::KeyType;
use serde::Deserialize;

use crate::Error;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent's own state: ACME account keys, schedules, the swap journal.
    pub state_dir: PathBuf,
    /// The trust bundle the issued chains must verify to.
    pub roots: PathBuf,
    /// Where the bundle is refreshed from (an IronPKI server's `https://…/roots.pem`),
    /// over TLS verified by the bundle already held.
    #[serde(default)]
    pub roots_url: Option<String>,
    /// Where `/metrics` is served (Prometheus text); `--metrics-listen` overrides it.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Revocation notices from `ironpki serve` (its `notify.mqtt`): a certificate of ours
    /// seen revoked is replaced at once.
    #[serde(default)]
    pub revocation_feed: Option<FeedConfig>,
    /// Retry after a failure: `initial`, doubled each time with jitter, up to `max`.
    #[serde(default)]
    pub retry: Retry,
    pub certificates: Vec<CertConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub mqtt: MqttFeed,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MqttFeed {
    /// `mqtt://HOST:PORT`.
    pub url: String,
    /// The topic filter (the server publishes to `ironpki/revocations/{issuer}`).
    #[serde(default = "default_feed_topic")]
    pub topic: String,
    /// The server's `/revocations` URL: what was missed is asked there after a
    /// reconnect or a gap in the sequence.
    #[serde(default)]
    pub range_url: Option<String>,
    /// The MQTT client id; the broker keeps the session (and the notices) under it.
    #[serde(default)]
    pub client_id: Option<String>,
}

fn default_feed_topic() -> String {
    "ironpki/revocations/#".into()
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    #[serde(with = "humantime_serde_compat", default = "default_initial")]
    pub initial: Duration,
    #[serde(with = "humantime_serde_compat", default = "default_max")]
    pub max: Duration,
}

fn default_initial() -> Duration {
    Duration::from_secs(10)
}

fn default_max() -> Duration {
    Duration::from_secs(3600)
}

impl Default for Retry {
    fn default() -> Retry {
        Retry { initial: default_initial(), max: default_max() }
    }
}

/// Durations written as humantime strings (`30s`, `5m`).
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}")))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertConfig {
    pub name: String,
    /// Obtained over ACME...
    #[serde(default)]
    pub acme: Option<AcmeSource>,
    /// ...or from an IronPKI server's REST API.
    #[serde(default)]
    pub api: Option<ApiSource>,
    #[serde(default)]
    pub common_name: Option<String>,
    #[serde(default)]
    pub sans: Vec<String>,
    #[serde(default = "default_key_type")]
    pub key_type: KeyType,
    pub files: Files,
    /// `USER:GROUP` (names or numbers) for every file written.
    #[serde(default)]
    pub owner: Option<String>,
    /// Octal mode for the certificate files; the key file gets it too, never wider.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub reload: Option<Reload>,
    #[serde(default)]
    pub check: Option<Check>,
    /// Without an ARI window from the CA, renew at this fraction of the lifetime.
    #[serde(default = "default_renew_at")]
    pub renew_at: f64,
}

fn default_key_type() -> KeyType {
    KeyType::EcdsaP256
}

fn default_renew_at() -> f64 {
    2.0 / 3.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeSource {
    pub directory: String,
    /// Trust for the directory's TLS certificate; `roots` when absent.
    #[serde(default)]
    pub tls_roots: Option<PathBuf>,
    #[serde(default)]
    pub eab: Option<Eab>,
    #[serde(default)]
    pub contact: Vec<String>,
    pub challenge: ChallengeKind,
    /// http-01: where the agent answers the challenge itself...
    #[serde(default)]
    pub http01_listen: Option<SocketAddr>,
    /// ...or the web root a running server serves `/.well-known/acme-challenge/` from.
    #[serde(default)]
    pub webroot: Option<PathBuf>,
    /// tls-alpn-01: where the agent answers the challenge.
    #[serde(default)]
    pub tls_alpn01_listen: Option<SocketAddr>,
    /// dns-01: commands that publish and remove the TXT record.
    #[serde(default)]
    pub dns01: Option<DnsHooks>,
}

/// IronPKI's REST API: the first certificate with an operator token; each renewal
/// authenticated by the certificate in place over mutual TLS (the token again only when
/// that certificate can no longer renew: expired, revoked, missing).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSource {
    /// The server's HTTPS base URL, `https://ca.internal:8443`.
    pub url: String,
    /// A file with an operator token (`ironpki token create --role operator`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// The profile to issue under (default: the server's default).
    #[serde(default)]
    pub profile: Option<String>,
    /// The lifetime to ask for (default: the profile's), e.g. `24h`.
    #[serde(default)]
    pub lifetime: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eab {
    pub kid: String,
    /// The file holding the base64url HMAC key.
    pub hmac_key_file: PathBuf,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    #[serde(rename = "http-01")]
    Http01,
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
    #[serde(rename = "dns-01")]
    Dns01,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsHooks {
    /// Run with `IRONPKI_DNS_RECORD` (`_acme-challenge.NAME.`) and `IRONPKI_DNS_VALUE`.
    pub present: String,
    pub cleanup: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Files {
    pub key: PathBuf,
    pub cert: PathBuf,
    #[serde(default)]
    pub chain: Option<PathBuf>,
    #[serde(default)]
    pub fullchain: Option<PathBuf>,
    #[serde(default)]
    pub ocsp_staple: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reload {
    #[serde(default)]
    pub command: Option<String>,
    /// A signal name (`HUP`, `USR1`, …) sent to the process in `pid_file`.
    #[serde(default)]
    pub signal: Option<String>,
    #[serde(default)]
    pub pid_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub command: String,
    #[serde(with = "humantime_serde_compat", default = "default_check_timeout")]
    pub timeout: Duration,
}

fn default_check_timeout() -> Duration {
    Duration::from_secs(30)
}

/// One certificate's configuration, checked and resolved.
#[derive(Debug)]
pub struct Cert {
    pub config: CertConfig,
    pub sans: Vec<San>,
    pub mode: Option<u32>,
    pub owner: Option<(Option<u32>, Option<u32>)>,
}

impl Cert {
    pub fn name(&self) -> &str {
        &self.config.name
    }
}

pub struct Loaded {
    pub agent: AgentConfig,
    pub certs: Vec<Cert>,
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let mut agent: AgentConfig =
        serde_yaml_ng::from_str(&text).map_err(|e| Error::Config(format!("{}: {}", path.display(), e.to_string().replace('\n', " "))))?;
    if agent.certificates.is_empty() {
        return Err(Error::Config(format!("{}: no certificates", path.display())));
    }
    if agent.retry.initial.is_zero() || agent.retry.max < agent.retry.initial {
        return Err(Error::Config("retry: initial must be above zero and no more than max".into()));
    }
    if agent.roots_url.as_deref().is_some_and(|u| !u.starts_with("https://")) {
        return Err(Error::Config(format!("{}: roots_url must be https:// (trust anchors are fetched only over TLS the bundle verifies)", path.display())));
    }
    if let Some(feed) = &agent.revocation_feed {
        ironpki_config::mqtt_endpoint(&feed.mqtt.url).map_err(|e| Error::Config(format!("{}: revocation_feed.mqtt.url: {e}", path.display())))?;
    }
    let mut names = HashSet::new();
    let mut certs = Vec::new();
    for config in std::mem::take(&mut agent.certificates) {
        let cert = check_cert(config).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        if !names.insert(cert.config.name.clone()) {
            return Err(Error::Config(format!("{}: certificate {:?} named twice", path.display(), cert.config.name)));
        }
        certs.push(cert);
    }
    Ok(Loaded { agent, certs })
}

fn check_cert(config: CertConfig) -> Result<Cert, String> {
    let name = config.name.clone();
    let bad = |msg: String| format!("certificate {name:?}: {msg}");
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || name.starts_with('.') {
        return Err(bad("name must be letters, digits, '-', '_' or '.'".into()));
    }
    let mut sans = Vec::new();
    for s in &config.sans {
        let san: San = s.parse().map_err(|e: ironpki_x509::Error| bad(e.to_string()))?;
        san.validate().map_err(|e| bad(e.to_string()))?;
        if !matches!(san, San::Dns(_) | San::Ip(_)) {
            return Err(bad(format!("{san}: ACME orders name DNS names and IP addresses only")));
        }
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    if let Some(cn) = &config.common_name {
        let san = San::for_common_name(cn);
        if !sans.contains(&san) {
            sans.insert(0, san);
        }
    }
    if sans.is_empty() {
        return Err(bad("needs a common_name or at least one SAN".into()));
    }
    if !(0.1..=0.95).contains(&config.renew_at) {
        return Err(bad("renew_at must be between 0.1 and 0.95".into()));
    }
    match (&config.acme, &config.api) {
        (Some(acme), None) => {
            match acme.challenge {
                ChallengeKind::Http01 if acme.http01_listen.is_none() == acme.webroot.is_none() => {
                    return Err(bad("http-01 needs exactly one of acme.http01_listen and acme.webroot".into()))
                }
                ChallengeKind::TlsAlpn01 if acme.tls_alpn01_listen.is_none() => return Err(bad("tls-alpn-01 needs acme.tls_alpn01_listen".into())),
                ChallengeKind::Dns01 if acme.dns01.is_none() => return Err(bad("dns-01 needs acme.dns01 hooks (present, cleanup)".into())),
                _ => {}
            }
            if !acme.directory.starts_with("https://") && !acme.directory.starts_with("http://") {
                return Err(bad("acme.directory must be an http(s) URL".into()));
            }
        }
        (None, Some(api)) => {
            if !api.url.starts_with("https://") {
                return Err(bad("api.url must be an https:// URL".into()));
            }
            if let Some(l) = &api.lifetime {
                humantime::parse_duration(l).map_err(|_| bad(format!("api.lifetime {l:?} is not a duration such as 24h")))?;
            }
        }
        _ => return Err(bad("needs exactly one of acme and api".into())),
    }
    let mode = match &config.mode {
        Some(m) => Some(u32::from_str_radix(m, 8).ok().filter(|m| *m <= 0o777).ok_or_else(|| bad(format!("mode {m:?} is not an octal mode")))?),
        None => None,
    };
    let owner = match &config.owner {
        Some(o) => Some(crate::files::resolve_owner(o).map_err(bad)?),
        None => None,
    };
    if let Some(reload) = &config.reload {
        match (&reload.command, &reload.signal, &reload.pid_file) {
            (Some(_), None, None) => {}
            (None, Some(signal), Some(_)) => {
                crate::hooks::signal_by_name(signal).map_err(bad)?;
            }
            _ => return Err(bad("reload needs either command, or signal with pid_file".into())),
        }
    }
    Ok(Cert { config, sans, mode, owner })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(body: &str) -> Result<Loaded, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.yaml");
        std::fs::write(&path, format!("state_dir: /tmp/s\nroots: /tmp/r.pem\n{body}")).unwrap();
        load(&path)
    }

    const ACME: &str = "acme: { directory: \"https://ca/dir\", challenge: http-01, http01_listen: \"127.0.0.1:80\" }";

    #[test]
    fn a_good_certificate_entry_resolves_its_names() {
        let loaded = load_str(&format!(
            "certificates:\n  - name: web\n    {ACME}\n    common_name: Web.Internal\n    sans: [\"dns:web.internal\", \"ip:10.0.0.7\"]\n    files: {{ key: k, cert: c }}\n    mode: \"0640\"\n"
        ))
        .unwrap();
        let cert = &loaded.certs[0];
        assert_eq!(cert.sans.iter().map(ToString::to_string).collect::<Vec<_>>(), vec!["dns:web.internal", "ip:10.0.0.7"]);
        assert_eq!(cert.mode, Some(0o640));
        assert_eq!(cert.config.key_type, KeyType::EcdsaP256);
        assert!((cert.config.renew_at - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn mistakes_are_refused_with_what_is_wrong() {
        let refused = |body: &str, needle: &str| {
            let e = match load_str(body) {
                Ok(_) => panic!("accepted: {body}"),
                Err(e) => e.to_string(),
            };
            assert!(e.contains(needle), "{e} (wanted {needle:?})");
        };
        refused("certificates: []\n", "no certificates");
        refused(&format!("certificates:\n  - name: a\n    {ACME}\n    files: {{ key: k, cert: c }}\n"), "needs a common_name or at least one SAN");
        refused(&format!("certificates:\n  - name: a\n    {ACME}\n    sans: [\"uri:spiffe://x/y\"]\n    files: {{ key: k, cert: c }}\n"), "DNS names and IP addresses only");
        refused("certificates:\n  - name: a\n    sans: [\"dns:a.internal\"]\n    files: { key: k, cert: c }\n", "needs exactly one of acme and api");
        refused(&format!("certificates:\n  - name: a\n    {ACME}\n    sans: [\"dns:a.internal\"]\n    files: {{ key: k, cert: c }}\n    mode: \"999\"\n"), "not an octal mode");
        refused(
            "certificates:\n  - name: a\n    acme: { directory: \"https://ca/dir\", challenge: dns-01 }\n    sans: [\"dns:a.internal\"]\n    files: { key: k, cert: c }\n",
            "dns-01 needs acme.dns01 hooks",
        );
        refused(&format!("certificates:\n  - name: a\n    {ACME}\n    sans: [\"dns:a.internal\"]\n    files: {{ key: k, cert: c }}\n    reload: {{ signal: BOGUS, pid_file: /run/x.pid }}\n"), "is not one of HUP");
        refused(&format!("certificates:\n  - name: a\n    {ACME}\n    sans: [\"dns:a.internal\"]\n    files: {{ key: k, cert: c }}\n    colour: blue\n"), "unknown field `colour`");
        refused(&format!("certificates:\n  - name: a\n    {ACME}\n    sans: [\"dns:a.internal\"]\n    files: {{ key: k, cert: c }}\n  - name: a\n    {ACME}\n    sans: [\"dns:b.internal\"]\n    files: {{ key: k2, cert: c2 }}\n"), "named twice");
        refused(&format!("revocation_feed: {{ mqtt: {{ url: \"mqtts://b:8883\" }} }}\ncertificates:\n  - name: a\n    {ACME}\n    sans: [\"dns:a.internal\"]\n    files: {{ key: k, cert: c }}\n"), "MQTT over TLS is not supported yet");
    }
}
