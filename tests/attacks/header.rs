//! The Authorization header: none is 401 missing token, an empty one or a scheme other than Bearer
//! is 401 invalid header, and a token already in the verified-token cache is still refused inside a
//! malformed header (the cache is looked up before the header's text is checked).

use cognito_authz::{AuthError, error::MalformedPart};
use http::{Method, StatusCode};

use super::{UNAUTHORIZED, fx};
use crate::common::*;

#[tokio::test]
async fn no_authorization_header_is_401_missing_token() {
    let fx = fx().await;
    let reply = call(&fx.app, "/me", None).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MissingToken);
    assert_eq!(reply.json()["error_description"], "missing bearer token");
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"missing bearer token\""
    );
    assert_eq!(fx.issuer.fetch_count(), 0);
}

#[tokio::test]
async fn empty_authorization_header_is_401_invalid_header() {
    let fx = fx().await;
    for value in ["", "Bearer", "Bearer ", "Bearer  "] {
        let reply = send_raw(&fx.app, Method::GET, "/me", &[value]).await;
        assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidAuthorizationHeader);
    }
    assert_eq!(fx.issuer.fetch_count(), 0);
}

#[tokio::test]
async fn non_bearer_schemes_are_401_invalid_header() {
    let fx = fx().await;
    let token = fx.mint(&fx.access("alice", &[]));
    for value in [
        "Basic YWxpY2U6cGFzc3dvcmQ=".to_owned(),
        format!("Basic {token}"),
        format!("Token {token}"),
        format!("Bearer{token}"),
        format!("Bearer {token} extra"),
        token.clone(),
    ] {
        let reply = send_raw(&fx.app, Method::GET, "/me", &[&value]).await;
        assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidAuthorizationHeader);
    }
    // Two Authorization headers, even both valid, are ambiguous.
    let bearer = format!("Bearer {token}");
    let reply = send_raw(&fx.app, Method::GET, "/me", &[&bearer, &bearer]).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidAuthorizationHeader);
    assert_eq!(fx.issuer.fetch_count(), 0);
    // The scheme is case-insensitive.
    let reply = send_raw(&fx.app, Method::GET, "/me", &[&format!("bearer {token}")]).await;
    assert_eq!(reply.status, StatusCode::OK);
}

/// The layer looks a token up in the verified-token cache before checking its text (a hit is a
/// token already verified, byte for byte): a cached token in a malformed header must still be
/// refused as one, and a hit must need the well-formed header.
#[tokio::test]
async fn a_cached_token_in_a_malformed_header_is_refused_as_before() {
    let fx = fx().await;
    let token = fx.mint(&fx.access("alice", &[]));
    fx.assert_accepted(&token).await;
    let fetches = fx.issuer.fetch_count();
    for value in [
        format!("Basic {token}"),
        format!("Token {token}"),
        format!("Bearer{token}"),
        format!("Bearer {token} "),
        format!("Bearer {token} extra"),
        format!("Bearer \u{e9}{token}"),
        token.clone(),
    ] {
        let reply = send_raw(&fx.app, Method::GET, "/me", &[&value]).await;
        assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidAuthorizationHeader);
    }
    let bearer = format!("Bearer {token}");
    let reply = send_raw(&fx.app, Method::GET, "/me", &[&bearer, &bearer]).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidAuthorizationHeader);
    // A tab is allowed in a header: the token with one is another token, refused as malformed.
    let reply = send_raw(&fx.app, Method::GET, "/me", &[&format!("Bearer {token}\t")]).await;
    assert_error_reply(
        &reply,
        UNAUTHORIZED,
        &AuthError::Malformed(MalformedPart::Signature),
    );
    for value in [format!("Bearer {token}"), format!("bEaReR   {token}")] {
        let reply = send_raw(&fx.app, Method::GET, "/me", &[&value]).await;
        assert_eq!(reply.status, StatusCode::OK, "{value:?}");
    }
    assert_eq!(
        fx.issuer.fetch_count(),
        fetches,
        "all answered without a key fetch"
    );
    // Too large and malformed: refused as malformed, as when the text was checked first.
    let huge = "a".repeat(9 * 1024);
    let reply = send_raw(
        &fx.app,
        Method::GET,
        "/me",
        &[&format!("Bearer {huge}\u{e9}")],
    )
    .await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidAuthorizationHeader);
    let reply = send_raw(&fx.app, Method::GET, "/me", &[&format!("Bearer {huge}")]).await;
    assert_error_reply(
        &reply,
        UNAUTHORIZED,
        &AuthError::TokenTooLarge { max: 8 * 1024 },
    );
}
