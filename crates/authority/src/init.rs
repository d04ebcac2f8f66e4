//! Creating a PKI: the home, the root, the intermediates and the store. Everything
//! that can be refused is checked before anything is written; a failure while
//! writing removes what was written.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use ironpki_config::Config;
use ironpki_signer::{encrypt_pkcs8, write_private_file, write_public_file, Passphrase, SoftwareKey};
use ironpki_store::CaRecord;
use ironpki_x509::build::{self, CaSpec, IssuingCa};
use ironpki_x509::{pem, Serial, Signer};
use serde_json::json;
use time::OffsetDateTime;

use crate::cas::{CERT_FILE, KEY_FILE, OFFLINE};
use crate::error::io;
use crate::access::Caller;
use crate::issue::{KeyRequest, CERT_FILES};
use crate::{Authority, Clock, Error, Home};
use ironpki_config::ADMIN_PROFILE;

pub struct InitOptions {
    pub org: Option<String>,
    /// A configuration file (our schema or the `pki:` shape) to use as it is.
    pub config_file: Option<PathBuf>,
    /// Write the root key only here; the home keeps only the root certificate.
    pub root_offline: Option<PathBuf>,
    pub passphrase: Passphrase,
    pub actor: String,
}

#[derive(Debug, serde::Serialize)]
pub struct InitReport {
    pub home: String,
    pub config: String,
    pub root: CaRecord,
    pub intermediates: Vec<CaRecord>,
    /// The admin client certificate for the HTTPS API, when the configuration has an
    /// `admin` profile.
    pub admin: Option<AdminCredential>,
}

#[derive(Debug, serde::Serialize)]
pub struct AdminCredential {
    /// `fullchain.pem`: the certificate followed by its intermediates (PEM).
    pub certificate: String,
    pub key: String,
    pub serial: String,
}

/// Files and directories created so far, removed again if init fails.
#[derive(Default)]
struct Created(Vec<PathBuf>);

impl Created {
    fn dir(&mut self, path: &Path) -> Result<(), Error> {
        if path.as_os_str().is_empty() || path.exists() {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            self.dir(parent)?;
        }
        std::fs::DirBuilder::new().mode(0o700).create(path).map_err(|e| io(path, e))?;
        self.0.push(path.to_path_buf());
        Ok(())
    }

    fn file(&mut self, path: &Path, contents: &[u8], private: bool) -> Result<(), Error> {
        if let Some(parent) = path.parent() {
            self.dir(parent)?;
        }
        if private {
            write_private_file(path, contents)?;
        } else {
            write_public_file(path, contents)?;
        }
        self.0.push(path.to_path_buf());
        Ok(())
    }

    fn undo(self) {
        for path in self.0.iter().rev() {
            let _ = if path.is_dir() { std::fs::remove_dir(path) } else { std::fs::remove_file(path) };
        }
    }
}

pub fn init(home: &Home, opts: InitOptions, clock: Arc<dyn Clock>) -> Result<InitReport, Error> {
    let (config, raw) = read_config(&opts)?;
    preflight(home, &config, &opts)?;
    let mut created = Created::default();
    match create(home, &config, &raw, &opts, clock, &mut created) {
        Ok(report) => Ok(report),
        Err(e) => {
            created.undo();
            Err(e)
        }
    }
}

fn read_config(opts: &InitOptions) -> Result<(Config, Vec<u8>), Error> {
    match &opts.config_file {
        Some(path) => {
            let loaded = ironpki_config::load(path)?;
            Ok((loaded.config, loaded.raw))
        }
        None => {
            let org = opts.org.clone().unwrap_or_else(|| "IronPKI".into());
            if org.trim().is_empty() || org.chars().count() > 48 {
                return Err(Error::Refused("--name must be 1 to 48 characters".into()));
            }
            let text = ironpki_config::template(&org);
            let config = ironpki_config::parse(Path::new("ironpki.yaml"), text.as_bytes())
                .map_err(|e| Error::Refused(format!("--name {org:?}: {}", e.reason)))?;
            Ok((config, text.into_bytes()))
        }
    }
}

