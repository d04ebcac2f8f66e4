//! OCSP (RFC 6960) under the RFC 5019 lightweight profile: reading requests and signing
//! responses for the responder, building requests and reading responses for a client.
//!
//! Pure code, like the rest of the core: no I/O, no clock (`produced_at` and the update
//! times are passed in) and no private key (the responder signs through [`Signer`]).
//! The DER is RustCrypto's `x509-ocsp`; digests and signature checks are aws-lc-rs.
//!
//! How a responder uses it: [`parse_request`]; for each [`CertId`], find the
//! [`IssuerId`] that [matches](IssuerId::matches) it and look the serial up; answer with
//! [`sign_response`] (or a [`Responder`] kept for many responses, as pre-signing does).
//! A request that fails to parse is answered with
//! [`error_response`]`(`[`ResponseStatus::for_request_error`]`(&err))`.
//!
//! Choices, per the RFCs:
//! - CertIDs hashed with SHA-1 (what RFC 5019 clients send) or SHA-256 are understood.
//!   Any other hash algorithm fails the request with [`Error::Unsupported`], answered
//!   `unauthorized`: this responder cannot answer authoritatively for such a CertID
//!   (RFC 5019 2.2.3). A CertID of an issuer this responder does not serve should be
//!   answered the same way when it is the only one, or `unknown` (RFC 6960 2.2).
//! - At most [`MAX_CERT_IDS`] CertIDs per request, [`MAX_REQUEST_LEN`] octets, and a
//!   nonce of 1 to 32 octets (RFC 8954); a critical extension we do not know, a
//!   duplicated extension or a negative serial fails the request as malformed.
//! - A request signature (optionalSignature) and requestorName are ignored
//!   (RFC 5019 2.1.2 lets a responder ignore them).
//! - Responses: responderID byKey, every time in whole seconds, nextUpdate always set
//!   (RFC 5019 2.2.4), the responder certificate in `certs`, and the request's nonce
//!   echoed when the caller passes it. A revocation reason of `unspecified` is left out,
//!   as RFC 5280 5.3.1 asks of CRL entries, so both say the same.

use std::ops::RangeInclusive;
use std::time::Duration;

use ::der::asn1::{Any, AnyRef, BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString, Uint};
use ::der::{Decode, Encode, SliceReader, Tag, Tagged};
use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::ext::{Extension, Extensions};
use x509_cert::serial_number::SerialNumber;
use x509_ocsp as asn;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::keytype::{identify, KeyKind};
use crate::revocation::Reason;
use crate::{Error, KeyType, Serial, Signer};

/// The most CertIDs one request may ask about (RFC 5019 clients ask about one).
pub const MAX_CERT_IDS: usize = 16;
/// The largest request read, in octets: 16 SHA-256 CertIDs take about 1.5 KiB, and a
/// signed request carries its signer's certificates.
pub const MAX_REQUEST_LEN: usize = 16 * 1024;
/// Nonce lengths accepted in a request and built into one (RFC 8954 2.1).
pub const NONCE_LEN: RangeInclusive<usize> = 1..=32;

const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OID_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// The unsuccessful OCSPResponseStatus values (RFC 6960 4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseStatus {
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

impl ResponseStatus {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The RFC 6960 name, as openssl prints it.
    pub fn name(self) -> &'static str {
        match self {
            ResponseStatus::MalformedRequest => "malformedRequest",
            ResponseStatus::InternalError => "internalError",
            ResponseStatus::TryLater => "tryLater",
            ResponseStatus::SigRequired => "sigRequired",
            ResponseStatus::Unauthorized => "unauthorized",
        }
    }

    /// The answer to a request that [`parse_request`] refused: `malformedRequest` for
    /// what cannot be read, `unauthorized` for a CertID hash algorithm this responder
    /// cannot answer for, `internalError` for anything else.
    pub fn for_request_error(err: &Error) -> ResponseStatus {
        match err {
            Error::Malformed { .. } => ResponseStatus::MalformedRequest,
            Error::Unsupported { .. } => ResponseStatus::Unauthorized,
            _ => ResponseStatus::InternalError,
        }
    }

    fn from_asn(status: asn::OcspResponseStatus) -> Option<ResponseStatus> {
        use asn::OcspResponseStatus as S;
        match status {
            S::Successful => None,
            S::MalformedRequest => Some(ResponseStatus::MalformedRequest),
            S::InternalError => Some(ResponseStatus::InternalError),
            S::TryLater => Some(ResponseStatus::TryLater),
            S::SigRequired => Some(ResponseStatus::SigRequired),
            S::Unauthorized => Some(ResponseStatus::Unauthorized),
        }
    }
}

