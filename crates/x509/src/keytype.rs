//! Key types that IronPKI issues for and signs with, and their identification from a SPKI.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum KeyType {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyType {
    pub const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// Key types a CA may hold.
    pub const CA: [KeyType; 5] =
        [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Ed25519, KeyType::Rsa3072, KeyType::Rsa4096];

    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    pub fn is_rsa(self) -> bool {
        self.rsa_bits().is_some()
    }

    pub fn rsa_bits(self) -> Option<u32> {
        match self {
            KeyType::Rsa2048 => Some(2048),
            KeyType::Rsa3072 => Some(3072),
            KeyType::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    pub fn from_rsa_bits(bits: u32) -> Option<KeyType> {
        match bits {
            2048 => Some(KeyType::Rsa2048),
            3072 => Some(KeyType::Rsa3072),
            4096 => Some(KeyType::Rsa4096),
            _ => None,
        }
    }

    /// The DER AlgorithmIdentifier of the signatures a key of this type makes.
    pub fn signature_algorithm_der(self) -> &'static [u8] {
        match self {
            KeyType::EcdsaP256 => &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
            KeyType::EcdsaP384 => &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
            KeyType::Ed25519 => &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70],
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00]
            }
        }
    }

    /// The rcgen algorithm that describes a key of this type: its SPKI algorithm
    /// identifier, and, for a signing key, the signature algorithm it signs with.
    pub fn rcgen_alg(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        KeyType::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| Error::Unsupported {
            what: "key type",
            value: format!(
                "{s} (expected one of {})",
                KeyType::ALL.map(|k| k.name()).join(", ")
            ),
        })
    }
}

impl TryFrom<String> for KeyType {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<KeyType> for String {
    fn from(k: KeyType) -> String {
        k.name().to_string()
    }
}

/// What a subject public key is, as far as policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Known(KeyType),
    /// An RSA key of a size we do not issue for (e.g. 1024 or 2047 bits).
    RsaOther(u32),
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Known(k) => k.fmt(f),
            KeyKind::RsaOther(bits) => write!(f, "rsa-{bits}"),
        }
    }
}

const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// Identifies the key in a DER SubjectPublicKeyInfo.
pub fn identify_spki(spki_der: &[u8]) -> Result<KeyKind, Error> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| Error::malformed("public key", e))?;
    identify(&spki)
}

pub(crate) fn identify(spki: &SubjectPublicKeyInfo<'_>) -> Result<KeyKind, Error> {
    let parsed = spki.parsed().map_err(|e| Error::malformed("public key", e))?;
    match parsed {
        PublicKey::RSA(rsa) => {
            let bits = rsa_modulus_bits(rsa.modulus);
            Ok(KeyType::from_rsa_bits(bits).map(KeyKind::Known).unwrap_or(KeyKind::RsaOther(bits)))
        }
        PublicKey::EC(_) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
                .unwrap_or_default();
            match curve.as_str() {
                OID_P256 => Ok(KeyKind::Known(KeyType::EcdsaP256)),
                OID_P384 => Ok(KeyKind::Known(KeyType::EcdsaP384)),
                other => Err(Error::Unsupported { what: "elliptic curve", value: other.to_string() }),
            }
        }
        _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            Ok(KeyKind::Known(KeyType::Ed25519))
        }
        _ => Err(Error::Unsupported {
            what: "public key algorithm",
            value: spki.algorithm.algorithm.to_id_string(),
        }),
    }
}

fn rsa_modulus_bits(modulus: &[u8]) -> u32 {
    let digits: Vec<u8> = modulus.iter().copied().skip_while(|b| *b == 0).collect();
    match digits.first() {
        Some(first) => (digits.len() as u32 - 1) * 8 + (8 - first.leading_zeros()),
        None => 0,
    }
}
