//! The verified-token cache: tokens are cached and the cache can be disabled, a cached token still
//! gets the wrong-token-use refusal, a token differing in one byte (or character) from a cached one
//! is refused, and a cached token is not served after it expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use cognito_authz::{AuthError, TokenUses, principal::TokenUse};
use http::StatusCode;
use proptest::prelude::*;
use serde_json::json;

use super::{Fx, UNAUTHORIZED, ok};
use crate::common::*;

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
