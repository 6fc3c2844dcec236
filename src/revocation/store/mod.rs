//! The Redis store behind shared revocations (feature `redis`).
//!
//! Data model, one prefix per deployment:
//! - sorted set `{prefix}:revoked`: member = the JSON array `[kind, tenant, id]`
//!   ([`wire`](super::wire)), score = Unix second of the revocation. Entries older than the
//!   retention (plus the largest leeway) are pruned by score on every write. The key never
//!   has a TTL (every write removes one): a key with a TTL is what `volatile-*` eviction
//!   policies pick, and an evicted set would un-revoke users on replicas started afterwards.
//! - pub/sub channel `{prefix}:revocations`: one message per new revocation.
//!
//! The background task that keeps each replica's mirror current, and that writes back what the
//! store lost, is in `sync`.

mod cluster;
mod connect;
mod sync;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use ::redis::RedisError;
use tokio::sync::watch;

use super::{
    Entry, Inner, OnStoreUnavailable, RevocationError, Revocations, SharedStore, StoreFuture,
    redacted, unix_now, wire,
};
use crate::error::ConfigError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_PING_INTERVAL: Duration = Duration::from_secs(1);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const LOAD_PAGE: usize = 5_000;
const WRITE_BACK_CHUNK: usize = 1_000;
/// The loss check compares counts of entries younger than the oldest kept plus this: replicas
/// whose clocks differ by less than this do not see each other's pruning as a loss.
const COUNT_SKEW: u64 = 120;

/// Revocations shared by every replica through Redis (feature `redis`).
///
/// Give it to [`CognitoAuthBuilder::redis_revocations`](crate::CognitoAuthBuilder::redis_revocations)
/// or write a `[revocations]` table in the configuration file. Needs Redis 6.2 or newer (a
/// single node or a primary with replicas), or Redis 7 in cluster mode
/// ([`cluster`](Self::cluster)); TLS with `rediss://` URLs.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use cognito_authz::{CognitoAuth, OnStoreUnavailable, RedisRevocations, Tenant};
///
/// let auth = CognitoAuth::builder()
///     .tenant(Tenant::builder("acme", "us-east-1_AbCdEf123").client_id("client-a").build()?)?
///     .redis_revocations(
///         RedisRevocations::new("redis://127.0.0.1:6379/0")
///             .max_staleness(Duration::from_secs(30))
///             .on_store_unavailable(OnStoreUnavailable::Refuse),
///     )
///     .build()?;
/// auth.revocations_loaded().await; // before serving: see CognitoAuth::revocations_loaded
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    url: String,
    key_prefix: String,
    max_staleness: Duration,
    on_store_unavailable: OnStoreUnavailable,
    retention: Duration,
    clock_margin: Duration,
    tls: connect::TlsFiles,
    cluster: bool,
}

impl RedisRevocations {
    /// The store at `url` (`redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS,
    /// verified against the webpki roots or [`tls_ca_file`](Self::tls_ca_file)). The URL is
    /// never logged nor shown by `Debug`, beyond its host, port and database.
    pub fn new(url: impl Into<String>) -> Self {
        RedisRevocations {
            url: url.into(),
            key_prefix: "cognito-authz".to_owned(),
            max_staleness: Duration::from_secs(30),
            on_store_unavailable: OnStoreUnavailable::ServeLastKnown,
            retention: super::DEFAULT_RETENTION,
            clock_margin: super::DEFAULT_CLOCK_MARGIN,
            tls: connect::TlsFiles::default(),
            cluster: false,
        }
    }

    /// Redis Cluster mode (ElastiCache Serverless, ElastiCache with cluster mode, MemoryDB): the
    /// URL is a seed node (the configuration or cluster endpoint). The key and channel names
    /// then carry the hash tag `{prefix}` so that they share one slot, and replicas follow
    /// changes through sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`, Redis 7). Default `false`.
    pub fn cluster(mut self, cluster: bool) -> Self {
        self.cluster = cluster;
        self
    }

