use std::fmt;

use zeroize::Zeroizing;

use crate::Error;

/// A passphrase: zeroized on drop, never shown by `Debug`.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

/// Fewer characters than this is refused when a key is first encrypted.
pub const MIN_LEN: usize = 8;

impl Passphrase {
    pub fn new(s: String) -> Passphrase {
        Passphrase(Zeroizing::new(s))
    }

    /// Reads a passphrase file; the first line is the passphrase.
    pub fn from_file(path: &std::path::Path) -> Result<Passphrase, Error> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?,
        );
        let line = text.lines().next().unwrap_or_default();
        Ok(Passphrase::new(line.to_string()))
    }

    pub fn check_strength(&self) -> Result<(), Error> {
        if self.0.chars().count() < MIN_LEN {
            return Err(Error::Passphrase(format!("must be at least {MIN_LEN} characters")));
        }
        Ok(())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}