fn preflight(home: &Home, config: &Config, opts: &InitOptions) -> Result<(), Error> {
    if home.exists() || home.db_path(config).exists() {
        return Err(Error::Conflict(format!(
            "a PKI already exists in {}; init refuses to touch it",
            home.dir.display()
        )));
    }
    opts.passphrase.check_strength()?;
    let mut dirs = vec![home.ca_dir(&config.root_ca.name, config.root_ca.path.as_deref())];
    dirs.extend(config.intermediates.iter().map(|i| home.ca_dir(&i.name, i.path.as_deref())));
    dirs.extend(opts.root_offline.clone());
    for dir in dirs {
        for file in [CERT_FILE, KEY_FILE] {
            if dir.join(file).exists() {
                return Err(Error::Conflict(format!("{} already exists; init refuses to overwrite it", dir.join(file).display())));
            }
        }
    }
    Ok(())
}

fn years_after(t: OffsetDateTime, years: u32) -> OffsetDateTime {
    t.replace_year(t.year() + years as i32).unwrap_or(t + time::Duration::days(365 * i64::from(years)))
}

fn create(
    home: &Home,
    config: &Config,
    raw: &[u8],
    opts: &InitOptions,
    clock: Arc<dyn Clock>,
    created: &mut Created,
) -> Result<InitReport, Error> {
    created.dir(&home.dir)?;
    std::fs::set_permissions(&home.dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| io(&home.dir, e))?;
    created.file(&home.config_path(), raw, false)?;

    let rng = SystemRandom::new();
    let now = clock.now();
    let not_before = now - config.backdate.0;
    let key_pem = |generated: &ironpki_signer::GeneratedKey| encrypt_pkcs8(&generated.pkcs8, &opts.passphrase);

    let root_cfg = &config.root_ca;
    let root_dir = home.ca_dir(&root_cfg.name, root_cfg.path.as_deref());
    let root_key = SoftwareKey::generate(root_cfg.key_type)?;
    let root_not_after = years_after(now, root_cfg.validity_years);
    let root_der = build::self_signed_root(
        &CaSpec {
            subject: &root_cfg.subject,
            serial: Serial::generate(now, &rng)?,
            not_before,
            not_after: root_not_after,
            path_len: None,
            name_constraints: None,
        },
        Arc::new(SoftwareKey::from_pkcs8(&root_key.pkcs8, root_cfg.key_type)?),
    )?;
    created.file(&root_dir.join(CERT_FILE), pem::cert(&root_der).as_bytes(), false)?;
    let root_key_path = opts.root_offline.clone().unwrap_or_else(|| root_dir.clone()).join(KEY_FILE);
    created.file(&root_key_path, key_pem(&root_key)?.as_bytes(), true)?;
    if let Some(offline) = &opts.root_offline {
        created.file(&offline.join(CERT_FILE), pem::cert(&root_der).as_bytes(), false)?;
    }
    let root_key_ref = match &opts.root_offline {
        Some(dir) => format!("{OFFLINE}{}", absolute(dir).display()),
        None => absolute(&root_key_path).display().to_string(),
    };
    let root_record = record(&root_cfg.name, "root", None, &root_der, root_cfg.key_type, root_key_ref)?;
    let root_signer = IssuingCa::new(&root_cfg.name, root_der, Arc::new(root_key.key), crate::cas::urls(config, &root_cfg.name))?;

    let mut intermediates = Vec::new();
    for inter in &config.intermediates {
        let dir = home.ca_dir(&inter.name, inter.path.as_deref());
        let key = SoftwareKey::generate(inter.key_type)?;
        let der = root_signer.sign_ca(
            &CaSpec {
                subject: &inter.subject,
                serial: Serial::generate(now, &rng)?,
                not_before,
                not_after: years_after(now, inter.validity_years).min(root_not_after),
                path_len: Some(inter.path_len),
                name_constraints: inter.name_constraints.as_ref(),
            },
            (key.key.public_key_raw(), inter.key_type),
        )?;
        created.file(&dir.join(CERT_FILE), pem::cert(&der).as_bytes(), false)?;
        let key_path = dir.join(KEY_FILE);
        created.file(&key_path, key_pem(&key)?.as_bytes(), true)?;
        intermediates.push(record(
            &inter.name,
            "intermediate",
            Some(root_cfg.name.clone()),
            &der,
            inter.key_type,
            absolute(&key_path).display().to_string(),
        )?);
    }

    let db = home.db_path(config);
    created.0.push(db.clone());
    created.0.push(PathBuf::from(format!("{}-wal", db.display())));
    created.0.push(PathBuf::from(format!("{}-shm", db.display())));
    let store = crate::authority::open_store(home, config)?;
    let authority = Authority::assemble(home.clone(), config.clone(), store, clock, &opts.actor);
    authority.record_config_hash(raw)?;
    for ca in std::iter::once(&root_record).chain(&intermediates) {
        let event = authority.event(
            "ca.created",
            &format!("ca:{}", ca.name),
            json!({ "role": ca.role, "subject": ca.subject, "serial": ca.serial, "key_type": ca.key_type,
                    "not_after": ca.not_after, "parent": ca.parent, "key_offline": crate::cas::key_offline(ca) }),
        );
        authority.store().put_ca(ca, &event)?;
    }
    // Each intermediate is also a certificate its parent issued, so that the parent's
    // OCSP responder answers for it and its CRL can list it once revoked.
    let issued: Vec<_> = intermediates.iter().map(|ca| crate::cas::ca_certificate(&authority, ca)).collect::<Result<_, _>>()?;
    authority.store().put_certificates(&issued)?;
    let admin = admin_credential(&authority, home, opts, created)?;
    Ok(InitReport {
        home: home.dir.display().to_string(),
        config: home.config_path().display().to_string(),
        root: root_record,
        intermediates,
        admin,
    })
}

