//! The tower layers on axum routers: role and scope policies, tenant isolation, fail-closed
//! authorization, optional authentication, the `Principal` extractor and its fields, custom
//! error responders and the verified-token cache.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use cognito_authz::testing::{JwksBehavior, LocalIssuer};
use cognito_authz::{
    AuthError, AuthzLayer, CognitoAuth, Policy, Principal, Tenant, TokenUses, principal::TokenUse,
};
use common::*;
use http::{Method, StatusCode, header};
use proptest::prelude::*;
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

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Fail closed, optional authentication, the extractor
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn authorization_without_authentication_fails_closed() {
    let issuer = start_issuer().await;
    let token = issuer.mint(&access_a(&issuer, "root", &["admin"]));
    let app = Router::new()
        .route("/admin", get(ok).layer(AuthzLayer::require("admin")))
        .route("/any", get(ok).layer(AuthzLayer::authenticated()))
        .route(
            "/open",
            get(ok).layer(AuthzLayer::policy(Policy::custom("open", |_, _| true))),
        );
    for uri in ["/admin", "/any", "/open"] {
        for token in [None, Some(token.as_str())] {
            let reply = call(&app, uri, token).await;
            assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MissingToken);
        }
    }
    assert_eq!(issuer.fetch_count(), 0);
}

/// tower-http's accessors: each service hands back the service it wraps.
#[tokio::test]
async fn services_give_back_their_inner_service() {
    use tower::Layer;
    let issuer = start_issuer().await;
    let auth = CognitoAuth::builder()
        .tenant(tenant_a(&issuer))
        .unwrap()
        .build()
        .unwrap();
    let mut authn = auth.layer().layer(7_u8);
    *authn.get_mut() += 1;
    assert_eq!((*authn.get_ref(), authn.into_inner()), (8, 8));
    let mut authz = AuthzLayer::require("admin").layer(String::from("inner"));
    authz.get_mut().push('!');
    assert_eq!(authz.get_ref(), "inner!");
    assert_eq!(authz.into_inner(), "inner!");
}

#[tokio::test]
async fn principal_extractor_without_a_layer_is_401() {
    let issuer = start_issuer().await;
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    let app = Router::new().route(
        "/me",
        get(|p: Principal| async move { p.username().to_owned() }),
    );
    for token in [None, Some(token.as_str())] {
        let reply = call(&app, "/me", token).await;
        assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MissingToken);
        assert_eq!(
            reply.json(),
            json!({"error": "invalid_token", "error_description": "missing bearer token"})
        );
    }
}

