//! The webpki profile: rustls-webpki's rules alone. It builds and checks the path; we
//! add key usage and name checks and turn its errors into reasons a person can act on.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage as WebpkiEku};
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Input, Purpose, Verified};
use crate::Error;

pub(super) fn verify(input: &Input<'_>) -> Result<Verified, Error> {
    let leaf_der = CertificateDer::from(input.leaf);
    let ee = EndEntityCert::try_from(&leaf_der).map_err(|e| Error::Invalid(reason(&e, input)))?;
    let root_ders: Vec<CertificateDer<'_>> = input.roots.iter().map(|r| CertificateDer::from(r.as_slice())).collect();
    let anchors = root_ders
        .iter()
        .map(|r| webpki::anchor_from_trusted_cert(r).map(|a| a.to_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Invalid(format!("a trust anchor is unusable: {e:?}")))?;
    let intermediates: Vec<CertificateDer<'_>> =
        input.intermediates.iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let secs = u64::try_from(input.at.unix_timestamp()).map_err(|_| Error::Invalid("time before 1970".into()))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));

    let crls = input
        .crls
        .iter()
        .map(|der| webpki::BorrowedCertRevocationList::from_der(der).map(webpki::CertRevocationList::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Invalid(format!("a CRL is unreadable: {e:?}")))?;
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
    let revocation = webpki::RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_depth(webpki::RevocationCheckDepth::EndEntity)
            .with_status_policy(webpki::UnknownStatusPolicy::Deny)
            .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
            .build()
    });
    let purposes = match input.purpose {
        Some(p) => vec![p],
        None => vec![Purpose::Server, Purpose::Client],
    };
    let mut valid_for = Vec::new();
    let mut chain = Vec::new();
    let mut first_error = None;
    for purpose in purposes {
        let result = ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            time,
            eku(purpose),
            revocation,
            None,
        );
        match result {
            Ok(path) => {
                if chain.is_empty() {
                    chain.push(subject_of(input.leaf));
                    chain.extend(path.intermediate_certificates().map(|c| subject_of(c.der().as_ref())));
                    chain.push(anchor_subject(input.roots, path.anchor()));
                }
                valid_for.push(purpose);
            }
            // Prefer a reason other than "wrong purpose" when both purposes fail.
            Err(e) => {
                let eku = matches!(e, webpki::Error::RequiredEkuNotFoundContext(_));
                if first_error.is_none() || (!eku && first_error.as_ref().is_some_and(|(was_eku, _)| *was_eku)) {
                    first_error = Some((eku, reason(&e, input)));
                }
            }
        }
    }
    if valid_for.is_empty() {
        return Err(Error::Invalid(first_error.map(|(_, r)| r).unwrap_or_else(|| "no purpose checked".into())));
    }
    check_key_usage(input.leaf)?;
    if let Some(name) = input.name {
        let server_name = ServerName::try_from(name)
            .map_err(|_| Error::Invalid(format!("{name:?} is neither a DNS name nor an IP address")))?;
        ee.verify_is_valid_for_subject_name(&server_name).map_err(|e| Error::Invalid(reason(&e, input)))?;
    }
    Ok(Verified { purposes: valid_for, chain })
}

/// A TLS end-entity key must be allowed to sign (or, for RSA key exchange, to encipher).
fn check_key_usage(der: &[u8]) -> Result<(), Error> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
    for ext in cert.extensions() {
        if let ParsedExtension::KeyUsage(ku) = ext.parsed_extension() {
            if !ku.digital_signature() && !ku.key_encipherment() {
                return Err(Error::Invalid(format!(
                    "key usage ({ku}) allows neither digitalSignature nor keyEncipherment"
                )));
            }
        }
    }
    Ok(())
}

fn subject_of(der: &[u8]) -> String {
    X509Certificate::from_der(der).map(|(_, c)| c.subject().to_string()).unwrap_or_else(|_| "?".into())
}

