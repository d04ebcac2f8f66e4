use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::Error;

/// Writes a private key file with mode 0600; refuses to overwrite an existing file.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write(path, contents, 0o600)
}

pub fn write_public_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write(path, contents, 0o644)
}

fn write(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}