#[tokio::test]
async fn optional_layer() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    let app = Router::new()
        .route(
            "/",
            get(|p: Option<Principal>| async move {
                match p {
                    Some(p) => format!("hello {}", p.username()),
                    None => "hello anonymous".to_owned(),
                }
            }),
        )
        .route("/members", get(ok).layer(AuthzLayer::authenticated()))
        .layer(auth.optional_layer());

    let reply = call(&app, "/", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "hello anonymous");
    assert_eq!(issuer.fetch_count(), 0);

    let valid = issuer.mint(&access_a(&issuer, "alice", &[]));
    let reply = call(&app, "/", Some(&valid)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "hello alice");

    // Present but invalid: refused, never downgraded to anonymous.
    let mut claims = access_a(&issuer, "alice", &[]);
    claims["exp"] = json!(now() - 60);
    let reply = call(&app, "/", Some(&issuer.mint(&claims))).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::Expired);
    let reply = call(&app, "/", Some("garbage")).await;
    assert_error_reply(
        &reply,
        UNAUTHORIZED,
        &AuthError::Malformed(cognito_authz::error::MalformedPart::Structure),
    );
    let reply = send_raw(&app, Method::GET, "/", &["Basic YWxpY2U6cHc="]).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidAuthorizationHeader);
    let id = issuer.mint(&id_a(&issuer, "alice", &[]));
    let reply = call(&app, "/", Some(&id)).await;
    assert_error_reply(
        &reply,
        UNAUTHORIZED,
        &AuthError::WrongTokenUse {
            found: TokenUse::Id,
        },
    );

    // `authenticated()` under the optional layer: anonymous is 401.
    let reply = call(&app, "/members", None).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MissingToken);
    assert_eq!(
        call(&app, "/members", Some(&valid)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn principal_fields() {
    let issuer = start_issuer().await;
    let tenant = Tenant::builder(TENANT_A, POOL_A)
        .client_ids([CLIENT_A, "client-mobile"])
        .role("admin", ["Administrators"])
        .role("support", ["helpdesk", "Administrators"])
        .jwks_url(issuer.jwks_url(POOL_A))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { axum::Json(serde_json::to_value(&p).unwrap()) }),
        )
        .route(
            "/admin",
            get(|p: Principal| async move { p.username().to_owned() })
                .layer(AuthzLayer::require("admin")),
        )
        .layer(auth.layer());

    let mut claims = issuer.access_claims(
        POOL_A,
        "client-mobile",
        "alice",
        &["Administrators", "unmapped"],
    );
    claims["scope"] = json!("openid orders/read");
    claims["jti"] = json!("jti-123");
    claims["origin_jti"] = json!("origin-456");
    claims["sub"] = json!("0b6f0a5e-0000-4000-8000-000000000001");
    let exp = claims["exp"].as_u64().unwrap();
    let token = issuer.mint(&claims);

    let p = auth.verify(&token).await.unwrap();
    assert_eq!(p.tenant(), TENANT_A);
    assert_eq!(p.subject(), "0b6f0a5e-0000-4000-8000-000000000001");
    assert_eq!(p.username(), "alice");
    assert_eq!(p.client_id(), "client-mobile");
    assert_eq!(p.token_use(), TokenUse::Access);
    assert_eq!(p.roles().collect::<Vec<_>>(), ["admin", "support"]);
    assert!(p.has_role("admin") && p.has_role("support"));
    assert!(!p.has_role("Administrators") && !p.has_role("unmapped"));
    assert_eq!(
        p.groups().collect::<Vec<_>>(),
        ["Administrators", "unmapped"]
    );
    assert_eq!(p.scopes().collect::<Vec<_>>(), ["openid", "orders/read"]);
    assert!(p.has_scope("orders/read") && !p.has_scope("orders"));
    assert_eq!(p.expires_at(), exp);
    assert_eq!(p.jti(), Some("jti-123"));
    assert_eq!(p.origin_jti(), Some("origin-456"));

    // The handler sees the same principal.
    let reply = call(&app, "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::to_value(&p).unwrap());
    assert_eq!(reply.json()["tenant"], TENANT_A);
    assert_eq!(reply.json()["token_use"], "access");
    assert_eq!(reply.json()["roles"], json!(["admin", "support"]));
    assert_eq!(call(&app, "/admin", Some(&token)).await.text(), "alice");

    // Mapped tenant: an unmapped group named like a role gives nothing.
    let plain = issuer.mint(&access_a(&issuer, "bob", &["admin"]));
    assert_eq!(auth.verify(&plain).await.unwrap().roles().len(), 0);
    let reply = call(&app, "/admin", Some(&plain)).await;
    assert_error_reply(
        &reply,
        FORBIDDEN,
        &AuthError::Forbidden("role `admin` required".into()),
    );

    // Id tokens: `cognito:username` and `aud`; no scopes, no jti.
    let id = issuer.mint(&id_a(&issuer, "carol", &["Administrators"]));
    let p = auth.verify_as(&id, TokenUses::ID).await.unwrap();
    assert_eq!(p.username(), "carol");
    assert_eq!(p.subject(), "sub-carol");
    assert_eq!(p.client_id(), CLIENT_A);
    assert_eq!(p.token_use(), TokenUse::Id);
    assert_eq!(p.roles().collect::<Vec<_>>(), ["admin", "support"]);
    assert_eq!(p.scopes().count(), 0);
    assert_eq!(p.jti(), None);
    assert_eq!(p.origin_jti(), None);
}

// ---------------------------------------------------------------------------------------------
// Custom error responder
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn custom_error_responder_formats_authn_and_authz_rejections() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.error_responder(|err: &AuthError| {
            let mut response = http::Response::new(Bytes::from(format!(
                "custom {} {}",
                err.status().as_u16(),
                err.reason()
            )));
            *response.status_mut() = err.status();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain"),
            );
            response
        })
    });
    let app = policy_app(&auth);
    let optional = Router::new()
        .route("/members", get(ok).layer(AuthzLayer::authenticated()))
        .layer(auth.optional_layer());

    let expect = |reply: Reply, status: StatusCode, text: &str| {
        assert_eq!(reply.status, status);
        assert_eq!(reply.text(), text);
        assert_eq!(reply.header(header::CONTENT_TYPE), Some("text/plain"));
        assert_eq!(reply.header(header::WWW_AUTHENTICATE), None);
    };

    // Authentication rejections: synchronous (header, size) and after verification.
    expect(
        call(&app, "/me", None).await,
        UNAUTHORIZED,
        "custom 401 missing_token",
    );
    expect(
        send_raw(&app, Method::GET, "/me", &["Basic x"]).await,
        UNAUTHORIZED,
        "custom 401 invalid_authorization_header",
    );
    let mut expired = access_a(&issuer, "alice", &[]);
    expired["exp"] = json!(now() - 60);
    expect(
        call(&app, "/me", Some(&issuer.mint(&expired))).await,
        UNAUTHORIZED,
        "custom 401 expired",
    );

    // Authorization rejections, on the verification path and on the cache-hit path.
    let user = issuer.mint(&access_a(&issuer, "alice", &["user"]));
    expect(
        call(&app, "/admin", Some(&user)).await,
        FORBIDDEN,
        "custom 403 forbidden",
    );
    assert_eq!(auth.cached_tokens(), 1);
    expect(
        call(&app, "/admin", Some(&user)).await,
        FORBIDDEN,
        "custom 403 forbidden",
    );
    // A cached token on a route taking other token uses (synchronous rejection).
    let id_only = Router::new()
        .route("/profile", get(ok))
        .layer(auth.layer().accept(TokenUses::ID));
    expect(
        call(&id_only, "/profile", Some(&user)).await,
        UNAUTHORIZED,
        "custom 401 wrong_token_use",
    );
    // Under the optional layer, no principal at an authorization layer.
    expect(
        call(&optional, "/members", None).await,
        UNAUTHORIZED,
        "custom 401 missing_token",
    );

    // Keys unavailable.
    let down = start_issuer().await;
    down.set_behavior(JwksBehavior::Status(500));
    let auth_down = auth_a(&down, |b| {
        b.error_responder(|err: &AuthError| {
            let mut response = http::Response::new(Bytes::from(err.reason()));
            *response.status_mut() = err.status();
            response
        })
    });
    let reply = call(
        &policy_app(&auth_down),
        "/me",
        Some(&down.mint(&access_a(&down, "alice", &[]))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.text(), "keys_unavailable");

    // Other `CognitoAuth`s keep the default format.
    let plain = auth_a(&issuer, |b| b);
    let reply = call(&policy_app(&plain), "/admin", Some(&user)).await;
    assert_error_reply(
        &reply,
        FORBIDDEN,
        &AuthError::Forbidden("role `admin` required".into()),
    );
}

