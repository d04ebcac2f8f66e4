//! The working files and how they change: staged beside their targets, fsynced, renamed
//! into place key first, the previous version kept as `*.prev`; put back on rollback.
//! A journal in the state directory makes a swap that a crash interrupted finish the
//! same way when the agent starts again.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::Cert;
use crate::Error;

/// What a renewal writes: PEM texts, the key first.
pub struct Bundle {
    pub key_pem: Zeroizing<String>,
    pub cert_pem: String,
    pub chain_pem: String,
    /// The OCSP response (DER) for the new certificate, when one was fetched.
    pub staple: Option<Vec<u8>>,
}

/// The files of one certificate, in the order they are replaced: (path, contents, is_key).
fn targets(cert: &Cert, bundle: &Bundle) -> Vec<(PathBuf, Zeroizing<Vec<u8>>, bool)> {
    let f = &cert.config.files;
    let text = |s: &str| Zeroizing::new(s.as_bytes().to_vec());
    let mut out = vec![(f.key.clone(), text(&bundle.key_pem), true), (f.cert.clone(), text(&bundle.cert_pem), false)];
    if let Some(chain) = &f.chain {
        out.push((chain.clone(), text(&bundle.chain_pem), false));
    }
    if let Some(full) = &f.fullchain {
        out.push((full.clone(), text(&format!("{}{}", bundle.cert_pem, bundle.chain_pem)), false));
    }
    if let (Some(path), Some(staple)) = (&f.ocsp_staple, &bundle.staple) {
        out.push((path.clone(), Zeroizing::new(staple.clone()), false));
    }
    out
}

/// Where a swap stands, written to the state directory before the first rename.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Every new file is staged beside its target; renames may have begun.
    Staged,
    /// The new files are in place; the reload and check have not yet passed.
    Installed,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Journal {
    pub phase: Phase,
    pub serial: String,
    pub targets: Vec<PathBuf>,
    /// Whether a certificate was in place before: without one there is nothing to roll
    /// back to.
    #[serde(default)]
    pub had_previous: bool,
}

pub fn staged_path(target: &Path) -> PathBuf {
    suffixed(target, ".ironpki-new")
}

pub fn prev_path(target: &Path) -> PathBuf {
    suffixed(target, ".prev")
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Files(format!("{}: {e}", path.display()))
}

/// Modes: the certificate files get `mode` (0644 by default); the key gets `mode` without
/// any bit for others or for execution (0600 by default).
fn mode_for(cert: &Cert, is_key: bool) -> u32 {
    match (cert.mode, is_key) {
        (Some(m), true) => m & 0o660,
        (Some(m), false) => m,
        (None, true) => 0o600,
        (None, false) => 0o644,
    }
}

/// Writes `contents` to `path` through a staged file renamed into place, with the
/// certificate's owner and mode applied before the rename.
pub fn write_atomic(cert: &Cert, path: &Path, contents: &[u8]) -> Result<(), Error> {
    let staged = staged_path(path);
    stage(cert, &staged, contents, false)?;
    fs::rename(&staged, path).map_err(|e| io(path, e))?;
    sync_dir(path)
}

fn stage(cert: &Cert, staged: &Path, contents: &[u8], is_key: bool) -> Result<(), Error> {
    if let Some(dir) = staged.parent() {
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
    }
    let _ = fs::remove_file(staged);
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(staged).map_err(|e| io(staged, e))?;
    file.write_all(contents).map_err(|e| io(staged, e))?;
    if let Some((uid, gid)) = cert.owner {
        std::os::unix::fs::fchown(&file, uid, gid).map_err(|e| io(staged, e))?;
    }
    file.set_permissions(fs::Permissions::from_mode(mode_for(cert, is_key))).map_err(|e| io(staged, e))?;
    file.sync_all().map_err(|e| io(staged, e))
}

fn sync_dir(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

fn journal_path(state_dir: &Path, name: &str) -> PathBuf {
    state_dir.join("swaps").join(format!("{name}.json"))
}

pub fn read_journal(state_dir: &Path, name: &str) -> Result<Option<Journal>, Error> {
    let path = journal_path(state_dir, name);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Files(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path, e)),
    }
}

