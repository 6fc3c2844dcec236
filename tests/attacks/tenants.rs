//! Tenants and issuers: a token of an unconfigured tenant, or of any unknown issuer, is 401 unknown
//! issuer without a key fetch; tenant B's token on tenant A's route is 403 when both are
//! configured; the updated issuer form is accepted and one with a trailing slash refused.

use cognito_authz::{AuthError, CognitoAuth};
use http::StatusCode;
use serde_json::json;

use super::{UNAUTHORIZED, app, fx};
use crate::common::*;

#[tokio::test]
async fn token_of_an_unconfigured_tenant_is_401_unknown_issuer_without_fetch() {
    let fx = fx().await;
    let issuer_b = start_issuer().await;
    let token = issuer_b.mint(&issuer_b.access_claims(POOL_B, CLIENT_B, "bob", &["admin"]));
    fx.assert_rejected(&token, UNAUTHORIZED, AuthError::UnknownIssuer)
        .await;
    assert_eq!(fx.issuer.fetch_count(), 0);
    assert_eq!(issuer_b.fetch_count(), 0);
}

#[tokio::test]
async fn tenant_b_token_on_tenant_a_route_is_403_when_both_are_configured() {
    let issuer_a = start_issuer().await;
    let issuer_b = start_issuer().await;
    let auth = CognitoAuth::builder()
        .tenant(tenant_a(&issuer_a))
        .unwrap()
        .tenant(tenant_b(&issuer_b))
        .unwrap()
        .build()
        .unwrap();
    let app = app(&auth);
    let token_a = issuer_a.mint(&issuer_a.access_claims(POOL_A, CLIENT_A, "alice", &["admin"]));
    let token_b = issuer_b.mint(&issuer_b.access_claims(POOL_B, CLIENT_B, "bob", &["admin"]));

    assert_eq!(auth.verify(&token_b).await.unwrap().tenant(), TENANT_B);
    let forbidden = AuthError::Forbidden("tenant in the path is not the caller's tenant".into());
    let reply = call(&app, "/tenants/acme/admin", Some(&token_b)).await;
    assert_error_reply(&reply, StatusCode::FORBIDDEN, &forbidden);
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", \
         error_description=\"tenant in the path is not the caller's tenant\""
    );
    let reply = call(&app, "/tenants/globex/admin", Some(&token_a)).await;
    assert_error_reply(&reply, StatusCode::FORBIDDEN, &forbidden);

    let reply = call(&app, "/tenants/globex/admin", Some(&token_b)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "tenant admin globex");
    let reply = call(&app, "/tenants/acme/admin", Some(&token_a)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "tenant admin acme");

    // Tenant B's key cannot sign for tenant A, although both publish kid `key-1`.
    let forged = issuer_b.mint(&issuer_a.access_claims(POOL_A, CLIENT_A, "mallory", &["admin"]));
    assert_eq!(
        auth.verify(&forged).await.unwrap_err(),
        AuthError::InvalidSignature
    );
    let reply = call(&app, "/tenants/acme/admin", Some(&forged)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidSignature);
}

#[tokio::test]
async fn unknown_issuers_are_refused_without_any_fetch() {
    let fx = fx().await;
    for iss in [
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Unknown9",
        "https://evil.example/us-east-1_AcmePool1",
        "http://cognito-idp.us-east-1.amazonaws.com/us-east-1_AcmePool1",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_acmepool1",
        "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_AcmePool1",
    ] {
        let mut claims = fx.access("mallory", &["admin"]);
        claims["iss"] = json!(iss);
        fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, AuthError::UnknownIssuer)
            .await;
    }
    let mut claims = fx.access("mallory", &[]);
    claims.as_object_mut().unwrap().remove("iss");
    fx.assert_rejected(
        &fx.mint(&claims),
        UNAUTHORIZED,
        AuthError::MissingClaim("iss"),
    )
    .await;
    assert_eq!(fx.issuer.fetch_count(), 0, "no key fetched for any of them");
}

#[tokio::test]
async fn updated_issuer_form_is_accepted() {
    let fx = fx().await;
    let mut claims = fx.access("alice", &[]);
    claims["iss"] = json!(format!(
        "https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL_A}"
    ));
    let principal = fx.assert_accepted(&fx.mint(&claims)).await;
    assert_eq!(principal.tenant(), TENANT_A);
}

#[tokio::test]
async fn issuer_with_trailing_slash_is_refused() {
    let fx = fx().await;
    for iss in [
        format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL_A}/"),
        format!("https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL_A}/"),
    ] {
        let mut claims = fx.access("alice", &[]);
        claims["iss"] = json!(iss);
        fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, AuthError::UnknownIssuer)
            .await;
    }
    assert_eq!(fx.issuer.fetch_count(), 0);
}
