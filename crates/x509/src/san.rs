//! Subject alternative names and the profile rules that allow them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
    Uri(String),
    Email(String),
}

impl San {
    pub fn kind(&self) -> &'static str {
        match self {
            San::Dns(_) => "dns",
            San::Ip(_) => "ip",
            San::Uri(_) => "uri",
            San::Email(_) => "email",
        }
    }

    pub(crate) fn to_rcgen(&self) -> Result<rcgen::SanType, Error> {
        let ia5 = |s: &str| {
            rcgen::string::Ia5String::try_from(s.to_string()).map_err(|_| Error::policy(format!("{s:?} is not ASCII")))
        };
        Ok(match self {
            San::Dns(d) => rcgen::SanType::DnsName(ia5(d)?),
            San::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            San::Uri(u) => rcgen::SanType::URI(ia5(u)?),
            San::Email(e) => rcgen::SanType::Rfc822Name(ia5(e)?),
        })
    }

    /// A DNS name for a CN that must also be a SAN: an IP address if it parses as one.
    pub fn for_common_name(cn: &str) -> San {
        match cn.parse::<IpAddr>() {
            Ok(ip) => San::Ip(ip),
            Err(_) => San::Dns(cn.to_ascii_lowercase()),
        }
    }

    /// Checks the syntax of the name itself (before any profile rule).
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            San::Dns(d) => validate_dns(d),
            San::Ip(_) => Ok(()),
            San::Uri(u) => validate_uri(u),
            San::Email(e) => validate_email(e),
        }
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(v) => write!(f, "dns:{v}"),
            San::Ip(v) => write!(f, "ip:{v}"),
            San::Uri(v) => write!(f, "uri:{v}"),
            San::Email(v) => write!(f, "email:{v}"),
        }
    }
}

impl FromStr for San {
    type Err = Error;
    /// `dns:NAME`, `ip:ADDR`, `uri:URI` or `email:ADDR`.
    fn from_str(s: &str) -> Result<San, Error> {
        let bad = |reason: &str| Error::Invalid(format!("SAN {s:?}: {reason}"));
        let (kind, value) = s.split_once(':').ok_or_else(|| bad("expected dns:, ip:, uri: or email: prefix"))?;
        let san = match kind.to_ascii_lowercase().as_str() {
            "dns" => San::Dns(value.to_ascii_lowercase()),
            "ip" => San::Ip(value.parse().map_err(|_| bad("not an IP address"))?),
            "uri" => San::Uri(value.to_string()),
            "email" => San::Email(value.to_string()),
            _ => return Err(bad("expected dns:, ip:, uri: or email: prefix")),
        };
        san.validate()?;
        Ok(san)
    }
}

fn validate_dns(name: &str) -> Result<(), Error> {
    let bad = |reason: &str| Error::Invalid(format!("DNS name {name:?}: {reason}"));
    if name.is_empty() || name.len() > 253 {
        return Err(bad("must be 1 to 253 characters"));
    }
    for (i, label) in name.split('.').enumerate() {
        if label == "*" && i == 0 {
            continue;
        }
        if label.is_empty() || label.len() > 63 {
            return Err(bad("every label must be 1 to 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(bad("labels may hold only a-z, 0-9 and '-'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label may not start or end with '-'"));
        }
    }
    Ok(())
}

fn validate_uri(uri: &str) -> Result<(), Error> {
    let ok = uri.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
    }) && uri.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("URI {uri:?} is not an absolute URI (scheme://…)")))
    }
}

fn validate_email(addr: &str) -> Result<(), Error> {
    match addr.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty() && addr.is_ascii() && !addr.contains(char::is_whitespace) =>
        {
            validate_dns(&domain.to_ascii_lowercase())
        }
        _ => Err(Error::Invalid(format!("email address {addr:?} is not local@domain"))),
    }
}

/// An IP network in CIDR form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<IpNet, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{s:?}: prefix must be 0 to {max}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl IpNet {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        fn masked(bytes: &[u8], prefix: u8) -> Vec<u8> {
            bytes
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let bits = (prefix as usize).saturating_sub(i * 8).min(8);
                    if bits == 0 { 0 } else { b & (0xffu8 << (8 - bits)) }
                })
                .collect()
        }
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => masked(&net.octets(), self.prefix) == masked(&ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => masked(&net.octets(), self.prefix) == masked(&ip.octets(), self.prefix),
            _ => false,
        }
    }

    /// (network address octets, mask octets), the form of an iPAddress name constraint.
    pub fn to_address_and_mask(&self) -> (IpAddr, u8) {
        (self.addr, self.prefix)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Which names a profile allows, by kind.
///
/// - `dns`: `example.com` matches itself; `*.example.com` matches one label below it;
///   `.example.com` matches any name below it at any depth; `*` matches every name.
///   A requested wildcard name (`*.example.com`) must match a pattern literally.
/// - `ip`: CIDR ranges (`10.0.0.0/8`, `::1/128`).
/// - `uri`: glob patterns where `*` matches any run of characters (`spiffe://example.org/*`).
/// - `email`: a domain (`example.com`), `.example.com` for its subdomains, or a whole address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanRules {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uri: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email: Vec<String>,
}

