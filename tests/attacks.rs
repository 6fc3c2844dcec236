//! Hostile and malformed tokens, through `auth.layer()` on an axum router and through
//! `CognitoAuth::verify`. Each test asserts the exact status, the exact `AuthError` and the
//! exact error body / `WWW-Authenticate` header.

mod common;

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA512};
use axum::Router;
use axum::routing::get;
use cognito_authz::testing::{JwksBehavior, LocalIssuer, SigningKey};
use cognito_authz::{
    AuthError, AuthzLayer, CognitoAuth, Principal, TokenUses, error::MalformedPart,
    principal::TokenUse, verify::SELF_SERVICE_SCOPE, verify::SelfServiceGuard,
};
use common::*;
use http::{Method, StatusCode};
use serde_json::{Value, json};

const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;

/// `/me` (access tokens), `/admin` (role admin), `/tenants/{tenant}/admin` (same tenant) and
/// `/profile` (id tokens only).
fn app(auth: &CognitoAuth) -> Router {
    let access = Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { format!("{}@{}", p.username(), p.tenant()) }),
        )
        .route(
            "/admin",
            get(|| async { "admin area" }).layer(AuthzLayer::require("admin")),
        )
        .route(
            "/tenants/{tenant}/admin",
            get(|p: Principal| async move { format!("tenant admin {}", p.tenant()) })
                .layer(AuthzLayer::same_tenant_as("tenant")),
        )
        .layer(auth.layer());
    let id = Router::new()
        .route(
            "/profile",
            get(|p: Principal| async move { format!("{} {}", p.token_use(), p.username()) }),
        )
        .layer(auth.layer().accept(TokenUses::ID));
    access.merge(id)
}

struct Fx {
    issuer: LocalIssuer,
    auth: CognitoAuth,
    app: Router,
}

async fn fx_with(
    configure: impl FnOnce(cognito_authz::CognitoAuthBuilder) -> cognito_authz::CognitoAuthBuilder,
) -> Fx {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, configure);
    let app = app(&auth);
    Fx { issuer, auth, app }
}

async fn fx() -> Fx {
    fx_with(|b| b).await
}

impl Fx {
    /// `token` is refused with `err` by `verify` and by the layer in front of `/me`.
    async fn assert_rejected(&self, token: &str, status: StatusCode, err: AuthError) {
        assert_eq!(
            self.auth.verify(token).await.expect_err("verify refuses"),
            err,
            "verify"
        );
        let reply = call(&self.app, "/me", Some(token)).await;
        assert_error_reply(&reply, status, &err);
    }

    /// `token` passes `verify` and `/me`.
    async fn assert_accepted(&self, token: &str) -> Principal {
        let principal = self.auth.verify(token).await.expect("verify accepts");
        let reply = call(&self.app, "/me", Some(token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            reply.text(),
            format!("{}@{}", principal.username(), principal.tenant())
        );
        principal
    }

    fn access(&self, username: &str, groups: &[&str]) -> Value {
        access_a(&self.issuer, username, groups)
    }

    fn mint(&self, claims: &Value) -> String {
        self.issuer.mint(claims)
    }

    /// The published key's header with another `alg`.
    fn header(&self, alg: &str) -> Value {
        json!({"alg": alg, "kid": self.issuer.current_key().kid(), "typ": "JWT"})
    }
}

/// PKCS#1 `RSAPublicKey` DER of a JWK's `n` and `e` (what "the public key bytes" usually means
/// in the HS256 key-confusion attack).
fn rsa_public_key_der(jwk: &Value) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut value = bytes.to_vec();
        if value[0] & 0x80 != 0 {
            value.insert(0, 0);
        }
        let mut out = vec![0x02];
        out.extend(der_len(value.len()));
        out.extend(value);
        out
    }
    fn der_len(len: usize) -> Vec<u8> {
        match len {
            0..=0x7f => vec![len as u8],
            0x80..=0xff => vec![0x81, len as u8],
            _ => vec![0x82, (len >> 8) as u8, len as u8],
        }
    }
    let n = unb64(jwk["n"].as_str().unwrap());
    let e = unb64(jwk["e"].as_str().unwrap());
    let body = [integer(&n), integer(&e)].concat();
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

fn hs256(kid: &str, claims: &Value, secret: &[u8]) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("HS256 encodes")
}

// ---------------------------------------------------------------------------------------------
// The Authorization header
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Structure and algorithm
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn garbage_tokens_are_401_malformed() {
    let fx = fx().await;
    let structure = AuthError::Malformed(MalformedPart::Structure);
    for token in ["garbage", "a.b", "a.b.c.d", "..", "a..c"] {
        fx.assert_rejected(token, UNAUTHORIZED, structure.clone())
            .await;
    }
    fx.assert_rejected(
        "!!!.!!!.!!!",
        UNAUTHORIZED,
        AuthError::Malformed(MalformedPart::Header),
    )
    .await;
    let header = b64(fx.header("RS256").to_string());
    fx.assert_rejected(
        &format!("{header}.bm90IGpzb24.c2ln"),
        UNAUTHORIZED,
        AuthError::Malformed(MalformedPart::Payload),
    )
    .await;
    let payload = b64(fx.access("alice", &[]).to_string());
    fx.assert_rejected(
        &format!("{header}.{payload}.not*base64"),
        UNAUTHORIZED,
        AuthError::Malformed(MalformedPart::Signature),
    )
    .await;
    assert_eq!(fx.issuer.fetch_count(), 0);
}