/// An unsuccessful OCSPResponse: the status alone, no responseBytes, unsigned.
pub fn error_response(status: ResponseStatus) -> Vec<u8> {
    // SEQUENCE { ENUMERATED status }: five constant octets, nothing that can fail.
    vec![0x30, 0x03, 0x0a, 0x01, status.code()]
}

/// The hash algorithms of the CertIDs this module reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    Sha1,
    Sha256,
}

impl HashAlg {
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "sha1",
            HashAlg::Sha256 => "sha256",
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlg::Sha1 => OID_SHA1,
            HashAlg::Sha256 => OID_SHA256,
        }
    }

    fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlg> {
        [HashAlg::Sha1, HashAlg::Sha256].into_iter().find(|h| h.oid() == *oid)
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            HashAlg::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &digest::SHA256,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }

    fn len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
        }
    }
}

/// A CertID (RFC 6960 4.1.1): which certificate a request asks about, or a response
/// answers for. A response echoes the request's CertID as it was encoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CertId {
    pub hash: HashAlg,
    /// The hash of the issuer's subject name (DER).
    pub issuer_name_hash: Vec<u8>,
    /// The hash of the issuer's subjectPublicKey bits.
    pub issuer_key_hash: Vec<u8>,
    pub serial: Serial,
    /// Whether hashAlgorithm carried NULL parameters (openssl and most clients send
    /// them, some leave them out); kept so the response echoes the CertID exactly.
    pub hash_params_null: bool,
}

impl CertId {
    /// Whether both name the same certificate (the encoding of the parameters aside).
    pub fn same_cert(&self, other: &CertId) -> bool {
        self.hash == other.hash
            && self.issuer_name_hash == other.issuer_name_hash
            && self.issuer_key_hash == other.issuer_key_hash
            && self.serial == other.serial
    }

    fn from_asn(id: &asn::CertId) -> Result<CertId, Error> {
        let bad = |reason: &str| Error::malformed("OCSP CertID", reason);
        let alg = &id.hash_algorithm;
        let hash = HashAlg::from_oid(&alg.oid)
            .ok_or_else(|| Error::Unsupported { what: "OCSP CertID hash algorithm", value: alg.oid.to_string() })?;
        let hash_params_null = match &alg.parameters {
            None => false,
            Some(p) if p.tag() == Tag::Null && p.value().is_empty() => true,
            Some(_) => return Err(bad("hash algorithm parameters are neither absent nor NULL")),
        };
        let (name_hash, key_hash) = (id.issuer_name_hash.as_bytes(), id.issuer_key_hash.as_bytes());
        if name_hash.len() != hash.len() || key_hash.len() != hash.len() {
            return Err(bad(&format!("issuer hashes are not {} digests", hash.name())));
        }
        let serial = id.serial_number.as_bytes();
        if serial.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(bad("negative serial number"));
        }
        Ok(CertId {
            hash,
            issuer_name_hash: name_hash.to_vec(),
            issuer_key_hash: key_hash.to_vec(),
            serial: Serial::from_der_integer(serial),
            hash_params_null,
        })
    }

    fn to_asn(&self) -> Result<asn::CertId, Error> {
        let parameters = self.hash_params_null.then(|| Any::from(AnyRef::from(Null)));
        // Through DER so a 20-octet serial with its top bit set (21 octets encoded) is kept.
        let serial_number = Uint::new(self.serial.as_bytes())
            .and_then(|u| u.to_der())
            .and_then(|d| SerialNumber::from_der(&d))
            .map_err(|e| Error::Invalid(format!("serial {} cannot be a CertID serial: {e}", self.serial)))?;
        Ok(asn::CertId {
            hash_algorithm: AlgorithmIdentifierOwned { oid: self.hash.oid(), parameters },
            issuer_name_hash: octets(&self.issuer_name_hash)?,
            issuer_key_hash: octets(&self.issuer_key_hash)?,
            serial_number,
        })
    }
}

