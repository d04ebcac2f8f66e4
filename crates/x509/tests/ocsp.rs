//! OCSP against real clients: requests openssl writes are read and requests we build are
//! read by openssl; responses we sign are verified by openssl (delegated responder and
//! CA-signed, every key type), echo the nonce and say the right status; pkilint finds
//! nothing in them; malformed requests and responses, truncated or mutated, give errors
//! and never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use der::{Decode, Encode};
use ironpki_x509::ocsp::{
    build_request, error_response, parse_request, parse_response, sign_response, BasicResponse, CertId, CertStatus,
    HashAlg, IssuerId, ParsedResponse, Responder, ResponseStatus, SingleResponse, MAX_CERT_IDS,
};
use ironpki_x509::revocation::Reason;
use ironpki_x509::{Error, KeyType, Serial, Signer};
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------- a test key and PKI

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// An in-memory key, as crates/signer's SoftwareKey holds one; it signs for rcgen too.
struct TestKey {
    key_type: KeyType,
    inner: Inner,
    public: Vec<u8>,
    rng: SystemRandom,
}

impl TestKey {
    fn generate(key_type: KeyType) -> TestKey {
        let (inner, public) = match key_type {
            KeyType::EcdsaP256 | KeyType::EcdsaP384 => {
                let alg = if key_type == KeyType::EcdsaP256 {
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let pair = EcdsaKeyPair::generate(alg).unwrap();
                let public = pair.public_key().as_ref().to_vec();
                (Inner::Ecdsa(pair), public)
            }
            KeyType::Ed25519 => {
                let pair = Ed25519KeyPair::generate().unwrap();
                let public = pair.public_key().as_ref().to_vec();
                (Inner::Ed25519(pair), public)
            }
            _ => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
                let public = pair.public_key().as_ref().to_vec();
                (Inner::Rsa(pair), public)
            }
        };
        TestKey { key_type, inner, public, rng: SystemRandom::new() }
    }
}

impl Signer for TestKey {
    fn key_type(&self) -> KeyType {
        self.key_type
    }
    fn public_key_raw(&self) -> &[u8] {
        &self.public
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        match &self.inner {
            Inner::Ecdsa(pair) => pair.sign(&self.rng, msg).map(|s| s.as_ref().to_vec()).map_err(|e| e.to_string()),
            Inner::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
            Inner::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &self.rng, msg, &mut sig).map_err(|e| e.to_string())?;
                Ok(sig)
            }
        }
    }
}

impl rcgen::PublicKeyData for TestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.key_type.rcgen_alg()
    }
}

impl rcgen::SigningKey for TestKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Signer::sign(self, msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

struct Pki {
    dir: tempfile::TempDir,
    ca_key: TestKey,
    ca: Vec<u8>,
    responder_key: TestKey,
    responder: Vec<u8>,
    /// Leaves by file name (in `dir`): good.pem, revoked.pem.
    leaves: Vec<(&'static str, Serial)>,
}

fn params(cn: &str, serial: &Serial) -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
    p.not_before = OffsetDateTime::now_utc() - Duration::days(1);
    p.not_after = OffsetDateTime::now_utc() + Duration::days(30);
    p
}

fn serial() -> Serial {
    Serial::generate(time::OffsetDateTime::now_utc(), &SystemRandom::new()).unwrap()
}

impl Pki {
    fn new(key_type: KeyType) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = TestKey::generate(key_type);
        let mut ca_params = params(&format!("OCSP Test CA {key_type}"), &serial());
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).unwrap().der().to_vec();
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);

        let responder_key = TestKey::generate(key_type);
        let mut rp = params("OCSP responder", &serial());
        rp.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        rp.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::OcspSigning];
        rp.use_authority_key_identifier_extension = true;
        let responder = rp.signed_by(&responder_key, &issuer).unwrap().der().to_vec();

        let mut leaves = Vec::new();
        for name in ["good.pem", "revoked.pem"] {
            let key = TestKey::generate(KeyType::EcdsaP256);
            let s = serial();
            let mut lp = params(name, &s);
            lp.use_authority_key_identifier_extension = true;
            let der = lp.signed_by(&key, &issuer).unwrap().der().to_vec();
            std::fs::write(dir.path().join(name), pem(&der)).unwrap();
            leaves.push((name, s));
        }
        std::fs::write(dir.path().join("ca.pem"), pem(&ca)).unwrap();
        std::fs::write(dir.path().join("responder.pem"), pem(&responder)).unwrap();
        Pki { dir, ca_key, ca, responder_key, responder, leaves }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    fn serial(&self, name: &str) -> Serial {
        self.leaves.iter().find(|(n, _)| *n == name).unwrap().1.clone()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
        self.path(name)
    }

    /// `openssl ocsp ...` in the PKI's directory.
    fn openssl(&self, openssl: &Path, args: &[&str]) -> Output {
        Command::new(openssl).arg("ocsp").args(args).current_dir(self.dir.path()).output().unwrap()
    }
}

