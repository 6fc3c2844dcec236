//! Token structure, algorithm, keys and signatures: garbage is 401 malformed; `alg: none`, HS256
//! with the public key as HMAC secret, RS512 and other algorithms are refused even with the right
//! key; a `crit` header or a missing `kid` is refused and embedded `jwk`/`jku` headers never supply
//! keys; a valid signature of another key under the published kid, an unknown kid and a tampered
//! payload are refused.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA512};
use cognito_authz::testing::{JwksBehavior, SigningKey};
use cognito_authz::{AuthError, error::MalformedPart};
use serde_json::json;

use super::{UNAUTHORIZED, fx, hs256, rsa_public_key_der};
use crate::common::*;

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
