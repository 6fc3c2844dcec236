//! Parsing a JWS compact token into its header, claims and signature, without trusting any of it.
//!
//! This runs for every token not in the verified-token cache, next to an RSA verification that
//! is the floor of the cost, so it makes one pass over each part and one allocation: the
//! payload and the signature are decoded into one buffer, and every claim read borrows from it
//! (a string is copied only when a JSON escape forces it).

use std::borrow::Cow;
use std::ops::Range;

use aws_lc_rs::digest;
#[cfg(test)]
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::de::{IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::{AuthError, MalformedPart};

/// A token split and decoded, not yet verified.
pub(crate) struct UnverifiedToken {
    /// The length of `header.payload` at the token's start: what the signature covers.
    message_len: usize,
    kid: Kid,
    /// The decoded header, then the payload JSON, then the signature.
    decoded: Vec<u8>,
    payload: Range<usize>,
    signature: Range<usize>,
}

/// Where the `kid` is: in the decoded header, or copied out of it when it had JSON escapes.
enum Kid {
    Decoded(Range<usize>),
    Unescaped(String),
}

/// A JSON string borrowed from the decoded token, or owned where a JSON escape forces a copy.
///
/// `#[serde(borrow)]` alone borrows only a field that is a bare `Cow<str>`: inside an `Option`
/// or a `Vec`, serde's `Cow` copies every string.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// An optional string claim, borrowed where possible (see [`Text`]).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    Ok(Option::<Text<'de>>::deserialize(d)?.map(|t| t.0))
}

/// An optional list of strings, each borrowed where possible (see [`Text`]).
fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Cow<'de, str>>>, D::Error> {
    Ok(Option::<Vec<Text<'de>>>::deserialize(d)?.map(|v| v.into_iter().map(|t| t.0).collect()))
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    kid: Option<Cow<'a, str>>,
    // `jku`, `x5u`, `jwk`, `x5c` and every other field are ignored: keys come only from the
    // tenant's configured JWKS URL.
    crit: Option<IgnoredAny>,
}

/// The claims this crate reads, borrowing from the decoded payload where no JSON escape forces
/// a copy. Other claims (user attributes, ...) are ignored.
#[derive(Deserialize)]
pub(crate) struct Claims<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) iss: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) sub: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) token_use: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) client_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) aud: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) username: Option<Cow<'a, str>>,
    #[serde(
        borrow,
        default,
        deserialize_with = "text",
        rename = "cognito:username"
    )]
    pub(crate) cognito_username: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "texts", rename = "cognito:groups")]
    pub(crate) groups: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) scope: Option<Cow<'a, str>>,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) jti: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub(crate) origin_jti: Option<Cow<'a, str>>,
}

/// What the payload yields before the signature is checked: the issuer (needed to find the
/// key) and the claims, whose error, if any, must only be reported for a genuine token.
pub(crate) struct PayloadClaims<'a> {
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) claims: Result<Claims<'a>, AuthError>,
}

impl UnverifiedToken {
    /// The key id of the header.
    pub(crate) fn kid(&self) -> &str {
        match &self.kid {
            // In range and on character boundaries: it was a `&str` borrowed from there.
            Kid::Decoded(range) => std::str::from_utf8(&self.decoded[range.clone()]).unwrap_or(""),
            Kid::Unescaped(kid) => kid,
        }
    }

    /// The decoded signature.
    pub(crate) fn signature(&self) -> &[u8] {
        &self.decoded[self.signature.clone()]
    }

    /// SHA-256 of `header.payload` of `token` (the token parsed), what the RS256 signature
    /// covers.
    pub(crate) fn message_digest(&self, token: &str) -> digest::Digest {
        let message = token.as_bytes().get(..self.message_len).unwrap_or_default();
        digest::digest(&digest::SHA256, message)
    }