fn pem(der: &[u8]) -> String {
    ironpki_x509::pem::cert(der)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn assert_ok(out: &Output, what: &str) -> String {
    let all = text(out);
    assert!(out.status.success(), "{what} failed: {all}");
    all
}

/// An outside tool: its path, or None (a skip) when it is missing; under CI=true a
/// missing tool fails the test.
fn tool(name: &str) -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin").join(name);
    let found = if venv.is_file() {
        Some(venv)
    } else {
        std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
    };
    if found.is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{name} is required under CI (scripts/test.sh installs it)");
        eprintln!("SKIP: {name} not found; run scripts/install-test-tools.sh to install it");
    }
    found
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn single(cert_id: CertId, status: CertStatus) -> SingleResponse {
    SingleResponse {
        cert_id,
        status,
        this_update: now() - Duration::minutes(1),
        next_update: now() + Duration::days(1),
    }
}

fn successful(der: &[u8]) -> Box<BasicResponse> {
    match parse_response(der).unwrap() {
        ParsedResponse::Successful(b) => b,
        other => panic!("not successful: {other:?}"),
    }
}

// ---------------------------------------------------------------- requests

#[test]
fn reads_what_openssl_asks() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new(KeyType::EcdsaP256);
    let issuer = IssuerId::from_cert(&pki.ca).unwrap();
    let good = pki.serial("good.pem");

    assert_ok(&pki.openssl(&openssl, &["-issuer", "ca.pem", "-cert", "good.pem", "-reqout", "plain.der", "-no_nonce"]), "openssl ocsp");
    let req = parse_request(&std::fs::read(pki.path("plain.der")).unwrap()).unwrap();
    assert_eq!(req.nonce, None);
    assert_eq!(req.cert_ids.len(), 1);
    let id = &req.cert_ids[0];
    assert_eq!((id.hash, &id.serial), (HashAlg::Sha1, &good));
    assert!(issuer.matches(id));
    assert_eq!(*id, issuer.cert_id(HashAlg::Sha1, &good), "openssl's CertID, NULL parameters included");

    assert_ok(&pki.openssl(&openssl, &["-issuer", "ca.pem", "-cert", "good.pem", "-reqout", "nonce.der"]), "openssl ocsp");
    let req = parse_request(&std::fs::read(pki.path("nonce.der")).unwrap()).unwrap();
    assert_eq!(req.nonce.as_ref().map(Vec::len), Some(16), "openssl sends a 16-octet nonce");

    let args = ["-sha256", "-issuer", "ca.pem", "-cert", "good.pem", "-cert", "revoked.pem", "-reqout", "two.der"];
    assert_ok(&pki.openssl(&openssl, &args), "openssl ocsp");
    let req = parse_request(&std::fs::read(pki.path("two.der")).unwrap()).unwrap();
    assert_eq!(req.cert_ids.iter().map(|i| i.serial.clone()).collect::<Vec<_>>(), [good, pki.serial("revoked.pem")]);
    assert!(req.cert_ids.iter().all(|i| i.hash == HashAlg::Sha256 && issuer.matches(i)));
    let other = Pki::new(KeyType::EcdsaP256);
    assert!(!IssuerId::from_cert(&other.ca).unwrap().matches(&req.cert_ids[0]), "another CA's IssuerId does not match");

    let args = ["-sha512", "-issuer", "ca.pem", "-cert", "good.pem", "-reqout", "sha512.der", "-no_nonce"];
    assert_ok(&pki.openssl(&openssl, &args), "openssl ocsp");
    let err = parse_request(&std::fs::read(pki.path("sha512.der")).unwrap()).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert_eq!(ResponseStatus::for_request_error(&err), ResponseStatus::Unauthorized);
}

