//! Extensions rcgen lacks: Authority Information Access (RFC 5280 4.2.2.1) and Freshest
//! CRL (4.2.1.15), whose value is CRLDistributionPoints syntax, as in CRLs (5.2.6).

use crate::der::{self, SEQUENCE};

const OID_AIA: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const OID_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
const OID_CA_ISSUERS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 2];
const OID_FRESHEST_CRL: &[u64] = &[2, 5, 29, 46];

/// Builds the non-critical AIA extension, or `None` when neither URL is set.
pub(crate) fn aia(ocsp: Option<&str>, ca_issuers: Option<&str>) -> Option<rcgen::CustomExtension> {
    let entries: Vec<(&[u64], &str)> =
        [(OID_OCSP, ocsp), (OID_CA_ISSUERS, ca_issuers)].into_iter().filter_map(|(o, u)| u.map(|u| (o, u))).collect();
    if entries.is_empty() {
        return None;
    }
    let content = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for (oid, url) in &entries {
                w.next().write_sequence(|w| {
                    w.next().write_oid(&yasna::models::ObjectIdentifier::from_slice(oid));
                    w.next().write_tagged_implicit(yasna::Tag::context(6), |w| w.write_ia5_string(url));
                });
            }
        })
    });
    Some(rcgen::CustomExtension::from_oid_content(OID_AIA, content))
}

/// The non-critical Freshest CRL extension naming the delta CRL at `url`.
pub(crate) fn freshest_crl(url: &str) -> rcgen::CustomExtension {
    rcgen::CustomExtension::from_oid_content(OID_FRESHEST_CRL, distribution_points(url))
}

/// CRLDistributionPoints holding one point with one URI:
/// `SEQUENCE { DistributionPoint { [0] fullName [0] { [6] uri } } }`.
pub(crate) fn distribution_points(url: &str) -> Vec<u8> {
    let point = der::wrap(SEQUENCE, &der::wrap(0xa0, &der::wrap(0xa0, &der::wrap(0x86, url.as_bytes()))));
    der::wrap(SEQUENCE, &point)
}
