//! Identity-provider faults: held keys keep working through every fault and a new key is accepted
//! once the issuer recovers; an issuer down from the start is 503 with one fetch per cooldown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::testing::SigningKey;
use cognito_authz::{AuthError, CognitoAuth, Tenant};
use serde_json::json;

use crate::common::*;

/// Every identity-provider fault, one after the other on one tenant: held keys keep working,
/// a token needing a new key gets 401 `UnknownKeyId` (keys are held) within the fetch timeout
/// plus a margin, nothing panics, and once the issuer recovers the new key is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_issuer_fault_keeps_known_keys_working_and_recovers_by_itself() {
    use cognito_authz::testing::JwksBehavior;

    let issuer = start_issuer().await;
    let cooldown = Duration::from_millis(200);
    let mut jwks = jwks_with_cooldown(cooldown);
    jwks.fetch_timeout = Duration::from_millis(300);
    jwks.max_response_bytes = 64 * 1024;
    let auth = auth_a(&issuer, |b| b.jwks(jwks).token_cache_entries(0));
    let old_token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    auth.verify(&old_token).await.expect("initial key set");

    let n = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
    let weak = json!({"kty": "RSA", "kid": "weak", "n": n, "e": "AQAB"});
    let ec = json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"});
    let dup_a = SigningKey::generate("dup").jwk();
    let dup_b = SigningKey::generate("dup").jwk();
    let faults: Vec<(&str, JwksBehavior)> = vec![
        ("connection dropped", JwksBehavior::Drop),
        ("HTTP 500", JwksBehavior::Status(500)),
        ("HTTP 404", JwksBehavior::Status(404)),
        ("hangs past the timeout", JwksBehavior::Hang),
        ("garbage JSON", JwksBehavior::Body(b"{\"keys\": [".to_vec())),
        (
            "not JSON",
            JwksBehavior::Body(b"<html>oops</html>".to_vec()),
        ),
        (
            "empty key set",
            JwksBehavior::Body(br#"{"keys": []}"#.to_vec()),
        ),
        (
            "10 MB body",
            JwksBehavior::Body(vec![b' '; 10 * 1024 * 1024]),
        ),
        (
            "only EC keys",
            JwksBehavior::Body(json!({"keys": [ec]}).to_string().into_bytes()),
        ),
        (
            "only a 1024-bit key",
            JwksBehavior::Body(json!({"keys": [weak]}).to_string().into_bytes()),
        ),
        (
            "duplicate kids only",
            JwksBehavior::Body(json!({"keys": [dup_a, dup_b]}).to_string().into_bytes()),
        ),
    ];
    for (what, behavior) in faults {
        let new_kid = issuer.rotate();
        let new_token = issuer.mint(&access_a(&issuer, "bob", &[]));
        issuer.set_behavior(behavior);
        tokio::time::sleep(cooldown + Duration::from_millis(20)).await;

        let started = std::time::Instant::now();
        assert_eq!(
            auth.verify(&new_token).await.unwrap_err(),
            AuthError::UnknownKeyId,
            "{what}: token with the new kid {new_kid}"
        );
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(300 + 1500),
            "{what}: answered after {took:?}"
        );
        auth.verify(&old_token)
            .await
            .unwrap_or_else(|e| panic!("{what}: held key refused: {e}"));

        issuer.set_behavior(JwksBehavior::Normal);
        tokio::time::sleep(cooldown + Duration::from_millis(20)).await;
        auth.verify(&new_token)
            .await
            .unwrap_or_else(|e| panic!("{what}: no recovery: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_is_down_from_the_start_is_503_and_causes_one_fetch_per_cooldown() {
    // A server that accepts connections and closes them at once, counting them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let server = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let issuer = start_issuer().await;
    let tenant = Tenant::builder(TENANT_A, POOL_A)
        .client_id(CLIENT_A)
        .jwks_url(format!(
            "http://127.0.0.1:{port}/{POOL_A}/.well-known/jwks.json"
        ))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .jwks(jwks_with_cooldown(Duration::from_secs(60)))
        .build()
        .unwrap();
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    for _ in 0..100 {
        assert!(matches!(
            auth.verify(&token).await.unwrap_err(),
            AuthError::KeysUnavailable { .. }
        ));
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one fetch attempt per cooldown"
    );
    server.abort();
}