#[test]
fn openssl_reads_what_we_ask() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new(KeyType::EcdsaP256);
    let good = pki.serial("good.pem");
    let nonce = [0xa5u8; 20];
    let der = build_request(&pki.ca, &good, Some(&nonce)).unwrap();
    let out = assert_ok(&pki.openssl(&openssl, &["-reqin", &pki.write("req.der", &der), "-req_text"]), "openssl ocsp -req_text");
    assert!(out.contains("Hash Algorithm: sha1"), "{out}");
    assert!(out.contains(&format!("Serial Number: {}", good.to_hex().to_uppercase())), "{out}");
    assert!(out.contains("OCSP Nonce") && out.contains(&"A5".repeat(20)), "{out}");

    let req = parse_request(&der).unwrap();
    assert_eq!(req.nonce.as_deref(), Some(&nonce[..]));
    assert_eq!(req.cert_ids, [IssuerId::from_cert(&pki.ca).unwrap().cert_id(HashAlg::Sha1, &good)]);
    assert!(parse_request(&build_request(&pki.ca, &good, None).unwrap()).unwrap().nonce.is_none());
    for bad in [&[][..], &[0u8; 33][..]] {
        assert!(build_request(&pki.ca, &good, Some(bad)).is_err(), "nonce of {} octets", bad.len());
    }
}

// ---------------------------------------------------------------- responses

/// Answers openssl's request for good.pem, revoked.pem and an unknown serial in one
/// response, and checks it with openssl and with parse_response.
fn answer_and_verify(openssl: &Path, key_type: KeyType) {
    let pki = Pki::new(key_type);
    let issuer = IssuerId::from_cert(&pki.ca).unwrap();
    let unknown = serial();
    let unknown_hex = format!("0x{}", unknown.to_hex());
    let args = ["-issuer", "ca.pem", "-cert", "good.pem", "-cert", "revoked.pem", "-serial", &unknown_hex, "-reqout", "req.der"];
    assert_ok(&pki.openssl(openssl, &args), "openssl ocsp -reqout");
    let req = parse_request(&std::fs::read(pki.path("req.der")).unwrap()).unwrap();
    assert_eq!(req.cert_ids.len(), 3);
    let revoked_at = (now() - Duration::hours(1)).replace_nanosecond(0).unwrap();
    let answers: Vec<SingleResponse> = req
        .cert_ids
        .iter()
        .map(|id| {
            assert!(issuer.matches(id));
            let status = if id.serial == pki.serial("good.pem") {
                CertStatus::Good
            } else if id.serial == pki.serial("revoked.pem") {
                CertStatus::Revoked { at: revoked_at, reason: Some(Reason::KeyCompromise) }
            } else {
                CertStatus::Unknown
            };
            single(id.clone(), status)
        })
        .collect();
    let produced_at = now();
    let resp = sign_response(&pki.responder_key, &pki.responder, &answers, produced_at, req.nonce.as_deref()).unwrap();
    pki.write("resp.der", &resp);

    // The request's nonce comes back, and the responder certificate chains to the CA.
    let out = pki.openssl(openssl, &["-reqin", "req.der", "-respin", "resp.der", "-CAfile", "ca.pem", "-resp_text"]);
    let out = assert_ok(&out, &format!("openssl ocsp -respin ({key_type})"));
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(!out.contains("WARNING") && !out.contains("Nonce Verify error"), "{out}");
    for expected in ["Cert Status: good", "Cert Status: revoked", "Revocation Reason: keyCompromise (0x1)", "Cert Status: unknown", "OCSP Nonce"] {
        assert!(out.contains(expected), "{expected:?} missing: {out}");
    }
    // openssl finds each certificate's answer by its own CertID.
    let args = ["-respin", "resp.der", "-issuer", "ca.pem", "-cert", "good.pem", "-cert", "revoked.pem", "-no_nonce", "-VAfile", "responder.pem"];
    let out = assert_ok(&pki.openssl(openssl, &args), "openssl ocsp status");
    assert!(out.contains("Response verify OK") && !out.contains("WARNING"), "{out}");
    assert!(out.contains("good.pem: good"), "{out}");
    assert!(out.contains("revoked.pem: revoked") && out.contains("Reason: keyCompromise"), "{out}");

    let basic = successful(&resp);
    assert_eq!(basic.nonce, req.nonce);
    assert_eq!(basic.responses, answers.iter().map(|a| whole_seconds(a.clone())).collect::<Vec<_>>());
    assert_eq!(basic.produced_at, produced_at.replace_nanosecond(0).unwrap());
    assert_eq!(basic.certs, std::slice::from_ref(&pki.responder));
    assert_eq!(basic.signer_cert.as_deref(), Some(&pki.responder[..]));
    assert!(basic.verifies_with(&pki.responder) && !basic.verifies_with(&pki.ca));
    assert_eq!(basic.find(&issuer.cert_id(HashAlg::Sha1, &pki.serial("good.pem"))).unwrap().status, CertStatus::Good);
}