/// What an OCSP request asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub cert_ids: Vec<CertId>,
    /// The nonce (the content of the Nonce OCTET STRING), to echo in the response.
    pub nonce: Option<Vec<u8>>,
}

/// Reads a DER OCSPRequest. Anything malformed or over the limits above is
/// [`Error::Malformed`]; a CertID hash other than SHA-1 or SHA-256 is [`Error::Unsupported`].
pub fn parse_request(der: &[u8]) -> Result<Request, Error> {
    let bad = |reason: String| Error::malformed("OCSP request", reason);
    if der.len() > MAX_REQUEST_LEN {
        return Err(bad(format!("{} octets, more than the {MAX_REQUEST_LEN} accepted", der.len())));
    }
    let req = asn::OcspRequest::from_der(der).map_err(|e| bad(e.to_string()))?;
    let tbs = &req.tbs_request;
    match tbs.request_list.len() {
        0 => return Err(bad("requestList is empty".into())),
        n if n > MAX_CERT_IDS => return Err(bad(format!("{n} CertIDs; at most {MAX_CERT_IDS} are answered at once"))),
        _ => {}
    }
    let mut cert_ids = Vec::with_capacity(tbs.request_list.len());
    for one in &tbs.request_list {
        read_extensions(one.single_request_extensions.as_ref(), false, "OCSP singleRequestExtensions")?;
        cert_ids.push(CertId::from_asn(&one.req_cert)?);
    }
    let nonce = read_extensions(tbs.request_extensions.as_ref(), true, "OCSP request extensions")?;
    if let Some(n) = &nonce {
        check_nonce(n).map_err(bad)?;
    }
    Ok(Request { cert_ids, nonce })
}

/// Builds the DER OCSPRequest an operator's client sends: one SHA-1 CertID for `serial`
/// of the CA in `issuer_cert_der` (RFC 5019 2.1.1), the nonce when given, unsigned.
pub fn build_request(issuer_cert_der: &[u8], serial: &Serial, nonce: Option<&[u8]>) -> Result<Vec<u8>, Error> {
    let id = IssuerId::from_cert(issuer_cert_der)?.cert_id(HashAlg::Sha1, serial);
    let request_extensions = nonce.map(nonce_extension).transpose()?.map(|e| vec![e]);
    let request = asn::OcspRequest {
        tbs_request: asn::TbsRequest {
            version: asn::Version::V1,
            requestor_name: None,
            request_list: vec![asn::Request { req_cert: id.to_asn()?, single_request_extensions: None }],
            request_extensions,
        },
        optional_signature: None,
    };
    request.to_der().map_err(|e| encoding("request", e))
}

/// One issuing CA as CertIDs name it: the hashes of its subject name and of its key,
/// in each hash algorithm, computed once from its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerId {
    sha1: (Vec<u8>, Vec<u8>),
    sha256: (Vec<u8>, Vec<u8>),
}

impl IssuerId {
    pub fn from_cert(der: &[u8]) -> Result<IssuerId, Error> {
        let cert = read_cert(der, "issuer certificate")?;
        let name = cert.subject().as_raw();
        let key = cert.public_key().subject_public_key.data.as_ref();
        let both = |h: HashAlg| (h.digest(name), h.digest(key));
        Ok(IssuerId { sha1: both(HashAlg::Sha1), sha256: both(HashAlg::Sha256) })
    }

