//! When keys are fetched: lazily on first use, or for every tenant by `prefetch` (which reports the
//! failing tenants); JWKS settings that would break the cache are refused.

use std::time::Duration;

use cognito_authz::testing::JwksBehavior;
use cognito_authz::{CognitoAuth, jwks::FetchError};
use http::StatusCode;

use super::{app, jwks, keys_unavailable};
use crate::common::*;

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
