use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A duration written as `90d`, `24h`, `30m`, `1h 30m` (humantime syntax).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Dur(pub Duration);

impl Dur {
    pub fn days(n: u64) -> Dur {
        Dur(Duration::from_secs(n * 86_400))
    }
    pub fn hours(n: u64) -> Dur {
        Dur(Duration::from_secs(n * 3_600))
    }
}

impl TryFrom<String> for Dur {
    type Error = String;
    fn try_from(s: String) -> Result<Dur, String> {
        humantime::parse_duration(s.trim())
            .map(Dur)
            .map_err(|e| format!("{s:?} is not a duration such as 90d, 24h or 30m ({e})"))
    }
}

impl From<Dur> for String {
    fn from(d: Dur) -> String {
        ironpki_x509::profile::humanize(d.0)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&ironpki_x509::profile::humanize(self.0))
    }
}