    fn hashes(&self, hash: HashAlg) -> &(Vec<u8>, Vec<u8>) {
        match hash {
            HashAlg::Sha1 => &self.sha1,
            HashAlg::Sha256 => &self.sha256,
        }
    }

    /// Whether the CertID names a certificate of this issuer (RFC 6960 4.1.1).
    pub fn matches(&self, id: &CertId) -> bool {
        let (name, key) = self.hashes(id.hash);
        id.issuer_name_hash == *name && id.issuer_key_hash == *key
    }

    /// The CertID of one of this issuer's certificates, with NULL hash parameters as
    /// RFC 5019 clients send them: for requests, and for responses signed ahead of time.
    pub fn cert_id(&self, hash: HashAlg, serial: &Serial) -> CertId {
        let (name, key) = self.hashes(hash);
        CertId {
            hash,
            issuer_name_hash: name.clone(),
            issuer_key_hash: key.clone(),
            serial: serial.clone(),
            hash_params_null: true,
        }
    }
}

/// What a response says of one certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    Revoked { at: OffsetDateTime, reason: Option<Reason> },
    Unknown,
}

/// The answer for one CertID. Times are sent in whole seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleResponse {
    pub cert_id: CertId,
    pub status: CertStatus,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
}

/// Signs successful OCSP responses (id-pkix-ocsp-basic) with one responder key: the
/// certificate is read and checked once, then [`Responder::sign`] serves many responses.
pub struct Responder<'a> {
    signer: &'a dyn Signer,
    cert: x509_cert::Certificate,
    /// The SHA-1 of the responder's subjectPublicKey: responderID byKey.
    key_hash: Vec<u8>,
    signature_algorithm: AlgorithmIdentifierOwned,
}

impl<'a> Responder<'a> {
    /// Binds a key to its certificate: the CA's own, or a delegated responder
    /// certificate, which must carry extendedKeyUsage id-kp-OCSPSigning (RFC 6960 4.2.2.2).
    /// Which CA's certificates it answers for is the caller's to keep straight: only the
    /// CA itself, or a responder certificate that very CA issued.
    pub fn new(signer: &'a dyn Signer, cert_der: &[u8]) -> Result<Responder<'a>, Error> {
        let parsed = read_cert(cert_der, "responder certificate")?;
        let key = parsed.public_key().subject_public_key.data.as_ref();
        if key != signer.public_key_raw() {
            return Err(Error::Invalid("the responder key does not match the responder certificate".into()));
        }
        let ocsp_signing = matches!(parsed.extended_key_usage(), Ok(Some(eku)) if eku.value.ocsp_signing);
        if !parsed.is_ca() && !ocsp_signing {
            return Err(Error::Lint(
                "a delegated OCSP responder certificate needs extendedKeyUsage id-kp-OCSPSigning (RFC 6960 4.2.2.2)".into(),
            ));
        }
        // The certificate goes into the response re-encoded: refuse one that would change.
        let cert = x509_cert::Certificate::from_der(cert_der)
            .ok()
            .filter(|c| c.to_der().is_ok_and(|d| d == cert_der))
            .ok_or_else(|| Error::malformed("responder certificate", "not a DER certificate x509-cert reproduces"))?;
        let signature_algorithm = AlgorithmIdentifierOwned::from_der(signer.key_type().signature_algorithm_der())
            .map_err(|e| encoding("signature algorithm", e))?;
        Ok(Responder { signer, cert, key_hash: HashAlg::Sha1.digest(key), signature_algorithm })
    }

    /// Signs one OCSPResponse answering `responses`, echoing `nonce` when given.
    pub fn sign(&self, responses: &[SingleResponse], produced_at: OffsetDateTime, nonce: Option<&[u8]>) -> Result<Vec<u8>, Error> {
        if responses.is_empty() {
            return Err(Error::Invalid("an OCSP response must answer at least one CertID".into()));
        }
        let tbs = asn::ResponseData {
            version: asn::Version::V1,
            responder_id: asn::ResponderId::ByKey(octets(&self.key_hash)?),
            produced_at: generalized(produced_at)?,
            responses: responses.iter().map(single_response).collect::<Result<_, _>>()?,
            response_extensions: nonce.map(nonce_extension).transpose()?.map(|e| vec![e]),
        };
        let tbs_der = tbs.to_der().map_err(|e| encoding("response", e))?;
        let signature = self.signer.sign(&tbs_der).map_err(Error::Signing)?;
        let basic = asn::BasicOcspResponse {
            tbs_response_data: tbs,
            signature_algorithm: self.signature_algorithm.clone(),
            signature: BitString::from_bytes(&signature).map_err(|e| encoding("response", e))?,
            certs: Some(vec![self.cert.clone()]),
        };
        asn::OcspResponse::successful(basic).and_then(|r| r.to_der()).map_err(|e| encoding("response", e))
    }
}

/// Signs one successful OCSPResponse: see [`Responder`], to sign many with one key.
pub fn sign_response(
    responder: &dyn Signer,
    responder_cert_der: &[u8],
    responses: &[SingleResponse],
    produced_at: OffsetDateTime,
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, Error> {
    Responder::new(responder, responder_cert_der)?.sign(responses, produced_at, nonce)
}

/// An OCSPResponse as a client reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedResponse {
    Successful(Box<BasicResponse>),
    /// An unsuccessful status; such a response carries nothing else and is not signed.
    Failed(ResponseStatus),
}

/// How a response names its signer (RFC 6960 4.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponderId {
    /// The SHA-1 of the signer's subjectPublicKey.
    ByKey(Vec<u8>),
    /// The signer's subject name, DER.
    ByName(Vec<u8>),
}

