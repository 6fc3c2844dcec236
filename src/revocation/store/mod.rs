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
mod settings;
mod sync;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use ::redis::RedisError;
use tokio::sync::watch;

pub use settings::RedisRevocations;

use super::{
    Entry, Inner, OnStoreUnavailable, RevocationError, Revocations, SharedStore, StoreFuture,
    unix_now, wire,
};

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
    /// Held while the 503 flag is computed and set (see `refresh`).
    refresh_lock: Mutex<()>,
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
