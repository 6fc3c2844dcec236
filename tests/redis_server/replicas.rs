//! Replicas for the shared-revocation tests: `CognitoAuth` instances of tenant A with a Redis
//! store, and the waits the tests share. Include with
//! `#[path = "redis_server/replicas.rs"] mod replicas;` next to `mod common;`.

#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthError, CognitoAuth, Principal, revocation::RedisRevocations};

use crate::common::*;

/// Generous bounds for "eventually": far above the measured propagation (milliseconds), so that
/// a slow CI machine does not fail them; they only bound how long a broken build hangs.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn replica(issuer: &LocalIssuer, store: RedisRevocations) -> CognitoAuth {
    auth_a(issuer, |b| b.redis_revocations(store))
}

pub async fn loaded(auth: &CognitoAuth) {
    tokio::time::timeout(PATIENCE, auth.revocations_loaded())
        .await
        .expect("the replica loads the store");
}

/// Polls `condition` until it holds, failing after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn refused(auth: &CognitoAuth, token: &str) -> bool {
    auth.verify(token).await == Err(AuthError::TokenRevoked)
}

pub fn session_token(issuer: &LocalIssuer, username: &str, session: &str) -> String {
    let mut claims = access_a(issuer, username, &[]);
    claims["origin_jti"] = session.into();
    issuer.mint(&claims)
}

pub fn app(auth: &CognitoAuth) -> Router {
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.username().to_owned() }),
        )
        .layer(auth.layer())
}
