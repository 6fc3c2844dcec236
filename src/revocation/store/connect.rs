//! From `[revocations]` settings to a Redis client: URL checks, TLS files, cluster or not.
//!
//! Rules:
//! - `rediss://` is TLS with rustls, verifying the server's certificate and name against the
//!   webpki roots, or against `tls_ca_file` alone when given. There is no way to turn
//!   verification off: a URL fragment (the `redis` crate's `#insecure`) is refused.
//! - Client certificate and key (mutual TLS) come together, and only with `rediss://`.
//! - Files are read once, here; their errors name the setting, never the file's content.
//! - Errors never quote the URL (it may hold a password).
//! - Cluster mode (`cluster = true`, the URL a seed node) uses two cluster clients: one for
//!   commands, one whose RESP3 pushes (sharded pub/sub messages, disconnections) feed the sync
//!   task. Commands of either mode go through [`Con`], so the code above does not care which.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::{ClusterClient, ClusterClientBuilder};
use ::redis::cluster_async::ClusterConnection;
use ::redis::{
    Client, ClientTlsConfig, Cmd, PushInfo, RedisError, RedisFuture, TlsCertificates, Value,
};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::{CONNECT_TIMEOUT, MAX_BACKOFF, RESPONSE_TIMEOUT};
use crate::error::ConfigError;

/// Where the store is.
// One per store, made once: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Backend {
    /// One node (a primary, or a primary with replicas behind one endpoint).
    Single {
        client: Client,
        /// Made on first use, inside the runtime (it spawns a task).
        manager: OnceLock<ConnectionManager>,
    },
    /// Redis Cluster.
    Cluster(Box<ClusterBackend>),
}

pub(super) struct ClusterBackend {
    pub(super) commands: ClusterClient,
    /// RESP3, pushes sent to `pushes`.
    pub(super) subscriber: ClusterClient,
    /// Taken by the sync task (there is one per store) for its whole life.
    pub(super) pushes: Mutex<Option<UnboundedReceiver<PushInfo>>>,
    /// Made on first use; dropped after a failed command (see `forget`).
    pub(super) connection: tokio::sync::Mutex<Option<ClusterConnection>>,
}

/// A connection for commands, of either mode.
#[derive(Clone)]
pub(super) enum Con {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Con {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Con::Single(con) => con.req_packed_command(cmd),
            Con::Cluster(con) => con.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a ::redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Con::Single(con) => con.req_packed_commands(pipeline, offset, count),
            Con::Cluster(con) => con.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Con::Single(con) => con.get_db(),
            Con::Cluster(con) => con.get_db(),
        }
    }
}

impl Backend {
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, Backend::Cluster(_))
    }

    /// The connection for commands (made once, then reused: both kinds reconnect by
    /// themselves).
    pub(super) async fn connection(&self) -> Result<Con, RedisError> {
        match self {
            Backend::Single { client, manager } => {
                if let Some(manager) = manager.get() {
                    return Ok(Con::Single(manager.clone()));
                }
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    // Fail a write fast while Redis is down: the caller is told and retries.
                    .set_number_of_retries(1)
                    .set_max_delay(MAX_BACKOFF);
                let made = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
                Ok(Con::Single(manager.get_or_init(|| made).clone()))
            }
            Backend::Cluster(cluster) => {
                let ClusterBackend {
                    commands,
                    connection,
                    ..
                } = &**cluster;
                let mut held = connection.lock().await;
                if let Some(con) = held.as_ref() {
                    return Ok(Con::Cluster(con.clone()));
                }
                let con = commands.get_async_connection().await?;
                *held = Some(con.clone());
                Ok(Con::Cluster(con))
            }
        }
    }

    /// After a failed command in cluster mode: the next command connects anew and reads the
    /// slot map afresh, rather than trusting the old connection's view after a failover.
    pub(super) async fn forget(&self) {
        if let Backend::Cluster(cluster) = self {
            *cluster.connection.lock().await = None;
        }
    }
}

/// The TLS files of the settings.
#[derive(Debug, Clone, Default)]
pub(super) struct TlsFiles {
    pub(super) ca: Option<PathBuf>,
    pub(super) client_cert: Option<PathBuf>,
    pub(super) client_key: Option<PathBuf>,
}

const URL_FORM: &str = "not a Redis URL (redis:// or rediss://[user:password@]host[:port][/db])";

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::invalid(key, reason)
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|err| {
        invalid(
            key,
            format!("cannot read {}: {}", path.display(), err.kind()),
        )
    })?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(invalid(
            key,
            format!("{} is not a PEM file", path.display()),
        ));
    }
    Ok(bytes)
}