fn anchor_subject(roots: &[Vec<u8>], anchor: &rustls_pki_types::TrustAnchor<'_>) -> String {
    roots
        .iter()
        .filter_map(|r| X509Certificate::from_der(r).ok().map(|(_, c)| c))
        .find(|c| c.subject().as_raw().ends_with(anchor.subject.as_ref()))
        .map(|c| c.subject().to_string())
        .unwrap_or_else(|| "trust anchor".into())
}

fn reason(e: &webpki::Error, input: &Input<'_>) -> String {
    use webpki::Error as E;
    let fmt = |t: &UnixTime| {
        OffsetDateTime::from_unix_timestamp(t.as_secs() as i64).map(|t| t.to_string()).unwrap_or_default()
    };
    match e {
        E::UnknownIssuer => "no path to a trusted root: the issuer is unknown (missing intermediate or wrong roots)".into(),
        E::CertExpired { time, not_after } => {
            format!("certificate has expired: notAfter {} is before {}", fmt(not_after), fmt(time))
        }
        E::CertNotValidYet { time, not_before } => {
            format!("certificate is not yet valid: notBefore {} is after {}", fmt(not_before), fmt(time))
        }
        E::CertNotValidForName(_) => format!(
            "certificate is not valid for name {:?}: no matching subjectAltName",
            input.name.unwrap_or_default()
        ),
        E::RequiredEkuNotFoundContext(_) => format!(
            "certificate's extended key usage does not allow {}",
            input.purpose.map(|p| format!("{} authentication", p.name())).unwrap_or_else(|| "server or client authentication".into())
        ),
        E::InvalidSignatureForPublicKey => {
            "a signature in the chain does not verify with its issuer's key".into()
        }
        E::CaUsedAsEndEntity => "the certificate is a CA certificate, not an end entity".into(),
        E::EndEntityUsedAsCa => "an end-entity certificate appears as an issuer in the chain".into(),
        E::NameConstraintViolation => "a name in the certificate violates an issuer's name constraints".into(),
        E::BadDer | E::BadDerTime => "the certificate is not valid DER".into(),
        E::CertRevoked => "certificate is revoked (listed on the CRL)".into(),
        E::UnknownRevocationStatus => "no CRL given covers the certificate".into(),
        E::CrlExpired { .. } => "the CRL is past its nextUpdate".into(),
        E::InvalidCrlSignatureForPublicKey => "the CRL's signature does not verify with the issuer's key".into(),
        other => format!("verification failed: {other:?}"),
    }
}

fn eku(purpose: Purpose) -> WebpkiEku {
    match purpose {
        Purpose::Server => WebpkiEku::server_auth(),
        Purpose::Client => WebpkiEku::client_auth(),
    }
}

/// id-kp-OCSPSigning (1.3.6.1.5.5.7.3.9), DER content octets.
const EKU_OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];

/// Checks a delegated OCSP responder certificate (RFC 6960 4.2.2.2): issued by the CA
/// itself, valid at `at`, and carrying id-kp-OCSPSigning.
pub fn delegated_ocsp_signer(signer: &[u8], issuer: &[u8], at: OffsetDateTime) -> Result<(), Error> {
    let signer_der = CertificateDer::from(signer);
    let issuer_der = CertificateDer::from(issuer);
    let ee = EndEntityCert::try_from(&signer_der).map_err(|e| Error::Invalid(format!("OCSP responder certificate: {e:?}")))?;
    let anchor = webpki::anchor_from_trusted_cert(&issuer_der).map_err(|e| Error::Invalid(format!("issuer certificate: {e:?}")))?;
    let secs = u64::try_from(at.unix_timestamp()).map_err(|_| Error::Invalid("time before 1970".into()))?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        UnixTime::since_unix_epoch(Duration::from_secs(secs)),
        WebpkiEku::required(EKU_OCSP_SIGNING),
        None,
        None,
    )
    .map_err(|e| Error::Invalid(format!("the OCSP responder certificate is not valid for this CA: {e:?}")))?;
    Ok(())
}
