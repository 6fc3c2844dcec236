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

mod mirror;
#[cfg(feature = "redis")]
mod store;
#[cfg(feature = "redis")]
mod wire;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

#[cfg(feature = "redis")]
pub use store::RedisRevocations;

use crate::Principal;
use crate::error::AuthError;

/// How long a revocation is kept by default: Cognito access and id tokens live at most a day.
/// The largest leeway the verifier accepts is added to any retention: after that no token a
/// revocation covers can still verify.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// `state` bit: at least one revocation was ever recorded (until then a check is one load).
const ANY: u8 = 1;
/// `state` bit: the shared store's mirror cannot be trusted; every check answers
/// [`AuthError::RevocationsUnavailable`]. Set by the store's background task only.
const UNAVAILABLE: u8 = 2;

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
    /// Answer every request with 503 [`AuthError::RevocationsUnavailable`] once the mirror is
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

pub(crate) struct Inner {
    /// [`ANY`] and [`UNAVAILABLE`]: zero means "nothing to check", in one load.
    state: AtomicU8,
    /// Entries older than this (plus the largest leeway) are dropped.
    retention: Duration,
    /// Tokens issued up to this many seconds after a user's revocation are refused too: the
    /// revocation time comes from a replica's clock, `iat` from Cognito's.
    clock_margin: u64,
    tenants: RwLock<mirror::Mirror>,
    /// Revocations recorded here whose write to the shared store has not finished: the store
    /// may lack them for now without having lost anything.
    in_flight: AtomicUsize,
    /// Called with a tenant id when that tenant is revoked ([`Revocations::revoke_tenant_shared`],
    /// here or on another replica): each `CognitoAuth` using this list drops the tenant's
    /// cached tokens and resolver answers.
    tenant_hooks: RwLock<Vec<TenantHook>>,
    /// The shared store, when there is one (set once, right after construction).
    shared: OnceLock<Arc<dyn SharedStore>>,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            state: AtomicU8::new(0),
            retention: DEFAULT_RETENTION,
            clock_margin: 0,
            tenants: RwLock::default(),
            in_flight: AtomicUsize::new(0),
            tenant_hooks: RwLock::default(),
            shared: OnceLock::new(),
        }
    }
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

/// What a `CognitoAuth` does when a tenant is revoked; `false` once that instance is gone.
pub(crate) type TenantHook = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// The boxed futures of [`SharedStore`].
pub(crate) type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store that shares revocations between replicas (feature `redis`). Kept behind a trait so
/// that this module, the verifier and the admin routes do not depend on the feature.
pub(crate) trait SharedStore: Send + Sync {
    /// Writes `entry` to the store and tells the other replicas.
    fn share(&self, entry: Entry) -> StoreFuture<'_, Result<(), RevocationError>>;
    /// Tells the other replicas that `tenant` was revoked.
    fn share_tenant(&self, tenant: String) -> StoreFuture<'_, Result<(), RevocationError>>;
    /// Starts the background synchronisation if it is not running (needs a tokio runtime).
    fn ensure_started(&self);
    /// Resolves once the store was loaded in full for the first time.
    fn loaded(&self) -> StoreFuture<'_, ()>;
}

