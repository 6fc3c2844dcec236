//! The tower layers on axum routers: role and scope policies, tenant isolation, fail-closed
//! authorization, optional authentication, the `Principal` extractor and its fields, custom
//! error responders and the verified-token cache.

#[path = "../common/mod.rs"]
mod common;

mod error_responder;
mod extractor;
mod policies;
mod token_cache;

use axum::Router;
use axum::routing::get;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthError, AuthzLayer, CognitoAuth, Policy, Principal};
use common::*;
use http::{Method, StatusCode};
use serde_json::json;

const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;

async fn ok() -> &'static str {
    "ok"
}

/// One route per policy kind, behind `auth.layer()`.
fn policy_app(auth: &CognitoAuth) -> Router {
    Router::new()
        .route("/admin", get(ok).layer(AuthzLayer::require("admin")))
        .route(
            "/reports",
            get(ok).layer(AuthzLayer::require_any(["admin", "auditor"])),
        )
        .route(
            "/billing",
            get(ok).layer(AuthzLayer::require_all(["admin", "billing"])),
        )
        .route(
            "/orders",
            get(ok).layer(AuthzLayer::require_scope("orders/read")),
        )
        .route(
            "/tenants/{tenant}/admin",
            get(ok).layer(AuthzLayer::same_tenant_as("tenant")),
        )
        .route(
            "/tenants/{tenant}/settings",
            get(ok).layer(AuthzLayer::policy(
                Policy::role("admin").and(Policy::same_tenant_as("tenant")),
            )),
        )
        .route(
            "/misconfigured",
            get(ok).layer(AuthzLayer::same_tenant_as("tenant")),
        )
        .route(
            "/get-only",
            get(ok).post(ok).layer(AuthzLayer::policy(Policy::custom(
                "only GET",
                |_, parts| parts.method == Method::GET,
            ))),
        )
        .route(
            "/combo",
            get(ok)
                .layer(AuthzLayer::policy(Policy::role("admin").or(
                    Policy::role("billing").and(Policy::scope("billing/write")),
                ))),
        )
        .route(
            "/nobody",
            get(ok).layer(AuthzLayer::policy(Policy::any([]))),
        )
        .route(
            "/me",
            get(|p: Principal| async move { p.username().to_owned() }),
        )
        .layer(auth.layer())
}

struct Fx {
    issuer: LocalIssuer,
    auth: CognitoAuth,
    app: Router,
}

impl Fx {
    async fn new() -> Fx {
        let issuer = start_issuer().await;
        let auth = CognitoAuth::builder()
            .tenant(tenant_a(&issuer))
            .unwrap()
            .tenant(tenant_b(&issuer))
            .unwrap()
            .build()
            .unwrap();
        let app = policy_app(&auth);
        Fx { issuer, auth, app }
    }

    fn token(&self, groups: &[&str], scope: &str) -> String {
        let mut claims = access_a(&self.issuer, "alice", groups);
        claims["scope"] = json!(scope);
        self.issuer.mint(&claims)
    }

    async fn status(&self, uri: &str, token: &str) -> StatusCode {
        call(&self.app, uri, Some(token)).await.status
    }

    async fn assert_forbidden(&self, uri: &str, token: &str, why: &'static str) {
        let reply = call(&self.app, uri, Some(token)).await;
        assert_error_reply(&reply, FORBIDDEN, &AuthError::Forbidden(why.into()));
    }
}