impl SanRules {
    /// Checks the rules themselves; returns the first problem found.
    pub fn validate(&self) -> Result<(), String> {
        for pattern in &self.dns {
            let body = pattern.trim_start_matches('.').trim_start_matches("*.");
            if pattern != "*" && validate_dns(body).is_err() {
                return Err(format!("dns pattern {pattern:?} is not a DNS name, *.name, .name or *"));
            }
        }
        for range in &self.ip {
            range.parse::<IpNet>()?;
        }
        for pattern in &self.uri {
            if !pattern.contains("://") {
                return Err(format!("uri pattern {pattern:?} must be an absolute URI pattern (scheme://…)"));
            }
        }
        for pattern in &self.email {
            let domain = pattern.rsplit('@').next().unwrap_or_default().trim_start_matches('.');
            if validate_dns(&domain.to_ascii_lowercase()).is_err() {
                return Err(format!("email pattern {pattern:?} is not a domain, .domain or address"));
            }
        }
        Ok(())
    }

    pub fn allows(&self, san: &San) -> bool {
        match san {
            San::Dns(name) => self.dns.iter().any(|p| dns_matches(p, name)),
            San::Ip(ip) => self.ip.iter().filter_map(|r| r.parse::<IpNet>().ok()).any(|net| net.contains(ip)),
            San::Uri(uri) => self.uri.iter().any(|p| glob_matches(p.as_bytes(), uri.as_bytes())),
            San::Email(addr) => self.email.iter().any(|p| email_matches(p, addr)),
        }
    }
}

/// Whether `san` matches one pattern of an access grant, read by the SAN's type: DNS
/// names as in profiles (`*.example.com` one label, `.example.com` any depth), IP
/// addresses by CIDR range or exact address, URIs by glob (`*` any run), e-mail by
/// address, domain or `.domain`.
pub fn matches_pattern(pattern: &str, san: &San) -> bool {
    match san {
        San::Dns(name) => dns_matches(pattern, name),
        San::Ip(ip) => pattern.parse::<IpNet>().is_ok_and(|net| net.contains(ip)) || pattern.parse::<IpAddr>().is_ok_and(|p| p == *ip),
        San::Uri(uri) => glob(pattern, uri),
        San::Email(addr) => email_matches(pattern, addr),
    }
}

/// `*` matches any run of characters, everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    glob_matches(pattern.as_bytes(), text.as_bytes())
}

fn dns_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    if pattern == "*" || pattern == name {
        return true;
    }
    if name.starts_with("*.") {
        return false;
    }
    if let Some(suffix) = pattern.strip_prefix("*.") {
        return name.strip_suffix(suffix).and_then(|l| l.strip_suffix('.')).is_some_and(|label| !label.is_empty() && !label.contains('.'));
    }
    if pattern.starts_with('.') {
        return name.len() > pattern.len() && name.ends_with(&pattern);
    }
    false
}

fn email_matches(pattern: &str, addr: &str) -> bool {
    let Some((_, domain)) = addr.rsplit_once('@') else { return false };
    let domain = domain.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    if pattern.contains('@') {
        return pattern == addr.to_ascii_lowercase();
    }
    if pattern.starts_with('.') {
        return domain.ends_with(&pattern) && domain.len() > pattern.len();
    }
    domain == pattern
}

fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_matches(rest, &text[i..])),
        Some((c, rest)) => text.split_first().is_some_and(|(t, trest)| t == c && glob_matches(rest, trest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SanRules {
        SanRules {
            dns: vec!["*.svc.example.com".into(), ".iot.example.com".into(), "exact.example.com".into()],
            ip: vec!["10.0.0.0/8".into(), "::1/128".into()],
            uri: vec!["spiffe://example.org/*".into()],
            email: vec!["example.com".into()],
        }
    }

    #[test]
    fn dns_patterns() {
        let r = rules();
        assert!(r.allows(&San::Dns("api.svc.example.com".into())));
        assert!(!r.allows(&San::Dns("a.b.svc.example.com".into())));
        assert!(!r.allows(&San::Dns("svc.example.com".into())));
        assert!(r.allows(&San::Dns("a.b.iot.example.com".into())));
        assert!(!r.allows(&San::Dns("iot.example.com".into())));
        assert!(r.allows(&San::Dns("exact.example.com".into())));
        assert!(!r.allows(&San::Dns("evilexact.example.com".into())));
        assert!(!r.allows(&San::Dns("*.svc.example.com".into())) || r.dns.contains(&"*.svc.example.com".to_string()));
        assert!(!r.allows(&San::Dns("x.example.org".into())));
    }

    #[test]
    fn ip_uri_email() {
        let r = rules();
        assert!(r.allows(&San::Ip("10.1.2.3".parse().unwrap())));
        assert!(!r.allows(&San::Ip("11.1.2.3".parse().unwrap())));
        assert!(r.allows(&San::Ip("::1".parse().unwrap())));
        assert!(!r.allows(&San::Ip("::2".parse().unwrap())));
        assert!(r.allows(&San::Uri("spiffe://example.org/ns/prod/sa/web".into())));
        assert!(!r.allows(&San::Uri("spiffe://example.org.evil/x".into())));
        assert!(r.allows(&San::Email("ops@example.com".into())));
        assert!(!r.allows(&San::Email("ops@sub.example.com".into())));
    }

    #[test]
    fn parses_cli_form() {
        assert_eq!("dns:A.Example.com".parse::<San>().unwrap(), San::Dns("a.example.com".into()));
        assert!("dns:bad_name".parse::<San>().is_err());
        assert!("ip:300.1.1.1".parse::<San>().is_err());
        assert!("foo:bar".parse::<San>().is_err());
        assert!("uri:not a uri".parse::<San>().is_err());
        assert!("email:nobody".parse::<San>().is_err());
    }

    #[test]
    fn cidr_bounds() {
        let net: IpNet = "192.168.0.0/23".parse().unwrap();
        assert!(net.contains(&"192.168.1.255".parse().unwrap()));
        assert!(!net.contains(&"192.168.2.0".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
    }
}
