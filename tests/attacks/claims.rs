//! Claims, each refused with its exact error: expired, not yet valid, issued in the future, missing
//! or wrongly typed time claims, the wrong token use or app client, an oversized token (without a
//! fetch), groups as a string, missing identity claims; claim type errors are reported only for
//! genuine tokens, group names are case-sensitive, and leeway tolerates a recent expiry only when
//! configured.

use std::time::Duration;

use cognito_authz::testing::SigningKey;
use cognito_authz::{AuthError, TokenUses, principal::TokenUse};
use http::StatusCode;
use serde_json::{Value, json};

use super::{UNAUTHORIZED, app, fx, fx_with};
use crate::common::*;

#[tokio::test]
async fn expired_token_is_401_expired() {
    let fx = fx().await;
    let mut claims = fx.access("alice", &[]);
    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 3600);
    fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, AuthError::Expired)
        .await;
    let reply = call(&fx.app, "/me", Some(&fx.mint(&claims))).await;
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"token has expired\""
    );
}

#[tokio::test]
async fn not_yet_valid_token_is_401_not_yet_valid() {
    let fx = fx().await;
    let mut claims = fx.access("alice", &[]);
    claims["nbf"] = json!(now() + 600);
    fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, AuthError::NotYetValid)
        .await;
}

#[tokio::test]
async fn token_issued_in_the_future_is_401_issued_in_future() {
    let fx = fx().await;
    let mut claims = fx.access("alice", &[]);
    claims["iat"] = json!(now() + 600);
    fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, AuthError::IssuedInFuture)
        .await;
}

#[tokio::test]
async fn missing_exp_is_401_missing_claim() {
    let fx = fx().await;
    let mut claims = fx.access("alice", &[]);
    claims.as_object_mut().unwrap().remove("exp");
    fx.assert_rejected(
        &fx.mint(&claims),
        UNAUTHORIZED,
        AuthError::MissingClaim("exp"),
    )
    .await;
    // `null` is the same as absent.
    claims["exp"] = Value::Null;
    fx.assert_rejected(
        &fx.mint(&claims),
        UNAUTHORIZED,
        AuthError::MissingClaim("exp"),
    )
    .await;
}

#[tokio::test]
async fn wrongly_typed_time_claims_are_401_invalid_claim() {
    let fx = fx().await;
    for (claim, value) in [
        ("exp", json!((now() + 3600).to_string())),
        ("exp", json!((now() + 3600) as f64 + 0.5)),
        ("exp", json!(-1)),
        ("nbf", json!("0")),
        ("iat", json!(true)),
    ] {
        let mut claims = fx.access("alice", &[]);
        claims[claim] = value;
        let err = AuthError::InvalidClaim(match claim {
            "exp" => "exp",
            "nbf" => "nbf",
            _ => "iat",
        });
        fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, err)
            .await;
    }
}

#[tokio::test]
async fn id_token_on_access_route_is_401_wrong_token_use() {
    let fx = fx().await;
    let token = fx.mint(&id_a(&fx.issuer, "alice", &["admin"]));
    fx.assert_rejected(
        &token,
        UNAUTHORIZED,
        AuthError::WrongTokenUse {
            found: TokenUse::Id,
        },
    )
    .await;
    let reply = call(&fx.app, "/me", Some(&token)).await;
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"token use `id` is not accepted here\""
    );
    let reply = call(&fx.app, "/admin", Some(&token)).await;
    assert_error_reply(
        &reply,
        UNAUTHORIZED,
        &AuthError::WrongTokenUse {
            found: TokenUse::Id,
        },
    );
}

