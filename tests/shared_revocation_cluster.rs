//! Shared revocations on a real Redis Cluster (3 primaries, 3 replicas) started by the test
//! (feature `redis`, `[revocations] cluster = true`). One cluster for the whole binary: the
//! scenarios run in order in one test, each with its own key prefix; the primary kill is last.

#![cfg(feature = "redis")]

#[path = "redis_server/cluster.rs"]
mod cluster;
mod common;
mod redis_server;
#[path = "redis_server/replicas.rs"]
mod replicas;

use std::time::{Duration, Instant};

use cluster::Cluster;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, revocation::RedisRevocations};
use common::*;
use replicas::*;

fn store(cluster: &Cluster, node: usize, prefix: &str) -> RedisRevocations {
    RedisRevocations::new(cluster.url(node))
        .cluster(true)
        .key_prefix(prefix)
        .max_staleness(Duration::from_secs(2))
}

async fn revoke(auth: &CognitoAuth, user: &str) {
    auth.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, user)
        .await
        .expect("shared through the cluster");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_are_shared_through_a_redis_cluster() {
    // The store's warnings (failover, reconnects) in the test output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("cognito_authz=info")
        .with_test_writer()
        .try_init();
    let mut cluster = Cluster::start();
    let issuer = start_issuer().await;
    propagation_between_replicas_on_different_nodes(&cluster, &issuer).await;
    a_late_replica_and_a_flushed_slot(&cluster, &issuer).await;
    a_killed_primary(&mut cluster, &issuer).await;
}

async fn propagation_between_replicas_on_different_nodes(cluster: &Cluster, issuer: &LocalIssuer) {
    let prefix = "prop";
    // Seeds on two primaries, one of which does not own the prefix's slot.
    let (owner, other) = cluster.primaries_for("{prop}");
    let a = replica(issuer, store(cluster, owner, prefix));
    let b = replica(issuer, store(cluster, other, prefix));
    loaded(&a).await;
    loaded(&b).await;
    let alice = issuer.mint(&access_a(issuer, "alice", &[]));
    let bob = issuer.mint(&access_a(issuer, "bob", &[]));
    b.verify(&alice).await.expect("valid before");
    let start = Instant::now();
    revoke(&a, "sub-alice").await;
    eventually("B refuses alice", || refused(&b, &alice)).await;
    println!("cluster propagation A -> B: {:?}", start.elapsed());
    revoke(&b, "sub-bob").await;
    eventually("A refuses bob", || refused(&a, &bob)).await;

    // The key and channel share the prefix's slot (`{prop}`), on its owner.
    let mut con = cluster.node_connection(owner).await;
    let held: Vec<String> = redis::cmd("ZRANGE")
        .arg("{prop}:revoked")
        .arg(0)
        .arg(-1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        held,
        [r#"["u","acme","sub-alice"]"#, r#"["u","acme","sub-bob"]"#]
    );
}

async fn a_late_replica_and_a_flushed_slot(cluster: &Cluster, issuer: &LocalIssuer) {
    let prefix = "late";
    let (owner, other) = cluster.primaries_for("{late}");
    let a = replica(issuer, store(cluster, other, prefix));
    loaded(&a).await;
    revoke(&a, "sub-carol").await;
    let carol = issuer.mint(&access_a(issuer, "carol", &[]));
    // Started afterwards, seeded on the other node.
    let c = replica(issuer, store(cluster, owner, prefix));
    loaded(&c).await;
    assert!(refused(&c, &carol).await, "loaded from the cluster");

    // The set lost on its shard while everyone stays connected: written back.
    let mut con = cluster.node_connection(owner).await;
    let _: i64 = redis::cmd("DEL")
        .arg("{late}:revoked")
        .query_async(&mut con)
        .await
        .unwrap();
    let d = replica(issuer, store(cluster, other, prefix));
    loaded(&d).await;
    eventually("D refuses carol after the write-back", || {
        refused(&d, &carol)
    })
    .await;
}

async fn a_killed_primary(cluster: &mut Cluster, issuer: &LocalIssuer) {
    let prefix = "failover";
    let (owner, other) = cluster.primaries_for("{failover}");
    let a = replica(issuer, store(cluster, other, prefix));
    let b = replica(issuer, store(cluster, other, prefix));
    loaded(&a).await;
    loaded(&b).await;
    revoke(&a, "sub-dave").await;
    let dave = issuer.mint(&access_a(issuer, "dave", &[]));
    eventually("B refuses dave", || refused(&b, &dave)).await;

    // The slot's primary dies; its replica takes over.
    cluster.kill(owner);
    let erin = issuer.mint(&access_a(issuer, "erin", &[]));
    // Writes may fail while the cluster fails over: retry as a caller would.
    let start = Instant::now();
    while let Err(err) = a
        .revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-erin")
        .await
    {
        assert!(
            start.elapsed() < PATIENCE,
            "never shared after the failover: {err}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eventually("B refuses erin after the failover", || refused(&b, &erin)).await;
    // A replica started after the failover sees both.
    let c = replica(issuer, store(cluster, other, prefix));
    loaded(&c).await;
    assert!(refused(&c, &dave).await && refused(&c, &erin).await);
}
