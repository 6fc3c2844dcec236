//! The three revocation metrics (features `metrics` and `redis`), read from a debugging recorder
//! installed for this test binary alone: revocations recorded, store up, mirror age.

#![cfg(all(feature = "metrics", feature = "redis"))]

mod common;
mod redis_server;

use std::time::{Duration, Instant};

use cognito_authz::revocation::RedisRevocations;
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use redis_server::RedisServer;

/// The value of `name` in a fresh snapshot (the debugging recorder resets values it reports).
fn read(snapshotter: &Snapshotter, name: &str) -> Option<DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find(|(key, ..)| key.key().name() == name)
        .map(|(.., value)| value)
}

fn gauge(value: Option<DebugValue>) -> Option<f64> {
    match value {
        Some(DebugValue::Gauge(v)) => Some(v.into_inner()),
        _ => None,
    }
}

async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < Duration::from_secs(10), "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_metrics_follow_the_store() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");
    let mut server = RedisServer::start();
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.redis_revocations(
            RedisRevocations::new(server.url()).max_staleness(Duration::from_millis(400)),
        )
    });
    tokio::time::timeout(Duration::from_secs(10), auth.revocations_loaded())
        .await
        .expect("loaded");
    let names: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, .., value)| format!("{}={value:?}", key.key().name()))
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n == "cognito_authz_revocation_store_up=Gauge(1.0)"),
        "{names:?}"
    );

    let list = auth.revocations().unwrap();
    list.revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .unwrap();
    list.revoke_session_shared(TENANT_A, "s1").await.unwrap();
    list.revoke_user(TENANT_A, "sub-bob");
    assert_eq!(
        read(&snapshotter, "cognito_authz_revocations_total"),
        Some(DebugValue::Counter(3)),
        "one per revocation recorded here"
    );

    // The age grows while Redis is down, and the store is reported up again once it is back.
    server.kill();
    until("mirror age above 1 s", || {
        gauge(read(
            &snapshotter,
            "cognito_authz_revocation_mirror_age_seconds",
        ))
        .is_some_and(|age| age > 1.0)
    })
    .await;
    server.restart();
    let mut up = false;
    until("store up again", || {
        up |= gauge(read(&snapshotter, "cognito_authz_revocation_store_up")) == Some(1.0);
        up
    })
    .await;
    until("mirror age back under a second", || {
        gauge(read(
            &snapshotter,
            "cognito_authz_revocation_mirror_age_seconds",
        ))
        .is_some_and(|age| age < 1.0)
    })
    .await;
}
