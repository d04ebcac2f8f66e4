//! The agent's own records in `state_dir`: per certificate, what it last did and what it
//! will do next (`certs/NAME.json`, read by `agent status`); the ACME accounts
//! (`accounts/`, 0600); the swap journals (`swaps/`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// What the agent knows of one certificate between runs. Times are Unix seconds.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct CertState {
    /// The serial of the certificate in place, as last seen.
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub not_after: Option<i64>,
    #[serde(default)]
    pub last_renewal: Option<i64>,
    #[serde(default)]
    pub consecutive_failures: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    /// After a failure: not before this time.
    #[serde(default)]
    pub retry_at: Option<i64>,
    /// The CA's renewal window for `serial`, and when to ask again.
    #[serde(default)]
    pub ari: Option<Ari>,
    /// A serial learnt to be revoked (OCSP, or the revocation feed).
    #[serde(default)]
    pub revoked_serial: Option<String>,
    #[serde(default)]
    pub staple: Option<Staple>,
    /// The next action and its time.
    #[serde(default)]
    pub next: Option<Next>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Ari {
    pub serial: String,
    /// The suggested window (start, end); `None` when the CA offers none.
    pub window: Option<(i64, i64)>,
    pub check_at: i64,
}

/// The last OCSP answer about the certificate in place.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Staple {
    pub serial: String,
    /// `good`, `revoked` or `unknown`; `None` until an answer arrives.
    pub status: Option<String>,
    pub fetched_at: Option<i64>,
    pub this_update: Option<i64>,
    pub next_update: Option<i64>,
    /// When to ask again: half-way through the answer's validity, or after a failure.
    pub refresh_at: i64,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Next {
    pub at: i64,
    pub action: String,
}

fn cert_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join("certs").join(format!("{name}.json"))
}

pub fn load(state_dir: &Path, name: &str) -> CertState {
    fs::read(cert_path(state_dir, name)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

pub fn save(state_dir: &Path, name: &str, state: &CertState) -> Result<(), Error> {
    let text = serde_json::to_vec_pretty(state).map_err(|e| Error::Files(e.to_string()))?;
    write_private(&cert_path(state_dir, name), &text)
}

/// Writes `contents` to `path` (mode 0600) through a renamed temporary file.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write_with_mode(path, contents, 0o600)
}

/// Writes `contents` to `path` (mode 0644) through a renamed temporary file.
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write_with_mode(path, contents, 0o644)
}

fn write_with_mode(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let fail = |p: &Path, e: std::io::Error| Error::Files(format!("{}: {e}", p.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp).map_err(|e| fail(&tmp, e))?;
    file.write_all(contents).and_then(|_| file.sync_all()).map_err(|e| fail(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| fail(path, e))?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| fail(dir, e))
}
