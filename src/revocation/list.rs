//! The in-process list: its state flags, the table behind its lock, what records and prunes
//! entries, and the per-request check.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use super::{DEFAULT_RETENTION, Entry, Kind, Revocations, SharedStore, mirror, unix_now};
use crate::Principal;
use crate::error::AuthError;

/// `state` bit: at least one revocation was ever recorded (until then a check is one load).
const ANY: u8 = 1;
/// `state` bit: the shared store's mirror cannot be trusted; every check answers
/// [`AuthError::RevocationsUnavailable`]. Set by the store's background task only.
pub(super) const UNAVAILABLE: u8 = 2;

pub(crate) struct Inner {
    /// [`ANY`] and [`UNAVAILABLE`]: zero means "nothing to check", in one load.
    pub(super) state: AtomicU8,
    /// Entries older than this (plus the largest leeway) are dropped.
    pub(super) retention: Duration,
    /// Tokens issued up to this many seconds after a user's revocation are refused too: the
    /// revocation time comes from a replica's clock, `iat` from Cognito's.
    pub(super) clock_margin: u64,
    pub(super) tenants: RwLock<mirror::Mirror>,
    /// Revocations recorded here whose write to the shared store has not finished: the store
    /// may lack them for now without having lost anything.
    pub(super) in_flight: AtomicUsize,
    /// Called with a tenant id when that tenant is revoked ([`Revocations::revoke_tenant_shared`],
    /// here or on another replica): each `CognitoAuth` using this list drops the tenant's
    /// cached tokens and resolver answers.
    pub(super) tenant_hooks: RwLock<Vec<TenantHook>>,
    /// The shared store, when there is one (set once, right after construction).
    pub(super) shared: OnceLock<Arc<dyn SharedStore>>,
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

/// What a `CognitoAuth` does when a tenant is revoked; `false` once that instance is gone.
pub(crate) type TenantHook = Box<dyn Fn(&str) -> bool + Send + Sync>;

impl Revocations {
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

    /// A revocation made here (not one mirrored from the store): counted.
    pub(super) fn record_new(&self, kind: Kind, tenant: &str, id: &str, at: u64) {
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
    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, mirror::Mirror> {
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
}