#[tokio::test]
async fn alg_none_is_refused_with_or_without_signature() {
    let fx = fx().await;
    let claims = fx.access("alice", &["admin"]);
    for alg in ["none", "None", "NONE"] {
        let header = fx.header(alg);
        // Unsigned, empty signature: the conventional `alg: none` token.
        let empty = format!("{}.{}.", b64(header.to_string()), b64(claims.to_string()));
        fx.assert_rejected(
            &empty,
            UNAUTHORIZED,
            AuthError::Malformed(MalformedPart::Structure),
        )
        .await;
        // With a non-empty signature (a real RS256 signature of the same input, even).
        let signed = fx.issuer.current_key().sign_parts(&header, &claims);
        fx.assert_rejected(&signed, UNAUTHORIZED, AuthError::UnsupportedAlgorithm)
            .await;
        fx.assert_rejected(
            &unsigned_token(&header, &claims, b"x"),
            UNAUTHORIZED,
            AuthError::UnsupportedAlgorithm,
        )
        .await;
    }
    // No alg at all.
    let no_alg = json!({"kid": "key-1"});
    fx.assert_rejected(
        &unsigned_token(&no_alg, &claims, b"x"),
        UNAUTHORIZED,
        AuthError::UnsupportedAlgorithm,
    )
    .await;
    assert_eq!(fx.issuer.fetch_count(), 0, "refused before any key fetch");
}

#[tokio::test]
async fn hs256_with_the_public_key_as_hmac_secret_is_refused() {
    let fx = fx().await;
    let jwk = fx.issuer.current_key().jwk();
    let kid = jwk["kid"].as_str().unwrap().to_owned();
    let claims = fx.access("mallory", &["admin"]);
    let secrets: Vec<Vec<u8>> = vec![
        unb64(jwk["n"].as_str().unwrap()),
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        rsa_public_key_der(&jwk),
        jwk.to_string().into_bytes(),
    ];
    for secret in secrets {
        let token = hs256(&kid, &claims, &secret);
        assert_eq!(
            unb64(segments(&token).0).as_slice(),
            format!("{{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"{kid}\"}}").as_bytes()
        );
        fx.assert_rejected(&token, UNAUTHORIZED, AuthError::UnsupportedAlgorithm)
            .await;
        let reply = call(&fx.app, "/admin", Some(&token)).await;
        assert_error_reply(&reply, UNAUTHORIZED, &AuthError::UnsupportedAlgorithm);
    }
    assert_eq!(fx.issuer.fetch_count(), 0);
}

#[tokio::test]
async fn rs512_and_other_algorithms_are_refused_even_with_the_right_key() {
    let fx = fx().await;
    let claims = fx.access("alice", &[]);
    // A valid RS256 signature by the published key, relabelled.
    for alg in ["RS512", "RS384", "PS256", "ES256", "rs256", "RS256 "] {
        let token = fx.issuer.current_key().sign_parts(&fx.header(alg), &claims);
        fx.assert_rejected(&token, UNAUTHORIZED, AuthError::UnsupportedAlgorithm)
            .await;
    }

    // A genuine RS512 signature by a key the tenant publishes.
    let rng = SystemRandom::new();
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = pair.public_key();
    let own_jwk = json!({
        "kty": "RSA", "use": "sig", "kid": "own-key",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    });
    fx.issuer.set_behavior(JwksBehavior::Body(
        json!({"keys": [fx.issuer.current_key().jwk(), own_jwk]})
            .to_string()
            .into_bytes(),
    ));
    let sign = |alg: &str, scheme: &'static dyn aws_lc_rs::signature::RsaEncoding| {
        let input = format!(
            "{}.{}",
            b64(json!({"alg": alg, "kid": "own-key"}).to_string()),
            b64(claims.to_string())
        );
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(scheme, &rng, input.as_bytes(), &mut signature)
            .unwrap();
        format!("{input}.{}", b64(signature))
    };
    // The key is right: the same key's RS256 token is accepted.
    fx.assert_accepted(&sign("RS256", &RSA_PKCS1_SHA256)).await;
    fx.assert_rejected(
        &sign("RS512", &RSA_PKCS1_SHA512),
        UNAUTHORIZED,
        AuthError::UnsupportedAlgorithm,
    )
    .await;
    // An RS512 signature under an RS256 label does not verify.
    fx.assert_rejected(
        &sign("RS256", &RSA_PKCS1_SHA512),
        UNAUTHORIZED,
        AuthError::InvalidSignature,
    )
    .await;
}