    /// Prefix of the key and channel names. Default `cognito-authz`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How old the mirror may get, with the store unreachable, before
    /// [`OnStoreUnavailable::Refuse`] refuses requests. Default 30 s.
    pub fn max_staleness(mut self, max: Duration) -> Self {
        self.max_staleness = max;
        self
    }

    /// What requests get while the store is unreachable. Default
    /// [`OnStoreUnavailable::ServeLastKnown`].
    pub fn on_store_unavailable(mut self, policy: OnStoreUnavailable) -> Self {
        self.on_store_unavailable = policy;
        self
    }

    /// How long a revocation is kept, in Redis and in every mirror: the longest token lifetime
    /// of your app clients. Default 1 day (Cognito's maximum); the largest leeway is added.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Tokens issued up to `margin` after a user's recorded revocation are refused too.
    /// Default 5 s. The revocation time comes from the clock of the replica that recorded it,
    /// `iat` from Cognito's: with the recording clock behind, a token issued just before the
    /// sign-out would otherwise survive it. The price: a user who signs in again within the
    /// margin is refused once and signs in again.
    pub fn clock_margin(mut self, margin: Duration) -> Self {
        self.clock_margin = margin;
        self
    }

    /// With a `rediss://` URL: trust only the CA certificate(s) in this PEM file for the
    /// server's certificate (a private CA), instead of the public webpki roots.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca = Some(path.into());
        self
    }

    /// With a `rediss://` URL: present this client certificate chain and key (PEM files) to a
    /// server that requires mutual TLS.
    pub fn tls_client_cert(
        mut self,
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        self.tls.client_cert = Some(cert_file.into());
        self.tls.client_key = Some(key_file.into());
        self
    }

    /// The configuration file's two keys as given: one without the other is refused when the
    /// list is made, naming the missing key.
    pub(crate) fn tls_client_files(
        mut self,
        cert_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
    ) -> Self {
        self.tls.client_cert = cert_file;
        self.tls.client_key = key_file;
        self
    }

    /// Validates the settings and makes the shared list; starts its synchronisation when called
    /// inside a tokio runtime (otherwise at the first check or
    /// [`Revocations::loaded`]).
    pub(crate) fn into_list(self) -> Result<Revocations, ConfigError> {
        if self.key_prefix.is_empty() {
            return Err(ConfigError::invalid(
                "revocations.key_prefix",
                "must not be empty",
            ));
        }
        if self.max_staleness.is_zero() {
            return Err(ConfigError::invalid(
                "revocations.max_staleness_seconds",
                "must be positive",
            ));
        }
        if self.retention < Duration::from_secs(60) {
            return Err(ConfigError::invalid(
                "revocations.retention_seconds",
                "must be at least 60: use the longest token lifetime (default 86400)",
            ));
        }
        let backend = connect::backend(&self.url, &self.tls, self.cluster)?;
        let (key, channel) = self.names();
        if self.clock_margin > crate::MAX_LEEWAY {
            return Err(ConfigError::invalid(
                "revocations.clock_margin_seconds",
                "must be at most 300 (the clocks of Cognito and the replicas differ by seconds)",
            ));
        }
        let list = Revocations::with_settings(self.retention, self.clock_margin);
        let (loaded, _) = watch::channel(false);
        let store = Arc::new_cyclic(|me| Store {
            me: me.clone(),
            list: Arc::downgrade(&list.inner),
            backend,
            key,
            channel,
            nonce: format!("{:016x}", rand_nonce()),
            keep: self.retention + crate::MAX_LEEWAY,
            max_staleness: self.max_staleness,
            policy: self.on_store_unavailable,
            ping_interval: (self.max_staleness / 4)
                .clamp(Duration::from_millis(20), MAX_PING_INTERVAL),
            started: AtomicBool::new(false),
            epoch: Instant::now(),
            synced_at: AtomicU64::new(0),
            health: AtomicU8::new(UNKNOWN),
            loaded,
            target: redacted(&self.url),
            last_error: Mutex::default(),
        });
        list.attach(store.clone());
        store.ensure_started();
        Ok(list)
    }
}

