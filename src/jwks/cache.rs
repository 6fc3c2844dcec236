//! The cache proper: one slot of keys per JWKS URL set, and the rules of the [module
//! docs](super) for when a slot is fetched.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{VerifyingKey, fetch};
use crate::error::{AuthError, ConfigError};
use crate::tenant::Tenant;

/// Settings of the key cache. The defaults follow aws-jwt-verify where it has one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwksConfig {
    /// Minimum time between two fetches of one JWKS URL, whatever triggers them. Default 10 s.
    pub cooldown: Duration,
    /// Keys older than this are refreshed by a background task. Default 15 min.
    pub refresh_interval: Duration,
    /// Held keys are served while refreshes fail, until they are this old. Default 24 h.
    pub max_key_age: Duration,
    /// Timeout of one fetch, connection included. Default 3 s.
    pub fetch_timeout: Duration,
    /// Largest JWKS response body accepted. Default 64 KiB (Cognito's is about 1 KiB).
    pub max_response_bytes: usize,
}

/// The shortest cooldown accepted: at most ten fetches per second per pool, whatever the
/// traffic. Production should keep the 10 s default.
pub const MIN_COOLDOWN: Duration = Duration::from_millis(100);

impl JwksConfig {
    /// Refuses settings that would break the cache's promises (fetch amplification, keys served
    /// past their maximum age, fetches that can never succeed).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cooldown < MIN_COOLDOWN {
            return Err(ConfigError::invalid(
                "jwks.cooldown",
                "must be at least 100 ms: it is what stops unknown kids from driving fetches",
            ));
        }
        if self.fetch_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "jwks.fetch_timeout",
                "must be positive",
            ));
        }
        if self.max_response_bytes < 1024 {
            return Err(ConfigError::invalid(
                "jwks.max_response_bytes",
                "must be at least 1024 (a Cognito key set is about 1 KiB)",
            ));
        }
        if self.max_key_age < self.refresh_interval {
            return Err(ConfigError::invalid(
                "jwks.max_key_age",
                "must not be shorter than jwks.refresh_interval",
            ));
        }
        Ok(())
    }
}

