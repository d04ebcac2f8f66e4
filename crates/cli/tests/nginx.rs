//! nginx enforcing mutual TLS with our roots and our CRLs: a device certificate gets in;
//! once revoked and nginx reloads the CRL served by `ironpki serve`, it is refused.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::agent::Nginx;
use common::{http_get, tool, wait_until, Pki};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_nginx(nginx: &Path, dir: &Path, port: u16) -> Nginx {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let d = dir.display();
    let conf = format!(
        r#"daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/server/fullchain.pem;
        ssl_certificate_key {d}/server/key.pem;
        ssl_client_certificate {d}/ca-bundle.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_crl {d}/crls.pem;
        location / {{ return 200 "hello $ssl_client_s_dn\n"; }}
    }}
}}
"#
    );
    Nginx::spawn(nginx, dir, &conf)
}

fn mtls_get(curl: &Path, dir: &Path, port: u16) -> Output {
    Command::new(curl)
        .current_dir(dir)
        .args(["-s", "--max-time", "5", "--cacert", "roots.pem", "--cert", "device/fullchain.pem", "--key", "device/key.pem"])
        .arg(format!("https://127.0.0.1:{port}/"))
        .output()
        .unwrap()
}

/// Fetches the full CRLs of every CA from the server, PEM, for nginx's ssl_crl.
fn fetch_crls(curl: &Path, server: &common::Server) -> String {
    ["root", "issuing"]
        .iter()
        .map(|ca| {
            let (status, _, der) = http_get(curl, &server.url(&format!("/crl/{ca}.crl")));
            assert_eq!(status, 200, "CRL of {ca}");
            ironpki_x509::pem::encode("X509 CRL", &der)
        })
        .collect()
}

#[test]
fn nginx_refuses_a_revoked_device_after_reloading_our_crl() {
    let (Some(nginx), Some(curl)) = (tool("nginx"), tool("curl")) else { return };
    let pki = Pki::init();
    let dir = pki.dir.path();
    pki.ok(&["cert", "issue", "--profile", "server", "--cn", "localhost", "--san", "ip:127.0.0.1", "--out", "server"]);
    let device = pki.json(&["cert", "issue", "--profile", "device", "--cn", "sensor-9", "--san", "dns:sensor-9.iot.internal", "--out", "device"]);
    let serial = device["serial"].as_str().unwrap().to_string();
    let roots = pki.ok(&["ca", "roots"]);
    std::fs::write(dir.join("roots.pem"), &roots).unwrap();
    std::fs::write(dir.join("ca-bundle.pem"), roots + &pki.ok(&["ca", "show", "issuing", "--pem"])).unwrap();

    let server = pki.serve();
    std::fs::write(dir.join("crls.pem"), fetch_crls(&curl, &server)).unwrap();
    let port = free_port();
    let _nginx = start_nginx(&nginx, dir, port);

    let mut last = String::new();
    let admitted = wait_until(Duration::from_secs(10), || {
        let out = mtls_get(&curl, dir, port);
        last = format!("{} {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        out.status.success() && last.contains("hello") && last.contains("sensor-9")
    });
    assert!(admitted.is_some(), "the device was not admitted: {last}\n{}", std::fs::read_to_string(dir.join("error.log")).unwrap_or_default());

    pki.ok(&["cert", "revoke", &serial, "--reason", "keyCompromise"]);
    let listed = wait_until(Duration::from_secs(1), || {
        let (_, _, der) = http_get(&curl, &server.url("/crl/issuing.crl"));
        ironpki_x509::inspect::summarize_crl(&der).is_ok_and(|c| c.entries.iter().any(|e| e.serial == serial))
    });
    assert!(listed.is_some(), "the served CRL did not list the revocation within 1 s");
    std::fs::write(dir.join("crls.pem"), fetch_crls(&curl, &server)).unwrap();
    let pid = std::fs::read_to_string(dir.join("nginx.pid")).unwrap();
    assert!(Command::new("kill").args(["-HUP", pid.trim()]).status().unwrap().success(), "reload nginx");

    let refused = wait_until(Duration::from_secs(10), || {
        let out = mtls_get(&curl, dir, port);
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        !last.contains("hello")
    });
    assert!(refused.is_some(), "the revoked device still gets in: {last}");
    // nginx completes the handshake and answers 400 for a client certificate that fails
    // verification; its log names the reason.
    let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
    assert!(log.contains("certificate revoked"), "{log}");
}
