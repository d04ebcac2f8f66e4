//! Names: name constraints (RFC 5280 4.2.1.10, 6.1.3 (b)-(c), 6.1.4 (g)), the host name
//! a relying party asks for (RFC 6125), and the common name among the SANs.

use std::fmt;
use std::mem::discriminant;
use std::net::IpAddr;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::X509Name;
use x509_parser::x509::{AttributeTypeAndValue, RelativeDistinguishedName};

use super::cert::{refuse, Cert};
use crate::Error;

const OID_EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";

/// The constraints gathered from the trust anchor and the CA certificates above the
/// certificate being checked. Each CA's permitted subtrees stay a set of their own: a
/// name must lie in one subtree of every set that has subtrees of its type, which is the
/// intersection RFC 5280 6.1.4 (g) asks for.
#[derive(Default)]
pub(super) struct Subtrees<'c> {
    permitted: Vec<(&'c str, Vec<&'c GeneralName<'c>>)>,
    excluded: Vec<(&'c str, &'c GeneralName<'c>)>,
}

impl<'c> Subtrees<'c> {
    pub fn add(&mut self, ca: &'c Cert<'c>) -> Result<(), Error> {
        let Some(nc) = ca.x509.name_constraints().map_err(|e| Error::malformed("nameConstraints", e))? else {
            return Ok(());
        };
        if let Some(permitted) = &nc.value.permitted_subtrees {
            self.permitted.push((&ca.name, permitted.iter().map(|s| &s.base).collect()));
        }
        if let Some(excluded) = &nc.value.excluded_subtrees {
            self.excluded.extend(excluded.iter().map(|s| (ca.name.as_str(), &s.base)));
        }
        Ok(())
    }

    /// Every name of `cert` (its subject, the emailAddress attributes in it and its
    /// SANs) must be within the permitted subtrees and outside the excluded ones.
    pub fn check(&self, cert: &Cert<'_>) -> Result<(), Error> {
        if self.permitted.is_empty() && self.excluded.is_empty() {
            return Ok(());
        }
        for name in names_of(cert)? {
            for (ca, set) in &self.permitted {
                let of_type: Vec<_> = set.iter().filter(|s| same_type(s, &name)).collect();
                if !of_type.is_empty() && !of_type.iter().any(|s| within(s, &name)) {
                    return Err(refuse(
                        "RFC 5280 4.2.1.10",
                        format!("{name} in {} is not within the permitted subtrees of {ca}", cert.name),
                    ));
                }
            }
            if let Some((ca, _)) = self.excluded.iter().find(|(_, s)| same_type(s, &name) && within(s, &name)) {
                return Err(refuse("RFC 5280 4.2.1.10", format!("{name} in {} is within an excluded subtree of {ca}", cert.name)));
            }
        }
        Ok(())
    }
}

/// A name of a certificate, as name constraints see it.
enum Name<'c> {
    Dns(&'c str),
    Email(&'c str),
    Ip(&'c [u8]),
    Uri(&'c str),
    Directory(&'c X509Name<'c>),
    Other(&'c GeneralName<'c>),
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Dns(n) => write!(f, "dNSName {n}"),
            Name::Email(n) => write!(f, "rfc822Name {n}"),
            Name::Ip(bytes) => match ip(bytes) {
                Some(addr) => write!(f, "iPAddress {addr}"),
                None => write!(f, "iPAddress {}", hex::encode(bytes)),
            },
            Name::Uri(n) => write!(f, "URI {n}"),
            Name::Directory(n) => write!(f, "directoryName {n}"),
            Name::Other(g) => write!(f, "{g:?}"),
        }
    }
}

fn names_of<'c>(cert: &'c Cert<'c>) -> Result<Vec<Name<'c>>, Error> {
    let subject = cert.x509.subject();
    let mut names = Vec::new();
    if subject.iter().next().is_some() {
        names.push(Name::Directory(subject));
    }
    for attr in subject.iter_attributes().filter(|a| a.attr_type().to_id_string() == OID_EMAIL_ADDRESS) {
        if let Ok(addr) = attr.as_str() {
            names.push(Name::Email(addr));
        }
    }
    for general in sans(cert)? {
        names.push(match general {
            GeneralName::DNSName(n) => Name::Dns(n),
            GeneralName::RFC822Name(n) => Name::Email(n),
            GeneralName::IPAddress(b) => Name::Ip(b),
            GeneralName::URI(n) => Name::Uri(n),
            GeneralName::DirectoryName(n) => Name::Directory(n),
            other => Name::Other(other),
        });
    }
    Ok(names)
}

pub(super) fn sans<'c>(cert: &'c Cert<'c>) -> Result<&'c [GeneralName<'c>], Error> {
    let san = cert.x509.subject_alternative_name().map_err(|e| Error::malformed("subjectAltName", e))?;
    Ok(san.map(|s| s.value.general_names.as_slice()).unwrap_or_default())
}

fn same_type(subtree: &GeneralName<'_>, name: &Name<'_>) -> bool {
    match (subtree, name) {
        (GeneralName::DNSName(_), Name::Dns(_))
        | (GeneralName::RFC822Name(_), Name::Email(_))
        | (GeneralName::IPAddress(_), Name::Ip(_))
        | (GeneralName::URI(_), Name::Uri(_))
        | (GeneralName::DirectoryName(_), Name::Directory(_)) => true,
        (s, Name::Other(g)) => discriminant(s) == discriminant(*g),
        _ => false,
    }
}

fn within(subtree: &GeneralName<'_>, name: &Name<'_>) -> bool {
    match (subtree, name) {
        (GeneralName::DNSName(base), Name::Dns(n)) => dns_within(base, n),
        (GeneralName::RFC822Name(base), Name::Email(addr)) => email_within(base, addr),
        (GeneralName::IPAddress(range), Name::Ip(addr)) => ip_within(range, addr),
        (GeneralName::URI(base), Name::Uri(uri)) => uri_host(uri).is_some_and(|host| host_within(base, host)),
        (GeneralName::DirectoryName(base), Name::Directory(n)) => directory_within(base, n),
        // Forms this validator does not interpret match only when identical.
        (s, Name::Other(g)) => s == *g,
        _ => false,
    }
}

/// Zero or more labels added on the left of the base name.
fn dns_within(base: &str, name: &str) -> bool {
    let base = base.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if base.is_empty() {
        return true;
    }
    match base.strip_prefix('.') {
        Some(_) => name.ends_with(&base),
        None => name == base || name.ends_with(&format!(".{base}")),
    }
}

/// A mailbox, all mailboxes of a host, or (with a leading dot) of the hosts below a domain.
fn email_within(base: &str, addr: &str) -> bool {
    let Some((_, host)) = addr.rsplit_once('@') else { return false };
    if base.contains('@') {
        return addr.eq_ignore_ascii_case(base);
    }
    host_within(base, host)
}

/// A host exactly, or with a leading dot any host below the domain (RFC 5280 for
/// rfc822Name and URI constraints).
fn host_within(base: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let base = base.to_ascii_lowercase();
    if base.starts_with('.') {
        host.ends_with(&base)
    } else {
        host == base
    }
}

fn ip_within(range: &[u8], addr: &[u8]) -> bool {
    if range.len() != 2 * addr.len() {
        return false;
    }
    let (net, mask) = range.split_at(addr.len());
    addr.iter().zip(net).zip(mask).all(|((a, n), m)| a & m == n & m)
}

/// The host of a URI: after the scheme's "//", without user information and port.
fn uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        match host_port.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host_port,
        }
    };
    (!host.is_empty()).then_some(host)
}

