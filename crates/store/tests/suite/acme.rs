//! ACME accounts and nonces.

use ironpki_store::acme::AcmeAccount;
use ironpki_store::Error;

use super::*;

fn account(id: &str, thumbprint: &str) -> AcmeAccount {
    AcmeAccount {
        id: id.into(),
        provisioner: "acme".into(),
        thumbprint: thumbprint.into(),
        jwk: "{}".into(),
        status: "valid".into(),
        contact: vec!["mailto:ops@example.com".into()],
        eab_kid: None,
        created_at: 5,
    }
}

pub fn acme_accounts_and_nonces(e: &dyn Engine) {
    let s = store(e);
    let acme = s.acme();
    acme.put_acme_account(&account("a1", "t1"), &event("acme.account.created", "acme:acme/a1")).unwrap();
    let err = acme.put_acme_account(&account("a2", "t1"), &event("acme.account.created", "acme:acme/a2")).unwrap_err();
    assert!(matches!(err, Error::DuplicateAccount(_)), "one account per key and provisioner: {err}");
    assert_eq!(acme.acme_account("a1").unwrap(), Some(account("a1", "t1")));
    assert_eq!(acme.acme_account_by_key("acme", "t1").unwrap().map(|a| a.id), Some("a1".into()));
    assert_eq!(acme.acme_account_by_key("other", "t1").unwrap(), None);
    assert_eq!(acme.acme_account("a2").unwrap(), None);

    acme.put_acme_account(&account("a3", "t3"), &event("acme.account.created", "acme:acme/a3")).unwrap();
    let err = acme.change_acme_account_key("a1", "t3", "{}", &event("acme.account.key_changed", "acme:acme/a1")).unwrap_err();
    assert!(matches!(err, Error::DuplicateAccount(_)), "another account's key: {err}");
    acme.change_acme_account_key("a1", "t4", "{\"k\":1}", &event("acme.account.key_changed", "acme:acme/a1")).unwrap();
    assert_eq!(acme.acme_account_by_key("acme", "t4").unwrap().map(|a| (a.id, a.jwk)), Some(("a1".into(), "{\"k\":1}".into())));
    assert_eq!(acme.acme_account_by_key("acme", "t1").unwrap(), None);
    acme.update_acme_account("a1", "deactivated", &[], &event("acme.account.deactivated", "acme:acme/a1")).unwrap();
    let updated = acme.acme_account("a1").unwrap().unwrap();
    assert_eq!((updated.status.as_str(), updated.contact.len()), ("deactivated", 0));

    assert!(acme.use_acme_nonce("n1", 100, 10).unwrap());
    assert!(!acme.use_acme_nonce("n1", 100, 20).unwrap(), "a nonce is used once");
    assert!(acme.use_acme_nonce("n2", 100, 20).unwrap());
    // Past its expiry it is forgotten (its own checks refuse such a nonce first).
    assert!(acme.use_acme_nonce("n1", 300, 200).unwrap());
    assert_eq!(verify_chain(&*s), Ok(5), "the CA, two accounts, a key change, a deactivation; nonces are not audited");
}

/// An EAB key binds the one account created with it, in the same transaction.
pub fn acme_eab_keys_bind_one_account(e: &dyn Engine) {
    use ironpki_store::acme::EabKey;
    let s = store(e);
    let acme = s.acme();
    let key = |kid: &str| EabKey {
        kid: kid.into(),
        provisioner: "acme".into(),
        sealed_key: vec![1, 2, 3],
        created_at: 1,
        created_by: "test".into(),
        expires_at: Some(100),
        revoked_at: None,
        account_id: None,
    };
    acme.put_acme_eab_key(&key("k1"), &event("acme.eab.created", "eab:k1")).unwrap();
    acme.put_acme_eab_key(&key("k2"), &event("acme.eab.created", "eab:k2")).unwrap();
    let bound = |id: &str, thumbprint: &str, kid: &str| AcmeAccount { eab_kid: Some(kid.into()), ..account(id, thumbprint) };
    acme.put_acme_account(&bound("a1", "t1", "k1"), &event("acme.account.created", "a1")).unwrap();
    assert_eq!(acme.acme_eab_key("k1").unwrap().unwrap().account_id.as_deref(), Some("a1"));
    let err = acme.put_acme_account(&bound("a2", "t2", "k1"), &event("acme.account.created", "a2")).unwrap_err();
    assert!(matches!(err, Error::EabUnusable(_)), "{err}");
    assert_eq!(acme.acme_account("a2").unwrap(), None, "the account is not created either");

    acme.revoke_acme_eab_key("k2", 50, &event("acme.eab.revoked", "eab:k2")).unwrap();
    assert!(matches!(acme.revoke_acme_eab_key("k2", 60, &event("acme.eab.revoked", "eab:k2")), Err(Error::EabUnusable(_))));
    let err = acme.put_acme_account(&bound("a3", "t3", "k2"), &event("acme.account.created", "a3")).unwrap_err();
    assert!(matches!(err, Error::EabUnusable(_)), "a revoked key binds nothing: {err}");
    let listed: Vec<(String, Option<i64>)> = acme.acme_eab_keys().unwrap().into_iter().map(|k| (k.kid, k.revoked_at)).collect();
    assert_eq!(listed, [("k1".to_string(), None), ("k2".to_string(), Some(50))]);
    assert_eq!(verify_chain(&*s), Ok(5), "the CA, two keys, one account, one revocation");
}

