//! RFC 5280 CRLReason codes.

use std::fmt;
use std::str::FromStr;

use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

const ALL: [(Reason, &str); 9] = [
    (Reason::Unspecified, "unspecified"),
    (Reason::KeyCompromise, "keyCompromise"),
    (Reason::CaCompromise, "cACompromise"),
    (Reason::AffiliationChanged, "affiliationChanged"),
    (Reason::Superseded, "superseded"),
    (Reason::CessationOfOperation, "cessationOfOperation"),
    (Reason::CertificateHold, "certificateHold"),
    (Reason::PrivilegeWithdrawn, "privilegeWithdrawn"),
    (Reason::AaCompromise, "aACompromise"),
];

impl Reason {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Reason> {
        ALL.iter().map(|(r, _)| *r).find(|r| r.code() == code)
    }

    pub fn name(self) -> &'static str {
        ALL.iter().find(|(r, _)| *r == self).map(|(_, n)| *n).unwrap_or("unspecified")
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Reason {
    type Err = Error;
    /// Accepts the RFC 5280 name in any case, with or without `-`/`_` (`keyCompromise`,
    /// `key-compromise`, `KEY_COMPROMISE`), or the numeric code.
    fn from_str(s: &str) -> Result<Reason, Error> {
        let squashed: String = s.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
        ALL.iter()
            .find(|(r, n)| n.to_ascii_lowercase() == squashed || s.parse::<u8>().ok() == Some(r.code()))
            .map(|(r, _)| *r)
            .ok_or_else(|| Error::Invalid(format!(
                "unknown revocation reason {s:?} (one of {})",
                ALL.map(|(_, n)| n).join(", ")
            )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!("keyCompromise".parse::<Reason>().unwrap(), Reason::KeyCompromise);
        assert_eq!("key-compromise".parse::<Reason>().unwrap().code(), 1);
        assert_eq!("9".parse::<Reason>().unwrap(), Reason::PrivilegeWithdrawn);
        assert!("removeFromCRL".parse::<Reason>().is_err());
        assert!("7".parse::<Reason>().is_err());
    }
}