// ---------------------------------------------------------------------------------------------
// Verified-token cache
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn verified_tokens_are_cached() {
    let fx = Fx::new().await;
    let token = fx.token(&["admin"], "");
    assert_eq!(fx.auth.cached_tokens(), 0);
    assert_eq!(fx.status("/me", &token).await, StatusCode::OK);
    assert_eq!(fx.auth.cached_tokens(), 1);
    assert_eq!(fx.issuer.fetch_count(), 1);
    for _ in 0..3 {
        assert_eq!(fx.status("/admin", &token).await, StatusCode::OK);
    }
    assert_eq!(fx.auth.verify(&token).await.unwrap().username(), "alice");
    assert_eq!(
        fx.auth.cached_tokens(),
        1,
        "no new entry for the same token"
    );
    assert_eq!(fx.issuer.fetch_count(), 1);

    // Rejected tokens are not cached.
    let mut claims = access_a(&fx.issuer, "alice", &[]);
    claims["client_id"] = json!("other");
    let reply = call(&fx.app, "/me", Some(&fx.issuer.mint(&claims))).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::WrongClient);
    assert_eq!(fx.auth.cached_tokens(), 1);

    // Policies are evaluated on every request, cached principal or not.
    let user = fx.token(&["user"], "");
    for _ in 0..2 {
        fx.assert_forbidden("/admin", &user, "role `admin` required")
            .await;
    }
    assert_eq!(fx.auth.cached_tokens(), 2);

    fx.auth.invalidate_caches();
    assert_eq!(fx.auth.cached_tokens(), 0);
    assert_eq!(fx.status("/admin", &token).await, StatusCode::OK);
    assert_eq!(fx.issuer.fetch_count(), 1, "keys stay cached");
}

