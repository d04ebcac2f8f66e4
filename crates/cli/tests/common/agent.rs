//! Running `ironpki agent` against a test CA, and nginx serving what it installs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::dns::{acme_pki, port, TestDns};
use super::{wait_until, Pki, Server};

/// A PKI whose `acme` provisioner issues certificates of `lifetime` (backdated 5 s),
/// serving on fixed ports so it can be stopped and started again at the same URLs.
pub struct ShortLivedCa {
    pub pki: Pki,
    pub listen: String,
    pub https: String,
    /// The port the provisioner's http-01 validation connects to.
    pub http01_port: u16,
    /// The port its tls-alpn-01 validation connects to.
    pub tls_alpn01_port: u16,
    pub server: Option<Server>,
}

impl ShortLivedCa {
    pub fn start(dns: &TestDns, lifetime: &str) -> ShortLivedCa {
        ShortLivedCa::start_with(dns, lifetime, "")
    }

    /// As `start`, with `extra` appended to `ironpki.yaml`.
    pub fn start_with(dns: &TestDns, lifetime: &str, extra: &str) -> ShortLivedCa {
        let (http01_port, tls_alpn01_port) = (port(), port());
        let (pki, listen) = acme_pki(dns, http01_port, tls_alpn01_port);
        let config = std::fs::read_to_string(pki.home().join("ironpki.yaml")).unwrap();
        let config = config
            .replacen("# lifetime: 90d           # default: the profile's; at most its maximum", &format!("lifetime: {lifetime}"), 1)
            .replace("backdate: 5m", "backdate: 5s");
        assert!(config.contains(&format!("lifetime: {lifetime}")) && config.contains("backdate: 5s"));
        let config = format!("{config}{extra}");
        std::fs::write(pki.home().join("ironpki.yaml"), config).unwrap();
        let https = format!("127.0.0.1:{}", port());
        let mut ca = ShortLivedCa { pki, listen, https, http01_port, tls_alpn01_port, server: None };
        ca.up();
        ca
    }

    pub fn up(&mut self) {
        self.server = Some(self.pki.serve_on(&self.listen, &self.https));
    }

    pub fn down(&mut self) {
        self.server = None;
    }

    pub fn directory(&self) -> String {
        self.directory_of("acme")
    }

    /// The directory of provisioner `name`.
    pub fn directory_of(&self, name: &str) -> String {
        format!("https://localhost:{}/acme/{name}/directory", self.https.rsplit(':').next().unwrap())
    }
}

/// The files of one agent-managed certificate under `dir`.
pub struct CertFiles {
    pub dir: PathBuf,
}

impl CertFiles {
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn fullchain(&self) -> PathBuf {
        self.dir.join("fullchain.pem")
    }
    pub fn staple(&self) -> PathBuf {
        self.dir.join("ocsp.der")
    }

    /// The serial (hex) of the certificate in place, if any.
    pub fn serial(&self) -> Option<String> {
        let pem = std::fs::read(self.cert()).ok()?;
        let der = ironpki_x509::pem::blocks(&pem, "CERTIFICATE", "cert").ok()?.into_iter().next()?;
        Some(normal_serial(&ironpki_x509::inspect::summarize(&der).ok()?.serial))
    }

