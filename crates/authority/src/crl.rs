//! CRL publication: numbering, the revoked set, signing, recording.

use ironpki_store::CrlRecord;
use ironpki_x509::crl::{CrlParams, CrlWriter};
use ironpki_x509::revocation::Reason;
use ironpki_x509::Serial;
use serde_json::json;
use time::OffsetDateTime;

use crate::{Authority, Error};

/// Attempts when another publisher takes the CRL number first.
const NUMBER_ATTEMPTS: usize = 3;

fn at(unix: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|e| Error::Internal(format!("bad timestamp {unix}: {e}")))
}

impl Authority {
    /// Generates, signs and records the next CRL of `ca`: a full CRL, or a delta CRL
    /// holding the revocations since the newest full CRL. Full and delta CRLs share one
    /// strictly increasing number sequence; the store refuses a number used twice.
    pub fn generate_crl(&self, ca: &str, delta: bool) -> Result<CrlRecord, Error> {
        let unlocked = self.issuer(ca)?;
        let store = self.store();
        let validity = self.config.revocation.crl_validity.0;
        let (_, delta_url) = self.config.crl_urls(ca);
        let (from_seq, base) = if delta {
            let base = store
                .latest_crl(ca, false)?
                .ok_or_else(|| Error::Refused(format!("CA {ca:?} has no full CRL yet: generate one before a delta")))?;
            (base.revocation_seq, Some(base.number))
        } else {
            (0, None)
        };
        let mut last_error = None;
        for _ in 0..NUMBER_ATTEMPTS {
            let now = self.now().replace_nanosecond(0).unwrap_or_else(|_| self.now());
            let upto = store.revocation_seq()?;
            let number = store.last_crl_number(ca)? + 1;
            let mut writer = CrlWriter::new(
                &unlocked.ca,
                CrlParams {
                    number: number as u64,
                    this_update: now,
                    next_update: now + validity,
                    delta_base: base.map(|b| b as u64),
                    freshest_url: if delta { None } else { Some(&delta_url) },
                },
            );
            // An expired certificate stays listed for one CRL lifetime after it expires.
            let keep_after = (now - validity).unix_timestamp();
            let mut bad = None;
            store.for_each_revoked(ca, (from_seq, upto), keep_after, &mut |e| {
                match (e.serial.parse::<Serial>(), at(e.revoked_at), e.invalidity_date.map(at).transpose()) {
                    (Ok(serial), Ok(revoked_at), Ok(invalidity)) => {
                        writer.push(&serial, revoked_at, e.reason.and_then(Reason::from_code), invalidity)
                    }
                    _ => bad = Some(e.serial.clone()),
                }
                Ok(())
            })?;
            if let Some(serial) = bad {
                return Err(Error::Internal(format!("revoked entry {serial} of {ca} is unreadable")));
            }
            let entries = writer.entries() as i64;
            let der = writer.finish()?;
            let record = CrlRecord {
                issuer: ca.to_string(),
                number,
                base_number: base,
                this_update: now.unix_timestamp(),
                next_update: (now + validity).unix_timestamp(),
                revocation_seq: upto,
                entries,
                der,
            };
            let event = self.event(
                "crl.published",
                &format!("crl:{ca}/{number}"),
                json!({ "issuer": ca, "number": number, "delta": delta, "base_number": base, "entries": entries,
                        "this_update": record.this_update, "next_update": record.next_update, "revocation_seq": upto }),
            );
            match store.put_crl(&record, &event) {
                Ok(()) => return Ok(record),
                Err(e @ ironpki_store::Error::CrlNumberTaken { .. }) => last_error = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Internal(format!("CRL numbering contended: {last_error:?}")))
    }
}
