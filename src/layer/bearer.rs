//! The bearer token of a request's `Authorization` header (RFC 6750 §2.1), in two steps.
//!
//! Rules:
//! - No header: no token (`Ok(None)`); the layer decides whether that is allowed.
//! - More than one `Authorization` header is refused: two components could read different ones.
//! - The scheme is `Bearer` in any case, then one or more spaces, then the token.
//! - The header is visible ASCII (tabs allowed, as `HeaderValue::to_str` has it) and the token
//!   holds no space; anything else is refused as a malformed header, never verified.
//!
//! [`bearer_candidate`] applies the first three rules and gives the token's bytes; the layer
//! looks them up in the verified-token cache, and only for a token that is not a hit applies
//! all four with [`bearer_token`]. A hit is a token byte for byte the same as one verified
//! before, which only holds base64url characters and dots and so passes the fourth rule too: a
//! hit skips a check of about 1 KB a byte at a time (`HeaderValue::to_str`: 1,200 of a warm
//! request's 16,000 instructions under callgrind), a miss or a refusal pays it before anything
//! else is done with the token. Either way every request gets the answer of [`bearer_token`]
//! alone (a property test compares them).

use http::{HeaderMap, header};

use crate::error::AuthError;

/// The token's bytes, once the header holds exactly one value of the `Bearer` scheme with a
/// non-empty token: `Ok(None)` if there is no header. Not checked yet: see [`bearer_token`].
pub(super) fn bearer_candidate(headers: &HeaderMap) -> Result<Option<&[u8]>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidAuthorizationHeader);
    }
    let value = value.as_bytes();
    let space = memchr::memchr(b' ', value).ok_or(AuthError::InvalidAuthorizationHeader)?;
    let (scheme, rest) = value.split_at(space);
    let start = rest
        .iter()
        .position(|&b| b != b' ')
        .ok_or(AuthError::InvalidAuthorizationHeader)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(AuthError::InvalidAuthorizationHeader);
    }
    Ok(Some(&rest[start..]))
}

/// The bearer token of the `Authorization` header, all four rules applied: `Ok(None)` if there
/// is no header.
pub(super) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidAuthorizationHeader);
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidAuthorizationHeader)?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(AuthError::InvalidAuthorizationHeader)?;
    let token = token.trim_start_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || has_space(token) {
        return Err(AuthError::InvalidAuthorizationHeader);
    }
    Ok(Some(token))
}

/// Whether `token` holds a space. Written without an early exit, which lets it vectorize
/// (`str::contains` walks it a word at a time).
fn has_space(token: &str) -> bool {
    token.bytes().fold(false, |found, b| found | (b == b' '))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                header::AUTHORIZATION,
                http::HeaderValue::from_bytes(v).unwrap(),
            );
        }
        map
    }

    /// What the layer decides from the header alone: [`bearer_candidate`] first, then (for a
    /// token not served from the cache) [`bearer_token`], whose token must be the candidate.
    fn both_steps(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
        let candidate = bearer_candidate(headers)?;
        let full = bearer_token(headers)?;
        assert_eq!(
            candidate,
            full.map(str::as_bytes),
            "the candidate is the token"
        );
        Ok(full)
    }

    /// Whether the candidate step alone refuses every header the full parse refuses for its
    /// first three rules, and accepts the rest (the fourth rule is the full parse's).
    fn candidate_agrees(headers: &HeaderMap) -> bool {
        match (bearer_candidate(headers), bearer_token(headers)) {
            (Ok(None), Ok(None)) => true,
            (Ok(Some(bytes)), Ok(Some(token))) => bytes == token.as_bytes(),
            // Refused by the fourth rule only: the candidate step lets it through.
            (Ok(Some(_)), Err(_)) => true,
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(both_steps(&headers(&[])), Ok(None));
        assert_eq!(both_steps(&headers(&[b"Bearer abc"])), Ok(Some("abc")));
        assert_eq!(both_steps(&headers(&[b"bearer  abc"])), Ok(Some("abc")));
        assert_eq!(both_steps(&headers(&[b"Bearer a\tb"])), Ok(Some("a\tb")));
        for bad in [
            &b""[..],
            b"Bearer",
            b"Bearer ",
            b"Basic abc",
            b"Bearerabc",
            b"Bearer\tabc",
            b"Bearer a b",
            b"Bearer abc ",
            b"Token abc",
            b"Bearer abc\x80",
            b"Bearer \xc3\xa9",
            b"B\xc3\xa9arer abc",
        ] {
            assert_eq!(
                both_steps(&headers(&[bad])),
                Err(AuthError::InvalidAuthorizationHeader),
                "{bad:?}"
            );
        }
        // Refused before any cache lookup: the scheme, the number of headers, an empty token.
        for bad in [
            &[&b"Basic abc"[..]][..],
            &[b"Bearer a", b"Bearer b"],
            &[b"Bearer  "],
        ] {
            assert_eq!(
                bearer_candidate(&headers(bad)),
                Err(AuthError::InvalidAuthorizationHeader),
                "{bad:?}"
            );
        }
        // A space or a non-ASCII byte anywhere in a token of realistic length.
        let long = "a".repeat(1000);
        for bad in [&b" "[..], b"\x80", b"\xff"] {
            for at in [0, 1, 31, 32, 500, 998, 999] {
                let mut header = format!("Bearer x{long}").into_bytes();
                header.splice(8 + at..9 + at, bad.iter().copied());
                assert_eq!(
                    both_steps(&headers(&[&header])),
                    Err(AuthError::InvalidAuthorizationHeader),
                    "{bad:?} at {at}"
                );
            }
        }
        let header = format!("Bearer {long}");
        assert_eq!(
            both_steps(&headers(&[header.as_bytes()])),
            Ok(Some(long.as_str()))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        /// For any header value `http` accepts, realistic or not (mostly token characters, with
        /// spaces, tabs, UTF-8 and stray high bytes mixed in), the candidate step refuses only
        /// what the full parse refuses, with the same error, and its token is the full parse's.
        #[test]
        fn the_candidate_is_the_token_the_full_parse_gives(
            scheme in prop::sample::select(vec!["Bearer", "bearer", "BEARER", "Basic", "Bearerx", "B\u{e9}arer", ""]),
            spaces in 0usize..3,
            body in prop::collection::vec(
                prop_oneof![
                    8 => prop::sample::select(b"abcXYZ019-._~+/=".to_vec()),
                    1 => Just(b' '),
                    1 => Just(b'\t'),
                    1 => any::<u8>(),
                ],
                0..80,
            ),
            text in prop::option::of("\\PC{1,3}"),
        ) {
            let mut value = scheme.as_bytes().to_vec();
            value.extend(std::iter::repeat_n(b' ', spaces));
            value.extend(&body);
            if let Some(text) = text {
                value.extend(text.as_bytes());
            }
            if let Ok(parsed) = http::HeaderValue::from_bytes(&value) {
                let mut map = HeaderMap::new();
                map.insert(header::AUTHORIZATION, parsed);
                prop_assert!(candidate_agrees(&map));
                // The two steps never change the full parse's answer.
                let _ = both_steps(&map);
            }
        }
    }
}
