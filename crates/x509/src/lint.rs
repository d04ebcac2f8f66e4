//! Pre-signing checks: the to-be-signed leaf against RFC 5280 rules. A failure here
//! means a bug or a bad profile, and the CA key is never used for it.

use time::OffsetDateTime;

use crate::name::Subject;
use crate::profile::{ExtendedKeyUsage, KeyUsage};
use crate::san::San;
use crate::{Error, KeyType, Serial};

pub struct Leaf<'a> {
    pub serial: &'a Serial,
    pub subject: &'a Subject,
    pub sans: &'a [San],
    pub key_type: KeyType,
    pub key_usage: &'a [KeyUsage],
    pub eku: &'a [ExtendedKeyUsage],
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub issuer_not_after: OffsetDateTime,
}

pub fn leaf(tbs: &Leaf<'_>) -> Result<(), Error> {
    let fail = |m: String| Err(Error::Lint(m));
    let serial = tbs.serial.as_bytes();
    if serial.is_empty() || serial.len() > 20 || serial.iter().all(|b| *b == 0) || serial[0] & 0x80 != 0 && serial.len() == 20 {
        return fail(format!("serial {} is not a positive integer of at most 20 octets", tbs.serial));
    }
    if tbs.not_after <= tbs.not_before {
        return fail("notAfter is not after notBefore".into());
    }
    if tbs.not_after > tbs.issuer_not_after {
        return fail(format!(
            "notAfter {} is beyond the issuing CA's notAfter {}",
            tbs.not_after, tbs.issuer_not_after
        ));
    }
    if tbs.subject.is_empty() && tbs.sans.is_empty() {
        return fail("empty subject and no subjectAltName".into());
    }
    tbs.subject.validate().map_err(Error::Lint)?;
    for san in tbs.sans {
        san.validate().map_err(|e| Error::Lint(e.to_string()))?;
    }
    if tbs.key_usage.is_empty() {
        return fail("no key usage".into());
    }
    if let Some(u) = tbs.key_usage.iter().find(|u| !u.fits(tbs.key_type)) {
        return fail(format!("key usage {u:?} does not fit a {} key", tbs.key_type));
    }
    if tbs.eku.is_empty() {
        return fail("no extended key usage".into());
    }
    Ok(())
}
