//! Account public keys as JWKs (RFC 7517/7518, Ed25519 from RFC 8037), their RFC 7638
//! thumbprints, and the signature algorithms each may use.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use serde_json::{Map, Value};

use crate::{b64, unb64, Error};

/// The JWS algorithms accepted for account keys (RFC 8555 section 6.2 asks for ES256
/// and EdDSA at least).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Es256,
    Es384,
    EdDsa,
    Rs256,
    /// HMAC-SHA256: only the inner JWS of an External Account Binding.
    Hs256,
}

impl Alg {
    pub fn parse(name: &str) -> Result<Alg, Error> {
        match name {
            "ES256" => Ok(Alg::Es256),
            "ES384" => Ok(Alg::Es384),
            "EdDSA" => Ok(Alg::EdDsa),
            "RS256" => Ok(Alg::Rs256),
            "HS256" => Ok(Alg::Hs256),
            "none" => Err(Error::BadSignatureAlgorithm("unsigned requests (alg \"none\") are refused; sign with ES256, ES384, EdDSA or RS256".into())),
            other => Err(Error::BadSignatureAlgorithm(format!("algorithm {other:?} is not accepted; sign with ES256, ES384, EdDSA or RS256"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Rs256 => "RS256",
            Alg::Hs256 => "HS256",
        }
    }
}

/// A public key, with its members decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Jwk {
    /// P-256 or P-384: `x` and `y`, each the curve's field size.
    Ec { crv: &'static str, x: Vec<u8>, y: Vec<u8> },
    Ed25519 { x: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, Error> {
    obj.get(name).and_then(Value::as_str).ok_or_else(|| Error::BadPublicKey(format!("the JWK has no string member {name:?}")))
}

fn decoded(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, Error> {
    unb64(member(obj, name)?, &format!("JWK member {name:?}")).map_err(|e| Error::BadPublicKey(e.to_string()))
}

impl Jwk {
    /// Reads a public JWK; refuses private members, unknown key types and curves, and RSA
    /// moduli outside 2048 to 8192 bits.
    pub fn from_json(value: &Value) -> Result<Jwk, Error> {
        let obj = value.as_object().ok_or_else(|| Error::BadPublicKey("the JWK is not a JSON object".into()))?;
        if ["d", "p", "q", "dp", "dq", "qi", "k"].iter().any(|m| obj.contains_key(*m)) {
            return Err(Error::BadPublicKey("the JWK holds private key members: send the public key only".into()));
        }
        match member(obj, "kty")? {
            "EC" => {
                let (crv, size) = match member(obj, "crv")? {
                    "P-256" => ("P-256", 32),
                    "P-384" => ("P-384", 48),
                    other => return Err(Error::BadPublicKey(format!("EC curve {other:?} is not accepted; use P-256 or P-384"))),
                };
                let (x, y) = (decoded(obj, "x")?, decoded(obj, "y")?);
                if x.len() != size || y.len() != size {
                    return Err(Error::BadPublicKey(format!("{crv} coordinates must be {size} octets each")));
                }
                let jwk = Jwk::Ec { crv, x, y };
                jwk.check_point()?;
                Ok(jwk)
            }
            "OKP" => match member(obj, "crv")? {
                "Ed25519" => {
                    let x = decoded(obj, "x")?;
                    if x.len() != 32 {
                        return Err(Error::BadPublicKey("an Ed25519 key is 32 octets".into()));
                    }
                    Ok(Jwk::Ed25519 { x })
                }
                other => Err(Error::BadPublicKey(format!("OKP curve {other:?} is not accepted; use Ed25519"))),
            },
            "RSA" => {
                let (n, e) = (decoded(obj, "n")?, decoded(obj, "e")?);
                let bits = n.iter().position(|b| *b != 0).map(|i| (n.len() - i) * 8).unwrap_or(0);
                if !(2048..=8192).contains(&bits) || e.is_empty() || e.len() > 8 {
                    return Err(Error::BadPublicKey(format!("an RSA account key needs a 2048 to 8192-bit modulus (this one has about {bits})")));
                }
                Ok(Jwk::Rsa { n, e })
            }
            other => Err(Error::BadPublicKey(format!("key type {other:?} is not accepted; use EC, OKP (Ed25519) or RSA"))),
        }
    }

    /// An EC point must lie on its curve: aws-lc-rs checks that when it parses it.
    fn check_point(&self) -> Result<(), Error> {
        let Jwk::Ec { crv, .. } = self else { return Ok(()) };
        let alg: &'static dyn signature::VerificationAlgorithm =
            if *crv == "P-256" { &signature::ECDSA_P256_SHA256_FIXED } else { &signature::ECDSA_P384_SHA384_FIXED };
        let point = self.ec_point();
        match aws_lc_rs::signature::ParsedPublicKey::new(alg, &point) {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::BadPublicKey(format!("the {crv} point is not on the curve"))),
        }
    }

    fn ec_point(&self) -> Vec<u8> {
        match self {
            Jwk::Ec { x, y, .. } => [&[4u8][..], x, y].concat(),
            _ => Vec::new(),
        }
    }

    /// The members RFC 7638 hashes, in its lexicographic order, base64url-encoded.
    fn required_members(&self) -> Vec<(&'static str, String)> {
        match self {
            Jwk::Ec { crv, x, y } => vec![("crv", crv.to_string()), ("kty", "EC".into()), ("x", b64(x)), ("y", b64(y))],
            Jwk::Ed25519 { x } => vec![("crv", "Ed25519".into()), ("kty", "OKP".into()), ("x", b64(x))],
            Jwk::Rsa { n, e } => vec![("e", b64(e)), ("kty", "RSA".into()), ("n", b64(n))],
        }
    }

    /// The key as canonical JSON (RFC 7638 section 3): its required members, in order,
    /// without whitespace. What is stored and what is hashed.
    pub fn canonical_json(&self) -> String {
        let members: Vec<String> = self
            .required_members()
            .into_iter()
            .map(|(k, v)| format!("{}:{}", Value::String(k.into()), Value::String(v)))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    /// The RFC 7638 thumbprint: base64url of the SHA-256 of the canonical JSON.
    pub fn thumbprint(&self) -> String {
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.canonical_json().as_bytes()).as_ref())
    }

    /// Verifies `signature` over `message` with this key, for `alg`, which must be the
    /// algorithm of this key's type.
    pub fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        let bad = || Error::Unauthorized(format!("the {} signature does not verify with the account key", alg.name()));
        let fixed = |len: usize| -> Vec<u8> {
            // Some clients drop a leading zero octet of an ECDSA signature; put it back.
            let mut padded = vec![0u8; len.saturating_sub(signature.len())];
            padded.extend_from_slice(signature);
            padded
        };
        match (alg, self) {
            (Alg::Es256, Jwk::Ec { crv: "P-256", .. }) if signature.len() <= 64 => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, self.ec_point()).verify(message, &fixed(64)).map_err(|_| bad())
            }
            (Alg::Es384, Jwk::Ec { crv: "P-384", .. }) if signature.len() <= 96 => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, self.ec_point()).verify(message, &fixed(96)).map_err(|_| bad())
            }
            (Alg::EdDsa, Jwk::Ed25519 { x }) => UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature).map_err(|_| bad()),
            (Alg::Rs256, Jwk::Rsa { n, e }) => signature::RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .map_err(|_| bad()),
            (Alg::Es256 | Alg::Es384, Jwk::Ec { .. }) => Err(bad()),
            (Alg::Hs256, _) => Err(Error::BadSignatureAlgorithm("HS256 is only for the External Account Binding".into())),
            (alg, key) => Err(Error::BadSignatureAlgorithm(format!("algorithm {} does not go with a {} key", alg.name(), key.kind()))),
        }
    }

    /// The key as a certificate's subjectPublicKey bits hold it: the uncompressed EC
    /// point, the Ed25519 key, or a DER RSAPublicKey (RFC 8017).
    pub fn public_key_bits(&self) -> Vec<u8> {
        use ironpki_x509::der;
        match self {
            Jwk::Ec { .. } => self.ec_point(),
            Jwk::Ed25519 { x } => x.clone(),
            Jwk::Rsa { n, e } => {
                let mut integers = Vec::new();
                der::unsigned_integer(&mut integers, n);
                der::unsigned_integer(&mut integers, e);
                der::wrap(der::SEQUENCE, &integers)
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Jwk::Ec { crv, .. } => crv,
            Jwk::Ed25519 { .. } => "Ed25519",
            Jwk::Rsa { .. } => "RSA",
        }
    }
}
