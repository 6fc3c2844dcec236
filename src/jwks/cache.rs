//! The cache proper: one slot of keys per JWKS URL set, and the rules of the [module
//! docs](super) for when a slot is fetched.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::fetch::{Endpoints, HttpFetcher, JwksFetcher, KeyMap};
use super::{FetchError, JwksConfig, VerifyingKey};
use crate::error::{AuthError, ConfigError};
use crate::tenant::Tenant;

/// How many JWKS URL sets (one per user pool) the cache holds at most. Far above the pools of
/// any real deployment, so it never evicts a pool in use; it only stops a runaway tenant
/// resolver (a catalog naming ever new pools) from growing memory without end. An evicted pool
/// costs one fetch when it is next used.
const MAX_KEY_SLOTS: u64 = 100_000;

/// A pool whose keys were not used for this long (a tenant removed at runtime, say) gives its
/// memory back; if it comes back, its keys are fetched again.
const SLOT_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

struct KeySet {
    keys: KeyMap,
    fetched_at: Instant,
}

/// The keys of one JWKS URL.
struct KeySlot {
    current: RwLock<Option<Arc<KeySet>>>,
    /// Held by the one task fetching; the others wait on it (single flight). Holds the time of
    /// the last attempt, for the cooldown.
    fetching: Mutex<Option<Instant>>,
    /// A background refresh is under way.
    refreshing: AtomicBool,
}

impl KeySlot {
    fn current(&self) -> Option<Arc<KeySet>> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn store(&self, set: KeySet) {
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(set));
    }
}

struct RefreshPending<'a>(&'a AtomicBool);

impl Drop for RefreshPending<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn cooling_down(cooldown: Duration, last_attempt: Option<Instant>) -> bool {
    last_attempt.is_some_and(|at| at.elapsed() < cooldown)
}

/// Fetches with the slot's fetch lock held, recording the attempt for the cooldown. A failure
/// keeps the held keys.
async fn fetch_into(
    fetcher: &dyn JwksFetcher,
    endpoints: Endpoints<'_>,
    slot: &KeySlot,
    last_attempt: &mut Option<Instant>,
) {
    let tenant_id = endpoints.tenant_id;
    *last_attempt = Some(Instant::now());
    match fetcher.fetch(endpoints).await {
        Ok(keys) => {
            tracing::debug!(tenant = tenant_id, keys = keys.len(), "JWKS fetched");
            slot.store(KeySet {
                keys,
                fetched_at: Instant::now(),
            });
        }
        Err(err) => {
            tracing::warn!(tenant = tenant_id, error = %err, "JWKS fetch failed; keeping held keys");
        }
    }
}

/// A key set given up front instead of fetched: the `explain` command's `--jwks FILE`.
#[cfg(feature = "cli")]
#[derive(Clone)]
pub(crate) struct FixedKeys(KeyMap);

#[cfg(feature = "cli")]
impl FixedKeys {
    /// Parses a JWKS document by the rules a fetched one follows.
    pub(crate) fn parse(json: &[u8]) -> Result<Self, FetchError> {
        super::key::parse_jwks(json).map(FixedKeys)
    }
}

/// Where a tenant's key set is held: its JWKS URL, and for a replicated pool the fallback URLs
/// too, in order. Tenants share a set only if every URL it can be fetched from is the same:
/// otherwise a tenant naming another's primary URL with fallbacks of its own (a catalog item,
/// say) could fill that tenant's set from its own server during a primary outage.
fn slot_key(tenant: &Tenant) -> std::borrow::Cow<'_, str> {
    match tenant.replica_jwks_urls() {
        [] => tenant.jwks_url().into(),
        fallbacks => format!("{}\n{}", tenant.jwks_url(), fallbacks.join("\n")).into(),
    }
}

/// Every tenant's signing keys, keyed by JWKS URLs (see `slot_key`) then `kid`. See the
/// [module docs](super).
pub(crate) struct JwksCache {
    config: JwksConfig,
    /// Called whenever the rules allow a fetch; an [`HttpFetcher`] outside tests.
    fetcher: Arc<dyn JwksFetcher>,
    slots: moka::sync::Cache<String, Arc<KeySlot>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("config", &self.config)
            .field("urls", &self.slots.entry_count())
            .finish()
    }
}