/// A successful (id-pkix-ocsp-basic) response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicResponse {
    pub produced_at: OffsetDateTime,
    pub responder_id: ResponderId,
    pub responses: Vec<SingleResponse>,
    pub nonce: Option<Vec<u8>>,
    /// The certificates the response carries, DER.
    pub certs: Vec<Vec<u8>>,
    /// The certificate of `certs` that the responderID names and whose key the signature
    /// verifies with. The caller still checks that the CA issued it and that it carries
    /// id-kp-OCSPSigning; when this is `None`, see whether the CA signed it itself with
    /// [`BasicResponse::verifies_with`].
    pub signer_cert: Option<Vec<u8>>,
    tbs: Vec<u8>,
    signature_algorithm: ObjectIdentifier,
    signature: Vec<u8>,
}

impl BasicResponse {
    /// Whether the response's signature verifies with the key of this certificate
    /// (false too when the certificate or its key cannot be read).
    pub fn verifies_with(&self, cert_der: &[u8]) -> bool {
        let Ok(cert) = read_cert(cert_der, "certificate") else { return false };
        let spki = cert.public_key();
        let Ok(kind) = identify(spki) else { return false };
        let rsa = matches!(kind, KeyKind::RsaOther(_)) || matches!(kind, KeyKind::Known(k) if k.is_rsa());
        let alg: &'static dyn VerificationAlgorithm = match (self.signature_algorithm, kind) {
            (OID_ECDSA_SHA256, KeyKind::Known(KeyType::EcdsaP256)) => &signature::ECDSA_P256_SHA256_ASN1,
            (OID_ECDSA_SHA384, KeyKind::Known(KeyType::EcdsaP256)) => &signature::ECDSA_P256_SHA384_ASN1,
            (OID_ECDSA_SHA256, KeyKind::Known(KeyType::EcdsaP384)) => &signature::ECDSA_P384_SHA256_ASN1,
            (OID_ECDSA_SHA384, KeyKind::Known(KeyType::EcdsaP384)) => &signature::ECDSA_P384_SHA384_ASN1,
            (OID_ED25519, KeyKind::Known(KeyType::Ed25519)) => &signature::ED25519,
            (OID_RSA_SHA256, _) if rsa => &signature::RSA_PKCS1_2048_8192_SHA256,
            (OID_RSA_SHA384, _) if rsa => &signature::RSA_PKCS1_2048_8192_SHA384,
            (OID_RSA_SHA512, _) if rsa => &signature::RSA_PKCS1_2048_8192_SHA512,
            _ => return false,
        };
        UnparsedPublicKey::new(alg, spki.subject_public_key.data.as_ref()).verify(&self.tbs, &self.signature).is_ok()
    }

    /// The answer for a CertID, whatever its hash parameters' encoding.
    pub fn find(&self, id: &CertId) -> Option<&SingleResponse> {
        self.responses.iter().find(|r| r.cert_id.same_cert(id))
    }

    fn names_signer(&self, cert_der: &[u8]) -> bool {
        let Ok(cert) = read_cert(cert_der, "certificate") else { return false };
        match &self.responder_id {
            ResponderId::ByKey(hash) => HashAlg::Sha1.digest(cert.public_key().subject_public_key.data.as_ref()) == *hash,
            ResponderId::ByName(name) => cert.subject().as_raw() == name.as_slice(),
        }
    }
}

