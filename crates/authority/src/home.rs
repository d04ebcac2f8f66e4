//! The home directory: `ironpki.yaml`, the SQLite database, and CA directories.

use std::path::{Path, PathBuf};

use ironpki_config::Config;

#[derive(Debug, Clone)]
pub struct Home {
    pub dir: PathBuf,
}

pub const CONFIG_FILE: &str = "ironpki.yaml";

impl Home {
    pub fn new(dir: impl Into<PathBuf>) -> Home {
        Home { dir: dir.into() }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    pub fn db_path(&self, config: &Config) -> PathBuf {
        self.resolve(&config.store.sqlite)
    }

    /// A CA's directory: its configured `path` (relative to the home) or `ca/NAME`.
    pub fn ca_dir(&self, name: &str, configured: Option<&str>) -> PathBuf {
        match configured {
            Some(p) => self.resolve(p),
            None => self.dir.join("ca").join(name),
        }
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }

    pub fn exists(&self) -> bool {
        self.config_path().exists()
    }
}