impl JwksCache {
    /// Builds an empty cache fetching over HTTP; `metrics_tenant_label`: whether fetch metrics
    /// carry a `tenant` label.
    pub(crate) fn over_http(
        config: JwksConfig,
        metrics_tenant_label: bool,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let fetcher = HttpFetcher::new(&config, metrics_tenant_label)?;
        Ok(Self::with_valid_config(config, Arc::new(fetcher)))
    }

    /// Builds an empty cache that fetches with `fetcher`: the seam through which tests drive
    /// the cache's rules without HTTP.
    #[cfg(test)]
    pub(crate) fn with_fetcher(
        config: JwksConfig,
        fetcher: Arc<dyn JwksFetcher>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::with_valid_config(config, fetcher))
    }

    fn with_valid_config(config: JwksConfig, fetcher: Arc<dyn JwksFetcher>) -> Self {
        let slots = moka::sync::Cache::builder()
            .max_capacity(MAX_KEY_SLOTS)
            .time_to_idle(SLOT_IDLE_TIMEOUT)
            .build();
        JwksCache {
            config,
            fetcher,
            slots,
        }
    }

    /// The slot of `tenant`'s JWKS URL. Looked up by URL once per tenant, then remembered by
    /// the tenant, so verification skips hashing the URL.
    fn slot(&self, tenant: &Tenant) -> Arc<KeySlot> {
        let remembered = tenant
            .key_slot
            .get_or_init(|| self.slot_by_key(&slot_key(tenant)) as Arc<dyn Any + Send + Sync>);
        // Only this function fills the tenant's slot, always with a `KeySlot`.
        Arc::clone(remembered)
            .downcast::<KeySlot>()
            .unwrap_or_else(|_| self.slot_by_key(&slot_key(tenant)))
    }

    fn slot_by_key(&self, key: &str) -> Arc<KeySlot> {
        self.slots.get_with_by_ref(key, || {
            Arc::new(KeySlot {
                current: RwLock::new(None),
                fetching: Mutex::new(None),
                refreshing: AtomicBool::new(false),
            })
        })
    }

    /// The key `kid` of `tenant`, fetching the key set if needed and allowed.
    pub(crate) async fn key(
        &self,
        tenant: &Tenant,
        kid: &str,
    ) -> Result<Arc<VerifyingKey>, AuthError> {
        let slot = self.slot(tenant);
        if let Some(set) = slot.current()
            && let Some(key) = set.keys.get(kid)
        {
            let age = set.fetched_at.elapsed();
            if age < self.config.refresh_interval {
                return Ok(key.clone());
            }
            if age < self.config.max_key_age {
                // Stale: answer with the held key now; a background task refreshes.
                self.spawn_refresh(tenant, &slot);
                return Ok(key.clone());
            }
            // Too old to serve: fetch now, like a miss.
        }

        // Unknown kid, keys too old, or nothing fetched yet: wait for any fetch under way,
        // then decide.
        let mut last_attempt = slot.fetching.lock().await;
        if let Some(set) = slot.current()
            && let Some(key) = set.keys.get(kid)
            && set.fetched_at.elapsed() < self.config.max_key_age
        {
            return Ok(key.clone());
        }
        if !cooling_down(self.config.cooldown, *last_attempt) {
            let endpoints = Endpoints::of(tenant);
            fetch_into(&*self.fetcher, endpoints, &slot, &mut last_attempt).await;
        }
        drop(last_attempt);
        match slot.current() {
            Some(set) => self.serve_stale(tenant, &set, kid),
            None => Err(AuthError::KeysUnavailable {
                tenant: tenant.id_arc().clone(),
            }),
        }
    }

    /// Starts one background refresh of `slot` unless one is under way. Without a tokio
    /// runtime (no HTTP is possible then anyway) nothing happens and the held keys are served.
    fn spawn_refresh(&self, tenant: &Tenant, slot: &Arc<KeySlot>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if slot.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let fetcher = Arc::clone(&self.fetcher);
        let cooldown = self.config.cooldown;
        let url = tenant.jwks_url().to_owned();
        let fallbacks = tenant.replica_jwks_urls().to_vec();
        let tenant_id = tenant.id_arc().clone();
        let slot = slot.clone();
        runtime.spawn(async move {
            // Cleared however the task ends, so a cancelled refresh cannot block later ones.
            let _pending = RefreshPending(&slot.refreshing);
            let mut last_attempt = slot.fetching.lock().await;
            if !cooling_down(cooldown, *last_attempt) {
                let endpoints = Endpoints {
                    tenant_id: &tenant_id,
                    url: &url,
                    fallbacks: &fallbacks,
                };
                fetch_into(&*fetcher, endpoints, &slot, &mut last_attempt).await;
            }
        });
    }

    /// Answers from a held set: the key, 401 if the set lacks it, 503 if the set is too old.
    fn serve_stale(
        &self,
        tenant: &Tenant,
        set: &KeySet,
        kid: &str,
    ) -> Result<Arc<VerifyingKey>, AuthError> {
        if set.fetched_at.elapsed() >= self.config.max_key_age {
            return Err(AuthError::KeysUnavailable {
                tenant: tenant.id_arc().clone(),
            });
        }
        set.keys.get(kid).cloned().ok_or(AuthError::UnknownKeyId)
    }

    /// Lets go of the keys of `tenant` (an offboarded tenant); they are fetched again if it
    /// comes back.
    pub(crate) fn forget(&self, tenant: &Tenant) {
        self.slots.invalidate(slot_key(tenant).as_ref());
    }

    /// Holds `keys` as `tenant`'s key set, as if just fetched. It counts as a fetch attempt:
    /// an unknown kid is then refused without fetching (within the cooldown).
    #[cfg(feature = "cli")]
    pub(crate) async fn install(&self, tenant: &Tenant, keys: &FixedKeys) {
        let slot = self.slot(tenant);
        let mut last_attempt = slot.fetching.lock().await;
        *last_attempt = Some(Instant::now());
        slot.store(KeySet {
            keys: keys.0.clone(),
            fetched_at: Instant::now(),
        });
    }

    /// Fetches `tenant`'s keys now (startup prefetch; the fetch still counts for the cooldown).
    pub(crate) async fn prefetch(&self, tenant: &Tenant) -> Result<(), FetchError> {
        let slot = self.slot(tenant);
        let mut last_attempt = slot.fetching.lock().await;
        *last_attempt = Some(Instant::now());
        let keys = self.fetcher.fetch(Endpoints::of(tenant)).await?;
        slot.store(KeySet {
            keys,
            fetched_at: Instant::now(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The cache's rules driven through the fetcher seam: a fetcher that counts its calls and
    //! answers only when the test lets it, so each interleaving is made to happen rather than
    //! hoped for. The same rules over real HTTP are in `tests/key_cache/`.

    use std::sync::atomic::AtomicUsize;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use futures_util::future::BoxFuture;
    use tokio::sync::Semaphore;

    use super::*;

    /// Counts fetches; each waits for a permit of `gate`. Calls from `fail_from` on (1-based)
    /// fail with a 503, the others return `keys`.
    struct GatedFetcher {
        calls: AtomicUsize,
        gate: Semaphore,
        keys: KeyMap,
        fail_from: usize,
    }

    impl GatedFetcher {
        fn new(permits: usize, fail_from: usize) -> Arc<Self> {
            use aws_lc_rs::signature::KeyPair as _;
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            let public = pair.public_key();
            let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
            let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
            let key = VerifyingKey::from_components(&n, &e).unwrap();
            Arc::new(GatedFetcher {
                calls: AtomicUsize::new(0),
                gate: Semaphore::new(permits),
                keys: KeyMap::from([("k1".to_owned(), Arc::new(key))]),
                fail_from,
            })
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }

        /// Waits (bounded) until `n` fetches have started.
        async fn until_calls(&self, n: usize) {
            tokio::time::timeout(Duration::from_secs(5), async {
                while self.calls() < n {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{} fetches started, expected {n}", self.calls()));
        }
    }

    impl JwksFetcher for GatedFetcher {
        fn fetch<'a>(&'a self, _: Endpoints<'a>) -> BoxFuture<'a, Result<KeyMap, FetchError>> {
            Box::pin(async move {
                let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                self.gate.acquire().await.unwrap().forget();
                if call >= self.fail_from {
                    Err(FetchError::Status(503))
                } else {
                    Ok(self.keys.clone())
                }
            })
        }
    }

    fn tenant() -> Arc<Tenant> {
        let tenant = Tenant::builder("acme", "us-east-1_AbCdEf123")
            .client_id("client-a")
            .build()
            .unwrap();
        Arc::new(tenant)
    }

    fn cache(
        fetcher: &Arc<GatedFetcher>,
        configure: impl FnOnce(&mut JwksConfig),
    ) -> Arc<JwksCache> {
        let mut config = JwksConfig::default();
        configure(&mut config);
        Arc::new(JwksCache::with_fetcher(config, fetcher.clone()).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn lookups_during_a_fetch_wait_for_it_and_share_its_result() {
        let fetcher = GatedFetcher::new(0, usize::MAX);
        let (cache, tenant) = (cache(&fetcher, |_| {}), tenant());
        let lookups: Vec<_> = (0..32)
            .map(|i| {
                let (cache, tenant) = (cache.clone(), tenant.clone());
                let kid = if i % 2 == 0 { "k1" } else { "unknown" };
                tokio::spawn(async move { cache.key(&tenant, kid).await })
            })
            .collect();

        fetcher.until_calls(1).await;
        // With the one fetch held open, every lookup is waiting on it and none started another.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(fetcher.calls(), 1);
        assert!(lookups.iter().all(|lookup| !lookup.is_finished()));

        fetcher.gate.add_permits(1);
        for (i, lookup) in lookups.into_iter().enumerate() {
            let result = tokio::time::timeout(Duration::from_secs(5), lookup)
                .await
                .expect("a waiting lookup ends once the shared fetch answers")
                .unwrap();
            if i % 2 == 0 {
                assert!(result.is_ok(), "lookup {i}: {:?}", result.err());
            } else {
                assert!(
                    matches!(result, Err(AuthError::UnknownKeyId)),
                    "lookup {i}: {:?}",
                    result.err()
                );
            }
        }
        // The unknown kid did not drive a second fetch: the cooldown covers the waiters too.
        assert_eq!(fetcher.calls(), 1);
        assert!(matches!(
            cache.key(&tenant, "unknown").await,
            Err(AuthError::UnknownKeyId)
        ));
        assert_eq!(fetcher.calls(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stale_keys_are_served_without_waiting_for_the_one_background_refresh() {
        // The first fetch succeeds at once; the refresh is held open, then fails. The cooldown
        // leaves the test half a second, from the refresh on, to see that it is not retried.
        const COOLDOWN: Duration = Duration::from_millis(500);
        let fetcher = GatedFetcher::new(1, 2);
        let cache = cache(&fetcher, |config| {
            config.cooldown = COOLDOWN;
            config.refresh_interval = Duration::ZERO;
        });
        let tenant = tenant();
        assert!(cache.key(&tenant, "k1").await.is_ok());
        assert_eq!(fetcher.calls(), 1);
        tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;

        // Every lookup finds the keys stale; each answers from them at once, and one refresh
        // starts, however many lookups saw the keys stale.
        for _ in 0..20 {
            let served = tokio::time::timeout(Duration::from_secs(1), cache.key(&tenant, "k1"))
                .await
                .expect("a stale key is served without waiting for the refresh");
            assert!(served.is_ok());
        }
        fetcher.until_calls(2).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(fetcher.calls(), 2);

        // The refresh fails: the held keys keep working, and the failure is not retried within
        // the cooldown.
        fetcher.gate.add_permits(1);
        tokio::time::timeout(Duration::from_secs(5), async {
            while cache.slot(&tenant).refreshing.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the refresh ends once its fetch answers");
        assert!(cache.key(&tenant, "k1").await.is_ok());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(fetcher.calls(), 2);
    }
}
