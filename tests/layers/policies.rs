//! Role and scope policies through the layers: require a role, any or all of several, a scope;
//! `same_tenant_as` isolates tenants; a custom policy sees the request; combinators.

use axum::Router;
use axum::routing::get;
use cognito_authz::{AuthError, AuthzLayer, TokenUses};
use http::{Method, StatusCode};
use serde_json::json;

use super::{FORBIDDEN, Fx, UNAUTHORIZED, ok};
use crate::common::*;

#[tokio::test]
async fn require_role() {
    let fx = Fx::new().await;
    assert_eq!(
        fx.status("/admin", &fx.token(&["admin"], "")).await,
        StatusCode::OK
    );
    fx.assert_forbidden("/admin", &fx.token(&["user"], ""), "role `admin` required")
        .await;
    fx.assert_forbidden("/admin", &fx.token(&[], ""), "role `admin` required")
        .await;
    let reply = call(&fx.app, "/admin", Some(&fx.token(&["user"], ""))).await;
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", error_description=\"role `admin` required\""
    );
    assert_eq!(
        reply.json(),
        json!({"error": "insufficient_scope", "error_description": "role `admin` required"})
    );
    // Authentication still comes first.
    let reply = call(&fx.app, "/admin", None).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MissingToken);
}

#[tokio::test]
async fn require_any_and_require_all() {
    let fx = Fx::new().await;
    for groups in [&["admin"][..], &["auditor"], &["auditor", "user"]] {
        assert_eq!(
            fx.status("/reports", &fx.token(groups, "")).await,
            StatusCode::OK
        );
    }
    fx.assert_forbidden(
        "/reports",
        &fx.token(&["user"], ""),
        "one of roles admin, auditor required",
    )
    .await;

    assert_eq!(
        fx.status("/billing", &fx.token(&["billing", "admin"], ""))
            .await,
        StatusCode::OK
    );
    for groups in [&["admin"][..], &["billing"], &[]] {
        fx.assert_forbidden(
            "/billing",
            &fx.token(groups, ""),
            "all of roles admin, billing required",
        )
        .await;
    }
}

#[tokio::test]
async fn require_scope() {
    let fx = Fx::new().await;
    assert_eq!(
        fx.status("/orders", &fx.token(&[], "openid orders/read"))
            .await,
        StatusCode::OK
    );
    for scope in ["", "orders/write", "orders/read/all", "ORDERS/READ"] {
        fx.assert_forbidden(
            "/orders",
            &fx.token(&["admin"], scope),
            "scope `orders/read` required",
        )
        .await;
    }
    // Id tokens have no scopes, whatever their claims say.
    let mut claims = id_a(&fx.issuer, "alice", &[]);
    claims["scope"] = json!("orders/read");
    let id_app = Router::new()
        .route(
            "/orders",
            get(ok).layer(AuthzLayer::require_scope("orders/read")),
        )
        .layer(fx.auth.layer().accept(TokenUses::ANY));
    let reply = call(&id_app, "/orders", Some(&fx.issuer.mint(&claims))).await;
    assert_error_reply(
        &reply,
        FORBIDDEN,
        &AuthError::Forbidden("scope `orders/read` required".into()),
    );
}

#[tokio::test]
async fn same_tenant_as_isolates_tenants() {
    let fx = Fx::new().await;
    let alice = fx.token(&["admin"], "");
    let bob = fx
        .issuer
        .mint(&fx.issuer.access_claims(POOL_B, CLIENT_B, "bob", &["admin"]));
    let why = "tenant in the path is not the caller's tenant";

    assert_eq!(
        fx.status("/tenants/acme/admin", &alice).await,
        StatusCode::OK
    );
    fx.assert_forbidden("/tenants/globex/admin", &alice, why)
        .await;
    fx.assert_forbidden("/tenants/ACME/admin", &alice, why)
        .await;
    fx.assert_forbidden("/tenants/acme%20/admin", &alice, why)
        .await;
    assert_eq!(
        fx.status("/tenants/globex/admin", &bob).await,
        StatusCode::OK
    );
    fx.assert_forbidden("/tenants/acme/admin", &bob, why).await;

    // Combined with a role.
    assert_eq!(
        fx.status("/tenants/acme/settings", &alice).await,
        StatusCode::OK
    );
    fx.assert_forbidden("/tenants/globex/settings", &alice, why)
        .await;
    fx.assert_forbidden(
        "/tenants/acme/settings",
        &fx.token(&["user"], ""),
        "role `admin` required",
    )
    .await;

    // A route without the parameter denies.
    fx.assert_forbidden("/misconfigured", &alice, "path parameter `tenant` missing")
        .await;
}

#[tokio::test]
async fn custom_policy_sees_the_request() {
    let fx = Fx::new().await;
    let token = fx.token(&[], "");
    assert_eq!(fx.status("/get-only", &token).await, StatusCode::OK);
    let reply = send_raw(
        &fx.app,
        Method::POST,
        "/get-only",
        &[&format!("Bearer {token}")],
    )
    .await;
    assert_error_reply(
        &reply,
        FORBIDDEN,
        &AuthError::Forbidden("policy `only GET` refused the request".into()),
    );
}

#[tokio::test]
async fn combinators() {
    let fx = Fx::new().await;
    assert_eq!(
        fx.status("/combo", &fx.token(&["admin"], "")).await,
        StatusCode::OK
    );
    assert_eq!(
        fx.status("/combo", &fx.token(&["billing"], "billing/write"))
            .await,
        StatusCode::OK
    );
    // The `or` reports its last branch's reason.
    fx.assert_forbidden(
        "/combo",
        &fx.token(&["billing"], "billing/read"),
        "scope `billing/write` required",
    )
    .await;
    fx.assert_forbidden(
        "/combo",
        &fx.token(&["user"], "billing/write"),
        "role `billing` required",
    )
    .await;
    // An empty `any` allows no one, admins included.
    fx.assert_forbidden(
        "/nobody",
        &fx.token(&["admin"], ""),
        "empty policy list allows no one",
    )
    .await;
}
