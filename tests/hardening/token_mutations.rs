//! Mutations of one valid token (proptest): any single-byte change or truncation is rejected,
//! arbitrary `Authorization` headers never authorize, swapped segments and another token's
//! signature are rejected, and oversized tokens are refused before decoding, without a key fetch.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_authz::AuthError;
use http::{Request, StatusCode};
use proptest::prelude::*;
use tower::ServiceExt;

use super::{fixture_once, verify};
use crate::common::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_change_is_rejected(position in any::<prop::sample::Index>(), byte in 0u8..128) {
        let f = fixture_once();
        let index = position.index(f.token.len());
        prop_assume!(f.token.as_bytes()[index] != byte);
        let mut bytes = f.token.clone().into_bytes();
        bytes[index] = byte;
        let mutated = String::from_utf8(bytes).expect("ascii");
        prop_assert!(verify(f, &mutated).is_err(), "byte {} -> {:?} accepted", index, byte as char);
    }

    #[test]
    fn any_truncation_is_rejected(len in any::<prop::sample::Index>()) {
        let f = fixture_once();
        let cut = &f.token[..len.index(f.token.len())];
        prop_assert!(verify(f, cut).is_err());
    }

    #[test]
    fn arbitrary_authorization_headers_never_authorize(value in "\\PC{0,300}", bearer in any::<bool>()) {
        let f = fixture_once();
        let value = if bearer { format!("Bearer {value}") } else { value };
        let Ok(header) = http::HeaderValue::from_str(&value) else { return Ok(()) };
        let app = Router::new().route("/", get(|| async { "in" })).layer(f.auth.layer());
        let request = Request::get("/").header("authorization", header).body(Body::empty()).unwrap();
        let response = f.rt.block_on(app.oneshot(request)).unwrap();
        prop_assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn segment_swaps_are_rejected() {
    let f = fixture_once();
    let parts: Vec<&str> = f.token.split('.').collect();
    let orders = [
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
        [0, 0, 2],
        [0, 1, 1],
    ];
    for order in orders {
        let swapped = order.map(|i| parts[i]).join(".");
        assert!(verify(f, &swapped).is_err(), "{order:?} accepted");
    }
    // The signature of one valid token on another's header and payload.
    let other = f.issuer.mint(&access_a(&f.issuer, "bob", &[]));
    let other_sig = other.rsplit_once('.').unwrap().1;
    let (message, _) = f.token.rsplit_once('.').unwrap();
    assert_eq!(
        verify(f, &format!("{message}.{other_sig}")).unwrap_err(),
        AuthError::InvalidSignature
    );
}

#[test]
fn oversized_tokens_are_refused_before_decoding_without_fetch() {
    let f = fixture_once();
    let before = f.issuer.fetch_count();
    let huge = format!(
        "{}.{}.{}",
        "A".repeat(4000),
        "B".repeat(4000),
        "C".repeat(400)
    );
    assert_eq!(
        verify(f, &huge).unwrap_err(),
        AuthError::TokenTooLarge { max: 8192 }
    );
    assert_eq!(f.issuer.fetch_count(), before);
}
