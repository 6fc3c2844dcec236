//! The resolver's in-memory index of the table: the exact issuers of every tenant the catalog
//! would accept, so that a token of any other issuer is refused without a DynamoDB request.
//!
//! The index holds a 64-bit SipHash of each issuer under random keys drawn at each re-read, not
//! the strings: about 11 bytes per issuer instead of about 100 (100,000 tenants: see the README).
//! A collision only lets one made-up issuer through to a `GetItem` (which then finds no tenant
//! owning it); the random keys keep an attacker from computing one.
//!
//! Without it every made-up pool id in `iss` costs one `GetItem`: the catalog amplifies
//! unauthenticated traffic into store reads. With it:
//!
//! - the first lookup loads the index: one consistent `GetItem` of the version item, then a
//!   paginated consistent `Scan`;
//! - at most once per refresh interval a lookup starts a check of the version item (one
//!   `GetItem`), which re-reads the table only when the version changed (`put`, `remove` and
//!   [`bump_version`](super::DynamoDbCatalog::bump_version) change it in the same transaction as
//!   their write). The check runs as a task of its own: every lookup, the one that started it
//!   included, answers from the index it has until the new one replaces it;
//! - items refused by the catalog's rules (malformed, unguarded, a configured tenant's id or
//!   pool, a JWKS URL not allowed: a half-written item too) are left out, with a `WARN` naming
//!   the table, the pool and the reason, at each re-read;
//! - a failed check or re-read keeps the last good index (logged as `WARN`), and is tried again
//!   after [`RETRY_AFTER_FAILURE`] (at most the refresh interval). Before any index was loaded,
//!   a failure is a store failure (503), and lookups during the retry pause get it at once,
//!   without a request.
//!
//! The version is read before the table, so a write racing with a re-read is either in it or
//! changes the version that the next check sees.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoDbCatalog;
use crate::catalog::CatalogError;
use crate::catalog::item;

/// The longest pause after a failed check or load before the next one.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// The index and when to check it again. Shared by clones of a catalog.
#[derive(Default)]
pub(crate) struct Index {
    state: Mutex<State>,
    /// Held by the one lookup or task that checks or loads.
    refreshing: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct State {
    snapshot: Option<Arc<Snapshot>>,
    /// When the version item is to be read again; `None`: at the next lookup.
    next_check: Option<Instant>,
    /// Why the last load failed, while no index was ever loaded.
    failure: Option<Arc<CatalogError>>,
}

/// One reading of the table.
struct Snapshot {
    /// The version item's counter as read before the table (`None`: no version item).
    version: Option<String>,
    /// The keyed hash of each issuer; `keys` draws it.
    issuers: HashSet<u64>,
    keys: RandomState,
}

impl Snapshot {
    fn contains(&self, iss: &str) -> bool {
        self.issuers.contains(&self.keys.hash_one(iss))
    }
}

/// What a lookup finds in the index.
enum Found {
    Known(bool),
    /// No index yet, and the last attempt to load one failed.
    Failed(Arc<CatalogError>),
    Due,
}

impl Index {
    /// The next lookup checks the version item (after a write through this catalog).
    pub(crate) fn mark_due(&self) {
        self.lock().next_check = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is replaced whole under the lock: a panic cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn find(&self, iss: &str, now: Instant) -> (Found, Option<Arc<Snapshot>>) {
        let state = self.lock();
        let due = state.next_check.is_none_or(|at| now >= at);
        let found = match (&state.snapshot, &state.failure) {
            _ if due => Found::Due,
            (Some(snapshot), _) => Found::Known(snapshot.contains(iss)),
            (None, Some(failure)) => Found::Failed(failure.clone()),
            (None, None) => Found::Due,
        };
        (found, state.snapshot.clone())
    }

    fn answer(&self, iss: &str) -> Result<bool, Arc<CatalogError>> {
        let state = self.lock();
        match (&state.snapshot, &state.failure) {
            (Some(snapshot), _) => Ok(snapshot.contains(iss)),
            (None, Some(failure)) => Err(failure.clone()),
            // Not reached: a load leaves either an index or a failure.
            (None, None) => Ok(false),
        }
    }
}

impl DynamoDbCatalog {
    /// Whether `iss` is an issuer of a tenant the catalog holds, from the index (checked or
    /// loaded first when due). `Err`: no index could be loaded yet.
    pub(crate) async fn indexed(&self, iss: &str) -> Result<bool, Arc<CatalogError>> {
        let (found, snapshot) = self.index.find(iss, Instant::now());
        match found {
            Found::Known(known) => return Ok(known),
            Found::Failed(failure) => return Err(failure),
            Found::Due => {}
        }
        if snapshot.is_some() {
            // One task checks (and re-reads, which takes seconds for a large table) in the
            // background; lookups, this one included, answer from the index they have.
            if let Ok(refreshing) = self.index.refreshing.clone().try_lock_owned() {
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        let catalog = self.clone();
                        runtime.spawn(async move {
                            catalog.refresh_if_due().await;
                            drop(refreshing);
                        });
                    }
                    // Polled outside a tokio runtime: this lookup does it.
                    Err(_) => {
                        self.refresh_if_due().await;
                        drop(refreshing);
                    }
                }
            }
        } else {
            // Nothing to answer from yet: wait for the one load.
            let _refreshing = self.index.refreshing.lock().await;
            self.refresh_if_due().await;
        }
        self.index.answer(iss)
    }

