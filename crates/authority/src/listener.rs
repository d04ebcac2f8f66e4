//! The certificate of `ironpki serve`'s own HTTPS listener: issued by our intermediate
//! under an internal profile, recorded and audited like any other certificate.

use std::time::Duration;

use ironpki_signer::GeneratedKey;
use ironpki_x509::profile::{ExtendedKeyUsage, KeyUsage, Profile};
use ironpki_x509::san::{San, SanRules};
use ironpki_x509::KeyType;

use crate::access::Caller;
use crate::issue::{Issued, IssueRequest, Subject};
use crate::{Authority, Error};

/// The profile name listener certificates are recorded under.
pub const LISTENER_PROFILE: &str = "ironpki-listener";
/// Lifetime of a listener certificate; `serve` renews it at two thirds.
pub const LISTENER_VALIDITY: Duration = Duration::from_secs(7 * 86_400);

impl Authority {
    /// Issues a server certificate for `names` with a fresh P-256 key. When the issuing
    /// CA's name constraints refuse the names, the error says which.
    pub fn issue_listener_certificate(&self, names: &[San], actor: &str) -> Result<(Issued, GeneratedKey), Error> {
        let issuer = match &self.config.serve.tls_issuer {
            Some(name) => name.clone(),
            None => self
                .config
                .intermediates
                .first()
                .map(|i| i.name.clone())
                .ok_or_else(|| Error::Internal("no intermediate CA to issue the listener certificate".into()))?,
        };
        let profile = Profile {
            name: LISTENER_PROFILE.into(),
            issuer,
            default_validity: LISTENER_VALIDITY,
            max_validity: LISTENER_VALIDITY,
            key_usage: vec![KeyUsage::DigitalSignature],
            extended_key_usage: vec![ExtendedKeyUsage::ServerAuth],
            key_types: vec![KeyType::EcdsaP256],
            min_rsa_bits: 2048,
            san: SanRules {
                dns: vec!["*".into()],
                ip: vec!["0.0.0.0/0".into(), "::/0".into()],
                uri: Vec::new(),
                email: Vec::new(),
            },
            cn_in_san: true,
            subject: Default::default(),
        };
        let key = ironpki_signer::SoftwareKey::generate(KeyType::EcdsaP256)?;
        let common_name = names.iter().find_map(|n| match n {
            San::Dns(name) => Some(name.clone()),
            _ => None,
        });
        let req = IssueRequest {
            profile: Some(LISTENER_PROFILE.into()),
            subject: Subject::Key {
                common_name,
                sans: names.to_vec(),
                key_type: KeyType::EcdsaP256,
                public_key_raw: ironpki_x509::Signer::public_key_raw(&key.key).to_vec(),
            },
            lifetime: None,
            caller: Caller::local(actor),
        };
        let prepared = self.prepare_with_profile(&req, profile)?;
        Ok((self.commit_one(prepared)?, key))
    }
}
