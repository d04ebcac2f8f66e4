//! A minimal DER writer for the structures we stream (CRLs), where building a tree of
//! values first would cost memory proportional to the revoked set.

use time::OffsetDateTime;

pub const SEQUENCE: u8 = 0x30;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const BOOLEAN: u8 = 0x01;
pub const ENUMERATED: u8 = 0x0a;
pub const BIT_STRING: u8 = 0x03;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;

/// The header (tag and length) of a TLV whose content is `len` bytes.
pub fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

pub fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.extend_from_slice(&header(tag, content.len()));
    out.extend_from_slice(content);
}

pub fn wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    tlv(&mut out, tag, content);
    out
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub fn unsigned_integer(out: &mut Vec<u8>, magnitude: &[u8]) {
    let trimmed: &[u8] = match magnitude.iter().position(|b| *b != 0) {
        Some(i) => &magnitude[i..],
        None => &[0],
    };
    if trimmed[0] & 0x80 != 0 {
        out.extend_from_slice(&header(INTEGER, trimmed.len() + 1));
        out.push(0);
    } else {
        out.extend_from_slice(&header(INTEGER, trimmed.len()));
    }
    out.extend_from_slice(trimmed);
}

pub fn u64_integer(out: &mut Vec<u8>, n: u64) {
    unsigned_integer(out, &n.to_be_bytes());
}

/// RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050.
pub fn time(out: &mut Vec<u8>, t: OffsetDateTime) {
    if t.year() < 2050 {
        let s = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        tlv(out, UTC_TIME, s.as_bytes());
    } else {
        generalized_time(out, t);
    }
}

pub fn generalized_time(out: &mut Vec<u8>, t: OffsetDateTime) {
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    tlv(out, GENERALIZED_TIME, s.as_bytes());
}

/// An Extension: SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING }.
pub fn extension(out: &mut Vec<u8>, oid_der: &[u8], critical: bool, value: &[u8]) {
    let mut content = oid_der.to_vec();
    if critical {
        content.extend_from_slice(&[BOOLEAN, 1, 0xff]);
    }
    tlv(&mut content, OCTET_STRING, value);
    tlv(out, SEQUENCE, &content);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_integers() {
        assert_eq!(header(SEQUENCE, 5), [0x30, 5]);
        assert_eq!(header(SEQUENCE, 200), [0x30, 0x81, 200]);
        assert_eq!(header(SEQUENCE, 70_000), [0x30, 0x83, 0x01, 0x11, 0x70]);
        let mut v = Vec::new();
        u64_integer(&mut v, 0);
        u64_integer(&mut v, 128);
        unsigned_integer(&mut v, &[0, 0, 0x7f]);
        assert_eq!(v, [2, 1, 0, 2, 2, 0, 0x80, 2, 1, 0x7f]);
    }
}
