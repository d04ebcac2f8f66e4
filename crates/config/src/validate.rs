//! Checks that a parsed configuration is one the authority can run.

use std::path::Path;

use ironpki_x509::KeyType;

use crate::schema::Config;
use crate::{Dur, Error};

const YEAR: u64 = 365 * 86_400;

/// Cipher suites rustls offers (TLS 1.3 and the TLS 1.2 AEAD ECDHE suites).
const CIPHER_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

pub(crate) fn config(path: &Path, c: &Config) -> Result<(), Error> {
    let err = |key: &str, reason: String| Err(Error::at(path, key, reason));

    url(path, "base_url", &c.base_url)?;
    if c.backdate.0.as_secs() > 86_400 {
        return err("backdate", format!("{} is more than a day", c.backdate));
    }
    if c.store.sqlite.is_empty() {
        return err("store.sqlite", "must name a database file".into());
    }

    ca_name(path, "root_ca.name", &c.root_ca.name)?;
    c.root_ca.subject.validate().or_else(|r| err("root_ca.subject", r))?;
    ca_key(path, "root_ca.key_type", c.root_ca.key_type)?;
    if !(1..=50).contains(&c.root_ca.validity_years) {
        return err("root_ca.validity_years", format!("{} is not between 1 and 50", c.root_ca.validity_years));
    }

    if c.intermediates.is_empty() {
        return err("intermediates", "at least one intermediate (issuing) CA is needed".into());
    }
    for (i, ca) in c.intermediates.iter().enumerate() {
        let key = |field: &str| format!("intermediates[{i}].{field}");
        ca_name(path, &key("name"), &ca.name)?;
        if ca.name == c.root_ca.name || c.intermediates[..i].iter().any(|o| o.name == ca.name) {
            return err(&key("name"), format!("CA name {:?} is used twice", ca.name));
        }
        ca.subject.validate().or_else(|r| err(&key("subject"), r))?;
        ca_key(path, &key("key_type"), ca.key_type)?;
        if ca.validity_years == 0 || ca.validity_years > c.root_ca.validity_years {
            return err(
                &key("validity_years"),
                format!(
                    "{} years: an intermediate must be valid 1 year or more and not outlive the root ({} years)",
                    ca.validity_years, c.root_ca.validity_years
                ),
            );
        }
        if let Some(nc) = &ca.name_constraints {
            nc.validate().or_else(|r| err(&key("name_constraints"), r))?;
        }
        for (field, value) in [
            ("crl_url", &ca.crl_url),
            ("delta_crl_url", &ca.delta_crl_url),
            ("ocsp_url", &ca.ocsp_url),
            ("ca_issuers_url", &ca.ca_issuers_url),
        ] {
            if let Some(v) = value {
                url(path, &key(field), v)?;
            }
        }
    }

    if c.profiles.is_empty() {
        return err("profiles", "at least one profile is needed".into());
    }
    for (name, p) in &c.profiles {
        let key = |field: &str| format!("profiles.{name}.{field}");
        if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
            return err(&format!("profiles.{name}"), "profile names may hold only letters, digits, '-' and '_'".into());
        }
        let Some(issuer) = c.intermediate(&p.issuer) else {
            return err(&key("issuer"), format!("no intermediate named {:?}", p.issuer));
        };
        if p.validity.max.0.is_zero() || p.validity.default > p.validity.max {
            return err(&key("validity"), format!("default {} must be positive and at most max {}", p.validity.default, p.validity.max));
        }
        let issuer_life = Dur(std::time::Duration::from_secs(u64::from(issuer.validity_years) * YEAR));
        if p.validity.max > issuer_life {
            return err(
                &key("validity.max"),
                format!("{} is longer than the life of its issuer {:?} ({} years)", p.validity.max, issuer.name, issuer.validity_years),
            );
        }
        if p.key_usage.is_empty() {
            return err(&key("key_usage"), "must grant at least one key usage".into());
        }
        if p.extended_key_usage.is_empty() {
            return err(&key("extended_key_usage"), "must grant at least one extended key usage".into());
        }
        if p.key_types.is_empty() {
            return err(&key("key_types"), "must allow at least one key type".into());
        }
        if p.min_rsa_bits < 2048 {
            return err(&key("min_rsa_bits"), format!("{} bits is too weak: RSA keys must be 2048 bits or more", p.min_rsa_bits));
        }
        if p.min_rsa_bits > 4096 {
            return err(&key("min_rsa_bits"), format!("{} bits is more than the largest key issued (4096)", p.min_rsa_bits));
        }
        p.san.validate().or_else(|r| err(&key("san"), r))?;
        if p.subject.common_name.is_some() {
            return err(&key("subject.common_name"), "the common name comes from each request, not the profile".into());
        }
        p.subject.validate().or_else(|r| err(&key("subject"), r))?;
    }
    if let Some(d) = &c.default_profile {
        if !c.profiles.contains_key(d) {
            return err("default_profile", format!("no profile named {d:?}"));
        }
    }

    let r = &c.revocation;
    if r.crl_validity.0.as_secs() < 3600 {
        return err("revocation.crl_validity", format!("{} is shorter than an hour", r.crl_validity));
    }
    if r.crl_regenerate >= r.crl_validity || r.crl_regenerate.0.as_secs() < 60 {
        return err(
            "revocation.crl_regenerate",
            format!("{} must be at least 1m and less than crl_validity ({})", r.crl_regenerate, r.crl_validity),
        );
    }
    if r.delta_crl_validity.0.as_secs() < 120 || r.delta_crl_validity >= r.crl_validity {
        return err(
            "revocation.delta_crl_validity",
            format!("{} must be at least 2m and less than crl_validity ({})", r.delta_crl_validity, r.crl_validity),
        );
    }
    if r.root_crl_validity.0.as_secs() < 3600 {
        return err("revocation.root_crl_validity", format!("{} is shorter than an hour", r.root_crl_validity));
    }

    if r.ocsp_validity.0.as_secs() < 60 || r.ocsp_validity.0.as_secs() > 7 * 86_400 {
        return err("revocation.ocsp_validity", format!("{} is not between 1m and 7d", r.ocsp_validity));
    }
    if r.ocsp_responder_validity.0.as_secs() < 3600 || r.ocsp_responder_validity < r.ocsp_validity {
        return err(
            "revocation.ocsp_responder_validity",
            format!("{} must be at least 1h and at least ocsp_validity ({})", r.ocsp_responder_validity, r.ocsp_validity),
        );
    }
    serve(path, c)?;
    acme(path, c)?;
    notify(path, c)?;

    let a = &c.automation;
    match (a.renew_at_fraction, a.renew_before) {
        (Some(_), Some(_)) => return err("automation", "set renew_at_fraction or renew_before, not both".into()),
        (Some(f), None) if !(f > 0.0 && f < 1.0) => {
            return err("automation.renew_at_fraction", format!("{f} is not between 0 and 1"))
        }
        (None, Some(d)) if d.0.is_zero() => return err("automation.renew_before", "must be positive".into()),
        _ => {}
    }

    if !["1.2", "1.3"].contains(&c.mtls.min_tls_version.as_str()) {
        return err("mtls.min_tls_version", format!("{:?} is not \"1.2\" or \"1.3\"", c.mtls.min_tls_version));
    }
    for suite in &c.mtls.cipher_suites {
        if !CIPHER_SUITES.contains(&suite.as_str()) {
            return err("mtls.cipher_suites", format!("{suite:?} is not an AEAD suite offered (one of {})", CIPHER_SUITES.join(", ")));
        }
    }
    Ok(())
}