#[tokio::test]
async fn cache_can_be_disabled() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b.token_cache_entries(0));
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    for _ in 0..2 {
        assert!(auth.verify(&token).await.is_ok());
    }
    assert_eq!(auth.cached_tokens(), 0);
    assert_eq!(
        auth.verify_as(&token, TokenUses::ID).await.unwrap_err(),
        AuthError::WrongTokenUse {
            found: TokenUse::Access
        }
    );
}

#[tokio::test]
async fn cached_token_still_gets_wrong_token_use() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    let access_app = Router::new().route("/me", get(ok)).layer(auth.layer());
    let id_app = Router::new()
        .route("/profile", get(ok))
        .layer(auth.layer().accept(TokenUses::ID));

    let access = issuer.mint(&access_a(&issuer, "alice", &[]));
    assert_eq!(
        call(&access_app, "/me", Some(&access)).await.status,
        StatusCode::OK
    );
    assert_eq!(auth.cached_tokens(), 1);
    let wrong_access = AuthError::WrongTokenUse {
        found: TokenUse::Access,
    };
    let reply = call(&id_app, "/profile", Some(&access)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &wrong_access);
    assert_eq!(
        auth.verify_as(&access, TokenUses::ID).await.unwrap_err(),
        wrong_access
    );

    // The other way round: an id token cached on the id route is refused on the access route.
    let id = issuer.mint(&id_a(&issuer, "alice", &[]));
    assert_eq!(
        call(&id_app, "/profile", Some(&id)).await.status,
        StatusCode::OK
    );
    assert_eq!(auth.cached_tokens(), 2);
    let wrong_id = AuthError::WrongTokenUse {
        found: TokenUse::Id,
    };
    let reply = call(&access_app, "/me", Some(&id)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &wrong_id);
    assert_eq!(auth.verify(&id).await.unwrap_err(), wrong_id);

    // An id token first seen on the access route (rejected after verification, but cached as
    // verified) is then accepted on the id route.
    let id2 = issuer.mint(&id_a(&issuer, "bob", &[]));
    let reply = call(&access_app, "/me", Some(&id2)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &wrong_id);
    assert_eq!(
        call(&id_app, "/profile", Some(&id2)).await.status,
        StatusCode::OK
    );
    let reply = call(&access_app, "/me", Some(&id2)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &wrong_id);
}

/// Every base64url character and the separator, for single-character substitutions.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

