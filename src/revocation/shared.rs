//! The seam to a store shared between replicas (feature `redis`): the trait the store
//! implements, what a `Revocations` does with it, and the count of writes to it in flight.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::list::UNAVAILABLE;
use super::{Entry, Kind, RevocationError, Revocations, unix_now};

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

impl Revocations {
    pub(super) async fn revoke_shared(
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

    /// Starts following the shared store, if any and not yet (needs a tokio runtime).
    pub(crate) fn start(&self) {
        if let Some(store) = self.inner.shared.get() {
            store.ensure_started();
        }
    }

    // Used by the Redis store (feature `redis`) and tests.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn attach(&self, store: Arc<dyn SharedStore>) {
        // Nothing is known before the first full load: refuse until then (see `loaded`).
        self.inner.state.fetch_or(UNAVAILABLE, Ordering::Release);
        let _ = self.inner.shared.set(store);
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
