//! The `pki:` shape that users of this field already write (root_ca, intermediate_ca,
//! certificate_policy, revocation, automation, mtls), accepted as it is and mapped onto
//! our schema. Its `certificate_policy` becomes the `default` profile, beside the
//! shipped `server`, `client` and `device` profiles.

use std::path::Path;

use ironpki_x509::name::Subject;
use ironpki_x509::profile::{ExtendedKeyUsage, KeyUsage};
use ironpki_x509::san::SanRules;
use ironpki_x509::KeyType;
use serde::Deserialize;

use crate::{schema::*, Dur, Error};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    pki: Pki,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pki {
    root_ca: Root,
    intermediate_ca: Intermediate,
    #[serde(default)]
    certificate_policy: Option<Policy>,
    #[serde(default)]
    revocation: Option<Revocation>,
    #[serde(default)]
    automation: Option<Automation>,
    #[serde(default)]
    mtls: Option<Mtls>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    key_type: Option<String>,
    #[serde(default)]
    key_size: Option<u32>,
    #[serde(default)]
    curve: Option<String>,
    #[serde(default = "ten")]
    validity_years: u32,
    #[serde(default)]
    path: Option<String>,
}

fn ten() -> u32 {
    10
}
fn five() -> u32 {
    5
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Intermediate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    key_type: Option<String>,
    #[serde(default)]
    key_size: Option<u32>,
    #[serde(default)]
    curve: Option<String>,
    #[serde(default = "five")]
    validity_years: u32,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    crl_distribution_point: Option<String>,
    #[serde(default)]
    ocsp_url: Option<String>,
    #[serde(default)]
    ca_issuers_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    validity_days: u64,
    #[serde(default)]
    key_usage: Option<Vec<KeyUsage>>,
    #[serde(default)]
    extended_key_usage: Option<Vec<ExtendedKeyUsage>>,
    #[serde(default)]
    dns_names: Vec<String>,
    #[serde(default)]
    ip_ranges: Vec<String>,
    #[serde(default)]
    uri_patterns: Vec<String>,
    #[serde(default)]
    email_domains: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revocation {
    #[serde(default = "yes")]
    crl_enabled: bool,
    #[serde(default)]
    crl_update_interval_hours: Option<u64>,
    #[serde(default = "yes")]
    ocsp_enabled: bool,
    #[serde(default)]
    ocsp_stapling: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Automation {
    #[serde(default = "yes")]
    auto_renewal: bool,
    #[serde(default)]
    renewal_days_before: Option<u64>,
    /// Accepted for compatibility: revocation is always an explicit decision here.
    #[serde(default)]
    #[allow(dead_code)]
    auto_revocation: bool,
    #[serde(default)]
    key_rotation_days: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mtls {
    #[serde(default)]
    min_tls_version: Option<String>,
    #[serde(default)]
    cipher_suites: Vec<String>,
    #[serde(default = "yes")]
    client_auth_required: bool,
    #[serde(default = "yes")]
    verify_client_cert: bool,
}

fn yes() -> bool {
    true
}

/// `ecc` with a curve, or `rsa` with a key size. For `ecc` the curve decides (the
/// shape often carries a `key_size` that does not match it).
fn key_type(path: &Path, key: &str, kind: Option<&str>, size: Option<u32>, curve: Option<&str>, default: KeyType) -> Result<KeyType, Error> {
    let at = |field: &str, reason: String| Error::at(path, &format!("pki.{key}.{field}"), reason);
    match kind.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("ecc" | "ec" | "ecdsa") => match curve.map(str::to_ascii_lowercase).as_deref() {
            Some("secp256r1" | "prime256v1" | "p-256" | "p256") => Ok(KeyType::EcdsaP256),
            Some("secp384r1" | "p-384" | "p384") => Ok(KeyType::EcdsaP384),
            None => match size {
                None | Some(256) => Ok(KeyType::EcdsaP256),
                Some(384) => Ok(KeyType::EcdsaP384),
                Some(n) => Err(at("key_size", format!("no supported curve has {n} bits (256 or 384)"))),
            },
            Some(other) => Err(at("curve", format!("unsupported curve {other:?} (secp256r1 or secp384r1)"))),
        },
        Some("ed25519") => Ok(KeyType::Ed25519),
        Some("rsa") => {
            let bits = size.unwrap_or(3072);
            KeyType::from_rsa_bits(bits)
                .ok_or_else(|| at("key_size", format!("RSA key size {bits} is not supported (2048, 3072 or 4096)")))
        }
        Some(other) => Err(at("key_type", format!("unknown key type {other:?} (ecc, rsa or ed25519)"))),
    }
}

pub(crate) fn convert(path: &Path, file: File) -> Result<Config, Error> {
    let pki = file.pki;
    if let Some(kind) = &pki.root_ca.kind {
        if kind != "internal" {
            return Err(Error::at(path, "pki.root_ca.type", format!("{kind:?} is not supported: IronPKI creates its root (internal)")));
        }
    }
    let root_type = key_type(path, "root_ca", pki.root_ca.key_type.as_deref(), pki.root_ca.key_size, pki.root_ca.curve.as_deref(), KeyType::EcdsaP384)?;
    let int_type = key_type(
        path,
        "intermediate_ca",
        pki.intermediate_ca.key_type.as_deref(),
        pki.intermediate_ca.key_size,
        pki.intermediate_ca.curve.as_deref(),
        KeyType::EcdsaP256,
    )?;
    let mut config = crate::template::defaults("IronPKI")?;
    config.root_ca.key_type = root_type;
    config.root_ca.validity_years = pki.root_ca.validity_years;
    config.root_ca.path = pki.root_ca.path;
    if let Some(name) = pki.root_ca.name {
        config.root_ca.name = name;
    }
    let int_name = pki.intermediate_ca.name.unwrap_or_else(|| "issuing".into());
    let inter = &mut config.intermediates[0];
    inter.name = int_name.clone();
    inter.subject = Subject { common_name: Some(format!("{int_name} Intermediate CA")), ..Subject::default() };
    inter.key_type = int_type;
    inter.validity_years = pki.intermediate_ca.validity_years;
    inter.path = pki.intermediate_ca.path;
    inter.crl_url = pki.intermediate_ca.crl_distribution_point;
    inter.ocsp_url = pki.intermediate_ca.ocsp_url;
    inter.ca_issuers_url = pki.intermediate_ca.ca_issuers_url;
    for profile in config.profiles.values_mut() {
        profile.issuer = int_name.clone();
    }

    if let Some(policy) = pki.certificate_policy {
        let validity = Dur::days(policy.validity_days);
        let eku = policy.extended_key_usage.unwrap_or_else(|| vec![ExtendedKeyUsage::ClientAuth]);
        config.profiles.insert(
            "default".into(),
            ProfileConfig {
                issuer: int_name,
                validity: ValidityConfig { default: validity, max: validity },
                key_usage: policy.key_usage.unwrap_or_else(|| vec![KeyUsage::DigitalSignature]),
                extended_key_usage: eku,
                key_types: all_key_types(),
                min_rsa_bits: default_min_rsa(),
                san: SanRules { dns: policy.dns_names, ip: policy.ip_ranges, uri: policy.uri_patterns, email: policy.email_domains },
                cn_in_san: false,
                subject: Subject::default(),
            },
        );
        config.default_profile = Some("default".into());
    }
    if let Some(r) = pki.revocation {
        config.revocation.crl = r.crl_enabled;
        config.revocation.ocsp = r.ocsp_enabled || r.ocsp_stapling;
        if let Some(h) = r.crl_update_interval_hours {
            config.revocation.crl_regenerate = Dur::hours(h);
            if config.revocation.crl_validity <= Dur::hours(h) {
                config.revocation.crl_validity = Dur::hours(h * 2);
            }
        }
    }
    if let Some(a) = pki.automation {
        config.automation.auto_renewal = a.auto_renewal;
        config.automation.key_rotation = a.key_rotation_days.map(Dur::days);
        if let Some(days) = a.renewal_days_before {
            config.automation.renew_before = Some(Dur::days(days));
            config.automation.renew_at_fraction = None;
        }
    }
    if let Some(m) = pki.mtls {
        if let Some(v) = m.min_tls_version {
            config.mtls.min_tls_version = v;
        }
        config.mtls.cipher_suites = m.cipher_suites;
        config.mtls.client_auth_required = m.client_auth_required || m.verify_client_cert;
    }
    Ok(config)
}
