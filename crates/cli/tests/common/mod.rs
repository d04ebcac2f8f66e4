//! Helpers for tests that drive the real `ironpki` binary and real outside tools.
#![allow(dead_code)]

pub mod agent;
pub mod cluster;
pub mod dns;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PASSPHRASE: &str = "test passphrase 123";

/// A fresh PKI home in a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        Pki { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn init() -> Pki {
        let pki = Pki::new();
        pki.ok(&["init", "--name", "Test Org"]);
        pki
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ironpki"));
        cmd.args(args)
            .env("IRONPKI_HOME", self.home())
            .env("IRONPKI_PASSPHRASE", PASSPHRASE)
            .current_dir(self.dir.path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run ironpki")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ironpki {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs and asserts failure with one line on stderr; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "ironpki {args:?} should have failed");
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(err.lines().count(), 1, "one line of error expected, got: {err}");
        assert!(err.starts_with("ironpki: error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        err
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["--output", "json"];
        full.extend_from_slice(args);
        serde_json::from_str(&self.ok(&full)).expect("json output")
    }

    pub fn roots(&self) -> PathBuf {
        let path = self.path("roots.pem");
        std::fs::write(&path, self.ok(&["ca", "roots"])).expect("write roots");
        path
    }

    /// Certificates in the store, apart from those `init` records: the admin client
    /// certificate and the intermediates' certificates (profile `ca`).
    pub fn count_certs(&self) -> usize {
        let list = self.json(&["cert", "list"]);
        list.as_array().expect("array").iter().filter(|c| c["profile"] != "admin" && c["profile"] != "ca").count()
    }

    pub fn audit_len(&self) -> usize {
        self.ok(&["audit", "export"]).lines().count()
    }

    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.home().join("ironpki.db")).expect("open db")
    }
}

/// An outside tool: found, or a skip (a failure under CI=true).
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = which(name);
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{name} is required under CI but was not found (scripts/test.sh installs it)");
        }
        eprintln!("SKIP: {name} not found; run scripts/test.sh to install it");
    }
    found
}

/// The test tools' Python (scripts/test.sh's venv) when it has `module`: found, or a skip
/// (a failure under CI=true).
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = which("python").filter(|p| {
        Command::new(p).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success())
    });
    if python.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("Python module {module} is required under CI but was not found (scripts/test.sh installs it)");
        }
        eprintln!("SKIP: Python module {module} not found; run scripts/test.sh to install it");
    }
    python
}

/// A script of the tests' own (`tests/tools/NAME`).
pub fn test_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools").join(name)
}

fn which(name: &str) -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tools = workspace.join(".tools/venv/bin").join(name);
    if tools.is_file() {
        return Some(tools);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path.split(':').chain(["/usr/sbin", "/sbin"]).map(|d| Path::new(d).join(name)).find(|p| p.is_file());
    found
}

pub fn run_tool(tool: &Path, args: &[&str], cwd: &Path) -> Output {
    Command::new(tool).args(args).current_dir(cwd).env("SSL_CERT_FILE", "/dev/null").output().expect("run tool")
}

/// pkilint (`lint_crl`, PKIX) finds nothing in the CRL `file` (relative to `dir`).
pub fn lint_crl(pkilint: &Path, dir: &Path, file: &str) {
    let out = run_tool(pkilint, &["lint", "-t", "CRL", "-p", "PKIX", "-s", "WARNING", file], dir);
    let findings = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && findings.trim().is_empty(), "pkilint {file}: {findings}");
}