/// Reads a DER OCSPResponse. A successful one must be id-pkix-ocsp-basic, give every
/// SingleResponse a nextUpdate (RFC 5019 2.2.4) and carry no critical extension we do
/// not know; its signature is checked against the certificates it carries.
pub fn parse_response(der: &[u8]) -> Result<ParsedResponse, Error> {
    let bad = |reason: String| Error::malformed("OCSP response", reason);
    let response = asn::OcspResponse::from_der(der).map_err(|e| bad(e.to_string()))?;
    if let Some(status) = ResponseStatus::from_asn(response.response_status) {
        return Ok(ParsedResponse::Failed(status));
    }
    let bytes = response.response_bytes.ok_or_else(|| bad("successful, but without responseBytes".into()))?;
    if bytes.response_type != OID_OCSP_BASIC {
        return Err(Error::Unsupported { what: "OCSP response type", value: bytes.response_type.to_string() });
    }
    let basic_der = bytes.response.as_bytes();
    let basic = asn::BasicOcspResponse::from_der(basic_der).map_err(|e| bad(e.to_string()))?;
    // The signature covers tbsResponseData as sent; DER decoding guarantees that
    // re-encoding its TLV gives back those very octets.
    let tbs = SliceReader::new(basic_der)
        .and_then(|mut r| AnyRef::decode(&mut r))
        .and_then(|outer| SliceReader::new(outer.value()))
        .and_then(|mut r| AnyRef::decode(&mut r))
        .and_then(|tbs| tbs.to_der())
        .map_err(|e| bad(e.to_string()))?;
    let data = &basic.tbs_response_data;
    let responder_id = match &data.responder_id {
        asn::ResponderId::ByKey(hash) => ResponderId::ByKey(hash.as_bytes().to_vec()),
        asn::ResponderId::ByName(name) => ResponderId::ByName(name.to_der().map_err(|e| bad(e.to_string()))?),
    };
    let certs = basic.certs.iter().flatten().map(|c| c.to_der()).collect::<Result<Vec<_>, _>>().map_err(|e| bad(e.to_string()))?;
    let mut parsed = BasicResponse {
        produced_at: from_generalized(&data.produced_at)?,
        responder_id,
        responses: data.responses.iter().map(read_single_response).collect::<Result<_, _>>()?,
        nonce: read_extensions(data.response_extensions.as_ref(), true, "OCSP response extensions")?,
        certs,
        signer_cert: None,
        tbs,
        signature_algorithm: basic.signature_algorithm.oid,
        signature: basic.signature.as_bytes().ok_or_else(|| bad("the signature is not whole octets".into()))?.to_vec(),
    };
    parsed.signer_cert = parsed.certs.iter().find(|c| parsed.names_signer(c) && parsed.verifies_with(c)).cloned();
    Ok(ParsedResponse::Successful(Box::new(parsed)))
}

