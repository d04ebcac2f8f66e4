//! API tokens and leases.

use ironpki_store::{Error, TokenRecord};

use super::*;

fn token(id: &str, created_at: i64) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        description: format!("token {id}"),
        role: "operator".into(),
        profiles: vec!["device".into(), "server".into()],
        san_patterns: vec!["*.example".into()],
        secret_sha256: vec![7; 32],
        created_at,
        created_by: "admin".into(),
        expires_at: Some(created_at + 1000),
        revoked_at: None,
    }
}

pub fn tokens_lifecycle(e: &dyn Engine) {
    let s = store(e);
    let audited = || audit_entries(&*s).len();
    assert!(s.tokens().unwrap().is_empty());
    s.put_token(&token("b", 20), &event("token.created", "token:b")).unwrap();
    let mut a = token("a", 10);
    a.role = "auditor".into();
    a.profiles.clear();
    a.expires_at = None;
    s.put_token(&a, &event("token.created", "token:a")).unwrap();
    s.put_token(&token("Z", 20), &event("token.created", "token:Z")).unwrap();
    assert_eq!(audited(), 4, "each token recorded with its entry");

    let err = s.put_token(&token("a", 30), &event("token.created", "token:a")).unwrap_err();
    assert!(matches!(&err, Error::DuplicateToken(id) if id == "a"), "{err}");
    assert_eq!(audited(), 4, "the refused token appended nothing");

    let got = s.token("a").unwrap().unwrap();
    assert_eq!(
        (
            &got.description,
            &got.role,
            &got.profiles,
            &got.san_patterns,
            &got.secret_sha256,
            got.created_at,
            &got.created_by,
            got.expires_at,
            got.revoked_at
        ),
        (&a.description, &a.role, &a.profiles, &a.san_patterns, &a.secret_sha256, 10, &a.created_by, None, None)
    );
    assert_eq!(s.token("b").unwrap().unwrap().profiles, ["device", "server"]);
    assert!(s.token("nobody").unwrap().is_none());
    let ids: Vec<String> = s.tokens().unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["a", "Z", "b"], "oldest first, then by id in byte order");

    s.revoke_token("b", 50, &event("token.revoked", "token:b")).unwrap();
    assert_eq!(s.token("b").unwrap().unwrap().revoked_at, Some(50));
    assert_eq!(s.token("a").unwrap().unwrap().revoked_at, None);
    assert_eq!(audited(), 5);
    let err = s.revoke_token("b", 60, &event("token.revoked", "token:b")).unwrap_err();
    assert!(matches!(&err, Error::TokenRevoked(id) if id == "b"), "{err}");
    assert_eq!(s.token("b").unwrap().unwrap().revoked_at, Some(50), "the first revocation stands");
    let err = s.revoke_token("nobody", 60, &event("token.revoked", "token:nobody")).unwrap_err();
    assert!(matches!(&err, Error::TokenNotFound(id) if id == "nobody"), "{err}");
    assert_eq!(audited(), 5, "refused revocations appended nothing");
    let actions: Vec<String> = audit_entries(&*s).into_iter().skip(1).map(|e| format!("{} {}", e.action, e.target)).collect();
    assert_eq!(actions, ["token.created token:b", "token.created token:a", "token.created token:Z", "token.revoked token:b"]);
    assert_eq!(verify_chain(&*s), Ok(5));
}

pub fn lease_is_held_renewed_and_taken_over(e: &dyn Engine) {
    let s = store(e);
    let lease = |holder: &str, now: i64| s.acquire_lease("crl-publisher", holder, now, 30).unwrap();
    assert!(lease("A", 100), "free: A takes it until 130");
    assert!(!lease("B", 110), "A's lease runs");
    assert!(lease("A", 120), "A renews until 150");
    assert!(!lease("B", 149));
    assert!(!lease("B", 150), "until 150 inclusive");
    assert!(s.acquire_lease("other-lease", "B", 150, 30).unwrap(), "leases are by name");
    assert!(lease("B", 151), "A's lease expired: B takes over until 181");
    assert!(!lease("A", 152), "A lost it");
    s.release_lease("crl-publisher", "A").unwrap();
    assert!(!lease("A", 153), "releasing a lease one does not hold changes nothing");
    s.release_lease("crl-publisher", "B").unwrap();
    assert!(lease("A", 154), "released: A takes it at once");
    assert!(!lease("B", 155));
    assert_eq!(verify_chain(&*s), Ok(1), "leases are not audited");
}