    /// Parses the payload. Fails only if it is not a JSON object at all (or `iss` has the
    /// wrong type): then there is nothing to look a key up with.
    pub(crate) fn claims(&self) -> Result<PayloadClaims<'_>, AuthError> {
        let json = &self.decoded[self.payload.clone()];
        let claims = parse_claims(json);
        let iss = match &claims {
            Ok(claims) => claims.iss.clone(),
            Err(_) => lenient_issuer(json)?.map(Cow::Owned),
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
    // Exactly three non-empty segments. The first and the last dot are found from either end;
    // a dot between them would be in the payload, which base64url decoding refuses, and every
    // refusal below is turned into the structure error it then is: one scan of the token
    // fewer, the same answer for every input.
    let bytes = token.as_bytes();
    let (Some(first), Some(last)) = (memchr::memchr(b'.', bytes), memchr::memrchr(b'.', bytes))
    else {
        return Err(AuthError::Malformed(MalformedPart::Structure));
    };
    if first == last {
        return Err(AuthError::Malformed(MalformedPart::Structure));
    }
    let (header, payload, signature) =
        (&token[..first], &token[first + 1..last], &token[last + 1..]);
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(AuthError::Malformed(MalformedPart::Structure));
    }
    decode(last, header, payload, signature).map_err(|err| {
        if memchr::memchr(b'.', payload.as_bytes()).is_some() {
            AuthError::Malformed(MalformedPart::Structure)
        } else {
            err
        }
    })
}

/// The bytes `encoded` decodes to if it is valid (an upper bound otherwise).
fn decoded_len(encoded: &str) -> usize {
    encoded.len() / 4 * 3 + (encoded.len() % 4).saturating_sub(1)
}

/// Decodes one base64url segment at the end of `into`. The decoder refuses padding and non-zero
/// trailing bits, so every token has exactly one accepted spelling: a changed character can
/// never decode to the same bytes.
fn decode_segment(
    encoded: &str,
    into: &mut Vec<u8>,
    part: MalformedPart,
) -> Result<Range<usize>, AuthError> {
    let start = into.len();
    base64_simd::URL_SAFE_NO_PAD
        .decode_append(encoded, into)
        .map_err(|_| AuthError::Malformed(part))?;
    Ok(start..into.len())
}

fn decode(
    message_len: usize,
    header: &str,
    payload: &str,
    signature: &str,
) -> Result<UnverifiedToken, AuthError> {
    let mut decoded =
        Vec::with_capacity(decoded_len(header) + decoded_len(payload) + decoded_len(signature));
    let header_range = decode_segment(header, &mut decoded, MalformedPart::Header)?;
    let kid = {
        let header_json = &decoded[header_range];
        let header: Header<'_> =
            json(header_json).map_err(|_| AuthError::Malformed(MalformedPart::Header))?;
        if header.alg.as_deref() != Some("RS256") {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        if header.crit.is_some() {
            return Err(AuthError::CriticalHeader);
        }
        match header.kid {
            Some(Cow::Borrowed(kid)) if !kid.is_empty() => {
                // A subslice of `decoded`: its offset from the buffer's start.
                let start = kid.as_ptr() as usize - decoded.as_ptr() as usize;
                Kid::Decoded(start..start + kid.len())
            }
            Some(Cow::Owned(kid)) if !kid.is_empty() => Kid::Unescaped(kid),
            _ => return Err(AuthError::MissingKeyId),
        }
    };
    let payload = decode_segment(payload, &mut decoded, MalformedPart::Payload)?;
    let signature = decode_segment(signature, &mut decoded, MalformedPart::Signature)?;
    Ok(UnverifiedToken {
        message_len,
        kid,
        decoded,
        payload,
        signature,
    })
}

/// Parses JSON that serde_json reads faster as a `str` (it then skips checking each string's
/// UTF-8 on its own); bytes that are not UTF-8 are read as before, as bytes.
fn json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
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

fn parse_claims(bytes: &[u8]) -> Result<Claims<'_>, AuthError> {
    json(bytes).map_err(|_| diagnose(bytes))
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
mod tests;
