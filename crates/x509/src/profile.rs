//! Profiles: what a certificate of a kind may be. `Profile::evaluate` is the policy
//! decision on a request; everything it returns has been checked against the rules.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::keytype::KeyKind;
use crate::name::Subject;
use crate::san::{San, SanRules};
use crate::{Error, KeyType};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyUsage {
    DigitalSignature,
    #[serde(alias = "content_commitment")]
    NonRepudiation,
    KeyEncipherment,
    DataEncipherment,
    KeyAgreement,
}

impl KeyUsage {
    /// Whether a key of this type can perform this usage at all.
    pub fn fits(self, key: KeyType) -> bool {
        match self {
            KeyUsage::DigitalSignature | KeyUsage::NonRepudiation => true,
            KeyUsage::KeyEncipherment | KeyUsage::DataEncipherment => key.is_rsa(),
            KeyUsage::KeyAgreement => matches!(key, KeyType::EcdsaP256 | KeyType::EcdsaP384),
        }
    }

    pub(crate) fn to_rcgen(self) -> rcgen::KeyUsagePurpose {
        match self {
            KeyUsage::DigitalSignature => rcgen::KeyUsagePurpose::DigitalSignature,
            KeyUsage::NonRepudiation => rcgen::KeyUsagePurpose::ContentCommitment,
            KeyUsage::KeyEncipherment => rcgen::KeyUsagePurpose::KeyEncipherment,
            KeyUsage::DataEncipherment => rcgen::KeyUsagePurpose::DataEncipherment,
            KeyUsage::KeyAgreement => rcgen::KeyUsagePurpose::KeyAgreement,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtendedKeyUsage {
    ServerAuth,
    ClientAuth,
    CodeSigning,
    EmailProtection,
    TimeStamping,
}

impl ExtendedKeyUsage {
    pub(crate) fn to_rcgen(self) -> rcgen::ExtendedKeyUsagePurpose {
        match self {
            ExtendedKeyUsage::ServerAuth => rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsage::ClientAuth => rcgen::ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsage::CodeSigning => rcgen::ExtendedKeyUsagePurpose::CodeSigning,
            ExtendedKeyUsage::EmailProtection => rcgen::ExtendedKeyUsagePurpose::EmailProtection,
            ExtendedKeyUsage::TimeStamping => rcgen::ExtendedKeyUsagePurpose::TimeStamping,
        }
    }
}

/// A profile as the authority applies it (resolved from the configuration).
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    /// Name of the issuing CA.
    pub issuer: String,
    pub default_validity: Duration,
    pub max_validity: Duration,
    pub key_usage: Vec<KeyUsage>,
    pub extended_key_usage: Vec<ExtendedKeyUsage>,
    pub key_types: Vec<KeyType>,
    pub min_rsa_bits: u32,
    pub san: SanRules,
    pub cn_in_san: bool,
    /// Fixed subject attributes (O, OU, C, …) put into every certificate; the CN comes
    /// from the request.
    pub subject: Subject,
}

/// What is asked for: from a CSR, or from `cert issue` arguments.
#[derive(Clone, Debug)]
pub struct Request {
    pub common_name: Option<String>,
    pub sans: Vec<San>,
    pub key: KeyKind,
    pub lifetime: Option<Duration>,
}

/// What the profile grants.
#[derive(Clone, Debug)]
pub struct Grant {
    pub subject: Subject,
    pub sans: Vec<San>,
    pub key_type: KeyType,
    pub validity: Duration,
    pub key_usage: Vec<KeyUsage>,
    pub extended_key_usage: Vec<ExtendedKeyUsage>,
}

impl Profile {
    pub fn evaluate(&self, req: &Request) -> Result<Grant, Error> {
        let key_type = self.check_key(req.key)?;

        let validity = req.lifetime.unwrap_or(self.default_validity);
        if validity.is_zero() {
            return Err(Error::policy("lifetime must be positive"));
        }
        if validity > self.max_validity {
            return Err(Error::policy(format!(
                "lifetime {} exceeds profile {:?} maximum of {}",
                humanize(validity),
                self.name,
                humanize(self.max_validity)
            )));
        }

        let mut sans: Vec<San> = Vec::new();
        for san in &req.sans {
            san.validate()?;
            if !sans.contains(san) {
                sans.push(san.clone());
            }
        }
        if let Some(cn) = &req.common_name {
            if cn.is_empty() || cn.chars().count() > 64 {
                return Err(Error::policy("common name must be 1 to 64 characters"));
            }
            if self.cn_in_san {
                let as_san = San::for_common_name(cn);
                as_san.validate().map_err(|e| Error::policy(format!("common name must also be a SAN: {e}")))?;
                if !sans.contains(&as_san) {
                    sans.insert(0, as_san);
                }
            }
        }
        for san in &sans {
            if !self.san.allows(san) {
                return Err(Error::policy(format!("SAN {san} is not allowed by profile {:?}", self.name)));
            }
        }
        if sans.is_empty() && req.common_name.is_none() {
            return Err(Error::policy("the request names no subject: give a common name or a SAN"));
        }

        let mut subject = self.subject.clone();
        subject.common_name = req.common_name.clone();
        subject.validate().map_err(Error::Policy)?;

        let key_usage: Vec<KeyUsage> = self.key_usage.iter().copied().filter(|u| u.fits(key_type)).collect();
        if key_usage.is_empty() {
            return Err(Error::policy(format!(
                "profile {:?} grants no key usage that a {key_type} key can perform",
                self.name
            )));
        }
        Ok(Grant {
            subject,
            sans,
            key_type,
            validity,
            key_usage,
            extended_key_usage: self.extended_key_usage.clone(),
        })
    }

    fn check_key(&self, key: KeyKind) -> Result<KeyType, Error> {
        let min = self.min_rsa_bits;
        match key {
            KeyKind::RsaOther(bits) => Err(Error::policy(format!(
                "RSA key of {bits} bits is not allowed (minimum {min}; sizes issued: 2048, 3072, 4096)"
            ))),
            KeyKind::Known(k) if k.rsa_bits().is_some_and(|bits| bits < min) => {
                Err(Error::policy(format!("{k} key is below profile {:?} minimum of {min} RSA bits", self.name)))
            }
            KeyKind::Known(k) if !self.key_types.contains(&k) => Err(Error::policy(format!(
                "key type {k} is not allowed by profile {:?} (allowed: {})",
                self.name,
                self.key_types.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            ))),
            KeyKind::Known(k) => Ok(k),
        }
    }
}

/// Renders a duration the way the configuration writes it (`90d`, `24h`, `30m`).
pub fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            name: "server".into(),
            issuer: "issuing".into(),
            default_validity: Duration::from_secs(86_400 * 90),
            max_validity: Duration::from_secs(86_400 * 397),
            key_usage: vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment],
            extended_key_usage: vec![ExtendedKeyUsage::ServerAuth],
            key_types: vec![KeyType::EcdsaP256, KeyType::Rsa2048, KeyType::Rsa3072],
            min_rsa_bits: 3072,
            san: SanRules { dns: vec!["*.example.com".into()], ..SanRules::default() },
            cn_in_san: true,
            subject: Subject::default(),
        }
    }

    fn req(cn: &str, key: KeyKind) -> Request {
        Request { common_name: Some(cn.into()), sans: vec![], key, lifetime: None }
    }

    #[test]
    fn grants_and_adds_cn_as_san() {
        let g = profile().evaluate(&req("www.example.com", KeyKind::Known(KeyType::EcdsaP256))).unwrap();
        assert_eq!(g.sans, vec![San::Dns("www.example.com".into())]);
        assert_eq!(g.key_usage, vec![KeyUsage::DigitalSignature], "no keyEncipherment on ECDSA");
        let g = profile().evaluate(&req("www.example.com", KeyKind::Known(KeyType::Rsa3072))).unwrap();
        assert_eq!(g.key_usage, vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment]);
    }

    #[test]
    fn refusals_say_why() {
        let p = profile();
        let e = p.evaluate(&req("www.other.com", KeyKind::Known(KeyType::EcdsaP256))).unwrap_err();
        assert!(e.to_string().contains("not allowed"), "{e}");
        let e = p.evaluate(&req("www.example.com", KeyKind::RsaOther(1024))).unwrap_err();
        assert!(e.to_string().contains("1024"), "{e}");
        let e = p.evaluate(&req("www.example.com", KeyKind::Known(KeyType::Rsa2048))).unwrap_err();
        assert!(e.to_string().contains("minimum"), "{e}");
        let e = p.evaluate(&req("www.example.com", KeyKind::Known(KeyType::Ed25519))).unwrap_err();
        assert!(e.to_string().contains("not allowed"), "{e}");
        let mut r = req("www.example.com", KeyKind::Known(KeyType::EcdsaP256));
        r.lifetime = Some(Duration::from_secs(86_400 * 398));
        let e = p.evaluate(&r).unwrap_err();
        assert!(e.to_string().contains("exceeds"), "{e}");
    }
}