fn replace_at(token: &str, index: usize, with: u8) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[index] = with;
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn a_token_differing_in_one_byte_from_a_cached_one_is_refused() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    let app = Router::new().route("/me", get(ok)).layer(auth.layer());
    let token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    assert_eq!(call(&app, "/me", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(auth.cached_tokens(), 1);

    // A flipped character in the middle of the signature.
    let (header, payload, signature) = segments(&token);
    let middle = header.len() + 1 + payload.len() + 1 + signature.len() / 2;
    let flipped = replace_at(
        &token,
        middle,
        if token.as_bytes()[middle] == b'A' {
            b'B'
        } else {
            b'A'
        },
    );
    let reply = call(&app, "/me", Some(&flipped)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidSignature);

    // The last character of each segment, where base64 has spare bits: no other character
    // decodes to the same bytes, so none is accepted.
    let ends = [
        header.len() - 1,
        header.len() + 1 + payload.len() - 1,
        token.len() - 1,
    ];
    for index in ends {
        for &c in ALPHABET {
            if c == token.as_bytes()[index] {
                continue;
            }
            let mutated = replace_at(&token, index, c);
            let result = auth.verify(&mutated).await;
            assert!(
                result.is_err(),
                "accepted with byte {index} set to {:?}",
                c as char
            );
        }
    }
    // One more or one less character.
    for mutated in [format!("{token}A"), token[..token.len() - 1].to_owned()] {
        assert!(auth.verify(&mutated).await.is_err());
    }
    assert_eq!(auth.cached_tokens(), 1);
    assert_eq!(call(&app, "/me", Some(&token)).await.status, StatusCode::OK);
}

#[test]
fn no_single_character_change_of_a_cached_token_verifies() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_issuer, auth, token) = runtime.block_on(async {
        let issuer = start_issuer().await;
        let auth = auth_a(&issuer, |b| b);
        let token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
        auth.verify(&token).await.unwrap();
        (issuer, auth, token)
    });
    let len = token.len();
    proptest!(ProptestConfig::with_cases(300), |(index in 0..len, c in proptest::sample::select(ALPHABET))| {
        prop_assume!(token.as_bytes()[index] != c);
        let mutated = replace_at(&token, index, c);
        let result = runtime.block_on(auth.verify(&mutated));
        prop_assert!(result.is_err(), "accepted with byte {} set to {:?}", index, c as char);
    });
    assert_eq!(auth.cached_tokens(), 1);
}

/// The cache must not serve a token past its `exp`. Verification happens within a second, not
/// on its boundary, so whole-second arithmetic (`exp - floor(now)`) would overstate the token's
/// remaining life.
#[tokio::test]
async fn cached_token_is_not_served_after_it_expires() {
    fn unix_now() -> Duration {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
    }
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    let uncached = auth_a(&issuer, |b| b.token_cache_entries(0));
    let warm_up = issuer.mint(&access_a(&issuer, "warm-up", &[]));
    auth.verify(&warm_up).await.unwrap();
    uncached.verify(&warm_up).await.unwrap();

    // Move to between .2 and .5 of a second: the token below then has more than half a second
    // to live, and whole-second arithmetic would overstate its life by .2 to .5 s.
    let fraction = unix_now().subsec_millis();
    if !(200..500).contains(&fraction) {
        let wait = (1200 - fraction) % 1000;
        tokio::time::sleep(Duration::from_millis(u64::from(wait))).await;
    }
    let exp = unix_now().as_secs() + 1;
    let mut claims = access_a(&issuer, "alice", &[]);
    claims["iat"] = json!(exp - 60);
    claims["exp"] = json!(exp);
    let token = issuer.mint(&claims);
    assert_eq!(auth.verify(&token).await.unwrap().username(), "alice");
    assert_eq!(auth.cached_tokens(), 2);

    // Wait until the clock reaches `exp`: from then on the token is expired.
    let expiry = Duration::from_secs(exp) + Duration::from_millis(30);
    tokio::time::sleep(expiry.saturating_sub(unix_now())).await;
    assert!(unix_now().as_secs() >= exp);
    // Without the cache the token is refused...
    assert_eq!(
        uncached.verify(&token).await.unwrap_err(),
        AuthError::Expired
    );
    // ...and the cache must not answer otherwise.
    assert_eq!(auth.verify(&token).await.unwrap_err(), AuthError::Expired);
}
