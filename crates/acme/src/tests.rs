//! Requests signed here with aws-lc-rs keys, checked as a server sees them.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};

use crate::jwk::Alg;
use crate::{b64, dns01_txt, eab, key_authorization, Error, Jwk, Jws, KeyRef};

const URL: &str = "https://ca.example/acme/acme/new-account";

enum Signer {
    Ec(EcdsaKeyPair, &'static str),
    Ed(Ed25519KeyPair),
}

impl Signer {
    fn p256() -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Signer::Ec(EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap(), "ES256")
    }

    fn p384() -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        Signer::Ec(EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref()).unwrap(), "ES384")
    }

    fn ed25519() -> Signer {
        Signer::Ed(Ed25519KeyPair::generate().unwrap())
    }

    fn alg(&self) -> &'static str {
        match self {
            Signer::Ec(_, alg) => alg,
            Signer::Ed(_) => "EdDSA",
        }
    }

    fn jwk(&self) -> Value {
        match self {
            Signer::Ec(key, alg) => {
                let point = key.public_key().as_ref();
                let size = (point.len() - 1) / 2;
                let crv = if *alg == "ES256" { "P-256" } else { "P-384" };
                json!({ "kty": "EC", "crv": crv, "x": b64(&point[1..1 + size]), "y": b64(&point[1 + size..]) })
            }
            Signer::Ed(key) => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(key.public_key().as_ref()) }),
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Signer::Ec(key, _) => key.sign(&SystemRandom::new(), message).unwrap().as_ref().to_vec(),
            Signer::Ed(key) => key.sign(message).as_ref().to_vec(),
        }
    }

    /// A flattened JWS with `header` (alg added) over `payload`.
    fn jws(&self, mut header: Value, payload: &[u8]) -> Value {
        header["alg"] = json!(self.alg());
        let protected = b64(header.to_string().as_bytes());
        let payload = b64(payload);
        let signature = b64(&self.sign(format!("{protected}.{payload}").as_bytes()));
        json!({ "protected": protected, "payload": payload, "signature": signature })
    }
}

fn parse(value: &Value) -> Result<Jws, Error> {
    Jws::parse(value.to_string().as_bytes())
}

#[test]
fn every_accepted_algorithm_verifies_and_a_changed_byte_does_not() {
    for signer in [Signer::p256(), Signer::p384(), Signer::ed25519()] {
        let body = signer.jws(json!({ "jwk": signer.jwk(), "nonce": "n1", "url": URL }), b"{\"termsOfServiceAgreed\":true}");
        let jws = parse(&body).unwrap();
        let KeyRef::Jwk(key) = &jws.key else { panic!("jwk expected") };
        jws.verify(key).unwrap();
        jws.check_url(URL).unwrap();
        assert_eq!(jws.nonce.as_deref(), Some("n1"));
        assert_eq!(jws.payload_json().unwrap()["termsOfServiceAgreed"], true);

        let mut tampered = body.clone();
        tampered["payload"] = json!(b64(b"{\"termsOfServiceAgreed\":false}"));
        let err = parse(&tampered).unwrap().verify(key).unwrap_err();
        assert_eq!(err.problem_type(), "unauthorized", "{}: {err}", signer.alg());
    }
}

#[test]
fn rsa_account_keys_verify() {
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let public = key.public_key();
    let (n, e) = rsa_components(public.as_ref());
    let jwk = json!({ "kty": "RSA", "n": b64(&n), "e": b64(&e) });
    let header = json!({ "alg": "RS256", "jwk": jwk, "nonce": "n", "url": URL });
    let protected = b64(header.to_string().as_bytes());
    let payload = b64(b"{}");
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), format!("{protected}.{payload}").as_bytes(), &mut sig).unwrap();
    let body = json!({ "protected": protected, "payload": payload, "signature": b64(&sig) });
    let jws = parse(&body).unwrap();
    let KeyRef::Jwk(parsed) = &jws.key else { panic!() };
    jws.verify(parsed).unwrap();
}