#[tokio::test]
async fn id_token_is_accepted_where_the_layer_accepts_id_tokens() {
    let fx = fx().await;
    let id = fx.mint(&id_a(&fx.issuer, "alice", &[]));
    let reply = call(&fx.app, "/profile", Some(&id)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), "id alice");
    let principal = fx.auth.verify_as(&id, TokenUses::ID).await.unwrap();
    assert_eq!(principal.token_use(), TokenUse::Id);
    assert_eq!(principal.client_id(), CLIENT_A);
    assert_eq!(principal.scopes().count(), 0);
    // And the access token is the one refused there.
    let access = fx.mint(&fx.access("alice", &[]));
    let reply = call(&fx.app, "/profile", Some(&access)).await;
    assert_error_reply(
        &reply,
        UNAUTHORIZED,
        &AuthError::WrongTokenUse {
            found: TokenUse::Access,
        },
    );
}

#[tokio::test]
async fn token_of_another_app_client_is_401_wrong_client() {
    let fx = fx().await;
    // Access tokens: `client_id`.
    let access = fx.mint(
        &fx.issuer
            .access_claims(POOL_A, "other-client", "alice", &[]),
    );
    fx.assert_rejected(&access, UNAUTHORIZED, AuthError::WrongClient)
        .await;
    // An access token whose `aud` names the right client is still judged by `client_id`.
    let mut claims = fx
        .issuer
        .access_claims(POOL_A, "other-client", "alice", &[]);
    claims["aud"] = json!(CLIENT_A);
    fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, AuthError::WrongClient)
        .await;
    // Id tokens: `aud`.
    let id = fx.mint(&fx.issuer.id_claims(POOL_A, "other-client", "alice", &[]));
    assert_eq!(
        fx.auth.verify_as(&id, TokenUses::ID).await.unwrap_err(),
        AuthError::WrongClient
    );
    let reply = call(&fx.app, "/profile", Some(&id)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::WrongClient);
    // An id token with `client_id` right but `aud` wrong is still refused.
    let mut claims = fx.issuer.id_claims(POOL_A, "other-client", "alice", &[]);
    claims["client_id"] = json!(CLIENT_A);
    let reply = call(&fx.app, "/profile", Some(&fx.mint(&claims))).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::WrongClient);
    // No client claim at all.
    let mut claims = fx.access("alice", &[]);
    claims.as_object_mut().unwrap().remove("client_id");
    fx.assert_rejected(
        &fx.mint(&claims),
        UNAUTHORIZED,
        AuthError::MissingClaim("client_id"),
    )
    .await;
}

#[tokio::test]
async fn oversized_token_is_401_too_large_without_fetch() {
    let fx = fx().await;
    let mut claims = fx.access("alice", &[]);
    claims["padding"] = json!("x".repeat(9 * 1024));
    let token = fx.mint(&claims);
    assert!(token.len() > 8 * 1024);
    fx.assert_rejected(
        &token,
        UNAUTHORIZED,
        AuthError::TokenTooLarge { max: 8 * 1024 },
    )
    .await;
    assert_eq!(fx.issuer.fetch_count(), 0);
    // Garbage of that size is refused the same way, before decoding.
    let garbage = "A".repeat(8 * 1024 + 1);
    fx.assert_rejected(
        &garbage,
        UNAUTHORIZED,
        AuthError::TokenTooLarge { max: 8 * 1024 },
    )
    .await;
    assert_eq!(fx.issuer.fetch_count(), 0);

    // The limit is configurable.
    let fx = fx_with(|b| b.max_token_bytes(64 * 1024)).await;
    let token = fx.mint(&claims);
    fx.assert_accepted(&token).await;
}

#[tokio::test]
async fn groups_as_a_string_is_401_invalid_claim() {
    let fx = fx().await;
    let mut claims = fx.access("alice", &[]);
    claims["cognito:groups"] = json!("admin");
    fx.assert_rejected(
        &fx.mint(&claims),
        UNAUTHORIZED,
        AuthError::InvalidClaim("cognito:groups"),
    )
    .await;
    claims["cognito:groups"] = json!(["admin", 7]);
    fx.assert_rejected(
        &fx.mint(&claims),
        UNAUTHORIZED,
        AuthError::InvalidClaim("cognito:groups"),
    )
    .await;
    let reply = call(&fx.app, "/admin", Some(&fx.mint(&claims))).await;
    assert_error_reply(
        &reply,
        UNAUTHORIZED,
        &AuthError::InvalidClaim("cognito:groups"),
    );
}