fn whole_seconds(mut r: SingleResponse) -> SingleResponse {
    let trunc = |t: OffsetDateTime| t.replace_nanosecond(0).unwrap();
    r.this_update = trunc(r.this_update);
    r.next_update = trunc(r.next_update);
    r
}

#[test]
fn openssl_verifies_our_responses_ecdsa_p256() {
    let Some(openssl) = tool("openssl") else { return };
    answer_and_verify(&openssl, KeyType::EcdsaP256);
}

#[test]
fn openssl_verifies_our_responses_other_key_types() {
    let Some(openssl) = tool("openssl") else { return };
    for key_type in [KeyType::EcdsaP384, KeyType::Ed25519, KeyType::Rsa2048] {
        answer_and_verify(&openssl, key_type);
    }
}

#[test]
fn the_ca_may_sign_itself() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new(KeyType::EcdsaP256);
    let id = IssuerId::from_cert(&pki.ca).unwrap().cert_id(HashAlg::Sha1, &pki.serial("good.pem"));
    let resp = sign_response(&pki.ca_key, &pki.ca, &[single(id, CertStatus::Good)], now(), None).unwrap();
    pki.write("resp.der", &resp);
    let args = ["-respin", "resp.der", "-issuer", "ca.pem", "-cert", "good.pem", "-no_nonce", "-CAfile", "ca.pem"];
    let out = assert_ok(&pki.openssl(&openssl, &args), "openssl ocsp");
    assert!(out.contains("Response verify OK") && out.contains("good.pem: good"), "{out}");
    let basic = successful(&resp);
    assert_eq!(basic.signer_cert.as_deref(), Some(&pki.ca[..]));
    assert_eq!(basic.nonce, None);
}

#[test]
fn openssl_notices_a_wrong_nonce_or_signature() {
    // The checks above would pass vacuously if openssl ignored nonces or signatures.
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new(KeyType::EcdsaP256);
    let req = build_request(&pki.ca, &pki.serial("good.pem"), Some(&[1; 16])).unwrap();
    pki.write("req.der", &req);
    let id = parse_request(&req).unwrap().cert_ids.remove(0);
    let answer = [single(id, CertStatus::Good)];
    let verify = ["-reqin", "req.der", "-respin", "resp.der", "-CAfile", "ca.pem"];

    pki.write("resp.der", &sign_response(&pki.responder_key, &pki.responder, &answer, now(), Some(&[2; 16])).unwrap());
    let out = pki.openssl(&openssl, &verify);
    assert!(!out.status.success() && text(&out).contains("Nonce Verify error"), "{}", text(&out));

    let mut resp = sign_response(&pki.responder_key, &pki.responder, &answer, now(), Some(&[1; 16])).unwrap();
    pki.write("resp.der", &resp);
    assert_ok(&pki.openssl(&openssl, &verify), "the right nonce");
    let at = resp.windows(16).position(|w| w == [1; 16]).unwrap();
    resp[at] ^= 1; // the echoed nonce, inside the signed data
    pki.write("resp.der", &resp);
    let out = pki.openssl(&openssl, &["-respin", "resp.der", "-CAfile", "ca.pem"]);
    assert!(!out.status.success() && text(&out).contains("Response Verify Failure"), "{}", text(&out));
    let basic = successful(&resp);
    assert!(basic.signer_cert.is_none() && !basic.verifies_with(&pki.responder));
}

