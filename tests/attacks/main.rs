//! Hostile and malformed tokens, through `auth.layer()` on an axum router and through
//! `CognitoAuth::verify`. Each test asserts the exact status, the exact `AuthError` and the
//! exact error body / `WWW-Authenticate` header.

#[path = "../common/mod.rs"]
mod common;

mod claims;
mod header;
mod self_service_guard;
mod signatures;
mod tenants;

use axum::Router;
use axum::routing::get;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthError, AuthzLayer, CognitoAuth, Principal, TokenUses};
use common::*;
use http::StatusCode;
use serde_json::{Value, json};

const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;

/// `/me` (access tokens), `/admin` (role admin), `/tenants/{tenant}/admin` (same tenant) and
/// `/profile` (id tokens only).
fn app(auth: &CognitoAuth) -> Router {
    let access = Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { format!("{}@{}", p.username(), p.tenant()) }),
        )
        .route(
            "/admin",
            get(|| async { "admin area" }).layer(AuthzLayer::require("admin")),
        )
        .route(
            "/tenants/{tenant}/admin",
            get(|p: Principal| async move { format!("tenant admin {}", p.tenant()) })
                .layer(AuthzLayer::same_tenant_as("tenant")),
        )
        .layer(auth.layer());
    let id = Router::new()
        .route(
            "/profile",
            get(|p: Principal| async move { format!("{} {}", p.token_use(), p.username()) }),
        )
        .layer(auth.layer().accept(TokenUses::ID));
    access.merge(id)
}

struct Fx {
    issuer: LocalIssuer,
    auth: CognitoAuth,
    app: Router,
}

async fn fx_with(
    configure: impl FnOnce(cognito_authz::CognitoAuthBuilder) -> cognito_authz::CognitoAuthBuilder,
) -> Fx {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, configure);
    let app = app(&auth);
    Fx { issuer, auth, app }
}

async fn fx() -> Fx {
    fx_with(|b| b).await
}

impl Fx {
    /// `token` is refused with `err` by `verify` and by the layer in front of `/me`.
    async fn assert_rejected(&self, token: &str, status: StatusCode, err: AuthError) {
        assert_eq!(
            self.auth.verify(token).await.expect_err("verify refuses"),
            err,
            "verify"
        );
        let reply = call(&self.app, "/me", Some(token)).await;
        assert_error_reply(&reply, status, &err);
    }

    /// `token` passes `verify` and `/me`.
    async fn assert_accepted(&self, token: &str) -> Principal {
        let principal = self.auth.verify(token).await.expect("verify accepts");
        let reply = call(&self.app, "/me", Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            reply.text(),
            format!("{}@{}", principal.username(), principal.tenant())
        );
        principal
    }

    fn access(&self, username: &str, groups: &[&str]) -> Value {
        access_a(&self.issuer, username, groups)
    }

    fn mint(&self, claims: &Value) -> String {
        self.issuer.mint(claims)
    }

    /// The published key's header with another `alg`.
    fn header(&self, alg: &str) -> Value {
        json!({"alg": alg, "kid": self.issuer.current_key().kid(), "typ": "JWT"})
    }
}

/// PKCS#1 `RSAPublicKey` DER of a JWK's `n` and `e` (what "the public key bytes" usually means
/// in the HS256 key-confusion attack).
fn rsa_public_key_der(jwk: &Value) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut value = bytes.to_vec();
        if value[0] & 0x80 != 0 {
            value.insert(0, 0);
        }
        let mut out = vec![0x02];
        out.extend(der_len(value.len()));
        out.extend(value);
        out
    }
    fn der_len(len: usize) -> Vec<u8> {
        match len {
            0..=0x7f => vec![len as u8],
            0x80..=0xff => vec![0x81, len as u8],
            _ => vec![0x82, (len >> 8) as u8, len as u8],
        }
    }
    let n = unb64(jwk["n"].as_str().unwrap());
    let e = unb64(jwk["e"].as_str().unwrap());
    let body = [integer(&n), integer(&e)].concat();
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

fn hs256(kid: &str, claims: &Value, secret: &[u8]) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("HS256 encodes")
}
