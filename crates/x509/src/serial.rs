//! Certificate serial numbers: positive, 16 octets: the issuing time in milliseconds,
//! then 80 bits from a CSPRNG.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::rand::SecureRandom;

use crate::Error;

/// A serial number as its DER INTEGER content octets (big-endian, no sign padding).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

/// Octets of a generated serial. The top two bits are `01`, so every generated serial
/// is positive and exactly 16 octets long in DER.
pub const SERIAL_LEN: usize = 16;
/// Leading octets holding the time: `01`, then 46 bits of milliseconds since 1970
/// (enough until the year 4199).
const TIME_LEN: usize = 6;

impl Serial {
    /// A fresh serial: `01`, the current time in milliseconds (46 bits), 80 random bits.
    /// Serials issued later sort after earlier ones, so a store's serial index grows at
    /// its right edge instead of taking each insert on a random page; the 80 random bits
    /// are above the 64 bits of CSPRNG output CA/Browser Forum practice asks for.
    /// `now` is the issuing authority's clock.
    pub fn generate(now: time::OffsetDateTime, rng: &dyn SecureRandom) -> Result<Serial, Error> {
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Serial::at(millis, rng)
    }

    fn at(millis: u64, rng: &dyn SecureRandom) -> Result<Serial, Error> {
        let mut bytes = vec![0u8; SERIAL_LEN];
        let time = (millis & ((1 << 46) - 1)) | (1 << 46);
        bytes[..TIME_LEN].copy_from_slice(&time.to_be_bytes()[8 - TIME_LEN..]);
        rng.fill(&mut bytes[TIME_LEN..]).map_err(|_| Error::Signing("random number generator failed".into()))?;
        Ok(Serial(bytes))
    }

    /// From the INTEGER content octets of a certificate (strips sign padding).
    pub fn from_der_integer(bytes: &[u8]) -> Serial {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        Serial(if trimmed.is_empty() { vec![0] } else { trimmed })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The INTEGER content octets of a positive serial: a `00` before a high first bit.
    pub fn to_der_integer(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        if self.0.first().is_some_and(|b| b & 0x80 != 0) {
            out.push(0);
        }
        out.extend_from_slice(&self.0);
        out
    }

    /// Lower-case hex without separators: the form the store and the CLI use.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

impl FromStr for Serial {
    type Err = Error;
    /// Accepts hex with or without `:` separators and an optional `0x` prefix.
    fn from_str(s: &str) -> Result<Serial, Error> {
        let cleaned: String = s.trim().trim_start_matches("0x").chars().filter(|c| *c != ':').collect();
        if cleaned.is_empty() || cleaned.len() > 42 {
            return Err(Error::malformed("serial number", format!("{s:?} is not a hex serial")));
        }
        let padded = if cleaned.len() % 2 == 1 { format!("0{cleaned}") } else { cleaned };
        let bytes = hex::decode(&padded)
            .map_err(|_| Error::malformed("serial number", format!("{s:?} is not a hex serial")))?;
        Ok(Serial::from_der_integer(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;

    #[test]
    fn generated_serials_are_positive_and_sized() {
        let rng = SystemRandom::new();
        for _ in 0..1000 {
            let s = Serial::generate(time::OffsetDateTime::now_utc(), &rng).unwrap();
            assert_eq!(s.as_bytes().len(), SERIAL_LEN);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40);
        }
    }

    #[test]
    fn serials_carry_the_time_and_sort_by_it() {
        let rng = SystemRandom::new();
        let millis = 1_795_000_000_123u64;
        let a = Serial::at(millis, &rng).unwrap();
        let b = Serial::at(millis + 1, &rng).unwrap();
        let mut time = [0u8; 8];
        time[8 - TIME_LEN..].copy_from_slice(&a.as_bytes()[..TIME_LEN]);
        assert_eq!(u64::from_be_bytes(time) & ((1 << 46) - 1), millis);
        assert!(a.to_hex() < b.to_hex(), "a later serial sorts after, as hex too");
        let same: Vec<Serial> = (0..100).map(|_| Serial::at(millis, &rng).unwrap()).collect();
        let distinct: std::collections::HashSet<&[u8]> = same.iter().map(|s| &s.as_bytes()[TIME_LEN..]).collect();
        assert_eq!(distinct.len(), 100, "the random part differs within one millisecond");
    }

    #[test]
    fn parses_hex_forms() {
        let a: Serial = "4a:0b:ff".parse().unwrap();
        let b: Serial = "0x4a0bff".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_hex(), "4a0bff");
        assert!("zz".parse::<Serial>().is_err());
        assert!("".parse::<Serial>().is_err());
    }
}
