//! Shared helpers of the integration tests: tenants on a [`LocalIssuer`], requests through an
//! axum router, and exact checks of the error contract (status, JSON body, headers).

#![allow(dead_code)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthError, CognitoAuth, CognitoAuthBuilder, Tenant, jwks::JwksConfig};
use http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

pub const POOL_A: &str = "us-east-1_AcmePool1";
pub const POOL_B: &str = "eu-west-1_GlobexPool2";
pub const TENANT_A: &str = "acme";
pub const TENANT_B: &str = "globex";
pub const CLIENT_A: &str = "client-acme";
pub const CLIENT_B: &str = "client-globex";

/// Starts a local issuer.
pub async fn start_issuer() -> LocalIssuer {
    LocalIssuer::start().await.expect("local issuer starts")
}

/// Tenant `acme` (pool A, client A) whose keys are served by `issuer`.
pub fn tenant_a(issuer: &LocalIssuer) -> Tenant {
    Tenant::builder(TENANT_A, POOL_A)
        .client_id(CLIENT_A)
        .jwks_url(issuer.jwks_url(POOL_A))
        .build()
        .expect("tenant a")
}

/// Tenant `globex` (pool B, client B) whose keys are served by `issuer`.
pub fn tenant_b(issuer: &LocalIssuer) -> Tenant {
    Tenant::builder(TENANT_B, POOL_B)
        .client_id(CLIENT_B)
        .jwks_url(issuer.jwks_url(POOL_B))
        .build()
        .expect("tenant b")
}

/// `CognitoAuth` with tenant A only, after `configure` adjusted the builder.
pub fn auth_a(
    issuer: &LocalIssuer,
    configure: impl FnOnce(CognitoAuthBuilder) -> CognitoAuthBuilder,
) -> CognitoAuth {
    configure(
        CognitoAuth::builder()
            .tenant(tenant_a(issuer))
            .expect("tenant a registers"),
    )
    .build()
    .expect("auth builds")
}

/// A key-cache configuration with the given cooldown and otherwise defaults.
pub fn jwks_with_cooldown(cooldown: Duration) -> JwksConfig {
    let mut config = JwksConfig::default();
    config.cooldown = cooldown;
    config
}

/// Access-token claims of tenant A.
pub fn access_a(issuer: &LocalIssuer, username: &str, groups: &[&str]) -> Value {
    issuer.access_claims(POOL_A, CLIENT_A, username, groups)
}

/// Id-token claims of tenant A.
pub fn id_a(issuer: &LocalIssuer, username: &str, groups: &[&str]) -> Value {
    issuer.id_claims(POOL_A, CLIENT_A, username, groups)
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    cognito_authz::testing::now()
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// A token with the given header and claims and an arbitrary (non-empty) signature.
pub fn unsigned_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(claims.to_string()),
        b64(signature)
    )
}

/// The token's three segments.
pub fn segments(token: &str) -> (&str, &str, &str) {
    let mut parts = token.split('.');
    let out = (
        parts.next().expect("header"),
        parts.next().expect("payload"),
        parts.next().expect("signature"),
    );
    assert!(parts.next().is_none(), "three segments");
    out
}

/// Replaces the payload of `token` with `edit(payload)`, keeping header and signature.
pub fn tamper_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (header, payload, signature) = segments(token);
    let mut claims: Value = serde_json::from_slice(&unb64(payload)).expect("payload json");
    edit(&mut claims);
    format!("{header}.{}.{signature}", b64(claims.to_string()))
}

/// An answer of the router, body collected.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("utf-8 body")
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }
}

/// Sends one request through `app` with the given raw `Authorization` header values.
pub async fn send_raw(app: &Router, method: Method, uri: &str, authorization: &[&str]) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    let request = request.body(Body::empty()).expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("body collects");
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// GET `uri` with `Authorization: Bearer <token>` (or no header for `None`).
pub async fn call(app: &Router, uri: &str, token: Option<&str>) -> Reply {
    match token {
        Some(token) => send_raw(app, Method::GET, uri, &[&format!("Bearer {token}")]).await,
        None => send_raw(app, Method::GET, uri, &[]).await,
    }
}

/// Asserts the default error answer for `err`, spelled out: status, JSON `error` and
/// `error_description`, `WWW-Authenticate` for 401/403, `Retry-After` and no challenge for 503,
/// and `Cache-Control: no-store`.
#[track_caller]
pub fn assert_error_reply(reply: &Reply, status: StatusCode, err: &AuthError) {
    assert_eq!(
        reply.status,
        status,
        "status for {err:?}; body {:?}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(err.status(), status, "{err:?} maps to {status}");
    let code = match status.as_u16() {
        401 => "invalid_token",
        403 => "insufficient_scope",
        503 => "temporarily_unavailable",
        other => panic!("unexpected status {other}"),
    };
    let description = err.to_string();
    let json = reply.json();
    assert_eq!(json["error"], code, "error code for {err:?}");
    assert_eq!(
        json["error_description"], description,
        "description for {err:?}"
    );
    assert_eq!(reply.header(header::CACHE_CONTROL), Some("no-store"));
    assert_eq!(reply.header(header::CONTENT_TYPE), Some("application/json"));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        assert_eq!(reply.header(header::RETRY_AFTER), Some("10"));
        assert_eq!(reply.header(header::WWW_AUTHENTICATE), None);
    } else {
        assert_eq!(
            reply.header(header::WWW_AUTHENTICATE),
            Some(format!("Bearer error=\"{code}\", error_description=\"{description}\"").as_str()),
            "challenge for {err:?}"
        );
        assert_eq!(reply.header(header::RETRY_AFTER), None);
    }
}