fn single_response(r: &SingleResponse) -> Result<asn::SingleResponse, Error> {
    if r.next_update < r.this_update {
        return Err(Error::Invalid(format!("nextUpdate {} is before thisUpdate {}", r.next_update, r.this_update)));
    }
    let cert_status = match r.status {
        CertStatus::Good => asn::CertStatus::good(),
        CertStatus::Unknown => asn::CertStatus::unknown(),
        CertStatus::Revoked { at, reason } => asn::CertStatus::revoked(asn::RevokedInfo {
            revocation_time: generalized(at)?,
            revocation_reason: reason.filter(|r| *r != Reason::Unspecified).map(crl_reason),
        }),
    };
    Ok(asn::SingleResponse {
        cert_id: r.cert_id.to_asn()?,
        cert_status,
        this_update: generalized(r.this_update)?,
        next_update: Some(generalized(r.next_update)?),
        single_extensions: None,
    })
}

fn read_single_response(r: &asn::SingleResponse) -> Result<SingleResponse, Error> {
    read_extensions(r.single_extensions.as_ref(), false, "OCSP singleExtensions")?;
    let status = match &r.cert_status {
        asn::CertStatus::Good(_) => CertStatus::Good,
        asn::CertStatus::Unknown(_) => CertStatus::Unknown,
        asn::CertStatus::Revoked(info) => CertStatus::Revoked {
            at: from_generalized(&info.revocation_time)?,
            reason: info.revocation_reason.and_then(|r| Reason::from_code(r as u8)),
        },
    };
    let next_update = r.next_update.as_ref().ok_or_else(|| {
        Error::malformed("OCSP response", "a SingleResponse has no nextUpdate (RFC 5019 2.2.4 requires one)")
    })?;
    Ok(SingleResponse {
        cert_id: CertId::from_asn(&r.cert_id)?,
        status,
        this_update: from_generalized(&r.this_update)?,
        next_update: from_generalized(next_update)?,
    })
}

/// Reads extensions: returns the nonce (when `nonce_allowed`), ignores the non-critical
/// ones we do not know, refuses critical ones we do not know and duplicates (RFC 6960 4.4,
/// RFC 5280 4.2).
fn read_extensions(exts: Option<&Extensions>, nonce_allowed: bool, what: &'static str) -> Result<Option<Vec<u8>>, Error> {
    let exts = exts.map(Vec::as_slice).unwrap_or_default();
    let mut nonce = None;
    for (i, ext) in exts.iter().enumerate() {
        if exts[..i].iter().any(|e| e.extn_id == ext.extn_id) {
            return Err(Error::malformed(what, format!("extension {} appears twice", ext.extn_id)));
        }
        if nonce_allowed && ext.extn_id == OID_OCSP_NONCE {
            let inner = OctetString::from_der(ext.extn_value.as_bytes())
                .map_err(|e| Error::malformed(what, format!("nonce: {e}")))?;
            nonce = Some(inner.as_bytes().to_vec());
        } else if ext.critical {
            return Err(Error::malformed(what, format!("critical extension {} is not understood", ext.extn_id)));
        }
    }
    Ok(nonce)
}

fn check_nonce(nonce: &[u8]) -> Result<(), String> {
    if NONCE_LEN.contains(&nonce.len()) {
        Ok(())
    } else {
        Err(format!("a nonce of {} octets (RFC 8954: 1 to 32)", nonce.len()))
    }
}

/// The Nonce extension (RFC 6960 4.4.1): non-critical, its value an OCTET STRING.
fn nonce_extension(nonce: &[u8]) -> Result<Extension, Error> {
    check_nonce(nonce).map_err(Error::Invalid)?;
    let value = octets(nonce)?.to_der().map_err(|e| encoding("nonce", e))?;
    Ok(Extension { extn_id: OID_OCSP_NONCE, critical: false, extn_value: octets(&value)? })
}

fn crl_reason(reason: Reason) -> CrlReason {
    match reason {
        Reason::Unspecified => CrlReason::Unspecified,
        Reason::KeyCompromise => CrlReason::KeyCompromise,
        Reason::CaCompromise => CrlReason::CaCompromise,
        Reason::AffiliationChanged => CrlReason::AffiliationChanged,
        Reason::Superseded => CrlReason::Superseded,
        Reason::CessationOfOperation => CrlReason::CessationOfOperation,
        Reason::CertificateHold => CrlReason::CertificateHold,
        Reason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        Reason::AaCompromise => CrlReason::AaCompromise,
    }
}

