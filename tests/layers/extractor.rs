//! Fail closed, optional authentication and the extractor: authorization without authentication
//! fails closed, each service gives back the service it wraps, the `Principal` extractor without a
//! layer is 401, the optional layer lets anonymous requests through, and the principal's fields.

use axum::Router;
use axum::routing::get;
use cognito_authz::{
    AuthError, AuthzLayer, CognitoAuth, Policy, Principal, Tenant, TokenUses, principal::TokenUse,
};
use http::{Method, StatusCode};
use serde_json::json;

use super::{FORBIDDEN, UNAUTHORIZED, ok};
use crate::common::*;

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