impl RedisRevocations {
    /// The sorted set's and the channel's names. In a cluster every key of a `MULTI` must be in
    /// one slot, and the channel is sharded by slot: the `{prefix}` hash tag puts them all in
    /// the prefix's slot.
    fn names(&self) -> (String, String) {
        let tag = if self.cluster {
            format!("{{{}}}", self.key_prefix)
        } else {
            self.key_prefix.clone()
        };
        (format!("{tag}:revoked"), format!("{tag}:revocations"))
    }

    /// Tells every replica following this store that `tenant` was offboarded, as
    /// [`Revocations::revoke_tenant_shared`] does, without keeping a mirror of the store: for
    /// tools such as `cognito-authz tenant remove`. One connection, one message.
    pub async fn revoke_tenant(&self, tenant: &str) -> Result<(), RevocationError> {
        let backend = connect::backend(&self.url, &self.tls, self.cluster)
            .map_err(|_| RevocationError::NotShared("the store settings are invalid"))?;
        let (_, channel) = self.names();
        let mut publish = ::redis::cmd(if self.cluster { "SPUBLISH" } else { "PUBLISH" });
        publish.arg(&channel).arg(wire::tenant_message(tenant));
        let outcome = match timed(CONNECT_TIMEOUT, "connect", backend.connection()).await {
            Ok(mut con) => {
                timed(
                    RESPONSE_TIMEOUT,
                    "publish",
                    publish.query_async::<()>(&mut con),
                )
                .await
            }
            Err(err) => Err(err),
        };
        outcome.map_err(|err| not_shared(&redacted(&self.url), &err))
    }
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("url", &redacted(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("max_staleness", &self.max_staleness)
            .field("on_store_unavailable", &self.on_store_unavailable)
            .field("retention", &self.retention)
            .field("clock_margin", &self.clock_margin)
            .field("tls", &self.tls)
            .field("cluster", &self.cluster)
            .finish()
    }
}

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

struct Store {
    me: Weak<Store>,
    /// The mirror. Weak: the tasks end once every `Revocations` clone is gone.
    list: Weak<Inner>,
    backend: connect::Backend,
    key: String,
    channel: String,
    /// Tells this replica's sync pings (cluster mode) from other replicas'.
    nonce: String,
    /// Retention plus the largest leeway.
    keep: Duration,
    max_staleness: Duration,
    policy: OnStoreUnavailable,
    ping_interval: Duration,
    started: AtomicBool,
    epoch: Instant,
    /// Milliseconds after `epoch`, plus one, of the last instant the mirror was complete; 0:
    /// never loaded.
    synced_at: AtomicU64,
    health: AtomicU8,
    loaded: watch::Sender<bool>,
    /// The store's address without credentials, for logs.
    target: String,
    /// The reason last logged while down, so that a new one is logged too.
    last_error: Mutex<String>,
}

/// Why a synchronisation session ended.
enum SyncError {
    Redis(RedisError),
    Timeout(&'static str),
    Closed,
    /// Cluster mode: the subscription ended (why).
    Lost(&'static str),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Redis(err) => write!(f, "{err}"),
            SyncError::Timeout(what) => write!(f, "{what} timed out"),
            SyncError::Closed => f.write_str("subscription closed"),
            SyncError::Lost(why) => write!(f, "subscription {why}"),
        }
    }
}

impl From<RedisError> for SyncError {
    fn from(err: RedisError) -> Self {
        SyncError::Redis(err)
    }
}

async fn timed<T>(
    limit: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, SyncError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SyncError::Timeout(what)),
    }
}

impl Store {
    fn list(&self) -> Option<Revocations> {
        self.list.upgrade().map(|inner| Revocations { inner })
    }

    async fn connection(&self) -> Result<connect::Con, SyncError> {
        timed(CONNECT_TIMEOUT, "connect", self.backend.connection()).await
    }

    /// `PUBLISH`, or `SPUBLISH` (sharded) in cluster mode.
    fn publish(&self) -> &'static str {
        if self.backend.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    /// Oldest revocation time still kept at `now`.
    fn oldest_kept(&self, now: u64) -> u64 {
        now.saturating_sub(self.keep.as_secs())
    }