/// A GeneralizedTime in whole seconds (the fraction is dropped), as RFC 5280 4.1.2.5.2 writes them.
fn generalized(t: OffsetDateTime) -> Result<asn::OcspGeneralizedTime, Error> {
    u64::try_from(t.unix_timestamp())
        .ok()
        .and_then(|secs| GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).ok())
        .map(asn::OcspGeneralizedTime)
        .ok_or_else(|| Error::Invalid(format!("time {t} cannot be a GeneralizedTime (years 1970 to 9999)")))
}

fn from_generalized(t: &asn::OcspGeneralizedTime) -> Result<OffsetDateTime, Error> {
    i64::try_from(t.0.to_unix_duration().as_secs())
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .ok_or_else(|| Error::malformed("OCSP response", "a time out of range"))
}

fn octets(bytes: &[u8]) -> Result<OctetString, Error> {
    OctetString::new(bytes).map_err(|e| encoding("octet string", e))
}

fn encoding(what: &str, e: ::der::Error) -> Error {
    Error::Invalid(format!("cannot encode the OCSP {what}: {e}"))
}

/// One whole certificate, nothing after it.
fn read_cert<'a>(der: &'a [u8], what: &'static str) -> Result<X509Certificate<'a>, Error> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::malformed(what, "trailing data after the certificate")),
        Err(e) => Err(Error::malformed(what, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_match_the_asn1_encoding() {
        for (status, asn) in [
            (ResponseStatus::MalformedRequest, asn::OcspResponse::malformed_request()),
            (ResponseStatus::InternalError, asn::OcspResponse::internal_error()),
            (ResponseStatus::TryLater, asn::OcspResponse::try_later()),
            (ResponseStatus::SigRequired, asn::OcspResponse::sig_required()),
            (ResponseStatus::Unauthorized, asn::OcspResponse::unauthorized()),
        ] {
            assert_eq!(error_response(status), asn.to_der().unwrap());
            assert_eq!(parse_response(&error_response(status)).unwrap(), ParsedResponse::Failed(status));
        }
    }

    #[test]
    fn cert_ids_round_trip_with_their_parameters() {
        for (serial, null) in [("01", true), ("00ff", false), ("ff".repeat(20).as_str(), true), ("00", false)] {
            let id = CertId {
                hash: HashAlg::Sha256,
                issuer_name_hash: vec![1; 32],
                issuer_key_hash: vec![2; 32],
                serial: serial.parse().unwrap(),
                hash_params_null: null,
            };
            let der = id.to_asn().unwrap().to_der().unwrap();
            assert_eq!(CertId::from_asn(&asn::CertId::from_der(&der).unwrap()).unwrap(), id);
        }
    }

    #[test]
    fn times_are_whole_seconds_and_reasons_map() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_999_999_999).unwrap();
        assert_eq!(from_generalized(&generalized(t).unwrap()).unwrap().unix_timestamp(), 1_700_000_000);
        assert!(generalized(OffsetDateTime::from_unix_timestamp(-1).unwrap()).is_err());
        for code in 0..=10u8 {
            if let Some(r) = Reason::from_code(code) {
                assert_eq!(crl_reason(r) as u8, code);
            }
        }
    }

    #[test]
    fn request_errors_map_to_statuses() {
        let unsupported = Error::Unsupported { what: "x", value: "y".into() };
        assert_eq!(ResponseStatus::for_request_error(&unsupported), ResponseStatus::Unauthorized);
        let malformed = Error::malformed("x", "y");
        assert_eq!(ResponseStatus::for_request_error(&malformed), ResponseStatus::MalformedRequest);
        assert_eq!(ResponseStatus::for_request_error(&Error::Signing("z".into())), ResponseStatus::InternalError);
    }
}