    /// Checks the version item and re-reads the table if it changed, unless another lookup did
    /// so while this one waited. The caller holds `refreshing`. Cancelled midway (a dropped
    /// request), it leaves the index as it was, still due.
    async fn refresh_if_due(&self) {
        let (found, previous) = self.index.find("", Instant::now());
        if !matches!(found, Found::Due) {
            return;
        }
        let outcome = match self.version().await {
            Ok(version) if previous.as_ref().is_some_and(|p| p.version == version) => Ok(None),
            Ok(version) => {
                let keys = RandomState::new();
                self.read_issuers(&keys).await.map(|issuers| {
                    Some(Snapshot {
                        version,
                        issuers,
                        keys,
                    })
                })
            }
            Err(err) => Err(err),
        };
        let now = Instant::now();
        let mut state = self.index.lock();
        match outcome {
            Ok(unchanged_or_new) => {
                if let Some(snapshot) = unchanged_or_new {
                    tracing::info!(
                        target: "cognito_authz::catalog",
                        table = %self.table,
                        version = snapshot.version.as_deref().unwrap_or("none"),
                        issuers = snapshot.issuers.len(),
                        "catalog index loaded",
                    );
                    state.snapshot = Some(Arc::new(snapshot));
                }
                state.failure = None;
                state.next_check = Some(now + self.refresh_interval);
            }
            Err(err) => {
                if state.snapshot.is_some() {
                    tracing::warn!(
                        target: "cognito_authz::catalog",
                        table = %self.table,
                        error = %err,
                        "catalog index refresh failed; keeping the last good index",
                    );
                } else {
                    tracing::warn!(
                        target: "cognito_authz::catalog",
                        table = %self.table,
                        error = %err,
                        "catalog index could not be loaded; catalog tenants get 503 until it is",
                    );
                    state.failure = Some(Arc::new(err));
                }
                state.next_check = Some(now + RETRY_AFTER_FAILURE.min(self.refresh_interval));
            }
        }
    }

    /// The version item's counter; `None` when there is no version item.
    async fn version(&self) -> Result<Option<String>, CatalogError> {
        let Some(found) = self.get_item(item::VERSION_KEY).await? else {
            return Ok(None);
        };
        match found.get(item::VERSION) {
            Some(AttributeValue::N(n)) => Ok(Some(n.clone())),
            // Anything else still identifies this state of the item.
            other => Ok(Some(format!("{other:?}"))),
        }
    }

    /// The keyed hash of every issuer of every item the catalog accepts, page by page: of each
    /// tenant item only its pool, tenant id and issuer hashes are kept until its guard is seen,
    /// so memory stays near that of the index, not of the table.
    async fn read_issuers(&self, keys: &RandomState) -> Result<HashSet<u64>, CatalogError> {
        let mut owners: HashMap<String, String> = HashMap::new();
        let mut candidates: Vec<(String, String, Box<[u64]>)> = Vec::new();
        let mut pages = self.scan_pages(None).await.send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| self.store_error("Scan", err))?;
            for scanned in page.items.unwrap_or_default() {
                let key = match scanned.get(item::KEY) {
                    Some(AttributeValue::S(key)) => key.as_str(),
                    _ => "",
                };
                if key == item::VERSION_KEY {
                    continue;
                }
                if let Some(tenant_id) = item::guarded_tenant_id(key) {
                    // A broken guard reserves nothing: its tenant item is refused below.
                    if let Ok(owner) = item::parse_guard(&scanned) {
                        owners.insert(tenant_id.to_owned(), owner);
                    }
                    continue;
                }
                match self.checked(key, &scanned) {
                    Ok((entry, tenant)) => candidates.push((
                        entry.user_pool_id,
                        entry.tenant_id,
                        tenant
                            .issuers()
                            .iter()
                            .map(|i| keys.hash_one(i.as_str()))
                            .collect(),
                    )),
                    Err(err) => {
                        let _ = self.refused_as_unknown::<()>(Err(err));
                    }
                }
            }
        }
        let mut issuers = HashSet::new();
        for (pool, tenant_id, tenant_issuers) in candidates {
            let owner = owners.get(&tenant_id).cloned();
            match self.claimed(&pool, &tenant_id, owner) {
                Ok(()) => issuers.extend(tenant_issuers.into_vec()),
                Err(err) => {
                    let _ = self.refused_as_unknown::<()>(Err(err));
                }
            }
        }
        issuers.shrink_to_fit();
        Ok(issuers)
    }
}
