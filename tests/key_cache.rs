//! The key cache, observed through the local issuer's request counter: lazy fetch, prefetch,
//! rotation, cooldown, single flight, stale-while-error, unusable keys and fetch limits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cognito_authz::jwks::MIN_COOLDOWN;
use cognito_authz::testing::{JwksBehavior, LocalIssuer, SigningKey};
use cognito_authz::{AuthError, CognitoAuth, Principal, jwks::FetchError, jwks::JwksConfig};
use common::*;
use http::StatusCode;
use serde_json::{Value, json};

fn jwks(configure: impl FnOnce(&mut JwksConfig)) -> JwksConfig {
    let mut config = JwksConfig::default();
    configure(&mut config);
    config
}

fn app(auth: &CognitoAuth) -> Router {
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.username().to_owned() }),
        )
        .layer(auth.layer())
}

fn keys_unavailable() -> AuthError {
    AuthError::KeysUnavailable {
        tenant: TENANT_A.into(),
    }
}

/// A token whose header names `kid` (the signature is never checked: the key is unknown).
fn token_with_kid(issuer: &LocalIssuer, kid: &str) -> String {
    unsigned_token(
        &json!({"alg": "RS256", "kid": kid}),
        &access_a(issuer, "mallory", &[]),
        &[7u8; 256],
    )
}

fn jwks_body(keys: Vec<Value>) -> JwksBehavior {
    JwksBehavior::Body(json!({ "keys": keys }).to_string().into_bytes())
}

/// A JWK with a 1024-bit modulus (128 bytes, top bit set).
fn weak_jwk(kid: &str) -> Value {
    let mut n: Vec<u8> = (0..128).map(|_| rand::random::<u8>()).collect();
    n[0] |= 0x80;
    n[127] |= 1;
    json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": b64(&n), "e": "AQAB"})
}

#[tokio::test]
async fn keys_are_fetched_lazily_on_first_use() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    let app = app(&auth);
    tokio::task::yield_now().await;
    assert_eq!(issuer.fetch_count(), 0, "building fetches nothing");

    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    assert_eq!(auth.verify(&token).await.unwrap().username(), "alice");
    assert_eq!(issuer.fetch_count(), 1);

    let other = issuer.mint(&access_a(&issuer, "bob", &[]));
    let reply = call(&app, "/me", Some(&other)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "bob");
    assert_eq!(issuer.fetch_count(), 1, "keys are held");
}

#[tokio::test]
async fn prefetch_fetches_every_tenant() {
    let issuer = start_issuer().await;
    let auth = CognitoAuth::builder()
        .tenant(tenant_a(&issuer))
        .unwrap()
        .tenant(tenant_b(&issuer))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(issuer.fetch_count(), 0);
    assert!(auth.prefetch().await.is_empty());
    assert_eq!(issuer.fetch_count(), 2, "one fetch per tenant");

    let a = issuer.mint(&access_a(&issuer, "alice", &[]));
    let b = issuer.mint(&issuer.access_claims(POOL_B, CLIENT_B, "bob", &[]));
    assert_eq!(auth.verify(&a).await.unwrap().tenant(), TENANT_A);
    assert_eq!(auth.verify(&b).await.unwrap().tenant(), TENANT_B);
    assert_eq!(issuer.fetch_count(), 2, "no fetch after prefetch");
}

#[tokio::test]
async fn prefetch_reports_failing_tenants() {
    let issuer = start_issuer().await;
    let auth = CognitoAuth::builder()
        .tenant(tenant_a(&issuer))
        .unwrap()
        .tenant(tenant_b(&issuer))
        .unwrap()
        .build()
        .unwrap();
    issuer.set_behavior(JwksBehavior::Status(500));
    let mut failed = auth.prefetch().await;
    failed.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        failed,
        vec![
            (TENANT_A.to_owned(), FetchError::Status(500)),
            (TENANT_B.to_owned(), FetchError::Status(500)),
        ]
    );
    assert_eq!(issuer.fetch_count(), 2);
    // The prefetch counts for the cooldown: no immediate refetch.
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    assert_eq!(auth.verify(&token).await.unwrap_err(), keys_unavailable());
    assert_eq!(issuer.fetch_count(), 2);
}

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

