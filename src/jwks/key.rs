//! Turning a fetched JWKS document into verification keys.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::digest::Digest;
use aws_lc_rs::signature::{ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use serde::Deserialize;

use super::FetchError;

/// PKCS#1 v1.5 with SHA-256 over 2048..=8192-bit moduli: RS256 and nothing else.
static RS256: RsaParameters = aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;

const MIN_MODULUS_BITS: usize = 2048;
const MAX_MODULUS_BITS: usize = 8192;

/// An RS256 public key, parsed once when the key set is fetched so that each verification is
/// only the RSA operation.
pub(crate) struct VerifyingKey {
    key: ParsedPublicKey,
}

impl VerifyingKey {
    /// Builds a key from a JWK's base64url `n` and `e`; `None` if it is not a usable RS256 key.
    pub(crate) fn from_components(n: &str, e: &str) -> Option<Self> {
        let n = URL_SAFE_NO_PAD.decode(n).ok()?;
        let e = URL_SAFE_NO_PAD.decode(e).ok()?;
        let bits = modulus_bits(&n);
        if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
            return None;
        }
        let key = RsaPublicKeyComponents { n: &n, e: &e }
            .to_parsed_public_key(&RS256)
            .ok()?;
        Some(VerifyingKey { key })
    }

    /// True if `signature` is a valid RS256 signature of the message whose SHA-256 is
    /// `message_digest`.
    pub(crate) fn verify_digest(&self, message_digest: &Digest, signature: &[u8]) -> bool {
        message_digest.algorithm() == &aws_lc_rs::digest::SHA256
            && self
                .key
                .verify_digest_sig(message_digest, signature)
                .is_ok()
    }
}

fn modulus_bits(n: &[u8]) -> usize {
    match n.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (n.len() - i) * 8 - n[i].leading_zeros() as usize,
    }
}

#[derive(Deserialize)]
struct JwkSetDoc {
    keys: Vec<serde_json::Value>,
}

/// Parses a JWKS document, keeping only RSA signing keys usable for RS256 with a modulus of at
/// least 2048 bits. Keys of other types, or that do not parse, are skipped one by one. A kid that
/// appears more than once is dropped entirely: which key it names would be ambiguous.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<VerifyingKey>>, FetchError> {
    let doc: JwkSetDoc = serde_json::from_slice(body).map_err(|_| FetchError::InvalidJson)?;
    let mut keys: HashMap<String, Option<Arc<VerifyingKey>>> = HashMap::new();
    let mut skipped = 0usize;
    for value in doc.keys {
        // Key by key, so one key of a kind jsonwebtoken's model does not know (an encryption
        // key with an unusual `alg`, say) does not void the whole set.
        let Some((kid, key)) = serde_json::from_value::<Jwk>(value)
            .ok()
            .and_then(usable_rs256_key)
        else {
            skipped += 1;
            continue;
        };
        keys.entry(kid)
            .and_modify(|held| {
                tracing::warn!("JWKS lists a key id twice; that key id is not used");
                *held = None;
            })
            .or_insert(Some(Arc::new(key)));
    }
    if skipped > 0 {
        tracing::debug!(skipped, "JWKS keys skipped as unusable for RS256");
    }
    let keys: HashMap<_, _> = keys
        .into_iter()
        .filter_map(|(kid, key)| Some((kid, key?)))
        .collect();
    if keys.is_empty() {
        return Err(FetchError::NoUsableKeys);
    }
    Ok(keys)
}

/// The kid and parsed key of an RSA signing key usable for RS256, if `jwk` is one.
fn usable_rs256_key(jwk: Jwk) -> Option<(String, VerifyingKey)> {
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return None;
    };
    let common = &jwk.common;
    let for_signing = matches!(common.public_key_use, None | Some(PublicKeyUse::Signature));
    let rs256 = matches!(common.key_algorithm, None | Some(KeyAlgorithm::RS256));
    let kid = common.key_id.as_deref().filter(|kid| !kid.is_empty())?;
    if !(for_signing && rs256) {
        return None;
    }
    let key = VerifyingKey::from_components(&rsa.n, &rsa.e)?;
    Some((kid.to_owned(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_ignores_leading_zeros() {
        assert_eq!(modulus_bits(&[0, 0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01, 0]), 9);
        assert_eq!(modulus_bits(&[0, 0]), 0);
    }

    #[test]
    fn garbage_and_empty_sets_are_errors() {
        assert!(matches!(
            parse_jwks(b"not json"),
            Err(FetchError::InvalidJson)
        ));
        assert!(matches!(
            parse_jwks(br#"{"keys": []}"#),
            Err(FetchError::NoUsableKeys)
        ));
        assert!(matches!(
            parse_jwks(br#"{"keys": [{"kty":"EC","kid":"a","crv":"P-256","x":"AA","y":"AA"}]}"#),
            Err(FetchError::NoUsableKeys)
        ));
    }

    fn rsa_jwk(kid: &str, extra: serde_json::Value) -> serde_json::Value {
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        let mut jwk = serde_json::json!({
            "kty": "RSA",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        });
        for (k, v) in extra.as_object().unwrap() {
            jwk[k] = v.clone();
        }
        jwk
    }

    #[test]
    fn only_rsa_signing_keys_for_rs256_are_kept_and_duplicate_kids_dropped() {
        let set = serde_json::json!({ "keys": [
            rsa_jwk("good", serde_json::json!({"alg": "RS256", "use": "sig"})),
            rsa_jwk("no-alg", serde_json::json!({})),
            rsa_jwk("enc", serde_json::json!({"use": "enc"})),
            rsa_jwk("rs512", serde_json::json!({"alg": "RS512"})),
            rsa_jwk("oaep", serde_json::json!({"alg": "RSA-OAEP-256"})),
            rsa_jwk("", serde_json::json!({})),
            rsa_jwk("dup", serde_json::json!({})),
            rsa_jwk("dup", serde_json::json!({})),
            {"kty": "RSA", "kid": "short", "n": URL_SAFE_NO_PAD.encode([0xC1u8; 128]), "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        ]});
        let keys = parse_jwks(set.to_string().as_bytes()).unwrap();
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["good", "no-alg"]);
    }
}