/// (n, e) from a DER RSAPublicKey (SEQUENCE { INTEGER n, INTEGER e }).
fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn tlv(d: &[u8]) -> (&[u8], &[u8]) {
        let (len, skip) = if d[1] & 0x80 == 0 {
            (d[1] as usize, 2)
        } else {
            let n = (d[1] & 0x7f) as usize;
            (d[2..2 + n].iter().fold(0usize, |a, b| a << 8 | *b as usize), 2 + n)
        };
        (&d[skip..skip + len], &d[skip + len..])
    }
    let (seq, _) = tlv(der);
    let (n, rest) = tlv(seq);
    let (e, _) = tlv(rest);
    let strip = |v: &[u8]| v.iter().position(|b| *b != 0).map(|i| v[i..].to_vec()).unwrap_or_default();
    (strip(n), strip(e))
}

#[test]
fn a_kid_names_the_account_and_the_short_ecdsa_signature_some_clients_send_verifies() {
    let signer = Signer::p256();
    let key = Jwk::from_json(&signer.jwk()).unwrap();
    // Sign until r starts with a zero octet, then drop it as such clients do.
    loop {
        let header = json!({ "alg": "ES256", "kid": "https://ca.example/acme/acme/acct/1", "nonce": "n", "url": URL });
        let protected = b64(header.to_string().as_bytes());
        let payload = b64(b"");
        let sig = signer.sign(format!("{protected}.{payload}").as_bytes());
        if sig[0] != 0 {
            continue;
        }
        let body = json!({ "protected": protected, "payload": payload, "signature": b64(&sig[1..]) });
        let jws = parse(&body).unwrap();
        assert_eq!(jws.key, KeyRef::Kid("https://ca.example/acme/acme/acct/1".into()));
        assert!(jws.is_post_as_get());
        jws.verify(&key).unwrap();
        break;
    }
}

#[test]
fn malformed_requests_are_refused_with_their_problem_type() {
    let signer = Signer::p256();
    let good = json!({ "jwk": signer.jwk(), "nonce": "n", "url": URL });
    let refused = |body: Value| parse(&body).unwrap_err().problem_type();

    let mut none = signer.jws(good.clone(), b"{}");
    let header = json!({ "alg": "none", "jwk": signer.jwk(), "nonce": "n", "url": URL });
    none["protected"] = json!(b64(header.to_string().as_bytes()));
    assert_eq!(refused(none), "badSignatureAlgorithm");

    let mut hs = good.clone();
    hs["alg"] = json!("HS512");
    let mut body = signer.jws(good.clone(), b"{}");
    body["protected"] = json!(b64(hs.to_string().as_bytes()));
    assert_eq!(refused(body), "badSignatureAlgorithm");

    let both = json!({ "jwk": signer.jwk(), "kid": "x", "nonce": "n", "url": URL });
    assert_eq!(refused(signer.jws(both, b"{}")), "malformed");
    let neither = json!({ "nonce": "n", "url": URL });
    assert_eq!(refused(signer.jws(neither, b"{}")), "malformed");
    let no_url = json!({ "jwk": signer.jwk(), "nonce": "n" });
    assert_eq!(refused(signer.jws(no_url, b"{}")), "malformed");

    let mut unprotected = signer.jws(good.clone(), b"{}");
    unprotected["header"] = json!({ "kid": "x" });
    assert_eq!(refused(unprotected), "malformed");
    assert_eq!(Jws::parse(b"not json").unwrap_err().problem_type(), "malformed");

    let jws = parse(&signer.jws(good.clone(), b"{}")).unwrap();
    assert_eq!(jws.check_url("https://ca.example/acme/acme/new-order").unwrap_err().problem_type(), "unauthorized");
    // The key of another algorithm does not verify it.
    let other = Jwk::from_json(&Signer::ed25519().jwk()).unwrap();
    assert_eq!(jws.verify(&other).unwrap_err().problem_type(), "badSignatureAlgorithm");
    // An HS256 request is only an EAB.
    assert_eq!(Alg::parse("HS256").unwrap(), Alg::Hs256);
}

