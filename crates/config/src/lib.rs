//! The configuration of IronPKI: `ironpki.yaml`.
//!
//! Owns the file's schema (ours, and the `pki:` shape users already write), the
//! commented template `init` writes, and validation: a file that loads is one the
//! authority can run. Every error names the file, the key and the reason. No I/O but
//! reading the file it is given.
#![forbid(unsafe_code)]

mod acme;
mod notify;
mod duration;
mod legacy;
mod schema;
mod template;
mod validate;

use std::path::{Path, PathBuf};

pub use acme::{AcmeConfig, Challenge, Provisioner};
pub use notify::{mqtt_endpoint, MqttNotify, NotifyConfig, Webhook};
pub use duration::Dur;
pub use schema::*;
pub use template::{defaults, template};

#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}{reason}")]
pub struct Error {
    pub file: String,
    /// The offending key, `a.b.c: `, or empty when the whole file is at fault.
    pub key: String,
    pub reason: String,
}

impl Error {
    pub(crate) fn at(file: &Path, key: &str, reason: impl Into<String>) -> Error {
        Error {
            file: file.display().to_string(),
            key: if key.is_empty() { String::new() } else { format!("{key}: ") },
            reason: reason.into(),
        }
    }
}

/// A loaded, validated configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub path: PathBuf,
    /// The file's bytes, for hashing.
    pub raw: Vec<u8>,
}

/// Reads and validates a configuration file in either shape.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let raw = std::fs::read(path).map_err(|e| Error::at(path, "", format!("cannot read: {e}")))?;
    let config = parse(path, &raw)?;
    Ok(Loaded { config, path: path.to_path_buf(), raw })
}

/// Parses and validates configuration text; `path` is used in messages only.
pub fn parse(path: &Path, raw: &[u8]) -> Result<Config, Error> {
    let text = std::str::from_utf8(raw).map_err(|_| Error::at(path, "", "not UTF-8 text"))?;
    let value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| Error::at(path, "", format!("not valid YAML: {e}")))?;
    let is_legacy = value.as_mapping().is_some_and(|m| m.contains_key("pki"));
    let config = if is_legacy {
        let file: legacy::File = deserialize(path, text)?;
        legacy::convert(path, file)?
    } else {
        deserialize::<Config>(path, text)?
    };
    validate::config(path, &config)?;
    Ok(config)
}

fn deserialize<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, Error> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        Error::at(path, &key, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests;