/// Orders and authorizations round-trip and change.
pub fn acme_orders_and_authorizations(e: &dyn Engine) {
    use ironpki_store::acme::{AcmeAuthz, AcmeOrder};
    let s = store(e);
    let acme = s.acme();
    acme.put_acme_account(&account("a1", "t1"), &event("acme.account.created", "a1")).unwrap();
    let authz = AcmeAuthz {
        id: "z1".into(),
        account_id: "a1".into(),
        provisioner: "acme".into(),
        identifier_type: "dns".into(),
        identifier_value: "web.internal".into(),
        wildcard: false,
        status: "pending".into(),
        expires: 99,
        challenges: r#"[{"id":"c1","type":"http-01","token":"t","status":"pending"}]"#.into(),
    };
    let mut order = AcmeOrder {
        id: "o1".into(),
        account_id: "a1".into(),
        provisioner: "acme".into(),
        status: "pending".into(),
        identifiers: r#"[{"type":"dns","value":"web.internal"}]"#.into(),
        authorizations: vec!["z1".into()],
        expires: 99,
        error: None,
        cert_issuer: None,
        cert_serial: None,
        created_at: 3,
        replaces: Some("aki.serial".into()),
    };
    acme.put_acme_order(&order, std::slice::from_ref(&authz), &event("acme.order.created", "o1")).unwrap();
    assert_eq!(acme.acme_order("o1").unwrap().as_ref(), Some(&order));
    assert_eq!(acme.acme_authz("z1").unwrap().as_ref(), Some(&authz));
    assert_eq!(acme.acme_orders_of("a1", 10, 0).unwrap(), ["o1"]);
    assert!(acme.acme_orders_of("a1", 10, 1).unwrap().is_empty(), "past the last page");
    assert_eq!((acme.acme_orders_since("a1", 3).unwrap(), acme.acme_orders_since("a1", 4).unwrap()), ((1, Some(3)), (0, None)));
    assert_eq!(acme.acme_failed_authzs("a1", 0).unwrap(), (0, None));
    assert_eq!(acme.acme_order_replacing("aki.serial").unwrap().as_deref(), Some("o1"));
    assert_eq!(acme.acme_order_replacing("aki.other").unwrap(), None);
    let rival = AcmeOrder { id: "o2".into(), authorizations: vec![], ..order.clone() };
    let err = acme.put_acme_order(&rival, &[], &event("acme.order.created", "o2")).unwrap_err();
    assert!(matches!(err, Error::AlreadyReplaced(_)), "{err}");
    assert_eq!(acme.acme_order("o2").unwrap(), None, "nothing of the refused order is kept");
    assert!(acme.acme_orders_of("a2", 10, 0).unwrap().is_empty());
    assert!(acme.acme_authzs_processing(0).unwrap().is_empty());
    let processing = AcmeAuthz { challenges: authz.challenges.replace("\"pending\"", "\"processing\""), ..authz.clone() };
    acme.update_acme_authz(&processing).unwrap();
    assert_eq!(acme.acme_authzs_processing(98).unwrap(), std::slice::from_ref(&processing));
    assert!(acme.acme_authzs_processing(99).unwrap().is_empty(), "expired ones are left");
    let invalid = AcmeAuthz { status: "invalid".into(), ..authz.clone() };
    acme.update_acme_authz(&invalid).unwrap();
    assert_eq!((acme.acme_failed_authzs("a1", 98).unwrap(), acme.acme_failed_authzs("a1", 99).unwrap()), ((1, Some(99)), (0, None)));
    let valid = AcmeAuthz { status: "valid".into(), challenges: "[]".into(), ..authz };
    acme.update_acme_authz(&valid).unwrap();
    assert_eq!(acme.acme_authz("z1").unwrap().unwrap().status, "valid");
    order.status = "valid".into();
    order.cert_issuer = Some("issuing".into());
    order.cert_serial = Some("0a".into());
    acme.update_acme_order(&order, Some(&event("acme.order.finalized", "o1"))).unwrap();
    assert_eq!(acme.acme_order("o1").unwrap().as_ref(), Some(&order));
    assert_eq!(verify_chain(&*s), Ok(4));
}

/// `cert renew-early`'s marks: by serial, profile or issuer, only certificates valid at the
/// time, a later mark replacing an earlier one; an invalid order no longer replaces.
pub fn early_renewal_marks(e: &dyn Engine) {
    use ironpki_store::acme::RenewalSelection;
    let s = store(e);
    let mut server = cert("bb", 100);
    server.0.profile = "server".into();
    s.put_certificates(&[cert("aa", 100), server, cert("cc", 10)]).unwrap();
    let acme = s.acme();
    let serials = RenewalSelection::Serials(vec!["AA".into(), "cc".into(), "ff".into()]);
    assert_eq!(acme.mark_early_renewal(&serials, 20, 30, 20, &event("cert.renew_early", "serials")).unwrap(), 1, "cc has expired, ff is unknown");
    assert_eq!(acme.early_renewal("issuing", "aa").unwrap(), Some((20, 30)));
    assert_eq!(acme.early_renewal("issuing", "cc").unwrap(), None);
    let profile = RenewalSelection::Profile("device".into());
    assert_eq!(acme.mark_early_renewal(&profile, 40, 50, 5, &event("cert.renew_early", "profile")).unwrap(), 2);
    assert_eq!((acme.early_renewal("issuing", "aa").unwrap(), acme.early_renewal("issuing", "bb").unwrap()), (Some((40, 50)), None));
    s.revoke("issuing", "aa", &revocation(), &event("cert.revoked", "cert:aa")).unwrap();
    let issuer = RenewalSelection::Issuer("issuing".into());
    assert_eq!(acme.mark_early_renewal(&issuer, 60, 70, 5, &event("cert.renew_early", "issuer")).unwrap(), 2, "bb and cc, not the revoked aa");
    assert_eq!(acme.early_renewal("issuing", "bb").unwrap(), Some((60, 70)));
    assert_eq!(verify_chain(&*s), Ok(8), "the CA, three certificates, a revocation, three marks");
}
