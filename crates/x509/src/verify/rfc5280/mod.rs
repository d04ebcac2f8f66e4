//! The RFC 5280 profile: path building from the leaf through the intermediates given to
//! a trust anchor, then basic path validation (RFC 5280 6.1) and the certificate
//! profile (section 4) on every certificate of the path, the trust anchor included.
//!
//! Where this differs from rustls-webpki: self-issued intermediates do not count against
//! pathLenConstraint (6.1.4 (l)); an end-entity certificate may also be a CA
//! certificate; directoryName constraints are applied, not refused. Certificate
//! policies (6.1.3 (d)-(f), 6.1.4 (a)-(j)) are not processed.

mod cert;
mod crl;
mod names;
mod signature;
#[cfg(test)]
mod tests;

use rustls_pki_types::ServerName;

use self::cert::{refuse, Cert, Role};
use self::names::Subtrees;
use super::{Input, Purpose, Verified};
use crate::Error;

/// Intermediates on one path, at most (more than any real hierarchy has).
const MAX_INTERMEDIATES: usize = 8;
/// Signatures checked while searching, at most: several issuers with one name can
/// make the search branch.
const MAX_SIGNATURES: usize = 64;

pub(super) fn verify(input: &Input<'_>) -> Result<Verified, Error> {
    let leaf = Cert::parse(input.leaf)?;
    let pool = input.intermediates.iter().map(|d| Cert::parse(d)).collect::<Result<Vec<_>, _>>()?;
    let anchors = input.roots.iter().map(|d| Cert::parse(d)).collect::<Result<Vec<_>, _>>()?;
    let mut search =
        Search { input, pool: &pool, anchors: &anchors, signatures: 0, invalid: None, bad_signature: None, unknown_issuer: None };
    let mut path = vec![&leaf];
    if let Some(verified) = search.extend(&mut path) {
        return Ok(verified);
    }
    if let Some(invalid) = search.invalid {
        return Err(invalid);
    }
    if let Some(bad) = search.bad_signature {
        return Err(bad);
    }
    if search.signatures > MAX_SIGNATURES {
        return Err(refuse("RFC 5280 6.1", format!("no path found within {MAX_SIGNATURES} signature checks")));
    }
    let unknown = search.unknown_issuer.unwrap_or_else(|| leaf.x509.issuer().to_string());
    Err(refuse("RFC 5280 6.1", format!("no path to a trusted root: the issuer {unknown} is unknown (missing intermediate or wrong roots)")))
}

/// A depth-first search for paths; each complete path is validated, the first valid one wins.
struct Search<'c, 'a> {
    input: &'c Input<'c>,
    pool: &'c [Cert<'a>],
    anchors: &'c [Cert<'a>],
    signatures: usize,
    /// Why the first complete path was invalid.
    invalid: Option<Error>,
    /// The first signature that did not verify.
    bad_signature: Option<Error>,
    /// The first issuer name that no certificate given or trusted has as its subject.
    unknown_issuer: Option<String>,
}

impl<'c, 'a: 'c> Search<'c, 'a> {
    /// Extends `path` (leaf first) up to an anchor.
    fn extend(&mut self, path: &mut Vec<&'c Cert<'a>>) -> Option<Verified> {
        let current = *path.last()?;
        let mut anchors: Vec<&'c Cert<'a>> = self.anchors.iter().filter(|a| current.may_be_issued_by(a)).collect();
        anchors.sort_by_key(|a| current.key_ids_differ(a));
        let anchors_named = anchors.len();
        for anchor in anchors {
            if self.signed(current, anchor) {
                match validate(path, anchor, self.input) {
                    Ok(verified) => return Some(verified),
                    Err(e) => {
                        self.invalid.get_or_insert(e);
                    }
                }
            }
        }
        if path.len() > MAX_INTERMEDIATES {
            return None;
        }
        let pool = self.pool;
        let mut candidates: Vec<&'c Cert<'a>> = pool
            .iter()
            .filter(|c| {
                current.may_be_issued_by(c)
                    && !path.iter().any(|p| p.der == c.der)
                    && !self.anchors.iter().any(|a| a.der == c.der)
            })
            .collect();
        candidates.sort_by_key(|c| current.key_ids_differ(c));
        if anchors_named == 0 && candidates.is_empty() {
            self.unknown_issuer.get_or_insert_with(|| current.x509.issuer().to_string());
        }
        for candidate in candidates {
            if self.signed(current, candidate) {
                path.push(candidate);
                if let Some(verified) = self.extend(path) {
                    return Some(verified);
                }
                path.pop();
            }
        }
        None
    }

    fn signed(&mut self, cert: &Cert<'_>, issuer: &Cert<'_>) -> bool {
        self.signatures += 1;
        if self.signatures > MAX_SIGNATURES {
            return false;
        }
        let failure = match cert.signed_by(issuer) {
            Ok(()) => return true,
            Err(signature::Failure::Invalid) => refuse(
                "RFC 5280 6.1.3 (a)(1)",
                format!("a signature in the chain does not verify: that of {} with the key of {}", cert.name, issuer.name),
            ),
            Err(signature::Failure::Unsupported) => refuse(
                "RFC 5280 6.1.3 (a)(1)",
                format!(
                    "the signature algorithm {} of {} is weak or unsupported with the key of {}",
                    cert.x509.signature_algorithm.algorithm.to_id_string(),
                    cert.name,
                    issuer.name
                ),
            ),
        };
        self.bad_signature.get_or_insert(failure);
        false
    }
}

