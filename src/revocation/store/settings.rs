//! [`RedisRevocations`]: the settings of the Redis store, checked and turned into a shared
//! [`Revocations`] list; and the one-shot tenant announcement for tools.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{
    CONNECT_TIMEOUT, MAX_PING_INTERVAL, RESPONSE_TIMEOUT, Store, UNKNOWN, connect, not_shared,
    rand_nonce, timed,
};
use crate::error::ConfigError;
use crate::revocation::{
    OnStoreUnavailable, RevocationError, Revocations, SharedStore, redacted, wire,
};

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
/// use cognito_authz::{CognitoAuth, revocation::OnStoreUnavailable, revocation::RedisRevocations, Tenant};
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
            retention: crate::revocation::DEFAULT_RETENTION,
            clock_margin: crate::revocation::DEFAULT_CLOCK_MARGIN,
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
            refresh_lock: Mutex::default(),
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
            crate::revocation::DEFAULT_CLOCK_MARGIN.as_secs()
        );
    }
}