/// RFC 5280 7.1: the base's RDNs begin the name's, compared attribute by attribute.
fn directory_within(base: &X509Name<'_>, name: &X509Name<'_>) -> bool {
    let base: Vec<_> = base.iter().collect();
    let name: Vec<_> = name.iter().collect();
    base.len() <= name.len() && base.iter().zip(&name).all(|(b, n)| rdn_eq(b, n))
}

fn rdn_eq(a: &RelativeDistinguishedName<'_>, b: &RelativeDistinguishedName<'_>) -> bool {
    a.iter().count() == b.iter().count() && a.iter().all(|x| b.iter().any(|y| attribute_eq(x, y)))
}

/// String values compare case-insensitively with white space collapsed (RFC 5280 7.1,
/// RFC 4518 in short); other values by their bytes.
fn attribute_eq(a: &AttributeTypeAndValue<'_>, b: &AttributeTypeAndValue<'_>) -> bool {
    let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    a.attr_type() == b.attr_type()
        && match (a.as_str(), b.as_str()) {
            (Ok(x), Ok(y)) => fold(x) == fold(y),
            _ => a.as_slice() == b.as_slice(),
        }
}

fn ip(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Whether the certificate's SANs name `host` (a DNS name or an IP address); a
/// wildcard stands for exactly one whole leftmost label.
pub(super) fn valid_for_host(cert: &Cert<'_>, host: &str) -> Result<bool, Error> {
    if let Ok(addr) = host.parse::<IpAddr>() {
        return Ok(sans(cert)?.iter().any(|g| matches!(g, GeneralName::IPAddress(b) if ip(b) == Some(addr))));
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    Ok(sans(cert)?.iter().any(|g| match g {
        GeneralName::DNSName(pattern) => {
            let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(parent) => host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
                None => pattern == host,
            }
        }
        _ => false,
    }))
}

/// Each common name, when the certificate has SANs, must be one of them (CA/Browser
/// Forum Baseline Requirements 7.1.4.3; RFC 6125 has clients ignore the CN when SANs
/// are present, so a CN outside them misleads).
pub(super) fn common_names_among_sans(cert: &Cert<'_>) -> Result<(), Error> {
    let sans = sans(cert)?;
    if sans.is_empty() {
        return Ok(());
    }
    for cn in cert.x509.subject().iter_common_name() {
        let Ok(cn) = cn.as_str() else { continue };
        let listed = sans.iter().any(|g| match g {
            GeneralName::DNSName(n) => n.eq_ignore_ascii_case(cn),
            GeneralName::IPAddress(b) => cn.parse::<IpAddr>().is_ok_and(|a| ip(b) == Some(a)),
            GeneralName::RFC822Name(n) | GeneralName::URI(n) => *n == cn,
            _ => false,
        });
        if !listed {
            return Err(refuse(
                "CA/Browser Forum BR 7.1.4.3",
                format!("the common name {cn:?} of {} is not among its subjectAltNames", cert.name),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_and_host_matching() {
        assert!(dns_within("example.com", "a.example.com"));
        assert!(dns_within("example.com", "EXAMPLE.com"));
        assert!(!dns_within("example.com", "badexample.com"));
        assert!(dns_within(".example.com", "a.example.com"));
        assert!(!dns_within(".example.com", "example.com"));
        assert!(email_within("example.com", "a@example.com"));
        assert!(!email_within("example.com", "a@sub.example.com"));
        assert!(email_within(".example.com", "a@sub.example.com"));
        assert!(email_within("a@example.com", "A@example.com"));
        assert!(ip_within(&[10, 0, 0, 0, 255, 0, 0, 0], &[10, 1, 2, 3]));
        assert!(!ip_within(&[10, 0, 0, 0, 255, 0, 0, 0], &[11, 1, 2, 3]));
        assert!(!ip_within(&[10, 0, 0, 0, 255, 0, 0, 0], &[0; 16]));
        assert_eq!(uri_host("spiffe://user@Example.org:8443/x"), Some("Example.org"));
        assert_eq!(uri_host("https://[::1]:443/"), Some("::1"));
        assert_eq!(uri_host("urn:x"), None);
    }
}
