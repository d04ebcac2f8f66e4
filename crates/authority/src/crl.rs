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
    /// Whether `ca` publishes delta CRLs: intermediates do, when delta CRLs are on; the
    /// root publishes full CRLs only (its revocations are rare, and an offline root
    /// signs its CRL at a ceremony).
    pub fn publishes_delta(&self, ca: &str) -> bool {
        let revocation = &self.config.revocation;
        revocation.crl && revocation.delta_crl && ca != self.config.root_ca.name
    }

    /// nextUpdate - thisUpdate of the CRLs of `ca`.
    fn crl_validity(&self, ca: &str, delta: bool) -> std::time::Duration {
        let revocation = &self.config.revocation;
        if delta {
            revocation.delta_crl_validity.0
        } else if ca == self.config.root_ca.name {
            revocation.root_crl_validity.0
        } else {
            revocation.crl_validity.0
        }
    }

    /// When the CRL after `crl` is published even without revocations: `crl_regenerate`
    /// after its thisUpdate, or at half its validity when that is sooner. Caches may keep
    /// `crl` until then and no longer, so none holds it past the next one's publication.
    pub fn crl_refresh_at(&self, crl: &CrlRecord) -> i64 {
        let regenerate = self.config.revocation.crl_regenerate.0.as_secs() as i64;
        crl.this_update + regenerate.min((crl.next_update - crl.this_update) / 2)
    }

    /// Generates, signs and records the next CRL of `ca`: a full CRL, or a delta CRL
    /// holding the revocations since the newest full CRL. Full and delta CRLs share one
    /// strictly increasing number sequence; the store refuses a number used twice.
    pub fn generate_crl(&self, ca: &str, delta: bool) -> Result<CrlRecord, Error> {
        self.generate_crl_valid_for(ca, delta, self.crl_validity(ca, delta))
    }

    /// [`Authority::generate_crl`] with nextUpdate `validity` after thisUpdate.
    pub(crate) fn generate_crl_valid_for(&self, ca: &str, delta: bool, validity: std::time::Duration) -> Result<CrlRecord, Error> {
        if delta && !self.publishes_delta(ca) {
            return Err(Error::Refused(format!(
                "CA {ca:?} publishes no delta CRLs (the root publishes full CRLs only; intermediates when revocation.delta_crl is on)"
            )));
        }
        let unlocked = self.issuer(ca)?;
        let store = self.store();
        let keep_listed = self.crl_validity(ca, false);
        let delta_url = self.publishes_delta(ca).then(|| self.config.crl_urls(ca).1);
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
                    freshest_url: if delta { None } else { delta_url.as_deref() },
                },
            );
            // An expired certificate stays listed for one full CRL lifetime after it expires.
            let keep_after = (now - keep_listed).unix_timestamp();
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