pub fn assert_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Pki {
    /// A PKI whose base URL is a free loopback port, so the URLs in its certificates
    /// work once `serve_at` listens there. `extra` replaces text in the init template.
    pub fn on_port(extra: &[(&str, &str)]) -> (Pki, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("address").port();
        let pki = Pki::new();
        let mut config = ironpki_config::template("Net Org")
            .replace("base_url: http://127.0.0.1:8080", &format!("base_url: http://127.0.0.1:{port}"))
            .replace("http_listen: 127.0.0.1:8080", &format!("http_listen: 127.0.0.1:{port}"));
        for (from, to) in extra {
            assert!(config.contains(from), "{from}");
            config = config.replace(from, to);
        }
        std::fs::write(pki.path("c.yaml"), config).expect("write config");
        pki.ok(&["init", "--config", "c.yaml"]);
        (pki, format!("127.0.0.1:{port}"))
    }
}

/// A running `ironpki serve`, stopped when dropped.
pub struct Server {
    pub child: std::process::Child,
    /// http://127.0.0.1:PORT
    pub base: String,
    /// https://localhost:PORT (the name in the listener's certificate)
    pub tls_base: String,
}

impl Pki {
    /// Starts `ironpki serve` on a free loopback port and waits for its address line.
    pub fn serve(&self) -> Server {
        self.serve_at("127.0.0.1:0")
    }

    /// Starts `ironpki serve` with its plain-HTTP listener on `http` (HTTPS on a free port).
    pub fn serve_at(&self, http: &str) -> Server {
        self.serve_on(http, "127.0.0.1:0")
    }

    /// Starts `ironpki serve` with its listeners on `http` and `https`.
    pub fn serve_on(&self, http: &str, https: &str) -> Server {
        use std::io::BufRead;
        let mut child = self
            .cmd(&["serve", "--http-listen", http, "--https-listen", https])
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(self.path("serve.log")).expect("log file"))
            .spawn()
            .expect("spawn serve");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut address = || {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read address line");
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected line {line:?}")).to_string()
        };
        let base = address();
        let tls_base = address().replace("https://127.0.0.1:", "https://localhost:");
        Server { child, base, tls_base }
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.tls_base)
    }
}

/// Credentials for an API call.
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    /// Client certificate (with chain) and key files.
    Cert(&'a Path, &'a Path),
}

/// An HTTPS call to the API with curl, trusting the PKI's roots: (status, headers, JSON body).
pub fn api(pki: &Pki, curl: &Path, method: &str, url: &str, auth: Auth<'_>, body: Option<&serde_json::Value>) -> (u16, String, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (headers, out) = (dir.path().join("h"), dir.path().join("b"));
    let mut cmd = Command::new(curl);
    cmd.args(["-s", "-X", method, "--cacert"]).arg(pki.roots()).arg("-o").arg(&out).arg("-D").arg(&headers);
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => {
            cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        Auth::Cert(cert, key) => {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
        }
    }
    if let Some(body) = body {
        let file = dir.path().join("req.json");
        std::fs::write(&file, body.to_string()).expect("write body");
        cmd.args(["-H", "Content-Type: application/json", "--data-binary"]).arg(format!("@{}", file.display()));
    }
    let result = cmd.args(["-w", "%{http_code}", url]).output().expect("curl");
    let status = String::from_utf8_lossy(&result.stdout).trim().parse().unwrap_or(0);
    let text = std::fs::read(&out).unwrap_or_default();
    let json = serde_json::from_slice(&text).unwrap_or(serde_json::Value::Null);
    (status, std::fs::read_to_string(&headers).unwrap_or_default(), json)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET with curl: (status, headers, body).
pub fn http_get(curl: &Path, url: &str) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let headers = dir.path().join("h");
    let body = dir.path().join("b");
    let out = Command::new(curl)
        .args(["-s", "-o"])
        .arg(&body)
        .arg("-D")
        .arg(&headers)
        .args(["-w", "%{http_code}", url])
        .output()
        .expect("curl");
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    (status, std::fs::read_to_string(&headers).unwrap_or_default(), std::fs::read(&body).unwrap_or_default())
}

/// Polls `check` until it holds or `limit` passes; returns the time it took.
pub fn wait_until(limit: std::time::Duration, mut check: impl FnMut() -> bool) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::yield_now();
    }
    None
}
