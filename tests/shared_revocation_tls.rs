//! Shared revocations over TLS (`rediss://`) against a real redis-server started with
//! `--tls-port` and certificates made by the test (feature `redis`). A certificate that does not
//! verify is a logged error naming the host and the reason, and the store counts as unavailable.

#![cfg(feature = "redis")]

mod common;
mod redis_server;
#[path = "redis_server/replicas.rs"]
mod replicas;
#[path = "redis_server/tls.rs"]
mod tls;

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use cognito_authz::{AuthError, revocation::OnStoreUnavailable, revocation::RedisRevocations};
use common::*;
use http::StatusCode;
use redis_server::RedisServer;
use replicas::*;
use tls::Pki;

/// Everything the crate logs in this test binary (the sync tasks run on worker threads, so the
/// subscriber is global).
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_env_filter("cognito_authz=debug")
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .init();
    });
}

fn logged() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned()
}

/// Waits for a log line holding every one of `parts`, and returns it.
async fn log_line(parts: &[&str]) -> String {
    let start = std::time::Instant::now();
    loop {
        let log = logged();
        if let Some(line) = log
            .lines()
            .find(|line| parts.iter().all(|part| line.contains(part)))
        {
            return line.to_owned();
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no log line with {parts:?} in:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_over_mutual_tls_share_a_revocation() {
    let pki = Pki::new();
    let server = RedisServer::start_tls(pki.server_args("server.pem", "server.key", true));
    let issuer = start_issuer().await;
    let store = || {
        RedisRevocations::new(server.tls_url())
            .tls_ca_file(pki.path("ca.pem"))
            .tls_client_cert(pki.path("client.pem"), pki.path("client.key"))
    };
    let a = replica(&issuer, store());
    let b = replica(&issuer, store());
    loaded(&a).await;
    loaded(&b).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    b.verify(&alice).await.expect("valid before");
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .expect("written over TLS");
    eventually("B refuses alice", || refused(&b, &alice)).await;

    // Without a client certificate the server (mutual TLS) refuses the replica.
    let c = replica(
        &issuer,
        RedisRevocations::new(server.tls_url()).tls_ca_file(pki.path("ca.pem")),
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), c.revocations_loaded())
            .await
            .is_err(),
        "never loaded without a client certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_of_another_ca_is_refused_with_host_and_reason() {
    capture_logs();
    let pki = Pki::new();
    let server = RedisServer::start_tls(pki.server_args("server.pem", "server.key", false));
    let issuer = start_issuer().await;
    // Trusting only an unrelated CA (and, with no tls_ca_file, only the public roots).
    for store in [
        RedisRevocations::new(server.tls_url()).tls_ca_file(pki.path("other-ca.pem")),
        RedisRevocations::new(server.tls_url()),
    ] {
        let c = replica(
            &issuer,
            store.on_store_unavailable(OnStoreUnavailable::Refuse),
        );
        let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
        assert!(
            tokio::time::timeout(Duration::from_millis(800), c.revocations_loaded())
                .await
                .is_err(),
            "never loaded from a server that does not verify"
        );
        assert_error_reply(
            &call(&app(&c), "/me", Some(&bob)).await,
            StatusCode::SERVICE_UNAVAILABLE,
            &AuthError::RevocationsUnavailable,
        );
    }
    let port = server.tls_url();
    let host = port.trim_start_matches("rediss://").trim_end_matches("/0");
    let line = log_line(&["revocation store unavailable", host, "UnknownIssuer"]).await;
    assert!(line.contains("rediss://"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_makes_the_store_unavailable_as_an_outage() {
    capture_logs();
    let pki = Pki::new();
    let mut server = RedisServer::start_tls(pki.server_args("server.pem", "server.key", false));
    let issuer = start_issuer().await;
    let a = replica(
        &issuer,
        RedisRevocations::new(server.tls_url())
            .tls_ca_file(pki.path("ca.pem"))
            .max_staleness(Duration::from_millis(600))
            .on_store_unavailable(OnStoreUnavailable::Refuse),
    );
    loaded(&a).await;
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    let app = app(&a);
    assert_eq!(call(&app, "/me", Some(&bob)).await.status, StatusCode::OK);

    // The same CA, but a certificate for another host name.
    server.restart_tls(pki.server_args("wrong-name.pem", "wrong-name.key", false));
    eventually(
        "503 once the mirror is older than max_staleness",
        || async { call(&app, "/me", Some(&bob)).await.status == StatusCode::SERVICE_UNAVAILABLE },
    )
    .await;
    let host = server.tls_url();
    let host = host.trim_start_matches("rediss://").trim_end_matches("/0");
    log_line(&[
        "revocation store unavailable",
        host,
        "certificate not valid for name",
    ])
    .await;

    server.restart_tls(pki.server_args("server.pem", "server.key", false));
    eventually("served again with a valid certificate", || async {
        call(&app, "/me", Some(&bob)).await.status == StatusCode::OK
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_server_certificate_makes_the_store_unavailable_with_host_and_reason() {
    capture_logs();
    let pki = Pki::new();
    // Signed by the trusted CA, for the right names, but valid only in 2020.
    let mut server = RedisServer::start_tls(pki.server_args("expired.pem", "expired.key", false));
    let issuer = start_issuer().await;
    let c = replica(
        &issuer,
        RedisRevocations::new(server.tls_url())
            .tls_ca_file(pki.path("ca.pem"))
            .on_store_unavailable(OnStoreUnavailable::Refuse),
    );
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    assert!(
        tokio::time::timeout(Duration::from_millis(800), c.revocations_loaded())
            .await
            .is_err(),
        "never loaded from a server whose certificate has expired"
    );
    assert_error_reply(
        &call(&app(&c), "/me", Some(&bob)).await,
        StatusCode::SERVICE_UNAVAILABLE,
        &AuthError::RevocationsUnavailable,
    );
    let host = server.tls_url();
    let host = host.trim_start_matches("rediss://").trim_end_matches("/0");
    log_line(&["revocation store unavailable", host, "expired"]).await;

    // A renewed certificate on the same server: the replica connects, nothing else changes.
    // The request right after `revocations_loaded` is served: readiness was once announced
    // before the 503 flag was cleared, and this failed about one run in six.
    server.restart_tls(pki.server_args("server.pem", "server.key", false));
    loaded(&c).await;
    assert_eq!(
        call(&app(&c), "/me", Some(&bob)).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_url_to_the_tls_port_fails_clearly() {
    capture_logs();
    let pki = Pki::new();
    let server = RedisServer::start_tls(pki.server_args("server.pem", "server.key", false));
    let issuer = start_issuer().await;
    let plaintext = server.tls_url().replace("rediss://", "redis://");
    let c = replica(&issuer, RedisRevocations::new(plaintext.clone()));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), c.revocations_loaded())
            .await
            .is_err(),
        "never loaded"
    );
    let line = log_line(&["revocation store unavailable", &plaintext]).await;
    assert!(line.contains("rediss://"), "names the likely fix: {line}");
}