fn write_journal(state_dir: &Path, name: &str, journal: &Journal) -> Result<(), Error> {
    let path = journal_path(state_dir, name);
    let text = serde_json::to_vec(journal).map_err(|e| Error::Files(e.to_string()))?;
    crate::state::write_private(&path, &text)
}

pub fn clear_journal(state_dir: &Path, name: &str) -> Result<(), Error> {
    let path = journal_path(state_dir, name);
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(&path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&path, e)),
    }
}

/// Stages every file of `bundle`, records the swap, then renames each into place (the
/// key first), keeping the file it replaces as `*.prev`. Leaves the journal at
/// [`Phase::Installed`]: the caller reloads, checks, then clears or rolls back.
pub fn install(state_dir: &Path, cert: &Cert, serial: &str, bundle: &Bundle) -> Result<(), Error> {
    let targets = targets(cert, bundle);
    for (path, contents, is_key) in &targets {
        stage(cert, &staged_path(path), contents, *is_key)?;
    }
    let mut journal = Journal {
        phase: Phase::Staged,
        serial: serial.to_string(),
        targets: targets.iter().map(|t| t.0.clone()).collect(),
        had_previous: cert.config.files.cert.exists(),
    };
    write_journal(state_dir, cert.name(), &journal)?;
    roll_forward(&journal.targets)?;
    journal.phase = Phase::Installed;
    write_journal(state_dir, cert.name(), &journal)
}

/// Renames each staged file that is still there into place, keeping the file it
/// replaces as `*.prev`. Finishing a swap twice changes nothing the second time.
pub fn roll_forward(targets: &[PathBuf]) -> Result<(), Error> {
    for target in targets {
        let staged = staged_path(target);
        if !staged.exists() {
            continue;
        }
        if target.exists() {
            let prev = prev_path(target);
            let _ = fs::remove_file(&prev);
            fs::hard_link(target, &prev).map_err(|e| io(&prev, e))?;
        }
        fs::rename(&staged, target).map_err(|e| io(target, e))?;
        sync_dir(target)?;
    }
    Ok(())
}

/// Puts the `*.prev` files back, the key first; `*.prev` stays as it was.
pub fn roll_back(targets: &[PathBuf]) -> Result<(), Error> {
    for target in targets {
        let prev = prev_path(target);
        if !prev.exists() {
            continue;
        }
        let staged = staged_path(target);
        let _ = fs::remove_file(&staged);
        fs::hard_link(&prev, &staged).map_err(|e| io(&staged, e))?;
        fs::rename(&staged, target).map_err(|e| io(target, e))?;
        sync_dir(target)?;
    }
    Ok(())
}

/// Removes staged files that no journal speaks for (a crash before the journal).
pub fn discard_staged(cert: &Cert) {
    let f = &cert.config.files;
    for path in [Some(&f.key), Some(&f.cert), f.chain.as_ref(), f.fullchain.as_ref(), f.ocsp_staple.as_ref()].into_iter().flatten() {
        let _ = fs::remove_file(staged_path(path));
    }
}

/// `USER:GROUP`, `USER` or `:GROUP`, by name (from /etc/passwd and /etc/group) or number.
pub fn resolve_owner(spec: &str) -> Result<(Option<u32>, Option<u32>), String> {
    let (user, group) = spec.split_once(':').unwrap_or((spec, ""));
    let uid = if user.is_empty() { None } else { Some(lookup(user, "/etc/passwd")?) };
    let gid = if group.is_empty() { None } else { Some(lookup(group, "/etc/group")?) };
    if uid.is_none() && gid.is_none() {
        return Err(format!("owner {spec:?} names neither a user nor a group"));
    }
    Ok((uid, gid))
}

