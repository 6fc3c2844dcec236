//! The soak: every answer during a concurrent mix of requests across a key rotation is the right
//! one.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_authz::testing::{LocalIssuer, SigningKey};
use cognito_authz::{AuthzLayer, CognitoAuth, Policy};
use http::Request;
use serde_json::json;
use tower::ServiceExt;

use crate::common::*;

/// Every answer during a concurrent mix of requests across a key rotation is the right one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_across_key_rotation_gives_every_request_its_exact_answer() {
    let issuer = start_issuer().await;
    let cooldown = Duration::from_millis(100);
    let auth = CognitoAuth::builder()
        .tenant(tenant_a(&issuer))
        .unwrap()
        .tenant(tenant_b(&issuer))
        .unwrap()
        .jwks(jwks_with_cooldown(cooldown))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/me", get(|| async { "me" }))
        .route(
            "/tenants/{tenant}/admin",
            get(|| async { "admin" }).layer(AuthzLayer::policy(
                Policy::role("admin").and(Policy::same_tenant_as("tenant")),
            )),
        )
        .layer(auth.layer());

    // (path, token, expected status) for one key generation.
    let cases = |issuer: &LocalIssuer, key: &SigningKey| {
        let a_admin = key.sign(&access_a(issuer, "alice", &["admin"]));
        let a_member = key.sign(&access_a(issuer, "bob", &["member"]));
        let b_admin = key.sign(&issuer.access_claims(POOL_B, CLIENT_B, "carol", &["admin"]));
        let mut expired_claims = access_a(issuer, "alice", &["admin"]);
        expired_claims["exp"] = json!(cognito_authz::testing::now() - 10);
        let expired = key.sign(&expired_claims);
        let rogue = SigningKey::generate(key.kid()).sign(&access_a(issuer, "eve", &["admin"]));
        let id = key.sign(&id_a(issuer, "alice", &["admin"]));
        vec![
            ("/me", a_member.clone(), 200),
            ("/tenants/acme/admin", a_admin.clone(), 200),
            ("/tenants/globex/admin", b_admin.clone(), 200),
            ("/tenants/acme/admin", a_member, 403),
            ("/tenants/acme/admin", b_admin, 403),
            ("/tenants/globex/admin", a_admin, 403),
            ("/me", expired, 401),
            ("/me", rogue, 401),
            ("/me", id, 401),
        ]
    };
    let old = cases(&issuer, &issuer.current_key());
    assert!(auth.prefetch().await.is_empty());
    assert_eq!(
        issuer.fetch_count(),
        2,
        "one prefetch per tenant (each pool has its own JWKS URL)"
    );

    let run = |cases: Vec<(&'static str, String, u16)>, rounds: usize| {
        let app = app.clone();
        async move {
            let mut tasks = Vec::new();
            for round in 0..rounds {
                for (path, token, expected) in cases.iter().cloned() {
                    let app = app.clone();
                    tasks.push(tokio::spawn(async move {
                        let request = Request::get(path)
                            .header("authorization", format!("Bearer {token}"))
                            .body(Body::empty())
                            .unwrap();
                        let status = app.oneshot(request).await.unwrap().status().as_u16();
                        (round, path, expected, status)
                    }));
                }
            }
            let mut checked = 0;
            for task in tasks {
                let (round, path, expected, status) = task.await.unwrap();
                assert_eq!(status, expected, "round {round} {path}");
                checked += 1;
            }
            checked
        }
    };

    let before = run(old.clone(), 100).await;
    tokio::time::sleep(cooldown * 2).await;
    let new_kid = issuer.rotate();
    let new = cases(&issuer, &issuer.current_key());
    assert_eq!(issuer.current_key().kid(), new_kid);
    // Old and new tokens at once, while the new key is being fetched.
    let mut mixed = old.clone();
    mixed.extend(new.clone());
    let during = run(mixed, 100).await;
    let fetches_after_rotation = issuer.fetch_count();
    assert_eq!(before + during, 900 + 1800);
    assert_eq!(
        fetches_after_rotation, 4,
        "per tenant: one fetch at startup, one for the new kid"
    );
}