/// The first API client certificate (role admin), from the `admin` profile when the
/// configuration has one: key and certificate in `HOME/admin/`.
fn admin_credential(authority: &Authority, home: &Home, opts: &InitOptions, created: &mut Created) -> Result<Option<AdminCredential>, Error> {
    let Ok(profile) = authority.profile(Some(ADMIN_PROFILE)) else { return Ok(None) };
    if !authority.config.serve.client_roles.contains_key(ADMIN_PROFILE) {
        return Ok(None);
    }
    authority.unlock(&profile.issuer, &opts.passphrase)?;
    let (issued, key) = authority.issue_with_new_key(KeyRequest {
        profile: Some(ADMIN_PROFILE.into()),
        common_name: Some("admin".into()),
        sans: Vec::new(),
        key_type: ironpki_x509::KeyType::EcdsaP256,
        lifetime: None,
        caller: Caller::local(&opts.actor),
    })?;
    let dir = home.dir.join("admin");
    let (fullchain, key_path) = (dir.join(CERT_FILES.fullchain), dir.join(CERT_FILES.key));
    created.file(&key_path, key.pkcs8_pem().as_bytes(), true)?;
    for (name, contents) in issued.public_files() {
        created.file(&dir.join(name), contents.as_bytes(), false)?;
    }
    Ok(Some(AdminCredential {
        certificate: absolute(&fullchain).display().to_string(),
        key: absolute(&key_path).display().to_string(),
        serial: issued.serial.to_hex(),
    }))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn record(name: &str, role: &str, parent: Option<String>, der: &[u8], key_type: ironpki_x509::KeyType, key_ref: String) -> Result<CaRecord, Error> {
    let summary = ironpki_x509::inspect::summarize(der)?;
    Ok(CaRecord {
        name: name.to_string(),
        role: role.to_string(),
        parent,
        subject: summary.subject,
        serial: summary.serial,
        key_type: key_type.to_string(),
        not_before: summary.not_before.unix_timestamp(),
        not_after: summary.not_after.unix_timestamp(),
        status: "active".into(),
        key_ref,
        der: der.to_vec(),
    })
}
