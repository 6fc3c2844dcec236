//! Data the shared store loses while every replica stays connected (feature `redis`): `FLUSHALL`,
//! eviction, a failover to a replica that missed writes. Running replicas detect the loss with
//! their staleness ping and write their mirror back, so a replica started afterwards still
//! refuses signed-out users. Against a real redis-server on a free 127.0.0.1 port.

#![cfg(feature = "redis")]

mod common;
mod redis_server;
#[path = "redis_server/replicas.rs"]
mod replicas;

use std::time::{Duration, Instant};

use cognito_authz::revocation::RedisRevocations;
use common::*;
use redis_server::RedisServer;
use replicas::*;

const KEY: &str = "cognito-authz:revoked";
/// The loss must be repaired within this (plus the time to write back a few entries).
const MAX_STALENESS: Duration = Duration::from_secs(1);

fn store(server: &RedisServer) -> RedisRevocations {
    RedisRevocations::new(server.url()).max_staleness(MAX_STALENESS)
}

async fn score(con: &mut redis::aio::MultiplexedConnection, member: &str) -> Option<f64> {
    redis::cmd("ZSCORE")
        .arg(KEY)
        .arg(member)
        .query_async(con)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_while_connected_is_written_back_and_a_new_replica_refuses() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let a = replica(&issuer, store(&server));
    let b = replica(&issuer, store(&server));
    loaded(&a).await;
    loaded(&b).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .unwrap();
    eventually("B has alice", || refused(&b, &alice)).await;

    let mut con = server.connection().await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
    let flushed = Instant::now();
    // Started right after the flush, while A and B stay connected: it loads an empty set.
    let c = replica(&issuer, store(&server));
    loaded(&c).await;
    eventually("C refuses alice", || refused(&c, &alice)).await;
    let member = r#"["u","acme","sub-alice"]"#;
    assert!(score(&mut con, member).await.is_some(), "written back");
    assert!(
        flushed.elapsed() < MAX_STALENESS + Duration::from_secs(1),
        "repaired within max_staleness: {:?}",
        flushed.elapsed()
    );
    // And a replica started after the repair loads it.
    let d = replica(&issuer, store(&server));
    loaded(&d).await;
    assert!(refused(&d, &alice).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_missing_after_a_failover_is_written_back() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let a = replica(&issuer, store(&server));
    loaded(&a).await;
    let list = a.revocations().unwrap().clone();
    for user in ["sub-alice", "sub-bob", "sub-carol"] {
        list.revoke_user_shared(TENANT_A, user).await.unwrap();
    }
    // A promoted replica that missed one write: the set is there, one member short.
    let mut con = server.connection().await;
    let bob = r#"["u","acme","sub-bob"]"#;
    let removed: i64 = redis::cmd("ZREM")
        .arg(KEY)
        .arg(bob)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let start = Instant::now();
    while score(&mut con, bob).await.is_none() {
        assert!(
            start.elapsed() < MAX_STALENESS + Duration::from_secs(1),
            "not written back within max_staleness"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let card: i64 = redis::cmd("ZCARD")
        .arg(KEY)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(card, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_set_never_carries_a_ttl_that_eviction_could_pick() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let mut con = server.connection().await;
    // Left by an older version (which refreshed a TTL on every write).
    let _: i64 = redis::cmd("ZADD")
        .arg(KEY)
        .arg(now())
        .arg(r#"["u","acme","sub-old"]"#)
        .query_async(&mut con)
        .await
        .unwrap();
    let _: i64 = redis::cmd("EXPIRE")
        .arg(KEY)
        .arg(86_400)
        .query_async(&mut con)
        .await
        .unwrap();
    let a = replica(&issuer, store(&server));
    loaded(&a).await;
    let ttl = || async {
        let mut con = server.connection().await;
        redis::cmd("TTL")
            .arg(KEY)
            .query_async::<i64>(&mut con)
            .await
            .unwrap()
    };
    assert_eq!(ttl().await, -1, "the write-back at start removes it");
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .unwrap();
    assert_eq!(ttl().await, -1, "a write sets none");
}
