use super::*;
use crate::error::AuthError;
use crate::principal::{PrincipalClaims, PrincipalData, PrincipalKind, TokenUse};
use crate::{Principal, Tenant};

fn principal(tenant: &str, sub: &str, iat: Option<u64>, session: &str) -> Principal {
    let tenant = Tenant::builder(tenant, "us-east-1_a")
        .client_id("c")
        .build()
        .unwrap();
    Principal::new(PrincipalData::new(PrincipalClaims::<&str> {
        tenant: &tenant,
        subject: sub,
        username: "alice",
        client_id: "c",
        token_use: TokenUse::Access,
        kind: PrincipalKind::User,
        groups: &[],
        scope: "",
        expires_at: u64::MAX,
        issued_at: iat,
        jti: None,
        origin_jti: Some(session),
    }))
}

#[test]
fn a_revoked_user_loses_tokens_issued_up_to_the_revocation_only() {
    let list = Revocations::new();
    let now = unix_now();
    let before = principal("acme", "sub-1", Some(now - 60), "s1");
    let same_second = principal("acme", "sub-1", Some(now), "s2");
    let later = principal("acme", "sub-1", Some(now + 60), "s3");
    assert!(!list.is_revoked(&before), "nothing revoked yet");
    list.revoke_user("acme", "sub-1");
    assert!(list.is_revoked(&before));
    assert!(
        list.is_revoked(&same_second),
        "iat has whole seconds: refuse the tie"
    );
    assert!(
        !list.is_revoked(&later),
        "a token from a later sign-in is fine"
    );
    assert!(
        list.is_revoked(&principal("acme", "sub-1", None, "s4")),
        "no iat: age unknown, refused"
    );
    // Other users, and the same `sub` in another tenant's pool, are untouched.
    assert!(!list.is_revoked(&principal("acme", "sub-2", Some(now - 60), "s5")));
    assert!(!list.is_revoked(&principal("globex", "sub-1", Some(now - 60), "s6")));
    assert_eq!(list.len(), 1);
}

#[test]
fn a_revoked_session_loses_all_its_tokens_and_no_other() {
    let list = Revocations::new();
    let now = unix_now();
    list.revoke_session("acme", "s1");
    assert!(list.is_revoked(&principal("acme", "sub-1", Some(now + 60), "s1")));
    assert!(!list.is_revoked(&principal("acme", "sub-1", Some(now - 60), "s2")));
    assert!(!list.is_revoked(&principal("globex", "sub-1", Some(now), "s1")));
}

fn entry(kind: Kind, tenant: &str, id: &str, at: u64) -> Entry {
    Entry {
        kind,
        tenant: tenant.to_owned(),
        id: id.to_owned(),
        at,
    }
}

#[test]
fn revocations_are_dropped_once_no_token_they_cover_can_verify() {
    let list = Revocations::new();
    let now = unix_now();
    let keep = DEFAULT_RETENTION.as_secs() + crate::MAX_LEEWAY.as_secs();
    let day_ago = now - keep - 1;
    // Merged one at a time, as a store's pub/sub messages arrive: each merge prunes.
    list.merge([entry(Kind::User, "acme", "old", day_ago)], day_ago);
    list.merge(
        [entry(Kind::Session, "globex", "old", day_ago - 5)],
        day_ago,
    );
    assert_eq!(list.len(), 2);
    // The next revocation, recorded now, drops both: they are older than any live token.
    list.revoke_user("acme", "new");
    assert_eq!(list.len(), 1);
    assert!(!list.is_revoked(&principal("acme", "old", Some(day_ago - 1), "x")));
    assert!(list.is_revoked(&principal("acme", "new", Some(now - 1), "x")));
    // An entry already too old when it arrives is not even added.
    assert_eq!(
        list.merge([entry(Kind::User, "acme", "late", day_ago)], now),
        0
    );
    assert_eq!(list.len(), 1);
}

#[test]
fn a_shorter_retention_drops_entries_sooner() {
    let list = Revocations::with_retention(Duration::from_secs(3600));
    let now = unix_now();
    let margin = crate::MAX_LEEWAY.as_secs();
    list.merge(
        [
            entry(Kind::User, "acme", "kept", now - 3600 - margin),
            entry(Kind::User, "acme", "dropped", now - 3600 - margin - 1),
        ],
        now,
    );
    assert_eq!(list.len(), 1);
    assert!(list.is_revoked(&principal("acme", "kept", Some(now - 7200), "x")));
}

