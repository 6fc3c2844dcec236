//! The key cache, observed through the local issuer's request counter: lazy fetch, prefetch,
//! rotation, cooldown, single flight, stale-while-error, unusable keys and fetch limits.

#[path = "../common/mod.rs"]
mod common;

mod fetching;
mod issuer_failures;
mod rotation;
mod unusable_keys;

use axum::Router;
use axum::routing::get;
use cognito_authz::testing::{JwksBehavior, LocalIssuer};
use cognito_authz::{AuthError, CognitoAuth, Principal, jwks::JwksConfig};
use common::*;
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
