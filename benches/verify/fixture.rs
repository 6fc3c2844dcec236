//! The shared fixture: a local issuer for the bench tenant, one token and 512 distinct ones,
//! the verifier under test, the jsonwebtoken peer set up on the same key and rules, and the
//! request the router benches send.

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, Tenant, TenantRegistry};
use futures_util::FutureExt;
use http::Request;
use serde_json::Value;

pub const POOL: &str = "us-east-1_BenchPool1";
pub const CLIENT: &str = "bench-client";

pub struct Fixture {
    pub _runtime: tokio::runtime::Runtime,
    pub idp: LocalIssuer,
    pub token: String,
    /// Distinct valid tokens for cold runs.
    pub tokens: Vec<String>,
}

pub fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let idp = runtime.block_on(LocalIssuer::start()).unwrap();
    let claims = |user: &str| idp.access_claims(POOL, CLIENT, user, &["admin", "member"]);
    let token = idp.mint(&claims("alice"));
    let tokens = (0..512)
        .map(|i| idp.mint(&claims(&format!("user{i}"))))
        .collect();
    Fixture {
        _runtime: runtime,
        idp,
        token,
        tokens,
    }
}

pub fn tenant(idp: &LocalIssuer, id: &str, pool: &str) -> Tenant {
    Tenant::builder(id, pool)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(pool))
        .build()
        .unwrap()
}

pub fn auth(f: &Fixture, extra_tenants: usize, cache_entries: u64) -> CognitoAuth {
    let mut tenants = vec![tenant(&f.idp, "bench", POOL)];
    tenants.extend(
        (0..extra_tenants)
            .map(|i| tenant(&f.idp, &format!("t{i}"), &format!("us-east-1_Extra{i}"))),
    );
    let auth = CognitoAuth::builder()
        .tenants(TenantRegistry::from_tenants(tenants).unwrap())
        .token_cache_entries(cache_entries)
        .build()
        .unwrap();
    // Fetch the bench tenant's keys once, outside of any measurement.
    f._runtime.block_on(auth.prefetch());
    auth
}

/// Completes a future that never waits (keys held, cache warm) without a runtime.
pub fn now<T>(fut: impl std::future::Future<Output = T>) -> T {
    fut.now_or_never().expect("verification waited on I/O")
}

pub fn rsa_key(f: &Fixture) -> ParsedPublicKey {
    let jwk = f.idp.current_key().jwk();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap()
}

pub fn jsonwebtoken_setup(f: &Fixture) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    let jwk = f.idp.current_key().jwk();
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[LocalIssuer::issuer(POOL)]);
    // Cognito access tokens have no `aud`; client_id is checked by hand below, like a user would.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss"]);
    (key, validation)
}

pub fn jsonwebtoken_decode(
    token: &str,
    key: &jsonwebtoken::DecodingKey,
    v: &jsonwebtoken::Validation,
) {
    let data = jsonwebtoken::decode::<Value>(token, key, v).unwrap();
    assert_eq!(data.claims["client_id"], CLIENT);
    assert_eq!(data.claims["token_use"], "access");
}

pub fn request(token: &str) -> Request<Body> {
    Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}
