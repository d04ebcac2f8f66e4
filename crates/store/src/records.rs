use serde::Serialize;

/// A CA as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct CaRecord {
    pub name: String,
    /// `root` or `intermediate`.
    pub role: String,
    pub parent: Option<String>,
    pub subject: String,
    pub serial: String,
    pub key_type: String,
    pub not_before: i64,
    pub not_after: i64,
    /// `active` or `retired`.
    pub status: String,
    /// Where the key lives: a file path, `offline:DIR`, or later a PKCS#11 URI.
    pub key_ref: String,
    #[serde(skip)]
    pub der: Vec<u8>,
}

pub type NewCa = CaRecord;

#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub issuer: String,
    pub serial: String,
    pub subject: String,
    pub common_name: Option<String>,
    pub sans: Vec<String>,
    pub key_type: String,
    pub profile: String,
    pub not_before: i64,
    pub not_after: i64,
    pub requester: String,
    pub issued_at: i64,
    pub der: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CertStatus {
    Valid,
    Revoked,
    Expired,
}

impl CertStatus {
    pub fn name(self) -> &'static str {
        match self {
            CertStatus::Valid => "valid",
            CertStatus::Revoked => "revoked",
            CertStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CertRecord {
    pub id: i64,
    pub issuer: String,
    pub serial: String,
    pub subject: String,
    pub common_name: Option<String>,
    pub sans: Vec<String>,
    pub key_type: String,
    pub profile: String,
    pub not_before: i64,
    pub not_after: i64,
    /// As of the `now` the query was given: a valid certificate past notAfter is expired.
    pub status: CertStatus,
    pub revoked_at: Option<i64>,
    pub revocation_reason: Option<u8>,
    pub requester: String,
    pub issued_at: i64,
    #[serde(skip)]
    pub der: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Valid,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, Default)]
pub struct CertFilter {
    /// The time status and expiry are judged at (unix seconds).
    pub now: i64,
    pub status: Option<StatusFilter>,
    /// Valid certificates whose notAfter falls within `now ..= now + secs`.
    pub expiring_within: Option<i64>,
    pub profile: Option<String>,
    pub issuer: Option<String>,
    /// Substring of the common name or of any SAN (case-sensitive).
    pub name_contains: Option<String>,
    /// Cursor pagination: rows after this id (in id order), or, with
    /// `expiring_within`, after (`after_not_after`, `after_id`) in expiry order.
    pub after_id: Option<i64>,
    pub after_not_after: Option<i64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Revocation {
    pub at: i64,
    /// RFC 5280 CRLReason code.
    pub reason: u8,
    pub invalidity_date: Option<i64>,
}

/// A revoked certificate, as CRLs and OCSP need it.
#[derive(Debug, Clone)]
pub struct RevokedEntry {
    pub issuer: String,
    pub serial: String,
    pub seq: i64,
    pub revoked_at: i64,
    pub reason: Option<u8>,
    pub invalidity_date: Option<i64>,
}

/// A signed CRL as published.
#[derive(Debug, Clone, Serialize)]
pub struct CrlRecord {
    pub issuer: String,
    pub number: i64,
    /// For a delta CRL, the number of the full CRL it builds on.
    pub base_number: Option<i64>,
    pub this_update: i64,
    pub next_update: i64,
    /// The highest revocation sequence number this CRL covers.
    pub revocation_seq: i64,
    pub entries: i64,
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// Whether a known certificate is revoked, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationState {
    Valid,
    Revoked { at: i64, reason: Option<u8> },
}

/// An API token. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, Serialize)]
pub struct TokenRecord {
    /// Public identifier, part of the token string; also the audit actor (`token:ID`).
    pub id: String,
    pub description: String,
    /// `admin`, `operator` or `auditor`.
    pub role: String,
    /// Profiles this token may use; empty means all.
    pub profiles: Vec<String>,
    /// SAN patterns every requested name must match; empty means any.
    pub san_patterns: Vec<String>,
    #[serde(skip)]
    pub secret_sha256: Vec<u8>,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}
