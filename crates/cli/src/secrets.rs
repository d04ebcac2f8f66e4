//! Where the CA key passphrase comes from: --passphrase-file, IRONPKI_PASSPHRASE, or a
//! prompt on the terminal.

use std::io::IsTerminal;
use std::path::Path;

use ironpki_authority::Passphrase;

use crate::{fail, Failure};

pub fn passphrase(file: Option<&Path>, confirm: bool) -> Result<Passphrase, Failure> {
    if let Some(path) = file {
        return Ok(Passphrase::from_file(path)?);
    }
    if let Ok(value) = std::env::var("IRONPKI_PASSPHRASE") {
        return Ok(Passphrase::new(value));
    }
    if !std::io::stdin().is_terminal() {
        return Err(fail("a CA key passphrase is needed: set IRONPKI_PASSPHRASE or pass --passphrase-file"));
    }
    let first = rpassword::prompt_password("CA key passphrase: ").map_err(|e| fail(format!("reading passphrase: {e}")))?;
    if confirm {
        let again = zeroize::Zeroizing::new(
            rpassword::prompt_password("Repeat passphrase: ").map_err(|e| fail(format!("reading passphrase: {e}")))?,
        );
        if *again != first {
            return Err(fail("the passphrases differ"));
        }
    }
    Ok(Passphrase::new(first))
}