    /// Whether the key in place is the certificate's.
    pub fn pair_matches(&self, openssl: &Path) -> bool {
        let public = |args: &[&str], file: &Path| {
            let out = Command::new(openssl).args(args).arg(file).output().unwrap();
            assert!(out.status.success() || args[0] == "x509", "{}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        };
        let from_key = public(&["pkey", "-pubout", "-in"], &self.key());
        let from_cert = public(&["x509", "-noout", "-pubkey", "-in"], &self.cert());
        !from_key.is_empty() && from_key == from_cert
    }
}

/// Writes an agent configuration for one certificate `name` with SAN `dns:{host}`,
/// answering http-01 itself on `ca.http01_port`; `extra` is appended to the
/// certificate's entry (indented by four spaces) and `top` to the top level.
pub fn write_config(dir: &Path, ca: &ShortLivedCa, host: &str, extra: &str, top: &str) -> (PathBuf, CertFiles) {
    let files = CertFiles { dir: dir.join("tls") };
    let roots = dir.join("roots.pem");
    std::fs::copy(ca.pki.roots(), &roots).unwrap();
    let d = files.dir.display();
    let config = format!(
        "state_dir: {state}\nroots: {roots}\n{top}certificates:\n  - name: web\n    acme:\n      directory: {directory}\n      challenge: http-01\n      http01_listen: 127.0.0.1:{port}\n    common_name: {host}\n    sans: [\"dns:{host}\"]\n    key_type: ecdsa-p256\n    files: {{ key: {d}/key.pem, cert: {d}/cert.pem, chain: {d}/chain.pem, fullchain: {d}/fullchain.pem, ocsp_staple: {d}/ocsp.der }}\n{extra}",
        state = dir.join("state").display(),
        roots = roots.display(),
        directory = ca.directory(),
        port = ca.http01_port,
    );
    let path = dir.join("agent.yaml");
    std::fs::write(&path, config).unwrap();
    (path, files)
}

/// A running `ironpki agent`, killed when dropped.
pub struct AgentProcess {
    pub child: Child,
    pub log: PathBuf,
}

impl AgentProcess {
    pub fn start(pki: &Pki, config: &Path, log: &Path) -> AgentProcess {
        AgentProcess::start_with(pki, config, log, &[])
    }

    /// As `start`, with more arguments.
    pub fn start_with(pki: &Pki, config: &Path, log: &Path, extra: &[&str]) -> AgentProcess {
        let config = config.display().to_string();
        let mut args = vec!["agent", "--config", &config];
        args.extend_from_slice(extra);
        let child = pki
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("spawn agent");
        AgentProcess { child, log: log.to_path_buf() }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the agent with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `agent status --output json` for the configuration at `config`.
pub fn status(pki: &Pki, config: &Path) -> serde_json::Value {
    pki.json(&["agent", "status", "--config", &config.display().to_string()])
}

/// Waits (up to `limit`) for the serial in place to differ from `old`.
pub fn wait_new_serial(files: &CertFiles, old: Option<&str>, limit: std::time::Duration) -> Option<String> {
    let mut seen = None;
    wait_until(limit, || {
        seen = files.serial().filter(|s| Some(s.as_str()) != old);
        seen.is_some()
    })?;
    seen
}

/// nginx serving HTTPS on `port` with the agent's files; stopped when dropped.
pub struct Nginx {
    child: Child,
    pub dir: PathBuf,
}

impl Nginx {
    pub fn start(nginx: &Path, dir: &Path, port: u16, files: &CertFiles, extra: &str) -> Nginx {
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let d = dir.display();
        let conf = format!(
            "daemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\nevents {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {d}/tmp/body;\n    proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n    server {{\n        listen 127.0.0.1:{port} ssl;\n        ssl_certificate {full};\n        ssl_certificate_key {key};\n{extra}        location / {{ return 200 \"ok\\n\"; }}\n    }}\n}}\n",
            full = files.fullchain().display(),
            key = files.key().display(),
        );
        let running = Nginx::spawn(nginx, dir, &conf);
        let pid = dir.join("nginx.pid");
        wait_until(std::time::Duration::from_secs(10), || pid.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()).expect("nginx up");
        running
    }

    /// Writes `conf` as `DIR/nginx.conf` and starts nginx with DIR as its prefix.
    pub fn spawn(nginx: &Path, dir: &Path, conf: &str) -> Nginx {
        let d = dir.display();
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf"), "-e", &format!("{d}/error.log")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        Nginx { child, dir: dir.to_path_buf() }
    }

    /// The reload command for the agent's configuration.
    pub fn reload_command(nginx: &Path, dir: &Path) -> String {
        let d = dir.display();
        format!("{} -p {d} -c {d}/nginx.conf -e {d}/error.log -s reload", nginx.display())
    }
}

impl Drop for Nginx {
    /// SIGTERM lets the master stop its workers; SIGKILL would orphan them.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// The serial (hex, lower case) of the certificate served on `port` for `host`.
pub fn served_serial(openssl: &Path, host: &str, port: u16) -> Option<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{o} s_client -connect 127.0.0.1:{port} -servername {host} </dev/null 2>/dev/null | {o} x509 -noout -serial",
            o = openssl.display()
        ))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().strip_prefix("serial=").map(normal_serial)
}

/// What `openssl s_client -status` reports of the staple served on `port`: the
/// `Cert Status:` line's value (`good`, `revoked`), or `None` without a staple.
pub fn stapled_status(openssl: &Path, host: &str, port: u16) -> Option<String> {
    let out = Command::new(openssl)
        .args(["s_client", "-status", "-connect", &format!("127.0.0.1:{port}"), "-servername", host])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.trim().strip_prefix("Cert Status: ").map(str::to_string))
}

/// A hex serial without leading zeros, in lower case.
pub fn normal_serial(hex: &str) -> String {
    hex.trim_start_matches('0').to_ascii_lowercase()
}