#[tokio::test]
async fn held_keys_keep_working_while_the_issuer_fails() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| c.cooldown = MIN_COOLDOWN))
            .token_cache_entries(0)
    });
    let app = app(&auth);
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    auth.verify(&token).await.unwrap();
    assert_eq!(issuer.fetch_count(), 1);

    for behavior in [
        JwksBehavior::Status(500),
        JwksBehavior::Drop,
        JwksBehavior::Body(b"not json".to_vec()),
        jwks_body(vec![]),
    ] {
        issuer.set_behavior(behavior.clone());
        tokio::time::sleep(MIN_COOLDOWN).await;
        let before = issuer.fetch_count();
        // Known kid: served from the held set.
        let reply = call(&app, "/me", Some(&token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{behavior:?}");
        // Unknown kid: a refetch is tried, fails, and the held set answers 401.
        let reply = call(&app, "/me", Some(&token_with_kid(&issuer, "kid-new"))).await;
        assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::UnknownKeyId);
        assert_eq!(issuer.fetch_count(), before + 1, "{behavior:?}");
        // The failed refetch did not drop the held keys.
        assert_eq!(auth.verify(&token).await.unwrap().username(), "alice");
    }
}

#[tokio::test]
async fn stale_keys_are_served_while_refresh_fails_until_max_key_age() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| {
            c.cooldown = MIN_COOLDOWN;
            c.refresh_interval = Duration::ZERO;
            c.max_key_age = Duration::from_millis(800);
        }))
        .token_cache_entries(0)
    });
    let app = app(&auth);
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    auth.verify(&token).await.unwrap();
    assert_eq!(issuer.fetch_count(), 1);

    issuer.set_behavior(JwksBehavior::Status(500));
    tokio::time::sleep(MIN_COOLDOWN).await;
    // The held key is past its refresh interval: it answers at once, and a background refresh
    // is tried (and fails).
    assert_eq!(auth.verify(&token).await.unwrap().username(), "alice");
    for _ in 0..100 {
        if issuer.fetch_count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        issuer.fetch_count(),
        2,
        "a background refresh was attempted"
    );

    tokio::time::sleep(Duration::from_millis(900)).await;
    let reply = call(&app, "/me", Some(&token)).await;
    assert_error_reply(&reply, StatusCode::SERVICE_UNAVAILABLE, &keys_unavailable());

    issuer.set_behavior(JwksBehavior::Normal);
    tokio::time::sleep(MIN_COOLDOWN).await;
    let reply = call(&app, "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "refreshed again");
}

#[tokio::test]
async fn jwks_settings_that_break_the_cache_are_refused() {
    let issuer = start_issuer().await;
    for (field, config) in [
        (
            "jwks.cooldown",
            jwks(|c| c.cooldown = Duration::from_millis(99)),
        ),
        (
            "jwks.fetch_timeout",
            jwks(|c| c.fetch_timeout = Duration::ZERO),
        ),
        (
            "jwks.max_response_bytes",
            jwks(|c| c.max_response_bytes = 100),
        ),
        (
            "jwks.max_key_age",
            jwks(|c| c.max_key_age = Duration::from_secs(1)),
        ),
    ] {
        let err = CognitoAuth::builder()
            .tenant(tenant_a(&issuer))
            .unwrap()
            .jwks(config)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
}

#[tokio::test]
async fn no_keys_and_a_failing_issuer_is_503_with_retry_after() {
    for behavior in [
        JwksBehavior::Status(500),
        JwksBehavior::Status(404),
        JwksBehavior::Drop,
        JwksBehavior::Body(b"<html>".to_vec()),
        jwks_body(vec![
            json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}),
        ]),
    ] {
        let issuer = start_issuer().await;
        let auth = auth_a(&issuer, |b| b);
        let app = app(&auth);
        issuer.set_behavior(behavior.clone());
        let token = issuer.mint(&access_a(&issuer, "alice", &[]));
        let reply = call(&app, "/me", Some(&token)).await;
        assert_error_reply(&reply, StatusCode::SERVICE_UNAVAILABLE, &keys_unavailable());
        assert_eq!(
            reply.json()["error_description"],
            "signing keys are temporarily unavailable"
        );
        assert_eq!(reply.headers["retry-after"], "10");
        assert_eq!(issuer.fetch_count(), 1, "{behavior:?}");
        // Within the cooldown: no new fetch, same answer.
        assert_eq!(auth.verify(&token).await.unwrap_err(), keys_unavailable());
        assert_eq!(issuer.fetch_count(), 1, "{behavior:?}");
    }
}

#[tokio::test]
async fn keys_are_fetched_again_after_the_cooldown_once_the_issuer_recovers() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| c.cooldown = Duration::from_millis(200)))
    });
    issuer.set_behavior(JwksBehavior::Status(503));
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    assert_eq!(auth.verify(&token).await.unwrap_err(), keys_unavailable());
    issuer.set_behavior(JwksBehavior::Normal);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(auth.verify(&token).await.unwrap().username(), "alice");
    assert_eq!(issuer.fetch_count(), 2);
}