#[tokio::test]
async fn crit_header_and_missing_kid_are_refused() {
    let fx = fx().await;
    let claims = fx.access("alice", &[]);
    let key = fx.issuer.current_key();
    let crit = json!({"alg": "RS256", "kid": key.kid(), "crit": ["exp"]});
    fx.assert_rejected(
        &key.sign_parts(&crit, &claims),
        UNAUTHORIZED,
        AuthError::CriticalHeader,
    )
    .await;
    for header in [json!({"alg": "RS256"}), json!({"alg": "RS256", "kid": ""})] {
        fx.assert_rejected(
            &key.sign_parts(&header, &claims),
            UNAUTHORIZED,
            AuthError::MissingKeyId,
        )
        .await;
    }
    assert_eq!(fx.issuer.fetch_count(), 0);
}

#[tokio::test]
async fn embedded_jwk_and_jku_headers_do_not_supply_keys() {
    let fx = fx().await;
    let rogue = SigningKey::generate("rogue");
    let header = json!({
        "alg": "RS256", "kid": "rogue",
        "jwk": rogue.jwk(),
        "jku": "http://127.0.0.1:1/evil.json",
        "x5u": "http://127.0.0.1:1/evil.pem",
    });
    let token = rogue.sign_parts(&header, &fx.access("mallory", &["admin"]));
    fx.assert_rejected(&token, UNAUTHORIZED, AuthError::UnknownKeyId)
        .await;
}

// ---------------------------------------------------------------------------------------------
// Keys and signatures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn valid_signature_from_another_key_with_the_published_kid_is_refused() {
    let fx = fx().await;
    let published = fx.issuer.current_key();
    let impostor = SigningKey::generate(published.kid());
    let token = impostor.sign(&fx.access("mallory", &["admin"]));
    fx.assert_rejected(&token, UNAUTHORIZED, AuthError::InvalidSignature)
        .await;
    assert_eq!(fx.issuer.fetch_count(), 1);
}

#[tokio::test]
async fn unknown_kid_is_401_unknown_key_id() {
    let fx = fx().await;
    fx.assert_accepted(&fx.mint(&fx.access("alice", &[]))).await;
    assert_eq!(fx.issuer.fetch_count(), 1);
    let stranger = SigningKey::generate("key-unknown");
    let token = stranger.sign(&fx.access("mallory", &[]));
    fx.assert_rejected(&token, UNAUTHORIZED, AuthError::UnknownKeyId)
        .await;
    // Within the default 10 s cooldown: no second fetch.
    assert_eq!(fx.issuer.fetch_count(), 1);
}

#[tokio::test]
async fn tampered_payload_keeps_signature_and_is_refused() {
    let fx = fx().await;
    let token = fx.mint(&fx.access("alice", &["user"]));
    fx.assert_accepted(&token).await;
    let tampered = tamper_payload(&token, |claims| {
        claims["cognito:groups"] = json!(["user", "admin"]);
    });
    fx.assert_rejected(&tampered, UNAUTHORIZED, AuthError::InvalidSignature)
        .await;
    let reply = call(&fx.app, "/admin", Some(&tampered)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::InvalidSignature);
    // Also a change of tenant-relevant claims.
    let tampered = tamper_payload(&token, |claims| claims["username"] = json!("root"));
    fx.assert_rejected(&tampered, UNAUTHORIZED, AuthError::InvalidSignature)
        .await;
    // The original is still fine (and the cache did not absorb the forgeries).
    fx.assert_accepted(&token).await;
}

// ---------------------------------------------------------------------------------------------
// Tenants and issuers
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Self-service guard and leeway
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn self_service_guard_refuses_unsuppressed_scope_for_non_admins() {
    let fx = fx_with(|b| b.self_service_guard(SelfServiceGuard::default())).await;

    let user = fx.access("alice", &["user"]);
    assert_eq!(user["scope"], SELF_SERVICE_SCOPE);
    fx.assert_rejected(
        &fx.mint(&user),
        UNAUTHORIZED,
        AuthError::SelfServiceScopeNotSuppressed,
    )
    .await;
    let mut with_others = user.clone();
    with_others["scope"] = json!(format!("openid {SELF_SERVICE_SCOPE} profile"));
    fx.assert_rejected(
        &fx.mint(&with_others),
        UNAUTHORIZED,
        AuthError::SelfServiceScopeNotSuppressed,
    )
    .await;

    let admin = fx.access("root", &["admin"]);
    assert_eq!(admin["scope"], SELF_SERVICE_SCOPE);
    let principal = fx.assert_accepted(&fx.mint(&admin)).await;
    assert!(principal.has_scope(SELF_SERVICE_SCOPE));

    let mut suppressed = fx.access("alice", &["user"]);
    suppressed["scope"] = json!("openid profile");
    fx.assert_accepted(&fx.mint(&suppressed)).await;
    suppressed.as_object_mut().unwrap().remove("scope");
    fx.assert_accepted(&fx.mint(&suppressed)).await;

    // Id tokens carry no scope; the guard does not apply to them.
    let id = fx.mint(&id_a(&fx.issuer, "alice", &[]));
    assert!(fx.auth.verify_as(&id, TokenUses::ID).await.is_ok());

    // Without the guard (the default), the scope is not refused.
    let unguarded = auth_a(&fx.issuer, |b| b);
    assert!(unguarded.verify(&fx.mint(&user)).await.is_ok());
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