#[test]
fn responder_must_match_its_key_and_be_allowed_to_sign() {
    let pki = Pki::new(KeyType::EcdsaP256);
    let err = Responder::new(&pki.responder_key, &pki.ca).err().unwrap();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    // A leaf without id-kp-OCSPSigning may not answer for its CA.
    let key = TestKey::generate(KeyType::EcdsaP256);
    let mut ca_params = params("CA", &serial());
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::from_params(&ca_params, &pki.ca_key);
    let leaf = params("no eku", &serial()).signed_by(&key, &issuer).unwrap().der().to_vec();
    let err = Responder::new(&key, &leaf).err().unwrap();
    assert!(matches!(err, Error::Lint(_)), "{err}");

    let responder = Responder::new(&pki.responder_key, &pki.responder).unwrap();
    let id = IssuerId::from_cert(&pki.ca).unwrap().cert_id(HashAlg::Sha256, &pki.serial("good.pem"));
    assert!(responder.sign(&[], now(), None).is_err(), "no answers");
    let mut backwards = single(id, CertStatus::Good);
    backwards.next_update = backwards.this_update - Duration::seconds(1);
    assert!(responder.sign(&[backwards], now(), None).is_err(), "nextUpdate before thisUpdate");
}

#[test]
fn error_responses_read_by_openssl() {
    let Some(openssl) = tool("openssl") else { return };
    let pki = Pki::new(KeyType::EcdsaP256);
    for status in [
        ResponseStatus::MalformedRequest,
        ResponseStatus::InternalError,
        ResponseStatus::TryLater,
        ResponseStatus::SigRequired,
        ResponseStatus::Unauthorized,
    ] {
        let file = pki.write("err.der", &error_response(status));
        // openssl exits non-zero on an unsuccessful response and prints the status in
        // lower case ("Responder Error: malformedrequest (1)"); the text is what counts.
        let out = text(&pki.openssl(&openssl, &["-respin", &file, "-resp_text"]));
        let expected = format!("Responder Error: {} ({})", status.name().to_lowercase(), status.code());
        assert!(out.contains(&expected), "{expected:?} missing: {out}");
        assert_eq!(parse_response(&error_response(status)).unwrap(), ParsedResponse::Failed(status));
    }
}

#[test]
fn pkilint_finds_nothing_in_our_responses() {
    let Some(lint) = tool("lint_ocsp_response") else { return };
    let pki = Pki::new(KeyType::EcdsaP256);
    let issuer = IssuerId::from_cert(&pki.ca).unwrap();
    let statuses = [
        ("good", CertStatus::Good),
        ("revoked", CertStatus::Revoked { at: now() - Duration::hours(2), reason: Some(Reason::KeyCompromise) }),
        ("revoked-unspecified", CertStatus::Revoked { at: now() - Duration::hours(2), reason: Some(Reason::Unspecified) }),
        ("unknown", CertStatus::Unknown),
    ];
    for (name, status) in statuses {
        let id = issuer.cert_id(HashAlg::Sha1, &serial());
        let resp = sign_response(&pki.responder_key, &pki.responder, &[single(id, status)], now(), Some(&[7; 16])).unwrap();
        let file = pki.write(&format!("{name}.der"), &resp);
        let out = Command::new(&lint).args(["lint", "-s", "WARNING", &file]).output().unwrap();
        let findings = text(&out);
        assert!(out.status.success() && findings.trim().is_empty(), "pkilint on the {name} response: {findings}");
    }
}

// ---------------------------------------------------------------- untrusted input

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn mutate(der: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = der.to_vec();
    for _ in 0..1 + rng.next() % 3 {
        let i = (rng.next() as usize) % bytes.len();
        bytes[i] = rng.next() as u8;
    }
    bytes
}

/// A request for `n` CertIDs (the one of `one` repeated), with `extensions` in place of its own.
fn request_with(one: &[u8], n: usize, extensions: Option<Vec<x509_cert::ext::Extension>>) -> Vec<u8> {
    let mut req = x509_ocsp::OcspRequest::from_der(one).unwrap();
    let first = req.tbs_request.request_list[0].clone();
    req.tbs_request.request_list = vec![first; n];
    if extensions.is_some() {
        req.tbs_request.request_extensions = extensions;
    }
    req.to_der().unwrap()
}

