//! CRLs (RFC 5280 section 5), full and delta, written as a stream: entries are encoded
//! into one buffer as they arrive, headers are filled in at the end, and the signature
//! is made over the buffer in place. Memory is about one copy of the finished CRL.

use time::OffsetDateTime;

use crate::build::IssuingCa;
use crate::der::{self, SEQUENCE};
use crate::revocation::Reason;
use crate::{Error, Serial};

const OID_AKI: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x23];
const OID_CRL_NUMBER: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x14];
const OID_DELTA_CRL_INDICATOR: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x1b];
const OID_FRESHEST_CRL: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x2e];
const OID_REASON_CODE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x15];
const OID_INVALIDITY_DATE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x18];

/// Room for the outer, TBSCertList and revokedCertificates headers (tag + up to 5 length octets each).
const HEADER_ROOM: usize = 3 * 6;

pub struct CrlParams<'a> {
    pub number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    /// A delta CRL names the number of the full CRL it completes (Delta CRL Indicator).
    pub delta_base: Option<u64>,
    /// A full CRL points to where its delta CRLs are published (Freshest CRL).
    pub freshest_url: Option<&'a str>,
}

pub struct CrlWriter<'a> {
    ca: &'a IssuingCa,
    number: u64,
    delta_base: Option<u64>,
    freshest_url: Option<String>,
    /// version, signature, issuer, thisUpdate, nextUpdate.
    head: Vec<u8>,
    /// `prefix` reserved bytes, then the encoded entries.
    buf: Vec<u8>,
    prefix: usize,
    entries: u64,
}

impl<'a> CrlWriter<'a> {
    pub fn new(ca: &'a IssuingCa, params: CrlParams<'_>) -> CrlWriter<'a> {
        let mut head = Vec::with_capacity(ca.subject_der.len() + 64);
        der::u64_integer(&mut head, 1); // v2
        head.extend_from_slice(ca.key_type.signature_algorithm_der());
        head.extend_from_slice(&ca.subject_der);
        der::time(&mut head, params.this_update);
        der::time(&mut head, params.next_update);
        let prefix = head.len() + HEADER_ROOM;
        CrlWriter {
            ca,
            number: params.number,
            delta_base: params.delta_base,
            freshest_url: params.freshest_url.map(str::to_string),
            head,
            buf: vec![0; prefix],
            prefix,
            entries: 0,
        }
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Appends one revoked certificate. The reason is omitted when unspecified, as
    /// RFC 5280 5.3.1 asks.
    pub fn push(&mut self, serial: &Serial, revoked_at: OffsetDateTime, reason: Option<Reason>, invalidity: Option<OffsetDateTime>) {
        let mut entry = Vec::with_capacity(64);
        der::unsigned_integer(&mut entry, serial.as_bytes());
        der::time(&mut entry, revoked_at);
        let mut exts = Vec::new();
        if let Some(reason) = reason.filter(|r| *r != Reason::Unspecified) {
            der::extension(&mut exts, OID_REASON_CODE, false, &[der::ENUMERATED, 1, reason.code()]);
        }
        if let Some(t) = invalidity {
            let mut value = Vec::new();
            der::generalized_time(&mut value, t);
            der::extension(&mut exts, OID_INVALIDITY_DATE, false, &value);
        }
        if !exts.is_empty() {
            der::tlv(&mut entry, SEQUENCE, &exts);
        }
        der::tlv(&mut self.buf, SEQUENCE, &entry);
        self.entries += 1;
    }

    /// Adds the extensions, signs with the CA's key, and returns the CRL's DER.
    pub fn finish(mut self) -> Result<Vec<u8>, Error> {
        let entries_len = self.buf.len() - self.prefix;

        let mut exts = Vec::new();
        let aki = der::wrap(SEQUENCE, &der::wrap(0x80, &self.ca.key_id));
        der::extension(&mut exts, OID_AKI, false, &aki);
        let mut number = Vec::new();
        der::u64_integer(&mut number, self.number);
        der::extension(&mut exts, OID_CRL_NUMBER, false, &number);
        if let Some(base) = self.delta_base {
            let mut value = Vec::new();
            der::u64_integer(&mut value, base);
            der::extension(&mut exts, OID_DELTA_CRL_INDICATOR, true, &value);
        }
        if let Some(url) = &self.freshest_url {
            der::extension(&mut exts, OID_FRESHEST_CRL, false, &crate::ext::distribution_points(url));
        }
        self.buf.extend_from_slice(&der::wrap(0xa0, &der::wrap(SEQUENCE, &exts)));

        // Fill the headers in backwards, in front of the entries.
        let mut pos = self.prefix;
        if entries_len > 0 {
            put_before(&mut self.buf, &mut pos, &der::header(SEQUENCE, entries_len));
        }
        put_before(&mut self.buf, &mut pos, &self.head);
        let tbs_len = self.buf.len() - pos;
        put_before(&mut self.buf, &mut pos, &der::header(SEQUENCE, tbs_len));
        let tbs_start = pos;

        let signature = self.ca.signer.sign(&self.buf[tbs_start..]).map_err(Error::Signing)?;
        self.buf.extend_from_slice(self.ca.key_type.signature_algorithm_der());
        der::tlv(&mut self.buf, der::BIT_STRING, &[&[0u8][..], &signature].concat());
        let total = self.buf.len() - tbs_start;
        put_before(&mut self.buf, &mut pos, &der::header(SEQUENCE, total));
        self.buf.drain(..pos);
        Ok(self.buf)
    }
}

/// Writes `bytes` to end at `*pos` and moves `*pos` to their start.
fn put_before(buf: &mut [u8], pos: &mut usize, bytes: &[u8]) {
    *pos -= bytes.len();
    buf[*pos..*pos + bytes.len()].copy_from_slice(bytes);
}