impl Default for JwksConfig {
    fn default() -> Self {
        JwksConfig {
            cooldown: Duration::from_secs(10),
            refresh_interval: Duration::from_secs(15 * 60),
            max_key_age: Duration::from_secs(24 * 60 * 60),
            fetch_timeout: Duration::from_secs(3),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// Why a JWKS fetch failed. Logged (with the tenant id), never sent to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer within the fetch timeout.
    #[error("timed out")]
    Timeout,
    /// Connection or protocol failure.
    #[error("transport error: {0}")]
    Transport(String),
    /// A status other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body exceeded the size limit.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not a JWKS JSON document.
    #[error("response is not a JWKS document")]
    InvalidJson,
    /// The document has no RSA key usable for RS256 with at least 2048 bits.
    #[error("no usable RS256 key in the key set")]
    NoUsableKeys,
}

impl FetchError {
    /// The `result` label of [`JWKS_FETCHES_TOTAL`](crate::metrics::JWKS_FETCHES_TOTAL).
    fn metric_label(&self) -> &'static str {
        match self {
            FetchError::Timeout => "timeout",
            FetchError::Transport(_) => "transport",
            FetchError::Status(_) => "status",
            FetchError::TooLarge(_) => "too_large",
            FetchError::InvalidJson => "invalid_json",
            FetchError::NoUsableKeys => "no_usable_keys",
        }
    }
}

struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
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

fn cooling_down(config: &JwksConfig, last_attempt: Option<Instant>) -> bool {
    last_attempt.is_some_and(|at| at.elapsed() < config.cooldown)
}

/// One fetch, counted in the metrics (`tenant_label`: whether they name the tenant).
async fn fetch_counted(
    http: &reqwest::Client,
    url: &str,
    config: &JwksConfig,
    tenant_id: &str,
    tenant_label: bool,
) -> Result<HashMap<String, Arc<VerifyingKey>>, FetchError> {
    let started = Instant::now();
    let result = fetch::fetch_jwks(http, url, config).await;
    let tenant = tenant_label.then_some(tenant_id);
    let label = result
        .as_ref()
        .map_or_else(FetchError::metric_label, |_| "ok");
    crate::metrics::jwks_fetch(tenant, label, started.elapsed());
    result
}

/// Fetches from `url`, then, while that fails, from each of `fallbacks` in turn (a replicated
/// pool's replica regions). All of it is one attempt for the cooldown and single flight, so a
/// primary outage costs each replica at most one fetch per cooldown. The primary's error is
/// the one returned when every endpoint fails.
async fn fetch_with_fallback(
    http: &reqwest::Client,
    config: &JwksConfig,
    url: &str,
    fallbacks: &[String],
    tenant_id: &str,
    tenant_label: bool,
) -> Result<HashMap<String, Arc<VerifyingKey>>, FetchError> {
    let primary = match fetch_counted(http, url, config, tenant_id, tenant_label).await {
        Ok(keys) => return Ok(keys),
        Err(err) => err,
    };
    for (i, fallback) in fallbacks.iter().enumerate() {
        tracing::warn!(tenant = tenant_id, error = %primary, replica = i, "JWKS fetch failed; trying a replica region");
        match fetch_counted(http, fallback, config, tenant_id, tenant_label).await {
            Ok(keys) => return Ok(keys),
            Err(err) => {
                tracing::warn!(tenant = tenant_id, error = %err, replica = i, "replica JWKS fetch failed");
            }
        }
    }
    Err(primary)
}

/// Fetches with the slot's fetch lock held, recording the attempt for the cooldown. A failure
/// keeps the held keys.
async fn fetch_into(
    http: &reqwest::Client,
    config: &JwksConfig,
    (url, fallbacks): (&str, &[String]),
    tenant_id: &str,
    tenant_label: bool,
    slot: &KeySlot,
    last_attempt: &mut Option<Instant>,
) {
    *last_attempt = Some(Instant::now());
    match fetch_with_fallback(http, config, url, fallbacks, tenant_id, tenant_label).await {
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
pub(crate) struct FixedKeys(HashMap<String, Arc<VerifyingKey>>);

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

/// Every tenant's signing keys, keyed by JWKS URLs (see `slot_key`) then `kid`. See the [module docs](super).
pub struct JwksCache {
    config: JwksConfig,
    http: reqwest::Client,
    slots: moka::sync::Cache<String, Arc<KeySlot>>,
    /// Whether fetch metrics carry a `tenant` label.
    metrics_tenant_label: bool,
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
    /// Builds an empty cache.
    pub fn new(config: JwksConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.fetch_timeout)
            .connect_timeout(config.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Fetches are minutes apart: an idle pooled connection per tenant would only hold
            // a file descriptor (thousands, with thousands of tenants).
            .pool_max_idle_per_host(0)
            .user_agent(concat!("cognito-authz/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let slots = moka::sync::Cache::builder()
            .max_capacity(100_000)
            // A tenant unused for a day (removed at runtime, say) gives its memory back.
            .time_to_idle(Duration::from_secs(24 * 60 * 60))
            .build();
        Ok(JwksCache {
            config,
            http,
            slots,
            metrics_tenant_label: true,
        })
    }

    pub(crate) fn with_metrics_tenant_label(mut self, on: bool) -> Self {
        self.metrics_tenant_label = on;
        self
    }

    /// The settings in force.
    pub fn config(&self) -> &JwksConfig {
        &self.config
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
        if !cooling_down(&self.config, *last_attempt) {
            fetch_into(
                &self.http,
                &self.config,
                (tenant.jwks_url(), tenant.replica_jwks_urls()),
                tenant.id(),
                self.metrics_tenant_label,
                &slot,
                &mut last_attempt,
            )
            .await;
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
        let http = self.http.clone();
        let config = self.config.clone();
        let url = tenant.jwks_url().to_owned();
        let fallbacks = tenant.replica_jwks_urls().to_vec();
        let tenant_id = tenant.id_arc().clone();
        let tenant_label = self.metrics_tenant_label;
        let slot = slot.clone();
        runtime.spawn(async move {
            // Cleared however the task ends, so a cancelled refresh cannot block later ones.
            let _pending = RefreshPending(&slot.refreshing);
            let mut last_attempt = slot.fetching.lock().await;
            if !cooling_down(&config, *last_attempt) {
                let (id, label) = (&*tenant_id, tenant_label);
                let urls = (url.as_str(), fallbacks.as_slice());
                fetch_into(&http, &config, urls, id, label, &slot, &mut last_attempt).await;
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
        let keys = fetch_with_fallback(
            &self.http,
            &self.config,
            tenant.jwks_url(),
            tenant.replica_jwks_urls(),
            tenant.id(),
            self.metrics_tenant_label,
        )
        .await?;
        slot.store(KeySet {
            keys,
            fetched_at: Instant::now(),
        });
        Ok(())
    }
}
