//! Local revocation: refusing tokens of users signed out (or disabled) before the tokens expire.
//!
//! Cognito's `GlobalSignOut`, `AdminUserGlobalSignOut` and `RevokeToken` make Cognito's own APIs
//! refuse a user's tokens, but an access token verified locally, as this crate does, stays valid
//! until its `exp`. A [`Revocations`] list given to
//! [`CognitoAuthBuilder::revocations`](crate::CognitoAuthBuilder::revocations) closes that gap in
//! this process: every request, cached or not, is checked against it, and the admin routes
//! (feature `admin`) record their sign-outs and disables in it.
//!
//! The list lives in memory. A service running several instances must record each revocation
//! in every instance (for example from a message each instance subscribes to), or keep access
//! tokens short-lived; see README, "Security model".

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Principal;

/// How long a revocation is kept: Cognito access and id tokens live at most a day, plus the
/// largest leeway the verifier accepts. After that no token it covers can still verify.
const KEEP: Duration = Duration::from_secs(24 * 60 * 60 + crate::MAX_LEEWAY.as_secs());

/// Users and sessions whose tokens are refused until they would have expired anyway.
///
/// Cheap to clone (one shared list). Revocations are keyed by tenant id and kept for a day, the
/// longest a Cognito access or id token lives:
/// - [`revoke_user`](Self::revoke_user): every token of that user (`sub`) issued at or before
///   the revocation, as after `AdminUserGlobalSignOut` or `AdminDisableUser`. A token issued in
///   the same second is refused too (`iat` has whole seconds); the user signs in again a second
///   later.
/// - [`revoke_session`](Self::revoke_session): every token of one sign-in session
///   (`origin_jti`), as after `RevokeToken` on that session's refresh token.
///
/// ```
/// use cognito_authz::{CognitoAuth, Revocations, Tenant};
///
/// # fn main() -> Result<(), cognito_authz::ConfigError> {
/// let revocations = Revocations::new();
/// let auth = CognitoAuth::builder()
///     .tenant(Tenant::builder("acme", "us-east-1_AbCdEf123").client_id("client-a").build()?)?
///     .revocations(revocations.clone())
///     .build()?;
/// // Later, when acme's user with this `sub` is signed out everywhere:
/// revocations.revoke_user("acme", "8a7b6c5d-0000-4000-8000-000000000001");
/// # assert!(auth.revocations().is_some());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Revocations {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// False until the first revocation: until then a check costs one atomic load.
    any: AtomicBool,
    tenants: RwLock<HashMap<String, TenantRevocations>>,
}

#[derive(Default)]
struct TenantRevocations {
    /// `sub` -> Unix second of the revocation: tokens issued at or before it are refused.
    users: HashMap<String, u64>,
    /// `origin_jti` -> Unix second of the revocation (for dropping it a day later).
    sessions: HashMap<String, u64>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Revocations {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses every token of `subject` (the user's `sub`) in `tenant` (the tenant id) issued at
    /// or before now.
    pub fn revoke_user(&self, tenant: &str, subject: &str) {
        self.record(tenant, unix_now(), |t, now| {
            t.users.insert(subject.to_owned(), now);
        });
    }

    /// Refuses every token of the sign-in session `origin_jti` in `tenant` (the tenant id).
    pub fn revoke_session(&self, tenant: &str, origin_jti: &str) {
        self.record(tenant, unix_now(), |t, now| {
            t.sessions.insert(origin_jti.to_owned(), now);
        });
    }

    fn record(&self, tenant: &str, now: u64, add: impl FnOnce(&mut TenantRevocations, u64)) {
        // A poisoned lock only means another thread panicked mid-insert; the map is still sound.
        let mut tenants = self
            .inner
            .tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        add(tenants.entry(tenant.to_owned()).or_default(), now);
        // Revocations are rare (admin actions), so dropping the stale ones here costs nothing
        // that matters and keeps the list to a day's worth.
        let oldest_kept = now.saturating_sub(KEEP.as_secs());
        tenants.retain(|_, t| {
            t.users.retain(|_, at| *at >= oldest_kept);
            t.sessions.retain(|_, at| *at >= oldest_kept);
            !(t.users.is_empty() && t.sessions.is_empty())
        });
        self.inner.any.store(true, Ordering::Release);
    }

    /// True if `principal`'s token is revoked. A token without `iat` of a revoked user is
    /// refused: its age cannot be told.
    pub fn is_revoked(&self, principal: &Principal) -> bool {
        if !self.inner.any.load(Ordering::Acquire) {
            return false;
        }
        let tenants = self
            .inner
            .tenants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(t) = tenants.get(principal.tenant()) else {
            return false;
        };
        if let Some(&at) = t.users.get(principal.subject())
            && principal.issued_at().is_none_or(|iat| iat <= at)
        {
            return true;
        }
        principal
            .origin_jti()
            .is_some_and(|session| t.sessions.contains_key(session))
    }

    /// Revoked users and sessions held, over all tenants.
    pub fn len(&self) -> usize {
        let tenants = self
            .inner
            .tenants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tenants
            .values()
            .map(|t| t.users.len() + t.sessions.len())
            .sum()
    }

    /// True if nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// Counts only: user ids and session ids are not for logs.
impl fmt::Debug for Revocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocations")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tenant;
    use crate::principal::{PrincipalClaims, PrincipalData, TokenUse};

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

    #[test]
    fn revocations_are_dropped_once_no_token_they_cover_can_verify() {
        let list = Revocations::new();
        let now = unix_now();
        let day_ago = now - KEEP.as_secs() - 1;
        list.record("acme", day_ago, |t, at| {
            t.users.insert("old".to_owned(), at);
        });
        list.record("globex", day_ago, |t, at| {
            t.sessions.insert("old".to_owned(), at);
        });
        assert_eq!(list.len(), 2);
        // The next revocation, recorded now, drops both: they are older than any live token.
        list.revoke_user("acme", "new");
        assert_eq!(list.len(), 1);
        assert!(!list.is_revoked(&principal("acme", "old", Some(day_ago - 1), "x")));
        assert!(list.is_revoked(&principal("acme", "new", Some(now - 1), "x")));
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
}