fn notify(path: &Path, c: &Config) -> Result<(), Error> {
    if let Some(m) = &c.notify.mqtt {
        crate::mqtt_endpoint(&m.url).map_err(|e| Error::at(path, "notify.mqtt.url", e))?;
        if m.qos > 1 {
            return Err(Error::at(path, "notify.mqtt.qos", format!("{} is not 0 or 1", m.qos)));
        }
        if m.topic.is_empty() || m.topic.contains(['#', '+']) {
            return Err(Error::at(path, "notify.mqtt.topic", format!("{:?} must be a topic name, without wildcards", m.topic)));
        }
    }
    for (i, w) in c.notify.webhooks.iter().enumerate() {
        if !w.url.starts_with("https://") && !w.url.starts_with("http://") {
            return Err(Error::at(path, &format!("notify.webhooks[{i}].url"), format!("{:?} is not an http(s) URL", w.url)));
        }
    }
    Ok(())
}

fn acme(path: &Path, c: &Config) -> Result<(), Error> {
    for (i, p) in c.acme.provisioners.iter().enumerate() {
        let err = |key: &str, reason: String| Err(Error::at(path, &format!("acme.provisioners[{i}].{key}"), reason));
        if p.name.is_empty() || !p.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return err("name", format!("{:?} must be letters, digits, '-' or '_' (it is part of the directory URL)", p.name));
        }
        if c.acme.provisioners[..i].iter().any(|q| q.name == p.name) {
            return err("name", format!("{:?} names two provisioners", p.name));
        }
        let Some(profile) = c.profiles.get(&p.profile) else {
            return err("profile", format!("no profile named {:?}", p.profile));
        };
        if c.serve.client_roles.contains_key(&p.profile) {
            return err("profile", format!("{:?} issues API client certificates: ACME may not use it", p.profile));
        }
        if p.challenges.is_empty() {
            return err("challenges", "name at least one of http-01, dns-01, tls-alpn-01".into());
        }
        if let Some(lifetime) = p.lifetime {
            if lifetime > profile.validity.max || lifetime.0.as_secs() < 10 {
                return err("lifetime", format!("{lifetime} is not between 10s and the profile's maximum ({})", profile.validity.max));
            }
        }
        if p.http01_port == 0 || p.tls_alpn01_port == 0 {
            return err("http01_port", "ports are 1 to 65535".into());
        }
        if p.dns_resolver != "system" && p.dns_resolver.parse::<std::net::SocketAddr>().is_err() {
            return err("dns_resolver", format!("{:?}: `system` or ADDR:PORT (for example 127.0.0.1:53)", p.dns_resolver));
        }
    }
    Ok(())
}

