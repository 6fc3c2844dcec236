//! Key sets the cache must not load from: weak keys are ignored, unusable and ambiguous entries are
//! skipped, and responses over the size limit are not loaded.

use cognito_authz::AuthError;
use cognito_authz::jwks::MIN_COOLDOWN;
use cognito_authz::testing::{JwksBehavior, SigningKey};
use http::StatusCode;
use serde_json::json;

use super::{app, jwks, jwks_body, keys_unavailable, token_with_kid, weak_jwk};
use crate::common::*;

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