/// `scheme://host:port/db`: no user, no password, no query.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".to_owned();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let host_start = rest[..authority_end].rfind('@').map_or(0, |at| at + 1);
    format!("{scheme}://{}", &rest[host_start..])
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

    async fn revoke_shared(
        &self,
        kind: Kind,
        tenant: &str,
        id: &str,
    ) -> Result<(), RevocationError> {
        let at = unix_now();
        let Some(store) = self.inner.shared.get() else {
            self.record_new(kind, tenant, id, at);
            return Ok(());
        };
        // Counted before the mirror holds it: the store's loss check must not take this
        // write, not yet in the store, for a loss.
        let _in_flight = InFlight::new(&self.inner.in_flight);
        self.record_new(kind, tenant, id, at);
        let entry = Entry {
            kind,
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            at,
        };
        store.share(entry).await
    }

    /// Revocations recorded here and not yet written to the shared store.
    // Used by the Redis store (feature `redis`).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
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

    /// Registers what a `CognitoAuth` does when a tenant is revoked.
    pub(crate) fn on_tenant_revoked(&self, hook: TenantHook) {
        self.inner
            .tenant_hooks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(hook);
    }

    /// Runs the hooks for `tenant`, dropping those of instances that are gone.
    pub(crate) fn tenant_revoked(&self, tenant: &str) {
        self.inner
            .tenant_hooks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|hook| hook(tenant));
    }

    /// True if revocations are shared with other replicas through a store.
    pub fn is_shared(&self) -> bool {
        self.inner.shared.get().is_some()
    }

    /// Resolves once the shared store has been loaded in full for the first time (at once for
    /// a list that is not shared). Until then every request is refused with 503
    /// [`AuthError::RevocationsUnavailable`]: a replica must not serve tokens revoked before it
    /// started. Starts the synchronisation if it was not running yet.
    pub async fn loaded(&self) {
        if let Some(store) = self.inner.shared.get() {
            store.ensure_started();
            store.loaded().await;
        }
    }

    /// Starts following the shared store, if any and not yet (needs a tokio runtime).
    pub(crate) fn start(&self) {
        if let Some(store) = self.inner.shared.get() {
            store.ensure_started();
        }
    }

    /// A revocation made here (not one mirrored from the store): counted.
    fn record_new(&self, kind: Kind, tenant: &str, id: &str, at: u64) {
        let entry = Entry {
            kind,
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            at,
        };
        self.merge([entry], unix_now());
        #[cfg(feature = "metrics")]
        metrics::counter!("cognito_authz_revocations_total").increment(1);
    }

    /// Adds `entries` (a later time wins over an earlier one for the same id) and drops those
    /// older than the retention; returns how many entries were added or moved later. Costs what
    /// it adds and drops, never a scan of the whole list (see `mirror`).
    pub(crate) fn merge(&self, entries: impl IntoIterator<Item = Entry>, now: u64) -> usize {
        let oldest_kept = self.oldest_kept(now);
        let mut mirror = self.write();
        let mut changed = 0;
        for entry in entries {
            if entry.at >= oldest_kept && mirror.insert(entry) {
                changed += 1;
            }
        }
        mirror.prune(oldest_kept);
        if mirror.len() > 0 {
            self.inner.state.fetch_or(ANY, Ordering::Release);
        }
        changed
    }

    /// Drops the entries older than the retention (the store's task calls it on a timer, so
    /// that a replica that records nothing still forgets them).
    // Used by the Redis store (feature `redis`).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn prune(&self, now: u64) {
        let oldest_kept = self.oldest_kept(now);
        self.write().prune(oldest_kept);
    }

    /// Up to about `max` entries recorded after the second `after` (from the oldest if `None`),
    /// and the last second read: for writing back to a store that lost them, a page at a time
    /// so that the lock is held briefly.
    // Used by the Redis store (feature `redis`) and tests.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn entries_page(&self, after: Option<u64>, max: usize) -> Option<(Vec<Entry>, u64)> {
        self.read().page(after, max)
    }

    /// Every entry still kept.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> Vec<Entry> {
        self.entries_page(None, usize::MAX)
            .map(|(entries, _)| entries)
            .unwrap_or_default()
    }

    /// Entries recorded at `since` or later, for comparing with the store's count.
    // Used by the Redis store (feature `redis`).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn count_since(&self, since: u64) -> usize {
        self.read().count_since(since)
    }

    // A poisoned lock only means another thread panicked mid-insert; the table is still sound.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, mirror::Mirror> {
        self.inner
            .tenants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, mirror::Mirror> {
        self.inner
            .tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn oldest_kept(&self, now: u64) -> u64 {
        now.saturating_sub(self.inner.retention.as_secs() + crate::MAX_LEEWAY.as_secs())
    }

    // Used by the Redis store (feature `redis`) and tests.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn attach(&self, store: Arc<dyn SharedStore>) {
        // Nothing is known before the first full load: refuse until then (see `loaded`).
        self.inner.state.fetch_or(UNAVAILABLE, Ordering::Release);
        let _ = self.inner.shared.set(store);
    }

    /// Sets or clears "the mirror cannot be trusted"; returns the previous value.
    // Used by the Redis store (feature `redis`) and tests.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn set_unavailable(&self, unavailable: bool) -> bool {
        let previous = if unavailable {
            self.inner.state.fetch_or(UNAVAILABLE, Ordering::AcqRel)
        } else {
            self.inner.state.fetch_and(!UNAVAILABLE, Ordering::AcqRel)
        };
        previous & UNAVAILABLE != 0
    }

    /// The per-request check: one atomic load while nothing is revoked and the store is fine.
    pub(crate) fn check(&self, principal: &Principal) -> Result<(), AuthError> {
        let state = self.inner.state.load(Ordering::Acquire);
        if state == 0 {
            return Ok(());
        }
        if state & UNAVAILABLE != 0 {
            if let Some(store) = self.inner.shared.get() {
                store.ensure_started();
            }
            return Err(AuthError::RevocationsUnavailable);
        }
        if self.lookup(principal) {
            return Err(AuthError::TokenRevoked);
        }
        Ok(())
    }

    /// True if `principal`'s token is revoked. A token without `iat` of a revoked user is
    /// refused: its age cannot be told.
    pub fn is_revoked(&self, principal: &Principal) -> bool {
        if self.inner.state.load(Ordering::Acquire) & ANY == 0 {
            return false;
        }
        self.lookup(principal)
    }

    fn lookup(&self, principal: &Principal) -> bool {
        let mirror = self.read();
        if let Some(at) = mirror.user(principal.tenant(), principal.subject())
            && principal
                .issued_at()
                .is_none_or(|iat| iat <= at.saturating_add(self.inner.clock_margin))
        {
            return true;
        }
        principal
            .origin_jti()
            .is_some_and(|session| mirror.session(principal.tenant(), session))
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

/// Counts a revocation being written to the shared store, until dropped.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
