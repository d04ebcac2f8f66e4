//! Checking an OCSP response as a client: its status, the nonce it echoes, who signed
//! it (the CA, or a delegated responder the CA issued with id-kp-OCSPSigning), the
//! answer for the certificate asked about, and that it is not stale.

use time::OffsetDateTime;

use crate::ocsp::{self, CertStatus, HashAlg, IssuerId, ParsedResponse};
use crate::{Error, Serial};

/// A response found sound, and what it says.
#[derive(Clone, Debug)]
pub struct Checked {
    pub status: CertStatus,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    /// "delegated responder" or "CA".
    pub signed_by: &'static str,
}

/// Checks `response` (DER) as the answer about the certificate with `serial` issued by
/// `issuer` (DER). With `nonce`, the response must echo it.
pub fn check_response(response: &[u8], serial: &Serial, issuer: &[u8], nonce: Option<&[u8]>, now: OffsetDateTime) -> Result<Checked, Error> {
    let basic = match ocsp::parse_response(response)? {
        ParsedResponse::Successful(basic) => basic,
        ParsedResponse::Failed(status) => return Err(Error::Invalid(format!("the responder answered {}", status.name()))),
    };
    if nonce.is_some() && basic.nonce.as_deref() != nonce {
        return Err(Error::Invalid("the response does not echo our nonce".into()));
    }
    let signed_by = match &basic.signer_cert {
        Some(signer) if signer.as_slice() != issuer => {
            crate::verify::delegated_ocsp_signer(signer, issuer, now)?;
            "delegated responder"
        }
        _ if basic.verifies_with(issuer) => "CA",
        _ => return Err(Error::Invalid("the response is not signed by the CA or a responder it authorised".into())),
    };
    let id = IssuerId::from_cert(issuer)?.cert_id(HashAlg::Sha1, serial);
    let single = basic.find(&id).ok_or_else(|| Error::Invalid(format!("the response does not answer for serial {serial}")))?;
    if single.next_update < now {
        return Err(Error::Invalid(format!("the response is stale (nextUpdate {})", single.next_update)));
    }
    Ok(Checked { status: single.status, this_update: single.this_update, next_update: single.next_update, signed_by })
}
