//! PKCS#7 / CMS (RFC 5652) "certs-only" messages: a SignedData that carries certificates
//! and no signer, as EST (RFC 7030 section 4.1.3) and SCEP return CA certificates.

use der::{Decode, Encode};

use crate::Error;

/// A certs-only SignedData (DER) carrying `certs` (each DER).
pub fn certs_only(certs: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    let bad = |e: der::Error| Error::malformed("certificate", e);
    let path: x509_cert::PkiPath = certs.iter().map(|d| x509_cert::Certificate::from_der(d)).collect::<Result<_, _>>().map_err(bad)?;
    let info = cms::content_info::ContentInfo::try_from(path).map_err(|e| Error::Invalid(format!("PKCS#7: {e}")))?;
    info.to_der().map_err(|e| Error::Invalid(format!("PKCS#7: {e}")))
}

#[cfg(test)]
mod tests {
    use der::{Decode, Encode};

    #[test]
    fn certs_only_carries_every_certificate_and_no_signer() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let certs: Vec<Vec<u8>> = ["a.test", "b.test"]
            .iter()
            .map(|n| rcgen::CertificateParams::new(vec![n.to_string()]).unwrap().self_signed(&key).unwrap().der().to_vec())
            .collect();
        let der = super::certs_only(&certs).unwrap();
        let info = cms::content_info::ContentInfo::from_der(&der).unwrap();
        assert_eq!(info.content_type, der::oid::db::rfc5911::ID_SIGNED_DATA);
        let sd = cms::signed_data::SignedData::from_der(&info.content.to_der().unwrap()).unwrap();
        assert!(sd.signer_infos.0.is_empty());
        let mut carried: Vec<Vec<u8>> = sd
            .certificates
            .unwrap()
            .0
            .iter()
            .map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c) => c.to_der().unwrap(),
                _ => panic!("not a certificate"),
            })
            .collect();
        let mut want = certs.clone();
        carried.sort();
        want.sort();
        assert_eq!(carried, want);
        assert!(super::certs_only(&[vec![1, 2, 3]]).is_err());
    }
}