    async fn write(&self, entry: Entry) -> Result<(), RevocationError> {
        let now = unix_now();
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("ZADD")
            .arg(&self.key)
            .arg("GT")
            .arg(entry.at)
            .arg(wire::member(&entry))
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&self.key)
            .arg("-inf")
            .arg(format!("({}", self.oldest_kept(now)))
            .ignore()
            .cmd("PERSIST")
            .arg(&self.key)
            .ignore()
            .cmd(self.publish())
            .arg(&self.channel)
            .arg(wire::message(&entry))
            .ignore();
        let outcome = match self.connection().await {
            Ok(mut con) => timed(RESPONSE_TIMEOUT, "write", pipe.query_async::<()>(&mut con)).await,
            Err(err) => Err(err),
        };
        if outcome.is_err() {
            self.backend.forget().await;
        }
        outcome.map_err(|err| self.not_shared(&err))
    }

    fn not_shared(&self, err: &SyncError) -> RevocationError {
        not_shared(&self.target, err)
    }
}

/// Logs a failed write (the store's address without credentials) and says why, without it.
fn not_shared(target: &str, err: &SyncError) -> RevocationError {
    tracing::warn!(
        target: "cognito_authz::revocation",
        store = %target,
        error = %err,
        "revocation recorded locally but not written to the shared store",
    );
    RevocationError::NotShared(match err {
        SyncError::Timeout(_) => "the store did not answer in time",
        SyncError::Redis(e) if e.is_io_error() || e.is_connection_refusal() => {
            "the store is unreachable"
        }
        _ => "the store refused the write",
    })
}

/// A random 64-bit value (from the std hasher's per-process random keys: no extra crate).
fn rand_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

impl SharedStore for Store {
    fn share(&self, entry: Entry) -> StoreFuture<'_, Result<(), RevocationError>> {
        Box::pin(self.write(entry))
    }

    fn share_tenant(&self, tenant: String) -> StoreFuture<'_, Result<(), RevocationError>> {
        Box::pin(async move {
            let mut publish = ::redis::cmd(self.publish());
            publish
                .arg(&self.channel)
                .arg(wire::tenant_message(&tenant));
            let outcome = match self.connection().await {
                Ok(mut con) => {
                    timed(
                        RESPONSE_TIMEOUT,
                        "publish",
                        publish.query_async::<()>(&mut con),
                    )
                    .await
                }
                Err(err) => Err(err),
            };
            if outcome.is_err() {
                self.backend.forget().await;
            }
            outcome.map_err(|err| self.not_shared(&err))
        })
    }

    fn ensure_started(&self) {
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(me) = self.me.upgrade() {
            runtime.spawn(me.clone().sync());
            runtime.spawn(me.watch());
        }
    }

    fn loaded(&self) -> StoreFuture<'_, ()> {
        let mut loaded = self.loaded.subscribe();
        Box::pin(async move {
            // The sender lives as long as the store, which outlives this borrow.
            let _ = loaded.wait_for(|loaded| *loaded).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            redacted("redis://user:s3cret@cache.internal:6380/2?password=x"),
            "redis://cache.internal:6380/2"
        );
        assert_eq!(redacted("redis://:p@ss@h/0"), "redis://h/0");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redacted("s3cret"), "<not a URL>");
        let config = RedisRevocations::new("redis://u:s3cret@h:1/0");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn the_clock_margin_is_bounded_and_applies_to_the_list() {
        let err = RedisRevocations::new("redis://127.0.0.1:1/0")
            .clock_margin(Duration::from_secs(301))
            .into_list()
            .unwrap_err();
        assert!(
            err.to_string().contains("revocations.clock_margin_seconds"),
            "{err}"
        );
        let list = RedisRevocations::new("redis://127.0.0.1:1/0")
            .into_list()
            .unwrap();
        assert_eq!(
            list.inner.clock_margin,
            super::super::DEFAULT_CLOCK_MARGIN.as_secs()
        );
    }
}
