//! What is on disk for a certificate, and whether a new chain may go live: the key
//! matches the certificate, the chain verifies to the roots, the names are the
//! configured ones.

use std::path::Path;

use ironpki_x509::san::San;
use ironpki_x509::verify::{self, Input, Profile};
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::Cert;
use crate::Error;

/// A certificate in place, with what scheduling and ARI need.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub der: Vec<u8>,
    pub serial: String,
    pub raw_serial: Vec<u8>,
    pub authority_key_id: Option<Vec<u8>>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub sans: Vec<San>,
    pub ocsp_url: Option<String>,
    /// The issuing CA's certificate, when the chain names it.
    pub issuer_der: Option<Vec<u8>>,
}

impl Leaf {
    pub fn parse(der: &[u8]) -> Result<Leaf, String> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("not a certificate: {e}"))?;
        let tbs = &cert.tbs_certificate;
        let mut leaf = Leaf {
            der: der.to_vec(),
            serial: hex::encode(tbs.raw_serial()),
            raw_serial: tbs.raw_serial().to_vec(),
            authority_key_id: None,
            not_before: tbs.validity.not_before.to_datetime(),
            not_after: tbs.validity.not_after.to_datetime(),
            sans: Vec::new(),
            ocsp_url: None,
            issuer_der: None,
        };
        for ext in tbs.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for name in &san.general_names {
                        match name {
                            GeneralName::DNSName(d) => leaf.sans.push(San::Dns(d.to_ascii_lowercase())),
                            GeneralName::IPAddress(ip) => {
                                if let Some(ip) = ip_from_bytes(ip) {
                                    leaf.sans.push(San::Ip(ip));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                ParsedExtension::AuthorityKeyIdentifier(aki) => leaf.authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec()),
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for desc in &aia.accessdescs {
                        if desc.access_method == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP {
                            if let GeneralName::URI(uri) = &desc.access_location {
                                leaf.ocsp_url.get_or_insert_with(|| uri.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(leaf)
    }

    /// Whether `now` is inside the validity period.
    pub fn valid_at(&self, now: OffsetDateTime) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// What is on disk for one certificate.
#[derive(Debug)]
pub enum OnDisk {
    /// A file is missing: nothing was ever installed (or it was removed).
    Missing(String),
    /// The files are there but unusable (unreadable, unparsable, key and certificate do
    /// not match, names not the configured ones).
    Broken(String),
    Present(Leaf),
}

/// Why the files are not usable.
enum Unusable {
    Missing(String),
    Broken(String),
}

fn read(path: &Path) -> Result<Vec<u8>, Unusable> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Unusable::Missing(format!("{} is missing", path.display())),
        _ => Unusable::Broken(format!("{}: {e}", path.display())),
    })
}

/// Reads and checks the working files of `cert`.
pub fn on_disk(cert: &Cert) -> OnDisk {
    match read_files(cert) {
        Ok(leaf) => OnDisk::Present(leaf),
        Err(Unusable::Missing(m)) => OnDisk::Missing(m),
        Err(Unusable::Broken(m)) => OnDisk::Broken(m),
    }
}

fn read_files(cert: &Cert) -> Result<Leaf, Unusable> {
    let files = &cert.config.files;
    let key = read(&files.key)?;
    let cert_pem = read(&files.cert)?;
    let broken = Unusable::Broken;
    let certs = ironpki_x509::pem::blocks(&cert_pem, "CERTIFICATE", "certificate").map_err(|e| broken(format!("{}: {e}", files.cert.display())))?;
    let leaf_der = certs.first().ok_or_else(|| broken(format!("{}: no certificate", files.cert.display())))?;
    let mut leaf = Leaf::parse(leaf_der).map_err(|e| broken(format!("{}: {e}", files.cert.display())))?;
    let key_text = String::from_utf8(key).map_err(|_| broken(format!("{}: not PEM", files.key.display())))?;
    key_matches(&key_text, &leaf.der).map_err(|e| broken(format!("{} and {}: {e}", files.key.display(), files.cert.display())))?;
    let chain = match &files.chain {
        Some(path) => ironpki_x509::pem::blocks(&read(path)?, "CERTIFICATE", "certificate").map_err(|e| broken(format!("{}: {e}", path.display())))?,
        None => certs[1..].to_vec(),
    };
    leaf.issuer_der = chain.into_iter().next();
    names_match(cert, &leaf).map_err(broken)?;
    Ok(leaf)
}

/// Whether the PEM private key is the one the certificate names.
pub fn key_matches(key_pem: &str, cert_der: &[u8]) -> Result<(), String> {
    let key = rcgen::KeyPair::from_pem(key_pem).map_err(|e| format!("unreadable key: {e}"))?;
    let (_, public) = ironpki_x509::inspect::serial_and_public_key(cert_der).map_err(|e| e.to_string())?;
    if key.public_key_raw() == public.as_slice() {
        Ok(())
    } else {
        Err("the key does not match the certificate".into())
    }
}

/// Whether the certificate names exactly the configured names.
pub fn names_match(cert: &Cert, leaf: &Leaf) -> Result<(), String> {
    let mut want: Vec<String> = cert.sans.iter().map(ToString::to_string).collect();
    let mut have: Vec<String> = leaf.sans.iter().map(ToString::to_string).collect();
    want.sort();
    have.sort();
    have.dedup();
    if want == have {
        Ok(())
    } else {
        Err(format!("the certificate names [{}], the configuration [{}]", have.join(", "), want.join(", ")))
    }
}

/// Checks a newly issued chain (PEM, leaf first) with its key before it goes live, and
/// returns the leaf and the chain above it (PEM).
pub fn check_new(cert: &Cert, key_pem: &str, chain_pem: &str, roots: &[Vec<u8>], now: OffsetDateTime) -> Result<(Leaf, String), Error> {
    let bad = |m: String| Error::Rejected(m);
    let certs = ironpki_x509::pem::blocks(chain_pem.as_bytes(), "CERTIFICATE", "certificate").map_err(|e| bad(e.to_string()))?;
    let (leaf_der, rest) = certs.split_first().ok_or_else(|| bad("the CA returned no certificate".into()))?;
    let mut leaf = Leaf::parse(leaf_der).map_err(bad)?;
    key_matches(key_pem, leaf_der).map_err(bad)?;
    names_match(cert, &leaf).map_err(bad)?;
    verify::verify(&Input {
        leaf: leaf_der,
        intermediates: rest,
        roots,
        name: None,
        at: now,
        purpose: None,
        crls: &[],
        profile: Profile::Webpki,
    })
    .map_err(|e| bad(format!("the chain does not verify to the roots: {e}")))?;
    leaf.issuer_der = rest.first().cloned();
    let chain: String = rest.iter().map(|d| ironpki_x509::pem::cert(d)).collect();
    Ok((leaf, chain))
}

/// The certificates of a PEM bundle.
pub fn read_roots(path: &Path) -> Result<Vec<Vec<u8>>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Files(format!("{}: {e}", path.display())))?;
    let roots = ironpki_x509::pem::blocks(&bytes, "CERTIFICATE", "certificate").map_err(|e| Error::Files(format!("{}: {e}", path.display())))?;
    if roots.is_empty() {
        return Err(Error::Files(format!("{}: no certificates", path.display())));
    }
    Ok(roots)
}
