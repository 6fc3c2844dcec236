//! End to end: two replicas of the admin service, each its own `CognitoAuth` and admin router
//! (in-process, as `examples/admin_service` builds them from a `[revocations]` table), sharing
//! one real redis-server, against moto as Cognito. A sign-out through replica A makes replica B
//! refuse the user's earlier token; with Redis down, the route says that Cognito's sign-out was
//! done but not shared.

#![cfg(all(feature = "admin", feature = "redis"))]

mod moto;
mod redis_server;

use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::Client;
use axum::Router;
use axum::body::Body;
use cognito_authz::admin::AdminApi;
use cognito_authz::{AuthError, CognitoAuth};
use http::{Method, Request, StatusCode, header};
use moto::{Moto, Pool, access_token};
use redis_server::RedisServer;
use serde_json::Value;
use tower::ServiceExt;

async fn create_pool(cognito: &Client) -> Pool {
    moto::pool_with_users(cognito, "replicas", &[("alice", true), ("bob", false)]).await
}

/// One replica, built from the configuration file format.
fn replica(moto: &Moto, pool: &Pool, redis_url: &str, cognito: &Client) -> (CognitoAuth, Router) {
    let config = format!(
        "[[tenant]]\nid = 'acme'\nuser_pool_id = '{pool}'\nclient_ids = ['{client}']\n\
         jwks_url = '{jwks}'\n\n[revocations]\nredis_url = '{redis_url}'\n\
         clock_margin_seconds = 1\n",
        pool = pool.id,
        client = pool.client_id,
        jwks = moto.jwks_url(&pool.id),
    );
    let auth = CognitoAuth::from_config_str(&config).expect("config");
    let app = AdminApi::new(auth.clone(), cognito.clone()).router();
    (auth, app)
}

async fn post(app: &Router, uri: &str, token: &str) -> (StatusCode, Option<String>, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        retry_after,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

async fn loaded(auth: &CognitoAuth) {
    tokio::time::timeout(Duration::from_secs(10), auth.revocations_loaded())
        .await
        .expect("replica loads the store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_through_one_replica_is_refused_by_the_other() {
    let moto = Moto::start();
    let mut redis = RedisServer::start();
    let cognito = moto.client();
    let pool = create_pool(&cognito).await;
    let (auth_a, app_a) = replica(&moto, &pool, &redis.url(), &cognito);
    let (auth_b, _app_b) = replica(&moto, &pool, &redis.url(), &cognito);
    loaded(&auth_a).await;
    loaded(&auth_b).await;
    let alice = access_token(&cognito, &pool, "alice").await;
    let bob = access_token(&cognito, &pool, "bob").await;
    auth_b
        .verify(&bob)
        .await
        .expect("valid on B before the sign-out (now cached)");

    let (status, _, body) = post(&app_a, "/admin/users/bob/signout", &alice).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(auth_a.verify(&bob).await, Err(AuthError::TokenRevoked));
    let start = Instant::now();
    while auth_b.verify(&bob).await != Err(AuthError::TokenRevoked) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never refused bob"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    auth_b.verify(&alice).await.expect("the admin is untouched");

    // Redis down: Cognito's own sign-out still happens, and the route says the revocation
    // was not shared (503 + Retry-After); replica A refuses the new token at once anyway.
    let bob_again = access_token(&cognito, &pool, "bob").await;
    // A later `iat` second past the clock margin (1 s here; tokens issued within it after
    // the recorded sign-out are refused, README "Clocks").
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let bob_later = access_token(&cognito, &pool, "bob").await;
    auth_b
        .verify(&bob_later)
        .await
        .expect("a later sign-in is valid on B");
    redis.kill();
    let (status, retry_after, body) = post(&app_a, "/admin/users/bob/signout", &alice).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(body["error"], "revocation_not_shared");
    let message = body["error_description"]
        .as_str()
        .expect("error_description");
    assert!(
        message.starts_with("Cognito signed the user out, but the revocation was not shared"),
        "{message}"
    );
    assert!(!message.contains("127.0.0.1"), "{message}");
    let err = cognito
        .get_user()
        .access_token(&bob_later)
        .send()
        .await
        .expect_err("Cognito's sign-out was done");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_not_authorized_exception()),
        "{err:?}"
    );
    assert_eq!(
        auth_a.verify(&bob_later).await,
        Err(AuthError::TokenRevoked)
    );
    assert_eq!(
        auth_a.verify(&bob_again).await,
        Err(AuthError::TokenRevoked)
    );

    // Once Redis is back (empty), A writes back what it holds and B learns it.
    redis.restart();
    let start = Instant::now();
    while auth_b.verify(&bob_later).await != Err(AuthError::TokenRevoked) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never learned the sign-out"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Issue 18 item 7: removing a user from a group that maps to a role is a demotion, shared
/// like a sign-out: replica B refuses the token that still carries the group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demotion_through_one_replica_is_refused_by_the_other() {
    let moto = Moto::start();
    let redis = RedisServer::start();
    let cognito = moto.client();
    let pool = moto::pool_with_users(
        &cognito,
        "demotion",
        &[("alice", true), ("carol", true), ("bob", false)],
    )
    .await;
    let (auth_a, app_a) = replica(&moto, &pool, &redis.url(), &cognito);
    let (auth_b, _app_b) = replica(&moto, &pool, &redis.url(), &cognito);
    loaded(&auth_a).await;
    loaded(&auth_b).await;
    let alice = access_token(&cognito, &pool, "alice").await;
    let carol = access_token(&cognito, &pool, "carol").await;
    let bob = access_token(&cognito, &pool, "bob").await;
    assert!(
        auth_b
            .verify(&carol)
            .await
            .expect("admin before")
            .has_role("admin")
    );

    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/admin/users/carol/groups/admin")
        .header(header::AUTHORIZATION, format!("Bearer {alice}"))
        .body(Body::empty())
        .expect("request");
    let response = app_a.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(auth_a.verify(&carol).await, Err(AuthError::TokenRevoked));
    let start = Instant::now();
    while auth_b.verify(&carol).await != Err(AuthError::TokenRevoked) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never refused the demoted token"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    auth_b.verify(&bob).await.expect("others untouched");
    auth_b.verify(&alice).await.expect("the admin is untouched");
}
