//! `ironpki ocsp check`: an OCSP client for operators, also used by
//! `cert verify --check-revocation`.

use std::io::Read;
use std::process::ExitCode;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use ironpki_x509::ocsp::{self, CertStatus};
use ironpki_x509::Serial;
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Ctx;
use crate::args::OcspCommand;
use crate::{fail, output, Failure};

/// Largest response read from a responder or CRL fetched, in bytes.
const MAX_FETCH: u64 = 64 * 1024 * 1024;

pub struct Checked {
    pub status: CertStatus,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub url: String,
    /// "delegated responder" or "CA".
    pub signed_by: &'static str,
}

pub fn run(ctx: &Ctx, cmd: OcspCommand) -> Result<ExitCode, Failure> {
    let OcspCommand::Check { cert, issuer, url } = cmd;
    let mut certs = super::verify::certs(&cert)?;
    let leaf = certs.remove(0);
    let issuer_der = match issuer {
        Some(path) => super::verify::certs(&path)?.remove(0),
        None => match certs.into_iter().next() {
            Some(next) => next,
            None => issuer_from_home(ctx, &leaf)?,
        },
    };
    let checked = check(&leaf, &issuer_der, url.as_deref())?;
    let status = status_text(&checked.status);
    if ctx.json {
        output::json(&serde_json::json!({
            "status": status, "url": checked.url, "signed_by": checked.signed_by,
            "this_update": output::rfc3339(checked.this_update), "next_update": output::rfc3339(checked.next_update),
        }))?;
    } else {
        println!("{}: {status}", cert.display());
        println!("responder   {} (signed by the {})", checked.url, checked.signed_by);
        println!("this update {}", output::rfc3339(checked.this_update));
        println!("next update {}", output::rfc3339(checked.next_update));
    }
    Ok(if matches!(checked.status, CertStatus::Good) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub fn status_text(status: &CertStatus) -> String {
    match status {
        CertStatus::Good => "good".into(),
        CertStatus::Unknown => "unknown".into(),
        CertStatus::Revoked { at, reason } => format!(
            "revoked at {}{}",
            output::rfc3339(*at),
            reason.map(|r| format!(" ({r})")).unwrap_or_default()
        ),
    }
}

/// The issuer of `leaf` among the home's CAs.
fn issuer_from_home(ctx: &Ctx, leaf: &[u8]) -> Result<Vec<u8>, Failure> {
    let (_, cert) = X509Certificate::from_der(leaf).map_err(|e| fail(format!("certificate: {e}")))?;
    let authority = ctx.open()?;
    authority
        .public_cas()?
        .into_iter()
        .find(|ca| X509Certificate::from_der(&ca.der).is_ok_and(|(_, c)| c.subject().as_raw() == cert.issuer().as_raw()))
        .map(|ca| ca.der)
        .ok_or_else(|| fail("the issuer is not one of this PKI's CAs: give it with --issuer"))
}

/// The URLs a certificate names: (OCSP responders, CRL distribution points).
pub fn urls(der: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut ocsp_urls = Vec::new();
    let mut crl_urls = Vec::new();
    if let Ok((_, cert)) = X509Certificate::from_der(der) {
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for desc in &aia.accessdescs {
                        if let (true, GeneralName::URI(u)) = (desc.access_method.to_id_string() == "1.3.6.1.5.5.7.48.1", &desc.access_location) {
                            ocsp_urls.push(u.to_string());
                        }
                    }
                }
                ParsedExtension::CRLDistributionPoints(points) => {
                    for point in points.iter() {
                        if let Some(x509_parser::extensions::DistributionPointName::FullName(names)) = &point.distribution_point {
                            crl_urls.extend(names.iter().filter_map(|n| match n {
                                GeneralName::URI(u) => Some(u.to_string()),
                                _ => None,
                            }));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (ocsp_urls, crl_urls)
}

pub fn fetch(url: &str) -> Result<Vec<u8>, Failure> {
    let mut response = ureq::get(url).call().map_err(|e| fail(format!("GET {url}: {e}")))?;
    read_body(url, response.body_mut().as_reader())
}

fn read_body(url: &str, reader: impl Read) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    reader.take(MAX_FETCH).read_to_end(&mut body).map_err(|e| fail(format!("{url}: {e}")))?;
    Ok(body)
}

/// Asks the responder about `leaf`, checks the nonce and the signature (the CA's, or a
/// delegated responder the CA issued with id-kp-OCSPSigning) and returns the status.
pub fn check(leaf: &[u8], issuer: &[u8], url: Option<&str>) -> Result<Checked, Failure> {
    let url = match url {
        Some(u) => u.to_string(),
        None => urls(leaf).0.into_iter().next().ok_or_else(|| fail("the certificate names no OCSP responder: give --url"))?,
    };
    let (_, cert) = X509Certificate::from_der(leaf).map_err(|e| fail(format!("certificate: {e}")))?;
    let serial = Serial::from_der_integer(cert.tbs_certificate.raw_serial());
    let mut nonce = [0u8; 16];
    SystemRandom::new().fill(&mut nonce).map_err(|_| fail("random number generator failed"))?;
    let request = ocsp::build_request(issuer, &serial, Some(&nonce))?;
    let mut response = ureq::post(&url)
        .header("Content-Type", "application/ocsp-request")
        .send(&request[..])
        .map_err(|e| fail(format!("POST {url}: {e}")))?;
    let body = read_body(&url, response.body_mut().as_reader())?;
    let checked = ironpki_x509::ocsp_check::check_response(&body, &serial, issuer, Some(&nonce), OffsetDateTime::now_utc())
        .map_err(|e| fail(format!("{url}: {e}")))?;
    Ok(Checked { status: checked.status, this_update: checked.this_update, next_update: checked.next_update, url, signed_by: checked.signed_by })
}
