//! Certificate serial numbers: positive, 16 octets, 126 bits from a CSPRNG.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::rand::SecureRandom;

use crate::Error;

/// A serial number as its DER INTEGER content octets (big-endian, no sign padding).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

/// Octets of a generated serial. The top byte is `01xxxxxx`, so every generated
/// serial is positive, exactly 16 octets long in DER, and carries 126 random bits.
pub const SERIAL_LEN: usize = 16;

impl Serial {
    pub fn generate(rng: &dyn SecureRandom) -> Result<Serial, Error> {
        let mut bytes = vec![0u8; SERIAL_LEN];
        rng.fill(&mut bytes).map_err(|_| Error::Signing("random number generator failed".into()))?;
        bytes[0] = (bytes[0] & 0x3f) | 0x40;
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
            let s = Serial::generate(&rng).unwrap();
            assert_eq!(s.as_bytes().len(), SERIAL_LEN);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40);
        }
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
