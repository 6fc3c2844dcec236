//! A failing issuer: held keys keep working, stale keys are served while refresh fails until the
//! maximum key age, no keys and a failing issuer is 503 with `Retry-After`, keys are fetched again
//! after the cooldown once the issuer recovers, and a hanging issuer gives 503 after the fetch
//! timeout.

use std::time::Duration;

use cognito_authz::jwks::MIN_COOLDOWN;
use cognito_authz::testing::JwksBehavior;
use cognito_authz::{AuthError, jwks::FetchError};
use http::StatusCode;
use serde_json::json;

use super::{app, jwks, jwks_body, keys_unavailable, token_with_kid};
use crate::common::*;

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