#[test]
fn bad_keys_are_refused() {
    let bad = |jwk: Value| Jwk::from_json(&jwk).unwrap_err().problem_type();
    assert_eq!(bad(json!({ "kty": "EC", "crv": "P-521", "x": "AA", "y": "AA" })), "badPublicKey");
    assert_eq!(bad(json!({ "kty": "EC", "crv": "P-256", "x": b64(&[1; 32]), "y": b64(&[2; 32]) })), "badPublicKey", "not on the curve");
    assert_eq!(bad(json!({ "kty": "OKP", "crv": "X25519", "x": b64(&[1; 32]) })), "badPublicKey");
    assert_eq!(bad(json!({ "kty": "RSA", "n": b64(&[0xc1; 128]), "e": "AQAB" })), "badPublicKey", "1024-bit RSA");
    let mut private = Signer::p256().jwk();
    private["d"] = json!(b64(&[7; 32]));
    assert_eq!(bad(private), "badPublicKey");
    assert_eq!(bad(json!("a string")), "badPublicKey");
}

#[test]
fn thumbprints_follow_rfc_7638() {
    // RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
    let key = Jwk::from_json(&json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" })).unwrap();
    assert_eq!(key.thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    assert_eq!(key.canonical_json(), r#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#);
    // Members beyond the required ones do not change it.
    let with_extra = json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "use": "sig", "kid": "k" });
    assert_eq!(Jwk::from_json(&with_extra).unwrap().thumbprint(), key.thumbprint());
    let authorization = key_authorization("tok", &key);
    assert_eq!(authorization, "tok.kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    assert_eq!(dns01_txt(&authorization).len(), 43, "base64url of a SHA-256");
}

#[test]
fn external_account_binding() {
    let signer = Signer::p256();
    let account_key = Jwk::from_json(&signer.jwk()).unwrap();
    let mac_key = b"an hmac key the operator handed out".to_vec();
    let binding = |kid: &str, url: &str, payload: &Value, key: &[u8]| -> Value {
        let header = json!({ "alg": "HS256", "kid": kid, "url": url });
        let protected = b64(header.to_string().as_bytes());
        let payload = b64(payload.to_string().as_bytes());
        let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key), format!("{protected}.{payload}").as_bytes());
        json!({ "protected": protected, "payload": payload, "signature": b64(tag.as_ref()) })
    };
    let lookup = |kid: &str| (kid == "kid-1").then(|| mac_key.clone());
    let good = binding("kid-1", URL, &signer.jwk(), &mac_key);
    assert_eq!(eab::verify(&good, &account_key, URL, lookup).unwrap(), "kid-1");

    let refused = |b: &Value| eab::verify(b, &account_key, URL, lookup).unwrap_err().problem_type();
    assert_eq!(refused(&binding("kid-1", URL, &signer.jwk(), b"another key")), "unauthorized");
    assert_eq!(refused(&binding("kid-2", URL, &signer.jwk(), &mac_key)), "unauthorized", "unknown key id");
    assert_eq!(refused(&binding("kid-1", "https://ca.example/other", &signer.jwk(), &mac_key)), "malformed");
    assert_eq!(refused(&binding("kid-1", URL, &Signer::p256().jwk(), &mac_key)), "malformed", "binds another key");
    // An outer request signed with HS256 is refused.
    let jws = Jws::from_value(&good).unwrap();
    assert_eq!(jws.verify(&account_key).unwrap_err().problem_type(), "badSignatureAlgorithm");
}

#[test]
fn public_key_bits_are_what_a_certificate_holds() {
    let signer = Signer::p256();
    let Signer::Ec(pair, _) = &signer else { panic!() };
    assert_eq!(Jwk::from_json(&signer.jwk()).unwrap().public_key_bits(), pair.public_key().as_ref());
    let ed = Signer::ed25519();
    let Signer::Ed(pair) = &ed else { panic!() };
    assert_eq!(Jwk::from_json(&ed.jwk()).unwrap().public_key_bits(), pair.public_key().as_ref());
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = rsa.public_key().as_ref().to_vec();
    let (n, e) = rsa_components(&der);
    let jwk = Jwk::from_json(&json!({ "kty": "RSA", "n": b64(&n), "e": b64(&e) })).unwrap();
    assert_eq!(jwk.public_key_bits(), der, "the DER RSAPublicKey, leading zero octet and all");
}
