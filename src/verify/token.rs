//! Parsing a JWS compact token into its header, claims and signature, without trusting any of it.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::{AuthError, MalformedPart};

/// A token split and decoded, not yet verified.
pub(crate) struct UnverifiedToken {
    pub(crate) kid: String,
    /// The decoded payload JSON; claims are parsed from it borrowing its strings.
    payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    // `jku`, `x5u`, `jwk`, `x5c` and every other field are ignored: keys come only from the
    // tenant's configured JWKS URL.
    crit: Option<IgnoredAny>,
}

/// The claims this crate reads, borrowing from the decoded payload where no JSON escape forces
/// a copy. Other claims (user attributes, ...) are ignored.
#[derive(Deserialize)]
pub(crate) struct Claims<'a> {
    #[serde(borrow)]
    pub(crate) iss: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) sub: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) token_use: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) client_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) aud: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) username: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "cognito:username")]
    pub(crate) cognito_username: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "cognito:groups")]
    pub(crate) groups: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    pub(crate) scope: Option<Cow<'a, str>>,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    #[serde(borrow)]
    pub(crate) jti: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) origin_jti: Option<Cow<'a, str>>,
}

/// What the payload yields before the signature is checked: the issuer (needed to find the
/// key) and the claims, whose error, if any, must only be reported for a genuine token.
pub(crate) struct PayloadClaims<'a> {
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) claims: Result<Claims<'a>, AuthError>,
}

impl UnverifiedToken {
    /// Parses the payload. Fails only if it is not a JSON object at all (or `iss` has the
    /// wrong type): then there is nothing to look a key up with.
    pub(crate) fn claims(&self) -> Result<PayloadClaims<'_>, AuthError> {
        let claims = parse_claims(&self.payload);
        let iss = match &claims {
            Ok(claims) => claims.iss.clone(),
            Err(_) => lenient_issuer(&self.payload)?.map(Cow::Owned),
        };
        Ok(PayloadClaims { iss, claims })
    }
}

const STRING_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "token_use",
    "client_id",
    "aud",
    "username",
    "cognito:username",
    "scope",
    "jti",
    "origin_jti",
];
const NUMERIC_CLAIMS: &[&str] = &["exp", "nbf", "iat"];

/// Splits and decodes `token`. Checks only structure, the algorithm and the presence of a `kid`.
pub(crate) fn parse(token: &str) -> Result<UnverifiedToken, AuthError> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(AuthError::Malformed(MalformedPart::Structure));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(AuthError::Malformed(MalformedPart::Structure));
    }

    // The engine refuses padding and non-zero trailing bits, so every token has exactly one
    // accepted spelling: a changed character can never decode to the same bytes.
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed(MalformedPart::Header))?;
    let header: Header<'_> = serde_json::from_slice(&header_json)
        .map_err(|_| AuthError::Malformed(MalformedPart::Header))?;
    if header.alg.as_deref() != Some("RS256") {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    if header.crit.is_some() {
        return Err(AuthError::CriticalHeader);
    }
    let kid = match header.kid {
        Some(kid) if !kid.is_empty() => kid.into_owned(),
        _ => return Err(AuthError::MissingKeyId),
    };

    let payload_json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::Malformed(MalformedPart::Payload))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| AuthError::Malformed(MalformedPart::Signature))?;

    Ok(UnverifiedToken {
        kid,
        payload: payload_json,
        signature,
    })
}

/// Only `iss`, for payloads whose other claims do not type-check. A payload that is not a JSON
/// object at all is malformed outright: there is nothing to look a key up with.
fn lenient_issuer(json: &[u8]) -> Result<Option<String>, AuthError> {
    #[derive(Deserialize)]
    struct IssuerOnly {
        iss: Option<serde_json::Value>,
    }
    let only: IssuerOnly =
        serde_json::from_slice(json).map_err(|_| AuthError::Malformed(MalformedPart::Payload))?;
    match only.iss {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(iss)) => Ok(Some(iss)),
        Some(_) => Err(AuthError::InvalidClaim("iss")),
    }
}

fn parse_claims(json: &[u8]) -> Result<Claims<'_>, AuthError> {
    serde_json::from_slice(json).map_err(|_| diagnose(json))
}

