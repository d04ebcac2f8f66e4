//! Untrusted CSR input: every truncation and thousands of byte mutations of a valid CSR
//! give an error or a verified request, never a panic; a mutated request never verifies
//! with a changed body.

use ironpki_x509::csr::Csr;

fn valid_csr() -> Vec<u8> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["dev-1.iot.internal".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "dev-1");
    params.serialize_request(&key).unwrap().der().to_vec()
}

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

#[test]
fn truncations_are_errors() {
    let der = valid_csr();
    let csr = Csr::parse_and_verify(&der).unwrap();
    assert_eq!(csr.common_name.as_deref(), Some("dev-1"));
    for len in 0..der.len() {
        assert!(Csr::parse_and_verify(&der[..len]).is_err(), "truncated to {len} bytes was accepted");
    }
}

#[test]
fn mutations_never_panic_nor_verify_a_changed_body() {
    let der = valid_csr();
    let original = Csr::parse_and_verify(&der).unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..20_000 {
        let mut bytes = der.clone();
        for _ in 0..1 + rng.next() % 3 {
            let i = (rng.next() as usize) % bytes.len();
            bytes[i] = rng.next() as u8;
        }
        if let Ok(csr) = Csr::parse_and_verify(&bytes) {
            // Only encodings that still carry the same signed content may verify.
            assert_eq!(csr.public_key_raw, original.public_key_raw);
            assert_eq!(csr.sans, original.sans);
            assert_eq!(csr.common_name, original.common_name);
        }
    }
}
