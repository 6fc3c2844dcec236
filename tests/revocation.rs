//! Local revocation through the layer: a signed-out user's or revoked session's tokens are
//! refused on every request, even when they are already in the verified-token cache.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cognito_authz::{AuthError, CognitoAuth, Principal, Revocations};
use common::*;
use http::StatusCode;

fn app(auth: &CognitoAuth) -> Router {
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { p.username().to_owned() }),
        )
        .layer(auth.layer())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_users_cached_token_is_refused_and_a_later_sign_in_is_not() {
    let issuer = start_issuer().await;
    let revocations = Revocations::new();
    let auth = auth_a(&issuer, |b| b.revocations(revocations.clone()));
    let app = app(&auth);
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    let bob = issuer.mint(&access_a(&issuer, "bob", &[]));
    assert_eq!(call(&app, "/me", Some(&alice)).await.status, StatusCode::OK);
    assert_eq!(auth.cached_tokens(), 1);

    revocations.revoke_user(TENANT_A, "sub-alice");
    let reply = call(&app, "/me", Some(&alice)).await;
    assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::TokenRevoked);
    assert_eq!(
        auth.verify(&alice).await.unwrap_err(),
        AuthError::TokenRevoked,
        "CognitoAuth::verify checks it too"
    );
    assert_eq!(call(&app, "/me", Some(&bob)).await.status, StatusCode::OK);

    // A token issued after the revocation (`iat` in a later second) is a new sign-in.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let fresh = issuer.mint(&access_a(&issuer, "alice", &[]));
    assert_eq!(call(&app, "/me", Some(&fresh)).await.status, StatusCode::OK);
    assert_error_reply(
        &call(&app, "/me", Some(&alice)).await,
        StatusCode::UNAUTHORIZED,
        &AuthError::TokenRevoked,
    );
}

#[tokio::test]
async fn a_revoked_session_is_refused_and_the_users_other_sessions_are_not() {
    let issuer = start_issuer().await;
    let revocations = Revocations::new();
    let auth = auth_a(&issuer, |b| b.revocations(revocations.clone()));
    let app = app(&auth);
    let mut phone = access_a(&issuer, "alice", &[]);
    phone["origin_jti"] = "session-phone".into();
    let mut laptop = access_a(&issuer, "alice", &[]);
    laptop["origin_jti"] = "session-laptop".into();
    let (phone, laptop) = (issuer.mint(&phone), issuer.mint(&laptop));
    assert_eq!(call(&app, "/me", Some(&phone)).await.status, StatusCode::OK);

    revocations.revoke_session(TENANT_A, "session-phone");
    assert_error_reply(
        &call(&app, "/me", Some(&phone)).await,
        StatusCode::UNAUTHORIZED,
        &AuthError::TokenRevoked,
    );
    assert_eq!(
        call(&app, "/me", Some(&laptop)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_a_revocation_list_tokens_stay_valid_until_exp() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b);
    assert!(auth.revocations().is_none());
    // Revoking in a list this `CognitoAuth` was not given changes nothing for it.
    Revocations::new().revoke_user(TENANT_A, "sub-alice");
    let alice = issuer.mint(&access_a(&issuer, "alice", &[]));
    assert_eq!(
        call(&app(&auth), "/me", Some(&alice)).await.status,
        StatusCode::OK
    );
}
