//! Rotation, cooldown and single flight: a rotated key is accepted after one more fetch past the
//! cooldown (right after it with the minimum cooldown), unknown kids within the cooldown do not
//! refetch, and concurrent misses after a rotation, or concurrent first requests on a cold cache,
//! share one fetch.

use std::sync::Arc;
use std::time::Duration;

use cognito_authz::AuthError;
use cognito_authz::jwks::MIN_COOLDOWN;
use http::StatusCode;

use super::{app, jwks, token_with_kid};
use crate::common::*;

#[tokio::test]
async fn rotated_key_is_accepted_after_one_more_fetch_past_the_cooldown() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| c.cooldown = Duration::from_millis(200)))
    });
    let old = issuer.mint(&access_a(&issuer, "alice", &[]));
    auth.verify(&old).await.unwrap();
    assert_eq!(issuer.fetch_count(), 1);

    let kid = issuer.rotate();
    let new = issuer.mint(&access_a(&issuer, "bob", &[]));
    assert_eq!(
        unb64(segments(&new).0),
        format!("{{\"alg\":\"RS256\",\"kid\":\"{kid}\",\"typ\":\"JWT\"}}").as_bytes()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(auth.verify(&new).await.unwrap().username(), "bob");
    assert_eq!(issuer.fetch_count(), 2, "exactly one more fetch");
    // The old key is still published and still held.
    auth.invalidate_caches();
    assert_eq!(auth.verify(&old).await.unwrap().username(), "alice");
    assert_eq!(issuer.fetch_count(), 2);
}

#[tokio::test]
async fn rotated_key_with_the_minimum_cooldown_is_fetched_right_after_it() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b.jwks(jwks(|c| c.cooldown = MIN_COOLDOWN)));
    auth.verify(&issuer.mint(&access_a(&issuer, "alice", &[])))
        .await
        .unwrap();
    tokio::time::sleep(MIN_COOLDOWN).await;
    issuer.rotate();
    let new = issuer.mint(&access_a(&issuer, "bob", &[]));
    assert_eq!(auth.verify(&new).await.unwrap().username(), "bob");
    assert_eq!(issuer.fetch_count(), 2);
}

#[tokio::test]
async fn unknown_kids_within_the_cooldown_do_not_refetch() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| c.cooldown = Duration::from_secs(10)))
    });
    let app = app(&auth);
    auth.verify(&issuer.mint(&access_a(&issuer, "alice", &[])))
        .await
        .unwrap();
    assert_eq!(issuer.fetch_count(), 1);
    for _ in 0..50 {
        let kid = format!("kid-{:016x}", rand::random::<u64>());
        let token = token_with_kid(&issuer, &kid);
        assert_eq!(
            auth.verify(&token).await.unwrap_err(),
            AuthError::UnknownKeyId
        );
    }
    assert!(
        issuer.fetch_count() <= 2,
        "at most one fetch beyond the initial one, got {}",
        issuer.fetch_count()
    );
    let reply = call(&app, "/me", Some(&token_with_kid(&issuer, "kid-x"))).await;
    assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::UnknownKeyId);
    assert!(issuer.fetch_count() <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_after_rotation_share_one_fetch() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| c.cooldown = MIN_COOLDOWN))
            .token_cache_entries(0)
    });
    auth.verify(&issuer.mint(&access_a(&issuer, "alice", &[])))
        .await
        .unwrap();
    assert_eq!(issuer.fetch_count(), 1);
    tokio::time::sleep(MIN_COOLDOWN).await;

    let kid = issuer.rotate();
    let token = Arc::new(issuer.mint(&access_a(&issuer, "bob", &[])));
    assert!(
        String::from_utf8(unb64(segments(&token).0))
            .unwrap()
            .contains(&kid)
    );
    let start = Arc::new(tokio::sync::Barrier::new(1000));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (auth, token, start) = (auth.clone(), token.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                auth.verify(&token).await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().username(), "bob");
    }
    assert_eq!(issuer.fetch_count(), 2, "exactly one fetch for 1000 misses");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_on_a_cold_cache_share_one_fetch() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    let app = app(&auth);
    let token = Arc::new(issuer.mint(&access_a(&issuer, "alice", &[])));
    let start = Arc::new(tokio::sync::Barrier::new(1000));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (app, token, start) = (app.clone(), token.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                call(&app, "/me", Some(&token)).await
            })
        })
        .collect();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), "alice");
    }
    assert_eq!(
        issuer.fetch_count(),
        1,
        "exactly one fetch for 1000 requests"
    );
    assert_eq!(auth.cached_tokens(), 1);
}
