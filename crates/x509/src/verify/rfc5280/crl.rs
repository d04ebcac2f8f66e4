//! Revocation of the end-entity certificate by the CRLs given (RFC 5280 6.3): a CRL
//! counts when its issuer is the certificate's issuer and its signature verifies with
//! that issuer's key; a certificate that no complete CRL covers is refused.

use time::OffsetDateTime;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::cert::{refuse, Cert};
use super::signature;
use crate::revocation::Reason;
use crate::Error;

const DELTA_CRL_INDICATOR: &str = "2.5.29.27";
/// CRL extensions understood here (RFC 5280 5.2); a CRL with another critical one is
/// not used (6.3.3 (c) of the spirit: its scope cannot be known).
const KNOWN_CRL_EXTENSIONS: &[&str] = &["2.5.29.18", "2.5.29.20", "2.5.29.27", "2.5.29.28", "2.5.29.35", "2.5.29.46"];
const REMOVE_FROM_CRL: u8 = 8;

pub(super) fn check(leaf: &Cert<'_>, issuer: &Cert<'_>, crls: &[Vec<u8>], at: OffsetDateTime) -> Result<(), Error> {
    let mut covered = false;
    for der in crls {
        let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| Error::Invalid(format!("a CRL is unreadable: {e}")))?;
        if crl.issuer().as_raw() != leaf.x509.issuer().as_raw() {
            continue;
        }
        let signed = signature::split(der).ok_or_else(|| Error::Invalid("a CRL is unreadable: not a signed structure".into()))?;
        if signature::verify(&signed, issuer.x509.public_key().raw).is_err() {
            return Err(refuse("RFC 5280 6.3.3 (g)", format!("the CRL's signature does not verify with the key of {}", issuer.name)));
        }
        if let Ok(Some(ku)) = issuer.x509.key_usage() {
            if !ku.value.crl_sign() {
                return Err(refuse("RFC 5280 6.3.3 (f)", format!("{} signed a CRL but its keyUsage lacks cRLSign", issuer.name)));
            }
        }
        if let Some(next) = crl.next_update() {
            if next.to_datetime() < at {
                return Err(refuse("RFC 5280 6.3.3 (a)", format!("the CRL is past its nextUpdate {}", next.to_datetime())));
            }
        }
        let extensions = crl.extensions();
        if extensions.iter().any(|e| e.critical && !KNOWN_CRL_EXTENSIONS.contains(&e.oid.to_id_string().as_str())) {
            continue;
        }
        let delta = extensions.iter().any(|e| e.oid.to_id_string() == DELTA_CRL_INDICATOR);
        let idp = extensions.iter().find_map(|e| match e.parsed_extension() {
            ParsedExtension::IssuingDistributionPoint(idp) => Some(idp),
            _ => None,
        });
        if idp.is_some_and(|idp| {
            idp.indirect_crl
                || idp.only_contains_attribute_certs
                || (idp.only_contains_ca_certs && !leaf.is_ca())
                || (idp.only_contains_user_certs && leaf.is_ca())
        }) {
            continue;
        }
        // A delta CRL, or one for some reasons only, is consulted but covers not alone.
        let complete = !delta && idp.is_none_or(|idp| idp.only_some_reasons.is_none());
        let entry = crl.iter_revoked_certificates().find(|r| r.raw_serial() == leaf.x509.raw_serial());
        if let Some(entry) = entry {
            let code = entry.reason_code().map(|(_, r)| r.0);
            if code != Some(REMOVE_FROM_CRL) {
                let reason = code.and_then(Reason::from_code).map(|r| format!(", reason {r}")).unwrap_or_default();
                return Err(refuse(
                    "RFC 5280 6.3.3",
                    format!("certificate is revoked (listed on the CRL){reason}, since {}", entry.revocation_date.to_datetime()),
                ));
            }
        }
        covered |= complete;
    }
    if !covered {
        return Err(refuse("RFC 5280 6.3.3", format!("no CRL given covers the certificate (issued by {})", issuer.name)));
    }
    Ok(())
}
