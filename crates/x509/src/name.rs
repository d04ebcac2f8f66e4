//! Subject distinguished names.

use serde::{Deserialize, Serialize};

/// The attributes IronPKI puts into a subject, in RDN order C, ST, L, O, OU, CN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
}

impl Subject {
    pub fn with_cn(cn: impl Into<String>) -> Subject {
        Subject { common_name: Some(cn.into()), ..Subject::default() }
    }

    fn entries(&self) -> impl Iterator<Item = (rcgen::DnType, &String)> {
        [
            (rcgen::DnType::CountryName, &self.country),
            (rcgen::DnType::StateOrProvinceName, &self.state),
            (rcgen::DnType::LocalityName, &self.locality),
            (rcgen::DnType::OrganizationName, &self.organization),
            (rcgen::DnType::OrganizationalUnitName, &self.organizational_unit),
            (rcgen::DnType::CommonName, &self.common_name),
        ]
        .into_iter()
        .filter_map(|(ty, v)| v.as_ref().map(|v| (ty, v)))
    }

    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    pub(crate) fn to_rcgen(&self) -> rcgen::DistinguishedName {
        let mut dn = rcgen::DistinguishedName::new();
        for (ty, value) in self.entries() {
            let value = match ty {
                rcgen::DnType::CountryName => match rcgen::string::PrintableString::try_from(value.as_str()) {
                    Ok(p) => rcgen::DnValue::PrintableString(p),
                    Err(_) => rcgen::DnValue::Utf8String(value.clone()),
                },
                _ => rcgen::DnValue::Utf8String(value.clone()),
            };
            dn.push(ty, value);
        }
        dn
    }

    /// Checks lengths against RFC 5280's upper bounds and the country code form.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                return Err(format!("country {c:?} must be a two-letter upper-case ISO 3166 code"));
            }
        }
        let limits = [
            ("state", &self.state, 128),
            ("locality", &self.locality, 128),
            ("organization", &self.organization, 64),
            ("organizational_unit", &self.organizational_unit, 64),
            ("common_name", &self.common_name, 64),
        ];
        for (field, value, max) in limits {
            if let Some(v) = value {
                if v.is_empty() || v.chars().count() > max {
                    return Err(format!("{field} must be 1 to {max} characters, got {}", v.chars().count()));
                }
            }
        }
        Ok(())
    }

    /// One-line RFC 4514-like rendering, most specific first.
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = self
            .entries()
            .map(|(ty, v)| {
                let key = match ty {
                    rcgen::DnType::CountryName => "C",
                    rcgen::DnType::StateOrProvinceName => "ST",
                    rcgen::DnType::LocalityName => "L",
                    rcgen::DnType::OrganizationName => "O",
                    rcgen::DnType::OrganizationalUnitName => "OU",
                    _ => "CN",
                };
                format!("{key}={v}")
            })
            .collect();
        parts.reverse();
        parts.join(", ")
    }
}