/// Validates one path: `path` from the leaf up, then `anchor`.
fn validate(path: &[&Cert<'_>], anchor: &Cert<'_>, input: &Input<'_>) -> Result<Verified, Error> {
    let leaf = path[0];
    let cas = &path[1..];
    // Leaf first: its faults are the ones an operator looks for first.
    leaf.check(Role::Leaf, input.at)?;
    for ca in cas {
        ca.check(Role::Intermediate, input.at)?;
    }
    anchor.check(Role::Anchor, input.at)?;

    // From the anchor down (6.1.3, 6.1.4). The anchor's own constraints bind the path
    // too (RFC 5937), as most validators apply them.
    let mut max_path_length = anchor.path_len().map(|n| (n, anchor));
    let mut subtrees = Subtrees::default();
    subtrees.add(anchor)?;
    for ca in cas.iter().rev() {
        if !ca.self_issued() {
            subtrees.check(ca)?;
            if let Some((n, by)) = &mut max_path_length {
                if *n == 0 {
                    return Err(refuse(
                        "RFC 5280 6.1.4 (l)",
                        format!("{} exceeds the pathLenConstraint of {} (self-issued CA certificates not counted)", ca.name, by.name),
                    ));
                }
                *n -= 1;
            }
        }
        if let Some(n) = ca.path_len() {
            if max_path_length.is_none_or(|(max, _)| n < max) {
                max_path_length = Some((n, ca));
            }
        }
        subtrees.add(ca)?;
    }
    subtrees.check(leaf)?;

    let purposes = purposes(leaf, cas, input)?;
    // Only certificates usable for TLS servers: our client and device profiles use
    // the CN as an identifier of its own.
    if eku_allows(leaf, Purpose::Server)? {
        names::common_names_among_sans(leaf)?;
    }
    check_tls_key_usage(leaf)?;
    if let Some(host) = input.name {
        ServerName::try_from(host).map_err(|_| Error::Invalid(format!("{host:?} is neither a DNS name nor an IP address")))?;
        if !names::valid_for_host(leaf, host)? {
            return Err(refuse("RFC 6125 6.4", format!("certificate is not valid for name {host:?}: no matching subjectAltName")));
        }
    }
    if !input.crls.is_empty() {
        crl::check(leaf, cas.first().copied().unwrap_or(anchor), input.crls, input.at)?;
    }
    let chain = path.iter().chain([&anchor]).map(|c| c.x509.subject().to_string()).collect();
    Ok(Verified { purposes, chain })
}

/// The purposes asked for (or both) that the leaf's extended key usage allows, and that
/// no CA certificate above it excludes by an extended key usage of its own.
fn purposes(leaf: &Cert<'_>, cas: &[&Cert<'_>], input: &Input<'_>) -> Result<Vec<Purpose>, Error> {
    let asked = match input.purpose {
        Some(p) => vec![p],
        None => vec![Purpose::Server, Purpose::Client],
    };
    let mut allowed = Vec::new();
    let mut narrowed_by = None;
    for p in &asked {
        if !eku_allows(leaf, *p)? {
            continue;
        }
        match cas.iter().find(|ca| !eku_allows(ca, *p).unwrap_or(false)) {
            Some(ca) => narrowed_by = Some(ca.name.clone()),
            None => allowed.push(*p),
        }
    }
    if allowed.is_empty() {
        let what = match input.purpose {
            Some(p) => format!("{} authentication", p.name()),
            None => "server or client authentication".into(),
        };
        return Err(match narrowed_by {
            Some(ca) => refuse(
                "RFC 5280 4.2.1.12",
                format!("the extended key usage of CA certificate {ca} does not allow {what}, so the certificates it issues may not"),
            ),
            None => refuse("RFC 5280 4.2.1.12", format!("certificate's extended key usage does not allow {what}")),
        });
    }
    Ok(allowed)
}

/// No extendedKeyUsage, anyExtendedKeyUsage, or the purpose's own key purpose.
fn eku_allows(cert: &Cert<'_>, purpose: Purpose) -> Result<bool, Error> {
    let eku = cert.x509.extended_key_usage().map_err(|e| Error::malformed("extendedKeyUsage", e))?;
    Ok(eku.is_none_or(|e| {
        e.value.any
            || match purpose {
                Purpose::Server => e.value.server_auth,
                Purpose::Client => e.value.client_auth,
            }
    }))
}

/// A TLS end-entity key must be allowed to sign (or, for RSA key exchange, to encipher).
fn check_tls_key_usage(leaf: &Cert<'_>) -> Result<(), Error> {
    let ku = leaf.x509.key_usage().map_err(|e| Error::malformed("keyUsage", e))?;
    match ku {
        Some(ku) if !ku.value.digital_signature() && !ku.value.key_encipherment() => Err(refuse(
            "RFC 5280 4.2.1.3, RFC 8446 4.4.2.2",
            format!("key usage ({}) allows neither digitalSignature nor keyEncipherment, as TLS needs", ku.value),
        )),
        _ => Ok(()),
    }
}
