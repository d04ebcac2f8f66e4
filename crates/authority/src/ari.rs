//! ACME Renewal Information (RFC 9773): when each certificate should be renewed, and the
//! operator's way to move that time earlier for a whole fleet (`cert renew-early`).
//!
//! A certificate's window is by default a sixth of its lifetime inside the last third,
//! placed by a hash of its serial so a fleet issued at once does not renew at once. A
//! certificate marked for early renewal gets the window it was marked with; a revoked one,
//! or one marked without a deadline, a window in the past (renew now).

use ironpki_acme::{b64, unb64};
use ironpki_store::acme::RenewalSelection;
use ironpki_store::{CertRecord, CertStatus};
use ironpki_x509::Serial;
use serde_json::json;

use crate::access::{Action, Caller};
use crate::acme::Problem;
use crate::acme_order::rfc3339;
use crate::{Authority, Error};

/// How long a client should wait before asking again (RFC 9773 section 4.3.3).
pub const RETRY_AFTER: i64 = 6 * 3600;

/// A suggested renewal window, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalWindow {
    pub start: i64,
    pub end: i64,
}

impl RenewalWindow {
    /// The renewalInfo response body.
    pub fn view(&self) -> serde_json::Value {
        json!({ "suggestedWindow": { "start": rfc3339(self.start), "end": rfc3339(self.end) } })
    }
}

/// A certificate's ARI CertID: base64url(AKI keyIdentifier) `.` base64url(serial DER content).
pub fn cert_id(authority_key_id: &[u8], serial: &Serial) -> String {
    format!("{}.{}", b64(authority_key_id), b64(&serial.to_der_integer()))
}

/// The key identifier (hex) and serial (hex) a CertID names.
fn parse_cert_id(id: &str) -> Result<(String, String), Problem> {
    let bad = |why: &str| Problem::new("malformed", 400, format!("{id:?} is not a CertID (base64url keyIdentifier \".\" base64url serial): {why}"));
    let (aki, serial) = id.split_once('.').ok_or_else(|| bad("no \".\""))?;
    let aki = unb64(aki.trim_end_matches('='), "the key identifier").map_err(|_| bad("the key identifier is not base64url"))?;
    let serial = unb64(serial.trim_end_matches('='), "the serial").map_err(|_| bad("the serial is not base64url"))?;
    if aki.is_empty() || serial.is_empty() || serial.len() > 21 {
        return Err(bad("an empty key identifier or serial, or a serial over 20 octets"));
    }
    Ok((hex::encode(aki), Serial::from_der_integer(&serial).to_hex()))
}

/// The default window: a sixth of the lifetime, inside the last third, at an offset the
/// serial decides.
fn default_window(cert: &CertRecord) -> RenewalWindow {
    let lifetime = (cert.not_after - cert.not_before).max(6);
    let sixth = lifetime / 6;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.serial.as_bytes());
    let spread = u64::from_be_bytes(digest.as_ref()[..8].try_into().unwrap_or_default()) % (sixth as u64 + 1);
    let start = cert.not_before + 2 * (lifetime / 3) + spread as i64;
    RenewalWindow { start, end: (start + sixth).min(cert.not_after) }
}

/// A window that has passed: renew at once.
fn past(now: i64) -> RenewalWindow {
    RenewalWindow { start: now - 2 * 3600, end: now - 3600 }
}

impl Authority {
    /// The certificate a CertID names, among those this CA issued.
    pub(crate) fn certificate_by_cert_id(&self, id: &str) -> Result<CertRecord, Problem> {
        let (aki, serial) = parse_cert_id(id)?;
        let issuers: Vec<String> = self
            .all_cas()?
            .into_iter()
            .filter(|ca| ironpki_x509::inspect::summarize(&ca.der).is_ok_and(|s| s.subject_key_id.as_deref() == Some(aki.as_str())))
            .map(|ca| ca.name)
            .collect();
        let now = self.now().unix_timestamp();
        let found = self.store.certificates_by_serial(&serial, now)?.into_iter().find(|c| issuers.contains(&c.issuer));
        found.ok_or_else(|| Problem::new("malformed", 404, format!("no certificate of this CA has the CertID {id:?}")))
    }

    /// RFC 9773 `renewalInfo`: the suggested window of the certificate `id` names.
    pub fn acme_renewal_info(&self, id: &str) -> Result<RenewalWindow, Problem> {
        let cert = self.certificate_by_cert_id(id)?;
        let now = self.now().unix_timestamp();
        if cert.status == CertStatus::Revoked {
            return Ok(past(now));
        }
        Ok(match self.store.acme().early_renewal(&cert.issuer, &cert.serial)? {
            Some((from, by)) if by > from => RenewalWindow { start: from, end: by },
            Some(_) => past(now),
            None => default_window(&cert),
        })
    }

    /// `cert renew-early`: marks the valid certificates `selection` picks so renewal
    /// information tells their clients to renew by `by` (now when absent); audited.
    /// Returns how many were marked.
    pub fn mark_early_renewal(&self, caller: &Caller, selection: &RenewalSelection, by: Option<i64>) -> Result<u64, Error> {
        self.authorize(caller, &Action::RenewEarly)?;
        let now = self.now().unix_timestamp();
        let by = by.unwrap_or(now);
        if by < now {
            return Err(Error::Refused("--by is in the past: leave it out to ask for renewal now".into()));
        }
        let (target, picked) = match selection {
            RenewalSelection::Serials(serials) => {
                let mut hex = Vec::with_capacity(serials.len());
                for s in serials {
                    hex.push(s.parse::<Serial>()?.to_hex());
                }
                ("certs:serials".to_string(), RenewalSelection::Serials(hex))
            }
            RenewalSelection::Profile(p) => {
                self.config.profile(p).ok_or_else(|| Error::NotFound(format!("no profile named {p:?}")))?;
                (format!("profile:{p}"), selection.clone())
            }
            RenewalSelection::Issuer(ca) => {
                self.ca_record(ca)?;
                (format!("ca:{ca}"), selection.clone())
            }
        };
        let serials = match &picked {
            RenewalSelection::Serials(s) => json!(s),
            _ => json!(null),
        };
        let event = self.event_by(&caller.id, "cert.renew_early", &target, json!({ "from": now, "by": by, "serials": serials }));
        Ok(self.store.acme().mark_early_renewal(&picked, now, by, now, &event)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_ids_round_trip() {
        let serial: Serial = "0087ab".parse().unwrap();
        let id = cert_id(&[0x69, 0x88, 0x5b], &serial);
        let (aki, hex) = parse_cert_id(&id).unwrap();
        assert_eq!((aki.as_str(), hex), ("69885b", serial.to_hex()));
        // RFC 9773 appendix A's example.
        let (aki, _) = parse_cert_id("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE").unwrap();
        assert_eq!(aki, "69885b6b87464041e1b37b847ba0ae2cde01c8d4");
        assert!(parse_cert_id("nodot").is_err() && parse_cert_id("a.!!").is_err() && parse_cert_id(".AA").is_err());
    }
}