/// Checks `url` and the TLS files, and makes the client(s).
pub(super) fn backend(url: &str, tls: &TlsFiles, cluster: bool) -> Result<Backend, ConfigError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("revocations.redis_url", URL_FORM))?;
    let is_tls = match scheme {
        "redis" => false,
        "rediss" => true,
        _ => return Err(invalid("revocations.redis_url", URL_FORM)),
    };
    if rest.contains('#') {
        return Err(invalid(
            "revocations.redis_url",
            "no URL fragment: certificate verification cannot be turned off",
        ));
    }
    let certificates = certificates(tls, is_tls)?;
    if is_tls {
        install_crypto_provider();
    }
    // The `redis` crate's errors are not passed on: they may quote the URL, password included.
    if cluster {
        let builder = || {
            let builder = ClusterClientBuilder::new(vec![url])
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                // MOVED/ASK and a failover need a few; a store that is down fails fast enough.
                .retries(3)
                .max_retry_wait(MAX_BACKOFF.as_millis() as u64);
            match &certificates {
                Some(certificates) => builder.certs(certificates.clone()),
                None => builder,
            }
        };
        let (sender, receiver) = unbounded_channel();
        let commands = builder()
            .build()
            .map_err(|_| invalid("revocations.redis_url", URL_FORM))?;
        let subscriber = builder()
            .use_protocol(::redis::ProtocolVersion::RESP3)
            .push_sender(sender)
            .build()
            .map_err(|_| invalid("revocations.redis_url", URL_FORM))?;
        return Ok(Backend::Cluster(Box::new(ClusterBackend {
            commands,
            subscriber,
            pushes: Mutex::new(Some(receiver)),
            connection: tokio::sync::Mutex::new(None),
        })));
    }
    let client = match certificates {
        Some(certificates) => Client::build_with_tls(url, certificates),
        None => Client::open(url),
    }
    .map_err(|_| invalid("revocations.redis_url", URL_FORM))?;
    Ok(Backend::Single {
        client,
        manager: OnceLock::new(),
    })
}

fn certificates(tls: &TlsFiles, is_tls: bool) -> Result<Option<TlsCertificates>, ConfigError> {
    let any = tls.ca.is_some() || tls.client_cert.is_some() || tls.client_key.is_some();
    if !any {
        return Ok(None);
    }
    if !is_tls {
        let key = if tls.ca.is_some() {
            "revocations.tls_ca_file"
        } else {
            "revocations.tls_client_cert_file"
        };
        return Err(invalid(key, "needs a rediss:// redis_url (TLS)"));
    }
    let client_tls = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read("revocations.tls_client_cert_file", cert)?,
            client_key: read("revocations.tls_client_key_file", key)?,
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(invalid(
                "revocations.tls_client_key_file",
                "missing: tls_client_cert_file needs its key",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "revocations.tls_client_cert_file",
                "missing: tls_client_key_file needs its certificate",
            ));
        }
    };
    let root_cert = match &tls.ca {
        Some(ca) => Some(read("revocations.tls_ca_file", ca)?),
        None => None,
    };
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
}

/// rustls needs a process-wide crypto provider when more than one could be chosen. The crate
/// uses aws-lc-rs everywhere else; an application that installed its own keeps it.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(url: &str, tls: &TlsFiles) -> String {
        match backend(url, tls, false) {
            Ok(_) => "accepted".to_owned(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn verification_cannot_be_turned_off_and_tls_files_need_tls() {
        let none = TlsFiles::default();
        let e = reason("rediss://u:s3cret@127.0.0.1:6380/#insecure", &none);
        assert!(e.contains("cannot be turned off"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        assert_eq!(reason("rediss://127.0.0.1:6380/0", &none), "accepted");
        let e = reason("http://127.0.0.1:6380/0", &none);
        assert!(e.contains("revocations.redis_url"), "{e}");

        let ca = TlsFiles {
            ca: Some("ca.pem".into()),
            ..TlsFiles::default()
        };
        let e = reason("redis://127.0.0.1:6379/0", &ca);
        assert!(
            e.contains("revocations.tls_ca_file") && e.contains("rediss://"),
            "{e}"
        );
        let e = reason("rediss://127.0.0.1:6380/0", &ca);
        assert!(
            e.contains("revocations.tls_ca_file") && e.contains("cannot read ca.pem"),
            "{e}"
        );
        let half = TlsFiles {
            client_cert: Some("c.pem".into()),
            ..TlsFiles::default()
        };
        let e = reason("rediss://127.0.0.1:6380/0", &half);
        assert!(e.contains("revocations.tls_client_key_file"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_pem_is_named() {
        let path =
            std::env::temp_dir().join(format!("cognito-authz-notpem-{}", std::process::id()));
        std::fs::write(&path, b"secret key bytes").unwrap();
        let tls = TlsFiles {
            ca: Some(path.clone()),
            ..TlsFiles::default()
        };
        let e = reason("rediss://127.0.0.1:6380/0", &tls);
        let _ = std::fs::remove_file(&path);
        assert!(e.contains("is not a PEM file"), "{e}");
        assert!(!e.contains("secret key bytes"), "{e}");
    }
}
