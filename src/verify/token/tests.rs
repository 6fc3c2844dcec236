//! The parser's answers to well-formed, malformed and hostile tokens.

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
fn a_dot_anywhere_between_is_a_structure_error_whatever_else_is_wrong() {
    let h = b64(r#"{"alg":"RS256","kid":"k"}"#);
    let p = b64(r#"{"iss":"i"}"#);
    let s = b64("sig");
    let bad_alg = b64(r#"{"alg":"none","kid":"k"}"#);
    for bad in [
        format!("{h}.{p}.{p}.{s}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{h}.{p}.{s}"),
        format!("{bad_alg}.{p}.{p}.{s}"),
        format!("!!.{p}.{p}.{s}"),
        format!("{h}.{p}..{s}"),
        format!("{h}..{p}.{s}"),
        format!("{h}.{p}.{s}."),
        format!(".{h}.{p}.{s}"),
    ] {
        assert_eq!(
            parse(&bad).err(),
            Some(AuthError::Malformed(MalformedPart::Structure)),
            "{bad}"
        );
    }
    // With exactly three segments, each part's own error.
    assert_eq!(
        parse(&format!("{bad_alg}.{p}.{s}")).err(),
        Some(AuthError::UnsupportedAlgorithm)
    );
    assert_eq!(
        parse(&format!("{h}.{p}!.{s}")).err(),
        Some(AuthError::Malformed(MalformedPart::Payload))
    );
}

#[test]
fn claims_borrow_from_the_token_unless_escaped() {
    let h = r#"{"alg":"RS256","kid":"k\/1"}"#;
    let payload = r#"{"iss":"https://i","sub":"a\u00e9","cognito:groups":["g1","g\"2"],"scope":"s","jti":"j","origin_jti":"o","username":"u","client_id":"c","token_use":"access"}"#;
    let t = token(h, payload);
    let unverified = parse(&t).unwrap();
    assert_eq!(unverified.kid(), "k/1");
    let claims = unverified.claims().unwrap().claims.unwrap();
    let borrowed = |c: &Option<Cow<'_, str>>| matches!(c, Some(Cow::Borrowed(_)));
    for (name, claim) in [
        ("iss", &claims.iss),
        ("scope", &claims.scope),
        ("jti", &claims.jti),
        ("origin_jti", &claims.origin_jti),
        ("username", &claims.username),
        ("client_id", &claims.client_id),
        ("token_use", &claims.token_use),
    ] {
        assert!(borrowed(claim), "{name} was copied");
    }
    assert_eq!(claims.sub.as_deref(), Some("a\u{e9}"));
    assert!(
        !borrowed(&claims.sub),
        "an escaped string cannot be borrowed"
    );
    let groups = claims.groups.unwrap();
    assert!(matches!(groups[0], Cow::Borrowed("g1")));
    assert_eq!(groups[1], "g\"2");
}

#[test]
fn a_payload_that_is_not_utf8_is_read_as_bytes_as_before() {
    let h = b64(r#"{"alg":"RS256","kid":"k"}"#);
    // An ignored claim whose string holds a byte that is not UTF-8.
    let mut payload = br#"{"iss":"i","sub":"s","x":""#.to_vec();
    payload.extend_from_slice(&[0xff, b'"', b'}']);
    let t = format!("{h}.{}.{}", URL_SAFE_NO_PAD.encode(&payload), b64("sig"));
    let unverified = parse(&t).unwrap();
    let claims = unverified.claims().unwrap();
    assert_eq!(claims.iss.as_deref(), Some("i"));
    assert_eq!(claims.claims.unwrap().sub.as_deref(), Some("s"));
}

proptest::proptest! {
    /// The decoder accepts exactly what the `base64` crate's strict URL-safe engine (no
    /// padding, canonical trailing bits) accepts, and decodes it to the same bytes.
    #[test]
    fn decoding_agrees_with_the_strict_base64_engine(
        encoded in "[A-Za-z0-9_=+/. -]{0,70}",
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..60),
        flip in 0usize..80,
    ) {
        let mut valid = URL_SAFE_NO_PAD.encode(&bytes).into_bytes();
        if let Some(c) = valid.get_mut(flip) {
            *c ^= 1;
        }
        let valid = String::from_utf8(valid).unwrap();
        for input in [encoded.as_str(), valid.as_str()] {
            let mut ours = vec![7u8];
            let ours = decode_segment(input, &mut ours, MalformedPart::Payload)
                .map(|range| ours[range].to_vec());
            let reference = URL_SAFE_NO_PAD
                .decode(input)
                .map_err(|_| AuthError::Malformed(MalformedPart::Payload));
            proptest::prop_assert_eq!(ours, reference, "{:?}", input);
            if let Ok(out) = URL_SAFE_NO_PAD.decode(input) {
                proptest::prop_assert_eq!(out.len(), decoded_len(input));
            }
        }
    }
}

#[test]
fn message_digest_is_what_the_signature_covers() {
    let t = token(r#"{"alg":"RS256","kid":"k"}"#, "{}");
    let (message, _) = t.rsplit_once('.').unwrap();
    let expected = digest::digest(&digest::SHA256, message.as_bytes());
    assert_eq!(
        parse(&t).unwrap().message_digest(&t).as_ref(),
        expected.as_ref()
    );
}

#[test]
fn jku_and_x5u_are_ignored() {
    let t = token(
        r#"{"alg":"RS256","kid":"k","jku":"https://evil/jwks","x5u":"https://evil/c"}"#,
        "{}",
    );
    assert_eq!(parse(&t).unwrap().kid(), "k");
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
