//! Shared revocations on a Redis Cluster that speaks TLS only (feature `redis`,
//! `[revocations] cluster = true` with a `rediss://` seed), as ElastiCache Serverless and
//! MemoryDB run: 3 primaries and 3 replicas, TLS between clients and nodes and between nodes,
//! certificates made by the test.

#![cfg(feature = "redis")]

#[path = "redis_server/cluster.rs"]
mod cluster;
mod common;
mod redis_server;
#[path = "redis_server/replicas.rs"]
mod replicas;
#[path = "redis_server/tls.rs"]
mod tls;

use std::time::Duration;

use cluster::Cluster;
use cognito_authz::{AuthError, revocation::OnStoreUnavailable, revocation::RedisRevocations};
use common::*;
use http::StatusCode;
use replicas::*;
use tls::Pki;

fn store(cluster: &Cluster, node: usize, ca: std::path::PathBuf) -> RedisRevocations {
    RedisRevocations::new(cluster.url(node))
        .cluster(true)
        .key_prefix("tls")
        .tls_ca_file(ca)
        .max_staleness(Duration::from_secs(2))
        .on_store_unavailable(OnStoreUnavailable::Refuse)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_are_shared_through_a_tls_only_redis_cluster() {
    let pki = Pki::new();
    let ca = pki.path("ca.pem").display().to_string();
    let cluster = Cluster::start_tls(
        pki.server_args("node.pem", "node.key", false),
        vec!["--tls".into(), "--cacert".into(), ca],
    );
    let issuer = start_issuer().await;

    // Seeds on two primaries, one of which does not own the prefix's slot: the cluster client
    // follows the slot map to TLS ports with the same trust.
    let (owner, other) = cluster.primaries_for("{tls}");
    let a = replica(&issuer, store(&cluster, owner, pki.path("ca.pem")));
    let b = replica(&issuer, store(&cluster, other, pki.path("ca.pem")));
    loaded(&a).await;
    loaded(&b).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    b.verify(&alice).await.expect("valid before");
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .expect("shared through the TLS cluster");
    eventually("B refuses alice", || refused(&b, &alice)).await;
    b.verify(&bob).await.expect("another user is untouched");

    // A replica that trusts another CA never loads from this cluster: refused as an outage.
    let untrusting = replica(&issuer, store(&cluster, other, pki.path("other-ca.pem")));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), untrusting.revocations_loaded())
            .await
            .is_err(),
        "never loaded from a cluster whose certificate it cannot verify"
    );
    assert_error_reply(
        &call(&app(&untrusting), "/me", Some(&bob)).await,
        StatusCode::SERVICE_UNAVAILABLE,
        &AuthError::RevocationsUnavailable,
    );
}
