//! EST (RFC 7030) as a device integrator scripts it with curl and openssl: `cacerts`
//! gives the PKI's CA certificates as a base64 certs-only PKCS#7 that `openssl pkcs7`
//! reads, and a chain built from them verifies what the PKI issues.

mod common;

use std::process::{Command, Stdio};

use common::{tool, Pki};

#[test]
fn cacerts_is_a_certs_only_pkcs7_that_openssl_reads() {
    let (Some(curl), Some(openssl)) = (tool("curl"), tool("openssl")) else { return };
    let pki = Pki::init();
    let server = pki.serve();
    let dir = tempfile::tempdir().unwrap();
    let (body, headers) = (dir.path().join("cacerts.b64"), dir.path().join("headers"));
    let out = Command::new(&curl)
        .args(["-sf", "--cacert", &pki.roots().display().to_string(), "-D", &headers.display().to_string(), "-o", &body.display().to_string()])
        .arg(format!("{}/.well-known/est/cacerts", server.tls_base))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let headers = std::fs::read_to_string(&headers).unwrap().to_ascii_lowercase();
    assert!(headers.contains("content-type: application/pkcs7-mime; smime-type=certs-only"), "{headers}");
    assert!(headers.contains("content-transfer-encoding: base64"), "{headers}");

    // base64 -d | openssl pkcs7 -inform DER -print_certs
    let script = format!(
        "base64 -d {} | {} pkcs7 -inform DER -print_certs",
        body.display(),
        openssl.display()
    );
    let printed = Command::new("sh").arg("-c").arg(&script).stderr(Stdio::piped()).output().unwrap();
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let text = String::from_utf8_lossy(&printed.stdout);
    let cas = pki.json(&["ca", "list"]);
    let cas = cas.as_array().unwrap();
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), cas.len(), "{text}");
    for ca in cas {
        let subject = ca["subject"].as_str().unwrap();
        let cn = subject.rsplit("CN=").next().unwrap().trim();
        assert!(text.contains(cn), "{cn} in {text}");
    }

    // The certificates from cacerts verify a certificate this PKI issues.
    std::fs::write(dir.path().join("cacerts.pem"), text.as_bytes()).unwrap();
    pki.ok(&["cert", "issue", "--profile", "device", "--cn", "d1.iot.internal", "--out", &dir.path().join("d1").display().to_string()]);
    let verify = Command::new(&openssl)
        .args(["verify", "-CAfile", &pki.roots().display().to_string(), "-untrusted", &dir.path().join("cacerts.pem").display().to_string()])
        .arg(dir.path().join("d1/cert.pem"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}
