//! The offline CA's key ceremony: with the key directory mounted, sign the CA's CRL and a
//! long-lived delegated OCSP responder certificate at one sitting, so that the online
//! home publishes revocation information for the CA's subordinates without its key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ironpki_signer::{decrypt_pkcs8, encrypt_pkcs8, write_private_file, write_public_file, Passphrase, SoftwareKey};
use ironpki_store::CrlRecord;
use ironpki_x509::build::IssuingCa;
use ironpki_x509::{pem, KeyType};

use crate::authority::Unlocked;
use crate::cas::{key_offline, load_key, urls, KEY_FILE};
use crate::error::io;
use crate::{Authority, Error};

/// The ceremony's responder certificate and its key (encrypted like CA keys), in the
/// CA's directory of the home.
const RESPONDER_CERT: &str = "ocsp-responder.pem";
const RESPONDER_KEY: &str = "ocsp-responder.key";

/// What one ceremony produced.
#[derive(Debug, serde::Serialize)]
pub struct Ceremony {
    pub crl: CrlRecord,
    /// Serial, notAfter (Unix seconds) and file of the responder certificate.
    pub responder_serial: String,
    pub responder_not_after: i64,
    pub responder_cert: String,
}

impl Authority {
    fn ca_home_dir(&self, name: &str) -> PathBuf {
        let configured = if name == self.config.root_ca.name {
            self.config.root_ca.path.as_deref()
        } else {
            self.config.intermediate(name).and_then(|i| i.path.as_deref())
        };
        self.home.ca_dir(name, configured)
    }

    /// Signs, with the key of the offline CA `ca` read from `key_dir`, its next full CRL
    /// (valid `next_update`, default `revocation.root_crl_validity`) and a delegated OCSP
    /// responder certificate valid as long, both recorded with their audit entries; the
    /// responder's key is written encrypted beside the CA certificate for `serve`. The
    /// key is used for this call only.
    pub fn sign_offline_crl(&self, ca: &str, key_dir: &Path, passphrase: &Passphrase, next_update: Option<Duration>) -> Result<Ceremony, Error> {
        let record = self.ca_record(ca)?;
        if !key_offline(&record) {
            return Err(Error::Refused(format!("the key of CA {ca:?} is online: `serve` publishes its CRLs (or use `crl generate`)")));
        }
        let validity = next_update.unwrap_or(self.config.revocation.root_crl_validity.0);
        if validity < Duration::from_secs(3600) {
            return Err(Error::Refused("--next-update must be at least 1h".into()));
        }
        let key_type: KeyType = record.key_type.parse()?;
        let key = load_key(&key_dir.join(KEY_FILE), key_type, passphrase)?;
        let issuing = IssuingCa::new(ca, record.der.clone(), Arc::new(key), urls(&self.config, ca))?;
        self.issuers.write().unwrap_or_else(|p| p.into_inner()).insert(ca.to_string(), Arc::new(Unlocked { ca: issuing, chain: Vec::new() }));
        let signed = self.sign_at_ceremony(ca, validity, passphrase);
        self.issuers.write().unwrap_or_else(|p| p.into_inner()).remove(ca);
        signed
    }

    fn sign_at_ceremony(&self, ca: &str, validity: Duration, passphrase: &Passphrase) -> Result<Ceremony, Error> {
        let crl = self.generate_crl_valid_for(ca, false, validity)?;
        let unlocked = self.issuer(ca)?;
        let (generated, signed) = crate::ocsp::issue_responder(self, &unlocked.ca, validity)?;
        let dir = self.ca_home_dir(ca);
        let cert_path = dir.join(RESPONDER_CERT);
        replace_file(&dir.join(RESPONDER_KEY), encrypt_pkcs8(&generated.pkcs8, passphrase)?.as_bytes(), true)?;
        replace_file(&cert_path, pem::cert(&signed.der).as_bytes(), false)?;
        let summary = ironpki_x509::inspect::summarize(&signed.der)?;
        Ok(Ceremony {
            crl,
            responder_serial: summary.serial,
            responder_not_after: signed.not_after.unix_timestamp(),
            responder_cert: cert_path.display().to_string(),
        })
    }

    /// Loads the responder the last ceremony of the offline CA `ca` signed, for the OCSP
    /// responder of this process; false when there is none or it has expired.
    pub fn load_ceremony_responder(&self, ca: &str, passphrase: &Passphrase) -> Result<bool, Error> {
        let dir = self.ca_home_dir(ca);
        let cert_path = dir.join(RESPONDER_CERT);
        if !cert_path.exists() {
            return Ok(false);
        }
        let text = std::fs::read_to_string(&cert_path).map_err(|e| io(&cert_path, e))?;
        let der = pem::blocks(text.as_bytes(), "CERTIFICATE", "certificate")?.into_iter().next().ok_or_else(|| {
            Error::Refused(format!("{}: no certificate", cert_path.display()))
        })?;
        if ironpki_x509::inspect::summarize(&der)?.not_after <= self.now() {
            return Ok(false);
        }
        let key_path = dir.join(RESPONDER_KEY);
        let key_pem = std::fs::read_to_string(&key_path).map_err(|e| io(&key_path, e))?;
        let key = SoftwareKey::from_pkcs8(&decrypt_pkcs8(&key_pem, passphrase)?, KeyType::EcdsaP256)?;
        self.ceremony_responders.lock().unwrap_or_else(|p| p.into_inner()).push((ca.to_string(), key, der));
        Ok(true)
    }

    /// Hands over the responders [`Authority::load_ceremony_responder`] loaded.
    pub(crate) fn ceremony_responders(&self) -> Vec<(String, (SoftwareKey, Vec<u8>))> {
        let mut loaded = self.ceremony_responders.lock().unwrap_or_else(|p| p.into_inner());
        loaded.drain(..).map(|(ca, key, der)| (ca, (key, der))).collect()
    }
}

/// Writes `contents` to `path` through a new file renamed over it.
fn replace_file(path: &Path, contents: &[u8], private: bool) -> Result<(), Error> {
    let fresh = path.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    if private {
        write_private_file(&fresh, contents)?;
    } else {
        write_public_file(&fresh, contents)?;
    }
    std::fs::rename(&fresh, path).map_err(|e| io(path, e))
}
