//! A custom error responder formats both the authentication and the authorization rejections.

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use cognito_authz::testing::JwksBehavior;
use cognito_authz::{AuthError, AuthzLayer, TokenUses};
use http::{Method, StatusCode, header};
use serde_json::json;

use super::{FORBIDDEN, UNAUTHORIZED, ok, policy_app};
use crate::common::*;

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