#[tokio::test]
async fn weak_keys_are_ignored() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b.jwks(jwks(|c| c.cooldown = MIN_COOLDOWN)));
    let router = app(&auth);
    let weak_token = token_with_kid(&issuer, "weak-1024");

    // Next to a good key: the weak kid is unknown.
    issuer.set_behavior(jwks_body(vec![
        issuer.current_key().jwk(),
        weak_jwk("weak-1024"),
    ]));
    let reply = call(&router, "/me", Some(&weak_token)).await;
    assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::UnknownKeyId);
    let good = issuer.mint(&access_a(&issuer, "alice", &[]));
    assert_eq!(
        call(&router, "/me", Some(&good)).await.status,
        StatusCode::OK
    );

    // As the only key: the set has no usable key, so nothing is loaded.
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    issuer.set_behavior(jwks_body(vec![weak_jwk("weak-1024")]));
    let reply = call(
        &app(&auth),
        "/me",
        Some(&token_with_kid(&issuer, "weak-1024")),
    )
    .await;
    assert_error_reply(&reply, StatusCode::SERVICE_UNAVAILABLE, &keys_unavailable());
    assert_eq!(issuer.fetch_count(), 1);
}

#[tokio::test]
async fn unusable_and_ambiguous_jwks_entries_are_skipped() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    let published = issuer.current_key();
    let impostor = SigningKey::generate(published.kid());
    let mut enc = SigningKey::generate("enc-key").jwk();
    enc["use"] = json!("enc");
    let mut rs512 = SigningKey::generate("rs512-key").jwk();
    rs512["alg"] = json!("RS512");
    let good = SigningKey::generate("good-key");
    issuer.set_behavior(jwks_body(vec![
        // The same kid twice (the genuine key and another): ambiguous, dropped.
        published.jwk(),
        impostor.jwk(),
        enc,
        rs512,
        json!({"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}),
        good.jwk(),
    ]));
    let claims = access_a(&issuer, "alice", &[]);
    for token in [
        published.sign(&claims),
        impostor.sign(&claims),
        token_with_kid(&issuer, "enc-key"),
        token_with_kid(&issuer, "rs512-key"),
        token_with_kid(&issuer, "broken"),
    ] {
        assert_eq!(
            auth.verify(&token).await.unwrap_err(),
            AuthError::UnknownKeyId
        );
    }
    assert_eq!(
        auth.verify(&good.sign(&claims)).await.unwrap().username(),
        "alice"
    );
    assert_eq!(issuer.fetch_count(), 1);
}

#[tokio::test]
async fn responses_over_the_size_limit_are_not_loaded() {
    let issuer = start_issuer().await;
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    let padded = |size: usize| {
        let mut body = json!({ "keys": [issuer.current_key().jwk()] })
            .to_string()
            .into_bytes();
        body.extend(std::iter::repeat_n(b' ', size - body.len()));
        JwksBehavior::Body(body)
    };

    // Over the default 64 KiB.
    let auth = auth_a(&issuer, |b| b);
    issuer.set_behavior(padded(64 * 1024 + 1));
    let reply = call(&app(&auth), "/me", Some(&token)).await;
    assert_error_reply(&reply, StatusCode::SERVICE_UNAVAILABLE, &keys_unavailable());
    assert_eq!(issuer.fetch_count(), 1);

    // The same document within the limit loads.
    let auth = auth_a(&issuer, |b| b);
    issuer.set_behavior(padded(64 * 1024));
    assert_eq!(auth.verify(&token).await.unwrap().username(), "alice");
    assert_eq!(issuer.fetch_count(), 2);

    // A configured limit below the normal key set's size (four keys, about 1.8 KiB).
    for _ in 0..3 {
        issuer.rotate();
    }
    let auth = auth_a(&issuer, |b| b.jwks(jwks(|c| c.max_response_bytes = 1024)));
    issuer.set_behavior(JwksBehavior::Normal);
    assert_eq!(auth.verify(&token).await.unwrap_err(), keys_unavailable());
    assert_eq!(issuer.fetch_count(), 3);
}

#[tokio::test]
async fn a_hanging_issuer_gives_503_after_the_fetch_timeout() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| c.fetch_timeout = Duration::from_millis(300)))
    });
    issuer.set_behavior(JwksBehavior::Hang);
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    let reply = call(&app(&auth), "/me", Some(&token)).await;
    assert_error_reply(&reply, StatusCode::SERVICE_UNAVAILABLE, &keys_unavailable());
    assert_eq!(issuer.fetch_count(), 1);

    // prefetch reports the timeout.
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks(|c| c.fetch_timeout = Duration::from_millis(300)))
    });
    assert_eq!(
        auth.prefetch().await,
        vec![(TENANT_A.to_owned(), FetchError::Timeout)]
    );
}