/// Names the claim that made typed parsing fail. Runs only on the error path, so the happy path
/// pays for one typed parse.
fn diagnose(json: &[u8]) -> AuthError {
    let Ok(map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(json) else {
        return AuthError::Malformed(MalformedPart::Payload);
    };
    let wrong = |name: &str, ok: fn(&serde_json::Value) -> bool| {
        map.get(name).is_some_and(|v| !v.is_null() && !ok(v))
    };
    if let Some(name) = STRING_CLAIMS
        .iter()
        .find(|name| wrong(name, serde_json::Value::is_string))
    {
        return AuthError::InvalidClaim(name);
    }
    if let Some(name) = NUMERIC_CLAIMS
        .iter()
        .find(|name| wrong(name, serde_json::Value::is_u64))
    {
        return AuthError::InvalidClaim(name);
    }
    if wrong("cognito:groups", |v| {
        v.as_array()
            .is_some_and(|items| items.iter().all(serde_json::Value::is_string))
    }) {
        return AuthError::InvalidClaim("cognito:groups");
    }
    // Duplicate claim names end up here: the typed parse refuses them, the map does not.
    AuthError::Malformed(MalformedPart::Payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    /// The error of the claims (reported after the signature) or of the payload itself.
    fn claims_error(token: &str) -> Option<AuthError> {
        let unverified = parse(token).ok()?;
        match unverified.claims() {
            Ok(payload) => payload.claims.err(),
            Err(err) => Some(err),
        }
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    #[test]
    fn structure_errors() {
        for bad in ["", "a", "a.b", "a.b.c.d", "..", "a..c", "a.b.c.d.e"] {
            assert_eq!(
                parse(bad).err(),
                Some(AuthError::Malformed(MalformedPart::Structure)),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_rs256_is_accepted() {
        for alg in ["none", "HS256", "RS512", "rs256", "PS256", "ES256"] {
            let t = token(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#), "{}");
            assert_eq!(
                parse(&t).err(),
                Some(AuthError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        let t = token(r#"{"kid":"k"}"#, "{}");
        assert_eq!(parse(&t).err(), Some(AuthError::UnsupportedAlgorithm));
    }

    #[test]
    fn crit_and_missing_kid_are_refused() {
        let t = token(r#"{"alg":"RS256","kid":"k","crit":["exp"]}"#, "{}");
        assert_eq!(parse(&t).err(), Some(AuthError::CriticalHeader));
        let t = token(r#"{"alg":"RS256"}"#, "{}");
        assert_eq!(parse(&t).err(), Some(AuthError::MissingKeyId));
        let t = token(r#"{"alg":"RS256","kid":""}"#, "{}");
        assert_eq!(parse(&t).err(), Some(AuthError::MissingKeyId));
    }

    #[test]
    fn jku_and_x5u_are_ignored() {
        let t = token(
            r#"{"alg":"RS256","kid":"k","jku":"https://evil/jwks","x5u":"https://evil/c"}"#,
            "{}",
        );
        assert_eq!(parse(&t).unwrap().kid, "k");
    }

    #[test]
    fn wrong_claim_types_are_named() {
        let h = r#"{"alg":"RS256","kid":"k"}"#;
        let cases = [
            (r#"{"cognito:groups":"admin"}"#, "cognito:groups"),
            (r#"{"cognito:groups":["a",1]}"#, "cognito:groups"),
            (r#"{"exp":"1700000000"}"#, "exp"),
            (r#"{"exp":1.5}"#, "exp"),
            (r#"{"nbf":-1}"#, "nbf"),
            (r#"{"iss":42}"#, "iss"),
            (r#"{"aud":["a","b"]}"#, "aud"),
        ];
        for (payload, claim) in cases {
            assert_eq!(
                claims_error(&token(h, payload)),
                Some(AuthError::InvalidClaim(claim)),
                "{payload}"
            );
        }
    }

    #[test]
    fn non_object_payloads_and_duplicates_are_malformed() {
        let h = r#"{"alg":"RS256","kid":"k"}"#;
        for payload in ["[]", "null", "\"x\"", "{"] {
            let unverified = parse(&token(h, payload)).unwrap();
            assert_eq!(
                unverified.claims().err(),
                Some(AuthError::Malformed(MalformedPart::Payload)),
                "{payload}"
            );
        }
        // Duplicate claims: the issuer is still readable, the claims are not (reported after
        // the signature check).
        assert_eq!(
            claims_error(&token(h, r#"{"iss":"i","sub":"a","sub":"b"}"#)),
            Some(AuthError::Malformed(MalformedPart::Payload))
        );
    }

    #[test]
    fn padded_or_non_canonical_base64_is_refused() {
        let h = b64(r#"{"alg":"RS256","kid":"k"}"#);
        let p = b64("{}");
        // Two bytes encode to three characters whose last one carries two unused bits: "q80".
        // "q81" decodes to the same bytes if those bits are ignored, so it must be refused.
        let two = URL_SAFE_NO_PAD.encode([0xAB, 0xCD]);
        assert_eq!(two, "q80");
        let flipped = "q81";
        assert!(parse(&format!("{h}.{p}.{two}")).is_ok());
        assert_eq!(
            parse(&format!("{h}.{p}.{flipped}")).err(),
            Some(AuthError::Malformed(MalformedPart::Signature))
        );
        assert_eq!(
            parse(&format!("{h}.{p}.{two}=")).err(),
            Some(AuthError::Malformed(MalformedPart::Signature))
        );
    }
}
