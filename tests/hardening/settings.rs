//! Settings that would weaken verification: cached tokens are dropped after the cache ttl and
//! verified again, and a zero cache ttl or other dangerous settings are configuration errors.

use std::time::Duration;

use cognito_authz::{CognitoAuth, Tenant};

use super::runtime;
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_tokens_are_dropped_after_the_cache_ttl_and_verified_again() {
    let issuer = start_issuer().await;
    // A ttl long enough that a stalled CI machine still counts the entry before it expires.
    let auth = auth_a(&issuer, |b| b.token_cache_ttl(Duration::from_secs(2)));
    let token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    auth.verify(&token).await.unwrap();
    assert_eq!(auth.cached_tokens(), 1);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(auth.cached_tokens(), 0, "entry outlived the cache ttl");
    auth.verify(&token)
        .await
        .expect("a valid token is verified again");
    assert_eq!(auth.cached_tokens(), 1);
}

#[test]
fn a_zero_cache_ttl_is_a_config_error() {
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let err = CognitoAuth::builder()
        .tenant(tenant_a(&issuer))
        .unwrap()
        .token_cache_ttl(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("token_cache_ttl_seconds"), "{err}");
}

#[test]
fn dangerous_settings_are_config_errors() {
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let build =
        |configure: fn(cognito_authz::CognitoAuthBuilder) -> cognito_authz::CognitoAuthBuilder| {
            configure(CognitoAuth::builder().tenant(tenant_a(&issuer)).unwrap())
                .build()
                .unwrap_err()
                .to_string()
        };
    assert!(build(|b| b.leeway(Duration::from_secs(301))).contains("leeway_seconds"));
    assert!(
        build(|b| b.token_cache_ttl(Duration::from_secs(86_401)))
            .contains("token_cache_ttl_seconds")
    );
    for url in ["https://", "http://", "ftp://h/x", "not a url"] {
        let err = Tenant::builder(TENANT_A, POOL_A)
            .client_id(CLIENT_A)
            .jwks_url(url)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("tenant.jwks_url"), "{url}: {err}");
    }
}