/// The verify module documents "signature before claims: a claim error is only ever reported
/// for a genuine token". A forged token with a wrongly typed claim must therefore be refused as
/// a bad signature, not get a claim diagnosis.
#[tokio::test]
async fn claim_type_errors_are_reported_only_for_genuine_tokens() {
    let fx = fx().await;
    let impostor = SigningKey::generate(fx.issuer.current_key().kid());
    let mut claims = fx.access("mallory", &[]);
    claims["cognito:groups"] = json!("admin");
    fx.assert_rejected(
        &impostor.sign(&claims),
        UNAUTHORIZED,
        AuthError::InvalidSignature,
    )
    .await;
    let mut claims = fx.access("mallory", &[]);
    claims["exp"] = json!("never");
    fx.assert_rejected(
        &impostor.sign(&claims),
        UNAUTHORIZED,
        AuthError::InvalidSignature,
    )
    .await;
}

#[tokio::test]
async fn group_names_are_case_sensitive() {
    let fx = fx().await;
    let token = fx.mint(&fx.access("alice", &["Admin", "ADMIN"]));
    let principal = fx.assert_accepted(&token).await;
    assert!(!principal.has_role("admin"));
    let reply = call(&fx.app, "/admin", Some(&token)).await;
    assert_error_reply(
        &reply,
        StatusCode::FORBIDDEN,
        &AuthError::Forbidden("role `admin` required".into()),
    );
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", error_description=\"role `admin` required\""
    );
    let admin = fx.mint(&fx.access("root", &["admin"]));
    let reply = call(&fx.app, "/admin", Some(&admin)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "admin area");
}

#[tokio::test]
async fn missing_identity_claims_are_401_missing_claim() {
    let fx = fx().await;
    for (claim, err) in [
        ("sub", AuthError::MissingClaim("sub")),
        ("username", AuthError::MissingClaim("username")),
        ("token_use", AuthError::MissingClaim("token_use")),
    ] {
        let mut claims = fx.access("alice", &[]);
        claims.as_object_mut().unwrap().remove(claim);
        fx.assert_rejected(&fx.mint(&claims), UNAUTHORIZED, err)
            .await;
    }
    let mut claims = fx.access("alice", &[]);
    claims["token_use"] = json!("refresh");
    fx.assert_rejected(
        &fx.mint(&claims),
        UNAUTHORIZED,
        AuthError::InvalidClaim("token_use"),
    )
    .await;
}

#[tokio::test]
async fn leeway_tolerates_recent_expiry_only_when_configured() {
    let issuer = start_issuer().await;
    let lenient = auth_a(&issuer, |b| b.leeway(Duration::from_secs(10)));
    let strict = auth_a(&issuer, |b| b.leeway(Duration::ZERO));
    let mut claims = access_a(&issuer, "alice", &[]);
    claims["iat"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 3);
    let token = issuer.mint(&claims);
    assert_eq!(lenient.verify(&token).await.unwrap().username(), "alice");
    assert_eq!(strict.verify(&token).await.unwrap_err(), AuthError::Expired);
    let reply = call(&app(&strict), "/me", Some(&token)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::Expired);
    let reply = call(&app(&lenient), "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);

    // Leeway applies to nbf and iat as well.
    let mut claims = access_a(&issuer, "alice", &[]);
    claims["nbf"] = json!(now() + 3);
    claims["iat"] = json!(now() + 3);
    let token = issuer.mint(&claims);
    assert!(lenient.verify(&token).await.is_ok());
    assert_eq!(
        strict.verify(&token).await.unwrap_err(),
        AuthError::NotYetValid
    );
    // Beyond the leeway, refused.
    let mut claims = access_a(&issuer, "alice", &[]);
    claims["exp"] = json!(now() - 60);
    assert_eq!(
        lenient.verify(&issuer.mint(&claims)).await.unwrap_err(),
        AuthError::Expired
    );
}