fn lookup(name: &str, db: &str) -> Result<u32, String> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let text = fs::read_to_string(db).map_err(|e| format!("{db}: {e}"))?;
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let entry = fields.next()?;
            let id = fields.nth(1)?;
            (entry == name).then(|| id.parse::<u32>().ok()).flatten()
        })
        .next()
        .ok_or_else(|| format!("{name:?} is not in {db}"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn cert(dir: &Path, mode: &str) -> Cert {
        let d = dir.display();
        let yaml = format!(
            "state_dir: {d}/state\nroots: {d}/roots.pem\ncertificates:\n  - name: t\n    acme: {{ directory: \"https://ca.test/dir\", challenge: http-01, http01_listen: \"127.0.0.1:1\" }}\n    common_name: t.internal\n    files: {{ key: {d}/key.pem, cert: {d}/cert.pem, fullchain: {d}/full.pem }}\n{mode}"
        );
        std::fs::write(dir.join("agent.yaml"), yaml).unwrap();
        crate::config::load(&dir.join("agent.yaml")).unwrap().certs.remove(0)
    }

    fn bundle(tag: &str) -> Bundle {
        Bundle { key_pem: Zeroizing::new(format!("key {tag}\n")), cert_pem: format!("cert {tag}\n"), chain_pem: format!("chain {tag}\n"), staple: None }
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn install_keeps_the_previous_files_and_roll_back_restores_them() {
        let dir = tempfile::tempdir().unwrap();
        let (c, state) = (cert(dir.path(), ""), dir.path().join("state"));
        install(&state, &c, "01", &bundle("one")).unwrap();
        clear_journal(&state, "t").unwrap();
        install(&state, &c, "02", &bundle("two")).unwrap();
        let f = &c.config.files;
        assert_eq!((read(&f.key), read(&f.cert)), ("key two\n".into(), "cert two\n".into()));
        assert_eq!(read(f.fullchain.as_ref().unwrap()), "cert two\nchain two\n");
        assert_eq!(read(&prev_path(&f.key)), "key one\n");
        let journal = read_journal(&state, "t").unwrap().unwrap();
        assert_eq!((journal.phase, journal.had_previous), (Phase::Installed, true));
        roll_back(&journal.targets).unwrap();
        assert_eq!((read(&f.key), read(&f.cert)), ("key one\n".into(), "cert one\n".into()));
        assert_eq!(std::fs::metadata(&f.key).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&f.cert).unwrap().permissions().mode() & 0o777, 0o644);
    }

    #[test]
    fn a_swap_cut_short_after_the_key_finishes_forward() {
        let dir = tempfile::tempdir().unwrap();
        let (c, state) = (cert(dir.path(), "    mode: \"0644\"\n"), dir.path().join("state"));
        install(&state, &c, "01", &bundle("one")).unwrap();
        clear_journal(&state, "t").unwrap();
        // Staged and journaled, and only the key renamed: as a crash would leave it.
        let f = &c.config.files;
        for (path, text, is_key) in targets(&c, &bundle("two")) {
            stage(&c, &staged_path(&path), &text, is_key).unwrap();
        }
        let journal = Journal { phase: Phase::Staged, serial: "02".into(), targets: vec![f.key.clone(), f.cert.clone(), f.fullchain.clone().unwrap()], had_previous: true };
        write_journal(&state, "t", &journal).unwrap();
        std::fs::rename(staged_path(&f.key), &f.key).unwrap();
        roll_forward(&journal.targets).unwrap();
        assert_eq!((read(&f.key), read(&f.cert)), ("key two\n".into(), "cert two\n".into()));
        assert_eq!(read(&prev_path(&f.cert)), "cert one\n");
        assert!(!staged_path(&f.cert).exists());
        // The key never gets bits for others, whatever the mode.
        assert_eq!(std::fs::metadata(&f.key).unwrap().permissions().mode() & 0o777, 0o640);
        roll_forward(&journal.targets).unwrap();
        assert_eq!(read(&f.cert), "cert two\n");
    }

    #[test]
    fn owners_are_names_or_numbers() {
        assert_eq!(resolve_owner("0:0").unwrap(), (Some(0), Some(0)));
        assert_eq!(resolve_owner("root").unwrap(), (Some(0), None));
        assert_eq!(resolve_owner(":root").unwrap(), (None, Some(0)));
        assert!(resolve_owner("no-such-user-here").unwrap_err().contains("not in /etc/passwd"));
        assert!(resolve_owner(":").is_err());
    }
}
