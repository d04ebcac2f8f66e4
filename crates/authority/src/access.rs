//! Who may do what. Every front end turns its credentials into a [`Caller`]; the
//! decisions (which role, which profiles, which names) are made here and denials
//! are recorded in the audit log.

use ironpki_config::{Role, RoleGrant};
use ironpki_store::CertRecord;
use ironpki_x509::san::{self, San};
use serde_json::json;

use crate::{Authority, Error};

/// An authenticated caller, as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `token:ID`, `cert:ISSUER/SERIAL`, or the local user of the CLI.
    pub id: String,
    pub role: Role,
    /// Profiles an operator may use; empty: all that its role allows.
    pub profiles: Vec<String>,
    /// Patterns every name in an operator's request must match; empty: any.
    pub san_patterns: Vec<String>,
}

impl Caller {
    /// The local administrator: whoever runs the CLI with access to the home.
    pub fn local(user: &str) -> Caller {
        Caller { id: user.to_string(), role: Role::Admin, profiles: Vec::new(), san_patterns: Vec::new() }
    }

    /// The holder of a certificate, proving it over mTLS (renewal).
    pub fn holder(cert: &CertRecord) -> Caller {
        Caller {
            id: format!("cert:{}/{}", cert.issuer, cert.serial),
            role: Role::Auditor,
            profiles: vec![cert.profile.clone()],
            san_patterns: Vec::new(),
        }
    }

    pub(crate) fn with_grant(id: String, grant: &RoleGrant) -> Caller {
        Caller { id, role: grant.role, profiles: grant.profiles.clone(), san_patterns: grant.san_patterns.clone() }
    }

    fn names_allowed(&self, common_name: Option<&str>, sans: &[San]) -> Result<(), String> {
        if self.san_patterns.is_empty() {
            return Ok(());
        }
        if let Some(san) = sans.iter().find(|s| !self.san_patterns.iter().any(|p| san::matches_pattern(p, s))) {
            return Err(format!("{san} does not match the caller's SAN patterns ({})", self.san_patterns.join(", ")));
        }
        if let Some(cn) = common_name {
            if !self.san_patterns.iter().any(|p| san::matches_pattern(p, &San::Dns(cn.to_string())) || san::glob(p, cn)) {
                return Err(format!("common name {cn:?} does not match the caller's SAN patterns ({})", self.san_patterns.join(", ")));
            }
        }
        Ok(())
    }
}

/// What a caller asks to do, for [`Authority::authorize`].
pub enum Action<'a> {
    /// Read certificates, CAs, profiles and metrics.
    Read,
    /// Read the audit log.
    ReadAudit,
    /// Issue from `profile` a certificate with these names.
    Issue { profile: &'a str, common_name: Option<&'a str>, sans: &'a [San] },
    Revoke { cert: &'a CertRecord },
    /// Create, list or revoke API tokens.
    ManageTokens,
    /// Revoke a CA.
    ManageCas,
    /// Write synthetic records for the benchmark harness.
    LoadSynthetic,
    /// Create, list or revoke ACME External Account Binding keys.
    ManageAcme,
    /// Mark certificates for early renewal (`cert renew-early`).
    RenewEarly,
}

impl Action<'_> {
    fn name(&self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::ReadAudit => "read-audit",
            Action::Issue { .. } => "issue",
            Action::Revoke { .. } => "revoke",
            Action::ManageTokens => "manage-tokens",
            Action::ManageCas => "manage-cas",
            Action::LoadSynthetic => "load-synthetic",
            Action::ManageAcme => "manage-acme",
            Action::RenewEarly => "renew-early",
        }
    }
}

impl Authority {
    /// Allows the action or refuses it with [`Error::Forbidden`], recording the denial.
    pub fn authorize(&self, caller: &Caller, action: &Action<'_>) -> Result<(), Error> {
        let Err(reason) = self.decide(caller, action) else { return Ok(()) };
        let target = match action {
            Action::Issue { profile, .. } => format!("profile:{profile}"),
            Action::Revoke { cert } => format!("cert:{}/{}", cert.issuer, cert.serial),
            other => other.name().to_string(),
        };
        let event = self.event_by(
            &caller.id,
            "access.denied",
            &target,
            json!({ "action": action.name(), "role": caller.role.name(), "reason": reason }),
        );
        self.store.append_audit(&event)?;
        Err(Error::Forbidden(reason))
    }

    fn decide(&self, caller: &Caller, action: &Action<'_>) -> Result<(), String> {
        let need = |role: Role| {
            if caller.role >= role {
                Ok(())
            } else {
                Err(format!("{} may not {}: the {} role is needed", caller.role.name(), action.name(), role.name()))
            }
        };
        match action {
            Action::Read | Action::ReadAudit => need(Role::Auditor),
            Action::ManageTokens | Action::ManageCas | Action::LoadSynthetic | Action::ManageAcme | Action::RenewEarly => need(Role::Admin),
            Action::Issue { profile, common_name, sans } => {
                need(Role::Operator)?;
                if caller.role == Role::Admin {
                    return Ok(());
                }
                if self.config.serve.client_roles.contains_key(*profile) {
                    return Err(format!("profile {profile:?} issues API client certificates: only an admin may use it"));
                }
                self.profile_allowed(caller, profile)?;
                caller.names_allowed(*common_name, sans)
            }
            Action::Revoke { cert } => {
                need(Role::Operator)?;
                if caller.role == Role::Admin {
                    return Ok(());
                }
                self.profile_allowed(caller, &cert.profile)?;
                let sans: Vec<San> = cert.sans.iter().filter_map(|s| s.parse().ok()).collect();
                caller.names_allowed(cert.common_name.as_deref(), &sans)
            }
        }
    }

    fn profile_allowed(&self, caller: &Caller, profile: &str) -> Result<(), String> {
        if caller.profiles.is_empty() || caller.profiles.iter().any(|p| p == profile) {
            Ok(())
        } else {
            Err(format!("profile {profile:?} is not among the caller's profiles ({})", caller.profiles.join(", ")))
        }
    }
}
