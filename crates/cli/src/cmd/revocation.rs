//! `cert verify --check-revocation`: where to learn whether a certificate is revoked.
//! This PKI's own certificates are looked up in its store; others through the OCSP
//! responder the certificate names, or else its CRL distribution points.

use ironpki_authority::Authority;
use ironpki_authority::{Caller, CertStatus};
use ironpki_x509::ocsp::CertStatus as OcspStatus;
use ironpki_x509::revocation::Reason;
use ironpki_x509::Serial;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::ocsp;
use crate::{fail, output, Failure};

pub enum Outcome {
    /// Decided here; `revoked` holds the reason to refuse.
    Decided { note: String, revoked: Option<String> },
    /// Fetched CRLs for the path validator to check.
    Crls { ders: Vec<Vec<u8>>, note: String },
}

pub fn check(authority: Option<&Authority>, leaf: &[u8], intermediates: &[Vec<u8>], roots: &[Vec<u8>]) -> Result<Outcome, Failure> {
    let (_, cert) = X509Certificate::from_der(leaf).map_err(|e| fail(format!("certificate: {e}")))?;
    let serial = Serial::from_der_integer(cert.tbs_certificate.raw_serial());
    let issuer = intermediates
        .iter()
        .chain(roots)
        .find(|c| X509Certificate::from_der(c).is_ok_and(|(_, c)| c.subject().as_raw() == cert.issuer().as_raw()))
        .cloned();

    if let Some(authority) = authority {
        let caller = Caller::local(&super::actor());
        let ca = authority.public_cas()?.into_iter().find(|ca| Some(&ca.der) == issuer.as_ref());
        if let Some(ca) = ca {
            let record = authority.show_certificate(&caller, &serial.to_hex(), Some(&ca.name))?;
            let revoked = (record.status == CertStatus::Revoked).then(|| {
                let reason = record.revocation_reason.and_then(Reason::from_code).map(|r| format!(" ({r})")).unwrap_or_default();
                format!("certificate is revoked since {}{reason}", record.revoked_at.map(output::time).unwrap_or_default())
            });
            return Ok(Outcome::Decided { note: "not revoked (this PKI's store)".into(), revoked });
        }
    }

    let (ocsp_urls, crl_urls) = ocsp::urls(leaf);
    if let (Some(url), Some(issuer)) = (ocsp_urls.first(), issuer.as_ref()) {
        let checked = ocsp::check(leaf, issuer, Some(url))?;
        let note = format!("{} (OCSP {url})", ocsp::status_text(&checked.status));
        let revoked = match checked.status {
            OcspStatus::Good => None,
            OcspStatus::Unknown => Some(format!("the OCSP responder {url} does not know the certificate")),
            other => Some(format!("certificate is {} (OCSP {url})", ocsp::status_text(&other))),
        };
        return Ok(Outcome::Decided { note, revoked });
    }
    if crl_urls.is_empty() {
        return Err(fail("the certificate names neither an OCSP responder nor a CRL: its revocation cannot be checked"));
    }
    let ders = crl_urls.iter().map(|u| ocsp::fetch(u)).collect::<Result<Vec<_>, _>>()?;
    Ok(Outcome::Crls { ders, note: format!("not revoked (CRL {})", crl_urls.join(", ")) })
}