fn serve(path: &Path, c: &Config) -> Result<(), Error> {
    let err = |key: &str, reason: String| Err(Error::at(path, key, reason));
    let s = &c.serve;
    for (key, addr, example) in
        [("serve.http_listen", &s.http_listen, "127.0.0.1:8080"), ("serve.https_listen", &s.https_listen, "127.0.0.1:8443")]
    {
        if addr.parse::<std::net::SocketAddr>().is_err() {
            return err(key, format!("{addr:?} is not an address such as {example}"));
        }
    }
    for name in &s.tls_names {
        let ok = name.parse::<std::net::IpAddr>().is_ok()
            || (!name.is_empty() && name.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')));
        if !ok {
            return err("serve.tls_names", format!("{name:?} is neither a DNS name nor an IP address"));
        }
    }
    if let Some(issuer) = &s.tls_issuer {
        if c.intermediate(issuer).is_none() {
            return err("serve.tls_issuer", format!("{issuer:?} is not one of the intermediates"));
        }
    }
    for (profile, grant) in &s.client_roles {
        let key = format!("serve.client_roles.{profile}");
        if !c.profiles.contains_key(profile) && profile != crate::ADMIN_PROFILE {
            return err(&key, format!("{profile:?} is not a profile"));
        }
        if let Some(p) = grant.profiles.iter().find(|p| !c.profiles.contains_key(*p)) {
            return err(&format!("{key}.profiles"), format!("{p:?} is not a profile"));
        }
        if let Some(p) = grant.san_patterns.iter().find(|p| p.is_empty()) {
            return err(&format!("{key}.san_patterns"), format!("{p:?} is an empty pattern"));
        }
    }
    if s.rate_limit == 0 {
        return err("serve.rate_limit", "must be at least 1 request per second".into());
    }
    if s.max_body < 1024 {
        return err("serve.max_body", format!("{} bytes is too small for a CSR (at least 1024)", s.max_body));
    }
    if let Some(url) = &c.store.postgres {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return err("store.postgres", format!("{url:?} is not a postgres:// URL"));
        }
    }
    Ok(())
}

fn ca_name(path: &Path, key: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::at(path, key, format!("{name:?}: CA names are 1 to 64 letters, digits, '-' or '_'")));
    }
    Ok(())
}

fn ca_key(path: &Path, key: &str, kt: KeyType) -> Result<(), Error> {
    if !KeyType::CA.contains(&kt) {
        return Err(Error::at(path, key, format!("{kt} is not allowed for a CA (one of {})", KeyType::CA.map(|k| k.name()).join(", "))));
    }
    Ok(())
}

fn url(path: &Path, key: &str, value: &str) -> Result<(), Error> {
    let ok = (value.starts_with("http://") || value.starts_with("https://"))
        && value.len() > "https://".len()
        && value.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(Error::at(path, key, format!("{value:?} is not an http:// or https:// URL")));
    }
    Ok(())
}
