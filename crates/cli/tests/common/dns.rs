//! pebble-challtestsrv as the DNS server ACME validation looks names up in (the
//! provisioner's `dns_resolver`): every A query it answers with 127.0.0.1, and TXT records
//! are published over its management API, so test names such as `web1.svc.internal`
//! resolve without touching the machine's resolver.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{tool, wait_until};

pub struct TestDns {
    child: Child,
    /// `127.0.0.1:PORT`: the DNS server, for `dns_resolver`.
    pub resolver: String,
    /// `http://127.0.0.1:PORT`: the management API, for hooks (`$CHALLTESTSRV`).
    pub management: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("address").port()
}

impl TestDns {
    /// Starts the server, or `None` (a failure under CI=true) without pebble-challtestsrv.
    pub fn start() -> Option<TestDns> {
        let binary = tool("pebble-challtestsrv")?;
        let (dns, management) = (free_port(), free_port());
        let child = Command::new(binary)
            .args(["-dns01", &format!("127.0.0.1:{dns}"), "-management", &format!("127.0.0.1:{management}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble-challtestsrv");
        let server = TestDns { child, resolver: format!("127.0.0.1:{dns}"), management: format!("http://127.0.0.1:{management}") };
        let up = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_ok();
        wait_until(Duration::from_secs(10), || up(dns) && up(management)).expect("pebble-challtestsrv listening");
        Some(server)
    }

    fn post(&self, path: &str, body: serde_json::Value) {
        ureq::post(format!("{}/{path}", self.management)).send(body.to_string()).unwrap_or_else(|e| panic!("challtestsrv {path}: {e}"));
    }

    /// Publishes a TXT record (`host` without the root dot).
    pub fn set_txt(&self, host: &str, value: &str) {
        self.post("set-txt", serde_json::json!({ "host": format!("{host}."), "value": value }));
    }

    /// Makes `host` a CNAME for `target`.
    pub fn set_cname(&self, host: &str, target: &str) {
        self.post("set-cname", serde_json::json!({ "host": format!("{host}."), "target": format!("{target}.") }));
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PKI (see `Pki::on_port`) whose ACME provisioners validate through `dns`, http-01 on
/// `http_port` and tls-alpn-01 on `tls_port`: `acme` (open) and `eab` (EAB required). The
/// server profile also allows the wildcards `*.svc.internal` and `*.lego.internal` (a
/// wildcard is allowed only where a profile names it).
pub fn acme_pki(dns: &TestDns, http_port: u16, tls_port: u16) -> (super::Pki, String) {
    let ports = format!("http01_port: {http_port}\n      tls_alpn01_port: {tls_port}\n      dns_resolver: {}", dns.resolver);
    let provisioners = format!("{ports}\n    - name: eab\n      profile: server\n      eab: true\n      {ports}");
    let template = "http01_port: 80           # the port http-01 validation connects to
      tls_alpn01_port: 443      # the port tls-alpn-01 validation connects to
      dns_resolver: system      # or ADDR:PORT: the resolver every validation lookup uses";
    let wildcards = "dns: [localhost, .internal, \"*.svc.internal\", \"*.lego.internal\"]";
    super::Pki::on_port(&[(template, &provisioners), ("dns: [localhost, .internal]", wildcards)])
}

/// A free loopback TCP port.
pub fn port() -> u16 {
    free_port()
}
