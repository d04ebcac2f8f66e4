//! Helpers for tests that run several `ironpki serve` processes or load them with
//! concurrent clients: a PKI on a fresh PostgreSQL schema, issuing over the API with
//! curl, and reading the database directly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use super::Pki;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A schema of its own on the test PostgreSQL server, dropped at the end.
pub struct Schema {
    pub url: String,
    pub name: String,
}

impl Schema {
    /// `None` (after saying so) when PostgreSQL is unreachable, except under `CI=true`,
    /// where that fails the test.
    pub fn fresh() -> Option<Schema> {
        let url = std::env::var("IRONPKI_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_string());
        if let Err(e) = Schema::client_for(&url) {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL not reachable at {url} ({e}); under CI=true the replica tests must run");
            }
            eprintln!("skipping: PostgreSQL not reachable at {url} ({e})");
            return None;
        }
        let mut random = [0u8; 4];
        aws_lc_rs::rand::fill(&mut random).expect("random");
        let tag: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("cli_{}_{tag}", std::process::id());
        Some(Schema { url, name })
    }

    fn client_for(url: &str) -> Result<postgres::Client, postgres::Error> {
        let mut config = postgres::Config::from_str(url)?;
        config.connect_timeout(Duration::from_secs(5)).connect(postgres::NoTls)
    }

    /// A connection whose search path is the schema.
    pub fn client(&self) -> postgres::Client {
        let mut client = Schema::client_for(&self.url).expect("connect");
        client.batch_execute(&format!("SET search_path TO \"{}\"", self.name)).expect("search_path");
        client
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = Schema::client_for(&self.url) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

impl Pki {
    /// A PKI whose store is `schema` (init with the default configuration, moved to PostgreSQL).
    pub fn init_on_postgres(schema: &Schema) -> Pki {
        Pki::init_on_postgres_with(schema, &[])
    }

    /// As `init_on_postgres`, with `extra` replacing text in the configuration.
    pub fn init_on_postgres_with(schema: &Schema, extra: &[(&str, &str)]) -> Pki {
        let seed = Pki::init();
        let mut config = std::fs::read_to_string(seed.home().join("ironpki.yaml")).expect("config");
        for (from, to) in extra {
            assert!(config.contains(from), "{from}");
            config = config.replace(from, to);
        }
        let start = config.find("store:").expect("store block");
        let end = config[start..].find("\n\n").map(|e| start + e).expect("end of store block");
        let moved = format!("{}store: {{ postgres: \"{}\", schema: {} }}{}", &config[..start], schema.url, schema.name, &config[end..]);
        let pki = Pki::new();
        std::fs::write(pki.path("pg.yaml"), moved).expect("write config");
        pki.ok(&["init", "--config", "pg.yaml"]);
        pki
    }

    /// An operator token for the `device` profile.
    pub fn operator_token(&self) -> String {
        self.ok(&["token", "create", "--role", "operator", "--profiles", "device"]).trim().to_string()
    }

    /// A P-256 key in STEM.key and a CSR for CN=NAME with `san` (openssl syntax, e.g.
    /// `DNS:a.internal`): (CSR PEM, key path).
    pub fn csr(&self, openssl: &Path, stem: &str, name: &str, san: &str) -> (String, PathBuf) {
        let (key, csr) = (self.path(&format!("{stem}.key")), self.path(&format!("{stem}.csr")));
        let out = Command::new(openssl)
            .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout"])
            .arg(&key)
            .args(["-subj", &format!("/CN={name}"), "-addext", &format!("subjectAltName={san}"), "-out"])
            .arg(&csr)
            .output()
            .expect("openssl req");
        assert!(out.status.success(), "openssl req: {}", String::from_utf8_lossy(&out.stderr));
        (std::fs::read_to_string(&csr).expect("csr"), key)
    }

    /// A JSON request body with a fresh device CSR, written to a file for curl.
    pub fn device_request(&self, openssl: &Path, name: &str) -> PathBuf {
        let (csr, _) = self.csr(openssl, name, name, &format!("DNS:{name}"));
        let body = serde_json::json!({ "profile": "device", "csr": csr });
        let file = self.path(&format!("{name}.json"));
        std::fs::write(&file, body.to_string()).expect("body");
        file
    }
}

/// One issuance over the API: the serial if the server answered 201.
pub fn issue_once(curl: &Path, roots: &Path, api_base: &str, token: &str, body: &Path) -> Option<String> {
    let out = Command::new(curl)
        .args(["-s", "--max-time", "10", "--cacert"])
        .arg(roots)
        .args(["-H", &format!("Authorization: Bearer {token}"), "-H", "Content-Type: application/json", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .args(["-w", "\n%{http_code}", &format!("{api_base}/api/v1/certificates")])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (json, status) = text.rsplit_once('\n')?;
    if status.trim() != "201" {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value["serial"].as_str().map(str::to_string)
}