#[test]
fn malformed_requests_are_errors() {
    let pki = Pki::new(KeyType::EcdsaP256);
    let one = build_request(&pki.ca, &pki.serial("good.pem"), Some(&[1; 16])).unwrap();
    for garbage in [&b""[..], b"\x30", b"\x30\x00", b"GET / HTTP/1.1\r\n", &[0xff; 64]] {
        let err = parse_request(garbage).unwrap_err();
        assert_eq!(ResponseStatus::for_request_error(&err), ResponseStatus::MalformedRequest, "{err}");
    }
    for len in 0..one.len() {
        assert!(parse_request(&one[..len]).is_err(), "truncated to {len} octets was accepted");
    }
    let mut trailing = one.clone();
    trailing.push(0);
    assert!(parse_request(&trailing).is_err(), "trailing data");

    assert_eq!(parse_request(&request_with(&one, MAX_CERT_IDS, None)).unwrap().cert_ids.len(), MAX_CERT_IDS);
    for n in [0, MAX_CERT_IDS + 1, 200, 1000] {
        let err = parse_request(&request_with(&one, n, None)).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{n} CertIDs: {err}");
    }

    let ext = |oid: &str, critical: bool, value: &[u8]| x509_cert::ext::Extension {
        extn_id: der::asn1::ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: der::asn1::OctetString::new(value).unwrap(),
    };
    let nonce = "1.3.6.1.5.5.7.48.1.2";
    let wrapped = |n: &[u8]| der::asn1::OctetString::new(n).unwrap().to_der().unwrap();
    let cases = [
        ("empty nonce", vec![ext(nonce, false, &wrapped(&[]))]),
        ("33-octet nonce", vec![ext(nonce, false, &wrapped(&[9; 33]))]),
        ("nonce not an OCTET STRING", vec![ext(nonce, false, &[0x02, 0x01, 0x01])]),
        ("two nonces", vec![ext(nonce, false, &wrapped(&[1; 16])), ext(nonce, false, &wrapped(&[2; 16]))]),
        ("unknown critical extension", vec![ext("1.2.3.4", true, &[0x05, 0x00])]),
    ];
    for (what, exts) in cases {
        assert!(parse_request(&request_with(&one, 1, Some(exts))).is_err(), "{what} was accepted");
    }
    let ignored = request_with(&one, 1, Some(vec![ext("1.2.3.4", false, &[0x05, 0x00])]));
    assert_eq!(parse_request(&ignored).unwrap().nonce, None, "an unknown non-critical extension is ignored");
}

#[test]
fn mutated_requests_never_panic() {
    let pki = Pki::new(KeyType::EcdsaP256);
    let der = build_request(&pki.ca, &pki.serial("good.pem"), Some(&[3; 16])).unwrap();
    let mut rng = Rng(0x0c5f_0000_dead_beef);
    for _ in 0..20_000 {
        let _ = parse_request(&mutate(&der, &mut rng));
    }
}

#[test]
fn malformed_and_mutated_responses_never_panic_nor_verify() {
    let pki = Pki::new(KeyType::EcdsaP256);
    let issuer = IssuerId::from_cert(&pki.ca).unwrap();
    let answers = [
        single(issuer.cert_id(HashAlg::Sha1, &pki.serial("good.pem")), CertStatus::Good),
        single(
            issuer.cert_id(HashAlg::Sha1, &pki.serial("revoked.pem")),
            CertStatus::Revoked { at: now(), reason: Some(Reason::Superseded) },
        ),
    ];
    let der = sign_response(&pki.responder_key, &pki.responder, &answers, now(), Some(&[5; 32])).unwrap();
    let original = successful(&der);
    assert!(original.signer_cert.is_some());
    for len in 0..der.len() {
        assert!(parse_response(&der[..len]).is_err(), "truncated to {len} octets was accepted");
    }
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..20_000 {
        if let Ok(ParsedResponse::Successful(b)) = parse_response(&mutate(&der, &mut rng)) {
            if b.signer_cert.is_some() {
                // Only a response that still says the same may verify.
                assert_eq!((&b.responses, &b.nonce, b.produced_at), (&original.responses, &original.nonce, original.produced_at));
            }
        }
    }
}
