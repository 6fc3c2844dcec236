//! Revocations shared between replicas through a real redis-server (feature `redis`): several
//! `CognitoAuth` instances in one process play the replicas, each with its own mirror and its
//! own connections, as separate processes would have. Every test starts its own redis-server on
//! a free 127.0.0.1 port and kills it at the end.

#![cfg(feature = "redis")]

mod common;
mod redis_server;
#[path = "redis_server/replicas.rs"]
mod replicas;

use std::time::{Duration, Instant};

use cognito_authz::{
    AuthError, revocation::OnStoreUnavailable, revocation::RedisRevocations,
    revocation::RevocationError,
};
use common::*;
use futures_util::FutureExt;
use http::StatusCode;
use redis_server::RedisServer;
use replicas::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_replica_is_refused_by_the_others() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let a = replica(&issuer, RedisRevocations::new(server.url()));
    let b = replica(&issuer, RedisRevocations::new(server.url()));
    loaded(&a).await;
    loaded(&b).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    // Cached on both replicas before the sign-out: the cache must not keep them alive.
    for auth in [&a, &b] {
        auth.verify(&alice).await.expect("valid before");
        auth.verify(&bob).await.expect("valid before");
    }

    a.revocations()
        .expect("shared list")
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .expect("Redis is up: shared");
    assert!(refused(&a, &alice).await, "A refuses at once");
    eventually("B refuses alice", || refused(&b, &alice)).await;
    assert_error_reply(
        &call(&app(&b), "/me", Some(&alice)).await,
        StatusCode::UNAUTHORIZED,
        &AuthError::TokenRevoked,
    );
    b.verify(&bob).await.expect("another user is untouched");

    // A session revoked on B: refused on A; the same user's other session is still fine.
    let phone = session_token(&issuer, "carol", "session-phone");
    let laptop = session_token(&issuer, "carol", "session-laptop");
    a.verify(&phone).await.expect("valid before");
    b.revocations()
        .unwrap()
        .revoke_session_shared(TENANT_A, "session-phone")
        .await
        .expect("shared");
    eventually("A refuses the phone session", || refused(&a, &phone)).await;
    a.verify(&laptop)
        .await
        .expect("the other session stays valid");

    // What the store holds: one member per revocation, readable by any replica.
    let mut con = server.connection().await;
    let held: Vec<String> = ::redis::cmd("ZRANGE")
        .arg("cognito-authz:revoked")
        .arg(0)
        .arg(-1)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        held,
        [
            r#"["s","acme","session-phone"]"#,
            r#"["u","acme","sub-alice"]"#
        ]
    );
    // No TTL: a key with one is what `volatile-*` eviction policies pick. Old entries are
    // pruned by score instead.
    let ttl: i64 = ::redis::cmd("TTL")
        .arg("cognito-authz:revoked")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(ttl, -1, "the set never expires as a whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_started_later_refuses_from_its_first_request() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let a = replica(&issuer, RedisRevocations::new(server.url()));
    loaded(&a).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .unwrap();

    let c = replica(&issuer, RedisRevocations::new(server.url()));
    // Whatever C answers before its first load, it never accepts alice's token.
    assert!(c.verify(&alice).await.is_err());
    loaded(&c).await;
    assert_eq!(c.verify(&alice).await, Err(AuthError::TokenRevoked));
    assert_eq!(c.revocations().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_its_first_load_a_replica_answers_503() {
    let issuer = start_issuer().await;
    let c = replica(
        &issuer,
        RedisRevocations::new(RedisServer::unreachable_url()),
    );
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_error_reply(
        &call(&app(&c), "/me", Some(&alice)).await,
        StatusCode::SERVICE_UNAVAILABLE,
        &AuthError::RevocationsUnavailable,
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), c.revocations_loaded())
            .await
            .is_err(),
        "not ready while the store cannot be read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_serve_last_known_keeps_answering_from_the_mirror() {
    let mut server = RedisServer::start();
    let issuer = start_issuer().await;
    let store = RedisRevocations::new(server.url()).max_staleness(Duration::from_millis(500));
    let a = replica(&issuer, store);
    loaded(&a).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    let list = a.revocations().unwrap().clone();
    list.revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .unwrap();

    server.kill();
    // Well past max_staleness: the policy only matters for "refuse".
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        call(&app(&a), "/me", Some(&bob)).await.status,
        StatusCode::OK
    );
    assert!(refused(&a, &alice).await, "the mirror still holds alice");

    // A revocation while Redis is down: this replica refuses at once, the caller learns that
    // it was not shared.
    let carol = issuer.mint(&access_a(&issuer, "carol", &[]));
    let outcome = list.revoke_user_shared(TENANT_A, "sub-carol").await;
    assert!(
        matches!(outcome, Err(RevocationError::NotShared(_))),
        "{outcome:?}"
    );
    let message = outcome.unwrap_err().to_string();
    assert!(
        !message.contains("127.0.0.1"),
        "no address in the error: {message}"
    );
    assert!(refused(&a, &carol).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_refuse_answers_503_after_max_staleness_and_recovers() {
    let mut server = RedisServer::start();
    let issuer = start_issuer().await;
    let store = RedisRevocations::new(server.url())
        .max_staleness(Duration::from_millis(800))
        .on_store_unavailable(OnStoreUnavailable::Refuse);
    let a = replica(&issuer, store);
    loaded(&a).await;
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    let app = app(&a);
    assert_eq!(call(&app, "/me", Some(&bob)).await.status, StatusCode::OK);

    server.kill();
    let killed = Instant::now();
    eventually("503 once the mirror is too old", || async {
        call(&app, "/me", Some(&bob)).await.status == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    // The mirror's age counts from its last confirmed sync, at most one ping interval
    // (max_staleness / 4 = 200 ms) before the kill.
    assert!(
        killed.elapsed() >= Duration::from_millis(550),
        "not before max_staleness: {:?}",
        killed.elapsed()
    );
    assert_error_reply(
        &call(&app, "/me", Some(&bob)).await,
        StatusCode::SERVICE_UNAVAILABLE,
        &AuthError::RevocationsUnavailable,
    );

    server.restart();
    eventually("served again once the store is back", || async {
        call(&app, "/me", Some(&bob)).await.status == StatusCode::OK
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_empty_unrevokes_nothing() {
    let mut server = RedisServer::start();
    let issuer = start_issuer().await;
    let a = replica(&issuer, RedisRevocations::new(server.url()));
    let b = replica(&issuer, RedisRevocations::new(server.url()));
    loaded(&a).await;
    loaded(&b).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .unwrap();
    eventually("B has alice", || refused(&b, &alice)).await;

    server.kill();
    // Recorded on B only while the store is down.
    let outcome = b
        .revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-bob")
        .await;
    assert!(outcome.is_err());
    server.restart();

    // The replicas write back what they hold, and announce what the store lacked.
    eventually("A learns bob from B's write-back", || refused(&a, &bob)).await;
    assert!(refused(&b, &alice).await && refused(&a, &alice).await);
    let c = replica(&issuer, RedisRevocations::new(server.url()));
    loaded(&c).await;
    assert!(
        refused(&c, &alice).await,
        "a new replica sees entries written back"
    );
    assert!(refused(&c, &bob).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_reopened_and_the_store_reloaded() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let a = replica(&issuer, RedisRevocations::new(server.url()));
    let b = replica(&issuer, RedisRevocations::new(server.url()));
    loaded(&a).await;
    loaded(&b).await;
    let mut con = server.connection().await;
    // Drop every subscription (both replicas'), then revoke at once: B may miss the message
    // while it reconnects, and must get the entry from its reload.
    let _: i64 = ::redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut con)
        .await
        .unwrap();
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-alice")
        .await
        .unwrap();
    eventually("B refuses alice", || refused(&b, &alice)).await;
    // And it follows changes again after reconnecting.
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    a.revocations()
        .unwrap()
        .revoke_user_shared(TENANT_A, "sub-bob")
        .await
        .unwrap();
    eventually("B refuses bob", || refused(&b, &bob)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_redis_does_not_slow_requests() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let a = replica(&issuer, RedisRevocations::new(server.url()));
    loaded(&a).await;
    // Minted before the revocations: a token issued in a later second than its user's
    // revocation is (rightly) valid, so minting after them would make the test depend on the clock.
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    let user7 = issuer.mint(&access_a(&issuer, "user7", &[]));
    let list = a.revocations().unwrap().clone();
    for i in 0..100 {
        list.revoke_user_shared(TENANT_A, &format!("sub-user{i}"))
            .await
            .unwrap();
    }
    a.verify(&bob).await.unwrap();

    // Block the whole server for 2 s from another connection.
    let mut con = server.connection().await;
    let sleeping = tokio::spawn(async move {
        let _: () = ::redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(2)
            .query_async(&mut con)
            .await
            .unwrap();
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The check is local: a verification of a cached token completes without waiting at all.
    for _ in 0..1_000 {
        let outcome = a.verify(&bob).now_or_never().expect("no wait on Redis");
        assert!(outcome.is_ok());
        let outcome = a.verify(&user7).now_or_never().expect("no wait on Redis");
        assert_eq!(outcome, Err(AuthError::TokenRevoked));
    }
    assert!(
        !sleeping.is_finished(),
        "Redis was still asleep during the checks"
    );
    sleeping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_store_data_is_skipped_and_the_rest_still_applies() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let mut con = server.connection().await;
    let now = now();
    // Written by hand: garbage, and two valid entries, one far ahead of this clock.
    for (member, score) in [
        ("not json", now),
        (r#"["u","acme"]"#, now),
        (r#"["x","acme","sub-alice"]"#, now),
        (r#"["u","acme","sub-bob"]"#, now),
        (r#"["u","acme","sub-dave"]"#, now + 10_000),
    ] {
        let _: i64 = ::redis::cmd("ZADD")
            .arg("cognito-authz:revoked")
            .arg(score)
            .arg(member)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    let a = replica(&issuer, RedisRevocations::new(server.url()));
    loaded(&a).await;
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    a.verify(&alice)
        .await
        .expect("no malformed entry revokes anyone");
    assert!(refused(&a, &bob).await);
    assert_eq!(a.revocations().unwrap().len(), 2);
    // A time ahead of this replica's clock is clamped to it and applied, never dropped (the
    // clamping itself: `wire` unit tests).
    let dave = issuer.mint(&access_a(&issuer, "dave", &[]));
    assert!(refused(&a, &dave).await, "a future time still revokes");

    // Malformed messages are skipped too, and the subscription keeps working.
    for payload in [
        "{",
        r#"["u","acme","sub-alice","soon"]"#,
        r#"["u","acme","sub-alice",-1]"#,
    ] {
        let _: i64 = ::redis::cmd("PUBLISH")
            .arg("cognito-authz:revocations")
            .arg(payload)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    let carol = issuer.mint(&access_a(&issuer, "carol", &[]));
    // Far ahead of this clock: clamped and applied, as in the set.
    let message = serde_json::json!(["u", "acme", "sub-carol", 99_999_999_999u64]).to_string();
    let _: i64 = ::redis::cmd("PUBLISH")
        .arg("cognito-authz:revocations")
        .arg(message)
        .query_async(&mut con)
        .await
        .unwrap();
    eventually("carol's valid message applies", || refused(&a, &carol)).await;
    a.verify(&alice).await.expect("still not revoked");
}
