use std::path::Path;

use super::*;

fn p() -> &'static Path {
    Path::new("ironpki.yaml")
}

#[test]
fn template_parses_and_has_shipped_profiles() {
    let c = template::defaults("Example Corp").unwrap();
    assert!(["server", "client", "device"].iter().all(|n| c.profiles.contains_key(*n)));
    assert_eq!(c.root_ca.key_type, ironpki_x509::KeyType::EcdsaP384);
    assert_eq!(c.intermediates[0].path_len, 0);
    assert_eq!(c.crl_urls("issuing").0, "http://127.0.0.1:8080/crl/issuing.crl");
    assert!(c.profile("server").unwrap().cn_in_san);
    let acme = &c.acme.provisioners[0];
    assert_eq!((acme.name.as_str(), acme.profile.as_str(), acme.eab, acme.challenges.len()), ("acme", "server", false, 3));
}

#[test]
fn seed_shape_is_accepted_as_it_is() {
    let text = include_str!("../tests/pki-shape.yaml");
    let c = parse(p(), text.as_bytes()).unwrap();
    assert_eq!(c.root_ca.key_type, ironpki_x509::KeyType::EcdsaP384);
    assert_eq!(c.root_ca.path.as_deref(), Some("/etc/pki/root_ca"));
    assert_eq!(c.intermediates[0].name, "iot_intermediate");
    assert_eq!(c.crl_urls("iot_intermediate").0, "http://pki.example.com/crl/iot.crl");
    assert_eq!(c.default_profile.as_deref(), Some("default"));
    let d = c.profile("default").unwrap();
    assert_eq!(d.max_validity.as_secs(), 365 * 86_400);
    assert_eq!(d.san.dns, vec!["*.iot.example.com".to_string()]);
    assert_eq!(c.automation.renew_before, Some(Dur::days(30)));
}

fn with(text: &str, from: &str, to: &str) -> Result<Config, Error> {
    assert!(text.contains(from), "{from}");
    parse(p(), text.replacen(from, to, 1).as_bytes())
}

#[test]
fn errors_name_file_key_and_reason() {
    let t = template("X");
    let e = with(&t, "min_rsa_bits: 2048", "min_rsa_bits: 1024").unwrap_err().to_string();
    assert!(e.starts_with("ironpki.yaml: profiles.server.min_rsa_bits: 1024 bits is too weak"), "{e}");
    let e = with(&t, "max: 397d", "max: 3000d").unwrap_err().to_string();
    assert!(e.contains("profiles.server.validity.max") && e.contains("longer than the life"), "{e}");
    let e = with(&t, "backdate: 5m", "backdate: 5m\nbogus: 1").unwrap_err().to_string();
    assert!(e.contains("unknown field `bogus`"), "{e}");
    let e = with(&t, "validity_years: 10", "validity_years: ten").unwrap_err().to_string();
    assert!(e.contains("root_ca.validity_years"), "{e}");
    let e = with(&t, "key_type: ecdsa-p256", "key_type: rsa-2048").unwrap_err().to_string();
    assert!(e.contains("intermediates[0].key_type") && e.contains("not allowed for a CA"), "{e}");
    let e = with(&t, "default: 90d", "default: 90 fortnights").unwrap_err().to_string();
    assert!(e.contains("profiles.server.validity.default"), "{e}");
    let e = with(&t, "crl_regenerate: 24h", "crl_regenerate: 8d").unwrap_err().to_string();
    assert!(e.contains("revocation.crl_regenerate"), "{e}");
    let e = with(&t, "delta_crl_validity: 1h", "delta_crl_validity: 7d").unwrap_err().to_string();
    assert!(e.contains("revocation.delta_crl_validity") && e.contains("less than crl_validity"), "{e}");
    let e = with(&t, "profile: server           # every", "profile: nosuch           # every").unwrap_err().to_string();
    assert!(e.contains("acme.provisioners[0].profile") && e.contains("no profile named \"nosuch\""), "{e}");
    let e = with(&t, "dns_resolver: system", "dns_resolver: dns.internal").unwrap_err().to_string();
    assert!(e.contains("acme.provisioners[0].dns_resolver") && e.contains("ADDR:PORT"), "{e}");
    with(&t, "dns_resolver: system", "dns_resolver: \"[::1]:8053\"").unwrap();
    let e = with(&t, "challenges: [http-01, dns-01, tls-alpn-01]", "challenges: [http-02]").unwrap_err().to_string();
    assert!(e.contains("acme.provisioners[0].challenges"), "{e}");
    let e = with(&t, "# lifetime: 90d ", "lifetime: 9000d").unwrap_err().to_string();
    assert!(e.contains("acme.provisioners[0].lifetime"), "{e}");
    let e = with(&t, "root_crl_validity: 180d", "root_crl_validity: 10m").unwrap_err().to_string();
    assert!(e.contains("revocation.root_crl_validity"), "{e}");
    let e = parse(p(), b"pki:\n  root_ca: {key_type: rsa, key_size: 1024}\n  intermediate_ca: {}\n").unwrap_err().to_string();
    assert!(e.contains("pki.root_ca.key_size"), "{e}");
    let e = parse(p(), b": : :").unwrap_err().to_string();
    assert!(e.starts_with("ironpki.yaml: not valid YAML"), "{e}");
}
