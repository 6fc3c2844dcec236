//! Revocation: refusing tokens of users signed out (or disabled) before the tokens expire.
//!
//! Cognito's `GlobalSignOut`, `AdminUserGlobalSignOut` and `RevokeToken` make Cognito's own APIs
//! refuse a user's tokens, but an access token verified locally, as this crate does, stays valid
//! until its `exp`. A [`Revocations`] list given to
//! [`CognitoAuthBuilder::revocations`](crate::CognitoAuthBuilder::revocations) closes that gap in
//! this process: every request, cached or not, is checked against it, and the admin routes
//! (feature `admin`) record their sign-outs and disables in it.
//!
//! With feature `redis`, `RedisRevocations` shares the list between replicas: each replica
//! keeps a mirror of a Redis sorted set in its own list (so the per-request check stays a local
//! lookup), loads it in full at start and after every reconnect, and follows changes through
//! Redis pub/sub. [`Revocations::revoke_user_shared`] and
//! [`Revocations::revoke_session_shared`] record a revocation here at once and then in Redis.
//! See README, "Running several replicas".
//!
//! The files: `list` holds the in-process list (its state flags, the table behind its lock,
//! recording, pruning and the per-request check); `mirror` the table and its time index;
//! `shared` the seam to a store shared between replicas; `store` and `wire` the Redis store
//! (feature `redis`).

mod list;
mod mirror;
mod shared;
#[cfg(feature = "redis")]
mod store;
#[cfg(feature = "redis")]
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

#[cfg(feature = "redis")]
pub use store::RedisRevocations;

pub(crate) use list::Inner;
#[cfg(feature = "redis")]
pub(crate) use shared::StoreFuture;
pub(crate) use shared::{SharedStore, redacted};

/// How long a revocation is kept by default: Cognito access and id tokens live at most a day.
/// The largest leeway the verifier accepts is added to any retention: after that no token a
/// revocation covers can still verify.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Default of `[revocations] clock_margin_seconds` (`RedisRevocations::clock_margin`, feature
/// `redis`): see README, "Running several replicas", on clocks.
pub const DEFAULT_CLOCK_MARGIN: Duration = Duration::from_secs(5);

/// What to do with requests while the shared revocation store cannot be reached
/// (`on_store_unavailable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnStoreUnavailable {
    /// Keep answering with the mirror as last loaded; the outage is logged (and, with feature
    /// `metrics`, visible in `cognito_authz_revocation_store_up`). Revocations recorded on other
    /// replicas during the outage are not seen here until the store is back.
    #[default]
    ServeLastKnown,
    /// Answer every request with 503 [`AuthError::RevocationsUnavailable`](crate::AuthError::RevocationsUnavailable) once the mirror is
    /// older than `max_staleness_seconds`.
    Refuse,
}

/// A revocation could not be shared with the other replicas. It is recorded in this process
/// (this replica refuses the tokens); retry to share it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The shared store did not take the write (unreachable, timed out, or refused it). The
    /// text says which, without naming the store's address or credentials.
    #[error("the revocation was recorded in this process but not in the shared store ({0})")]
    NotShared(&'static str),
}

/// Users and sessions whose tokens are refused until they would have expired anyway.
///
/// Cheap to clone (one shared list). Revocations are keyed by tenant id and kept for a day (the
/// longest a Cognito access or id token lives) plus the largest leeway:
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
    pub(crate) inner: Arc<Inner>,
}

/// What a revocation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A user (`sub`): tokens issued at or before the revocation.
    User,
    /// A sign-in session (`origin_jti`): all its tokens.
    Session,
}

/// One revocation, as stored and shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    pub(crate) tenant: String,
    pub(crate) id: String,
    /// Unix second of the revocation.
    pub(crate) at: u64,
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Revocations {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list keeping revocations for `retention` (plus the largest leeway) instead of
    /// [`DEFAULT_RETENTION`]. Use the longest token lifetime of your app clients.
    pub fn with_retention(retention: Duration) -> Self {
        Self::with_settings(retention, Duration::ZERO)
    }

    pub(crate) fn with_settings(retention: Duration, clock_margin: Duration) -> Self {
        Revocations {
            inner: Arc::new(Inner {
                retention,
                clock_margin: clock_margin.as_secs(),
                ..Inner::default()
            }),
        }
    }

    /// Refuses every token of `subject` (the user's `sub`) in `tenant` (the tenant id) issued at
    /// or before now, in this process only.
    pub fn revoke_user(&self, tenant: &str, subject: &str) {
        self.record_new(Kind::User, tenant, subject, unix_now());
    }

    /// Refuses every token of the sign-in session `origin_jti` in `tenant` (the tenant id), in
    /// this process only.
    pub fn revoke_session(&self, tenant: &str, origin_jti: &str) {
        self.record_new(Kind::Session, tenant, origin_jti, unix_now());
    }

    /// [`revoke_user`](Self::revoke_user), then, if the list is shared (feature `redis`),
    /// writes it to the shared store so that every replica refuses the tokens. This process
    /// refuses them at once, whatever the outcome; an error means the other replicas may not
    /// know: retry. Without a shared store this is `revoke_user` and never fails.
    pub async fn revoke_user_shared(
        &self,
        tenant: &str,
        subject: &str,
    ) -> Result<(), RevocationError> {
        self.revoke_shared(Kind::User, tenant, subject).await
    }

    /// [`revoke_session`](Self::revoke_session), then shared as
    /// [`revoke_user_shared`](Self::revoke_user_shared) is.
    pub async fn revoke_session_shared(
        &self,
        tenant: &str,
        origin_jti: &str,
    ) -> Result<(), RevocationError> {
        self.revoke_shared(Kind::Session, tenant, origin_jti).await
    }

    /// Offboards `tenant` on every replica at once: each `CognitoAuth` using this list, here
    /// and (if shared, feature `redis`) on every replica following the store, drops the
    /// tenant's cached tokens and resolver answers, as
    /// [`CognitoAuth::remove_tenant`](crate::CognitoAuth::remove_tenant) does, so the tenant's
    /// next request asks the resolver anew (remove it from the resolver's store first: then that
    /// request is refused). This replica applies it at once; an error means the others were
    /// not told: retry. A replica disconnected from the store at that moment does not see it;
    /// its resolver answers expire after `resolver_ttl` anyway.
    pub async fn revoke_tenant_shared(&self, tenant: &str) -> Result<(), RevocationError> {
        self.tenant_revoked(tenant);
        match self.inner.shared.get() {
            Some(store) => store.share_tenant(tenant.to_owned()).await,
            None => Ok(()),
        }
    }

    /// True if revocations are shared with other replicas through a store.
    pub fn is_shared(&self) -> bool {
        self.inner.shared.get().is_some()
    }

    /// Resolves once the shared store has been loaded in full for the first time (at once for
    /// a list that is not shared). Until then every request is refused with 503
    /// [`AuthError::RevocationsUnavailable`](crate::AuthError::RevocationsUnavailable): a replica must not serve tokens revoked before it
    /// started. Starts the synchronisation if it was not running yet.
    pub async fn loaded(&self) {
        if let Some(store) = self.inner.shared.get() {
            store.ensure_started();
            store.loaded().await;
        }
    }

    /// Revoked users and sessions held, over all tenants.
    pub fn len(&self) -> usize {
        self.read().len()
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
            .field("shared", &self.is_shared())
            .finish()
    }
}

#[cfg(test)]
mod tests;