#[test]
fn merging_keeps_the_later_revocation_and_counts_changes() {
    let list = Revocations::new();
    let now = unix_now();
    assert_eq!(
        list.merge([entry(Kind::User, "acme", "u", now - 100)], now),
        1
    );
    // An older copy (a replica's stale mirror) does not move the revocation earlier ...
    assert_eq!(
        list.merge([entry(Kind::User, "acme", "u", now - 200)], now),
        0
    );
    assert!(list.is_revoked(&principal("acme", "u", Some(now - 150), "x")));
    // ... a later one (signed out again) moves it later; the same one changes nothing.
    assert_eq!(
        list.merge([entry(Kind::User, "acme", "u", now - 10)], now),
        1
    );
    assert_eq!(
        list.merge([entry(Kind::User, "acme", "u", now - 10)], now),
        0
    );
    assert!(list.is_revoked(&principal("acme", "u", Some(now - 50), "x")));
    list.revoke_session("globex", "s");
    let entries = list.entries();
    assert_eq!(entries.len(), 2);
    assert!(entries.contains(&entry(Kind::User, "acme", "u", now - 10)));
    assert!(
        entries
            .iter()
            .any(|e| e.kind == Kind::Session && e.tenant == "globex" && e.id == "s")
    );
}

#[test]
fn an_unavailable_store_refuses_every_check_until_cleared() {
    let list = Revocations::new();
    let now = unix_now();
    let p = principal("acme", "sub-1", Some(now), "s1");
    assert_eq!(list.check(&p), Ok(()));
    assert!(!list.set_unavailable(true));
    assert_eq!(list.check(&p), Err(AuthError::RevocationsUnavailable));
    assert!(list.set_unavailable(false));
    assert_eq!(list.check(&p), Ok(()));
    list.revoke_user("acme", "sub-1");
    assert_eq!(list.check(&p), Err(AuthError::TokenRevoked));
}

#[test]
fn debug_shows_no_ids() {
    let list = Revocations::new();
    list.revoke_user("acme", "sub-secret");
    let debug = format!("{list:?}");
    assert!(
        !debug.contains("sub-secret") && !debug.contains("acme"),
        "{debug}"
    );
}

#[test]
fn the_clock_margin_refuses_tokens_issued_just_after_the_recorded_time() {
    // The replica that recorded the sign-out had a clock 4 s behind Cognito's: the token
    // Cognito issued just before the sign-out carries an `iat` after the recorded time.
    let list = Revocations::with_settings(DEFAULT_RETENTION, Duration::from_secs(5));
    let now = unix_now();
    list.merge([entry(Kind::User, "acme", "sub-1", now - 10)], now);
    assert!(list.is_revoked(&principal("acme", "sub-1", Some(now - 6), "a")));
    assert!(
        list.is_revoked(&principal("acme", "sub-1", Some(now - 5), "b")),
        "issued within the margin after the recorded time"
    );
    assert!(
        !list.is_revoked(&principal("acme", "sub-1", Some(now - 4), "c")),
        "a sign-in after the margin is fine"
    );
    // Without a margin (an in-process list: one clock), only up to the recorded second.
    let local = Revocations::new();
    local.merge([entry(Kind::User, "acme", "sub-1", now - 10)], now);
    assert!(!local.is_revoked(&principal("acme", "sub-1", Some(now - 9), "d")));
}

#[test]
fn pruning_costs_what_it_drops_and_skips_entries_moved_later() {
    let list = Revocations::with_retention(Duration::from_secs(3600));
    let now = unix_now();
    let keep = 3600 + crate::MAX_LEEWAY.as_secs();
    // Recorded long ago, then signed out again recently: the old index slot must not drop it.
    list.merge([entry(Kind::User, "acme", "again", now - keep + 10)], now);
    list.merge([entry(Kind::User, "acme", "again", now - 5)], now);
    list.merge([entry(Kind::User, "acme", "once", now - keep + 10)], now);
    list.merge([entry(Kind::Session, "globex", "s", now - 100)], now);
    assert_eq!(list.len(), 3);
    assert_eq!(list.count_since(now - 200), 2);
    list.prune(now + 20);
    assert_eq!(list.len(), 2, "only `once` is older than the retention");
    assert!(list.is_revoked(&principal("acme", "again", Some(now - 6), "x")));
    assert!(!list.is_revoked(&principal("acme", "once", Some(now - keep), "x")));
    assert_eq!(list.count_since(now - 200), 2);
    assert_eq!(list.count_since(now - 50), 1);
    // Paging returns each entry once, at its latest time.
    let (page, last) = list.entries_page(None, 1).unwrap();
    assert_eq!(page, [entry(Kind::Session, "globex", "s", now - 100)]);
    let (page, _) = list.entries_page(Some(last), 1).unwrap();
    assert_eq!(page, [entry(Kind::User, "acme", "again", now - 5)]);
}
