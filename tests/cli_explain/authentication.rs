//! Every 401 reason the verifier has offline is reported on the step that refuses, after the steps
//! that must have passed; `--at` judges time claims at another instant.

use cognito_authz::testing::{LocalIssuer, SigningKey, now};
use serde_json::{Value, json};

use super::{CLIENT, MACHINE, POOL, assert_refused_at, env};

/// A name, the token (`None`: anonymous), the step that refuses, its reason, and steps that
/// must have passed before it.
type Case<'a> = (&'a str, Option<String>, &'a str, &'a str, &'a [&'a str]);

/// One case per refusal the verifier has offline (revocation is the running service's).
#[tokio::test(flavor = "multi_thread")]
async fn every_401_reason_is_reported_on_its_step() {
    let env = env("401", true).await;
    let key = env.issuer.current_key();
    let mint = |edit: &dyn Fn(&mut Value)| {
        let mut claims = env.claims("alice", &[]);
        edit(&mut claims);
        key.sign(&claims)
    };
    let header = |header: Value| key.sign_parts(&header, &env.claims("alice", &[]));
    let now = now();
    const PARSED: &[&str] = &["token", "tenant", "key", "signature", "claims"];
    const TO_CLIENT: &[&str] = &[
        "token",
        "tenant",
        "key",
        "signature",
        "claims",
        "token_use",
        "client",
    ];
    let cases: Vec<Case> = vec![
        ("no token", None, "token", "missing_token", &[]),
        (
            "malformed",
            Some("not-a.jwt".into()),
            "token",
            "malformed",
            &[],
        ),
        (
            "too large",
            Some(mint(&|c| c["padding"] = json!("x".repeat(9000)))),
            "token",
            "token_too_large",
            &[],
        ),
        (
            "HS256",
            Some(header(json!({"alg": "HS256", "kid": key.kid()}))),
            "token",
            "unsupported_algorithm",
            &[],
        ),
        (
            "crit",
            Some(header(
                json!({"alg": "RS256", "kid": key.kid(), "crit": ["exp"]}),
            )),
            "token",
            "critical_header",
            &[],
        ),
        (
            "no kid",
            Some(header(json!({"alg": "RS256"}))),
            "token",
            "missing_kid",
            &[],
        ),
        (
            "no iss",
            Some(mint(&|c| drop(c.as_object_mut().unwrap().remove("iss")))),
            "tenant",
            "missing_claim",
            &["token"],
        ),
        (
            "unknown issuer",
            Some(mint(&|c| {
                c["iss"] = json!(LocalIssuer::issuer("us-east-1_Somebody"))
            })),
            "tenant",
            "unknown_issuer",
            &["token"],
        ),
        (
            "unknown kid",
            Some(SigningKey::generate("key-404").sign(&env.claims("alice", &[]))),
            "key",
            "unknown_kid",
            &["token", "tenant"],
        ),
        (
            "foreign key, same kid",
            Some(SigningKey::generate(key.kid()).sign(&env.claims("alice", &[]))),
            "signature",
            "invalid_signature",
            &["token", "tenant", "key"],
        ),
        (
            "exp of the wrong type",
            Some(mint(&|c| c["exp"] = json!("tomorrow"))),
            "claims",
            "invalid_claim",
            &["token", "tenant", "key", "signature"],
        ),
        (
            "no token_use",
            Some(mint(&|c| {
                drop(c.as_object_mut().unwrap().remove("token_use"))
            })),
            "token_use",
            "missing_claim",
            PARSED,
        ),
        (
            "refresh token_use",
            Some(mint(&|c| c["token_use"] = json!("refresh"))),
            "token_use",
            "invalid_claim",
            PARSED,
        ),
        (
            "another app client",
            Some(mint(&|c| c["client_id"] = json!("globex-web"))),
            "client",
            "wrong_client",
            &["token", "tenant", "key", "signature", "claims", "token_use"],
        ),
        (
            "expired",
            Some(mint(&|c| c["exp"] = json!(now - 60))),
            "exp",
            "expired",
            TO_CLIENT,
        ),
        (
            "not yet valid",
            Some(mint(&|c| c["nbf"] = json!(now + 600))),
            "nbf",
            "not_yet_valid",
            TO_CLIENT,
        ),
        (
            "issued in the future",
            Some(mint(&|c| c["iat"] = json!(now + 600))),
            "iat",
            "issued_in_future",
            TO_CLIENT,
        ),
        (
            "no sub",
            Some(mint(&|c| drop(c.as_object_mut().unwrap().remove("sub")))),
            "sub",
            "missing_claim",
            &["exp", "nbf", "iat"],
        ),
        (
            "user token without username",
            Some(mint(&|c| {
                drop(c.as_object_mut().unwrap().remove("username"))
            })),
            "username",
            "missing_claim",
            &["client", "exp", "sub"],
        ),
        (
            "web client posing as a machine",
            Some(key.sign(&env.issuer.machine_claims(POOL, CLIENT, &["orders/read"]))),
            "username",
            "machine_client_not_allowed",
            &["client", "sub"],
        ),
        (
            "machine token with another sub",
            Some(key.sign(&{
                let mut c = env.issuer.machine_claims(POOL, MACHINE, &["orders/read"]);
                c["sub"] = json!("someone-else");
                c
            })),
            "username",
            "machine_subject_mismatch",
            &["client", "sub"],
        ),
        (
            "self-service scope kept by a non-admin",
            Some(mint(&|c| {
                c["scope"] = json!("aws.cognito.signin.user.admin")
            })),
            "self_service",
            "self_service_scope",
            &["username"],
        ),
        (
            "id token on an access-token pipeline",
            Some(key.sign(&env.issuer.id_claims(POOL, CLIENT, "alice", &[]))),
            "accepted",
            "wrong_token_use",
            &["client", "username", "self_service"],
        ),
    ];
    for (name, token, step, reason, before) in cases {
        let run = env.explain(token.as_deref(), "GET /tenants/acme/orders", &[]);
        println!("case {name}:\n{}", run.stdout);
        assert_refused_at(&run, step, reason, before);
    }
    // Offline: not even the unknown kid made it fetch.
    assert_eq!(env.issuer.fetch_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn at_judges_time_claims_at_another_instant() {
    let env = env("at", true).await;
    let issued = now() - 7200;
    let mut claims = env.claims("alice", &[]);
    claims["iat"] = json!(issued);
    claims["auth_time"] = json!(issued);
    claims["exp"] = json!(issued + 3600);
    let token = env.issuer.mint(&claims);
    let run = env.explain(Some(&token), "GET /tenants/acme/orders", &[]);
    assert_refused_at(&run, "exp", "expired", &["client"]);
    assert!(run.step("exp").1.contains("s ago"), "{}", run.stdout);

    let during = (issued + 60).to_string();
    let run = env.explain(Some(&token), "GET /tenants/acme/orders", &["--at", &during]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.step("exp").1.contains("(in 3540 s)"), "{}", run.stdout);

    // Before it was issued, it is refused again: `--at` moves every time claim.
    let before = (issued - 600).to_string();
    let run = env.explain(Some(&token), "GET /tenants/acme/orders", &["--at", &before]);
    assert_refused_at(&run, "iat", "issued_in_future", &["exp"]);
}
