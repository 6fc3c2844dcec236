//! What `explain` prints: token values cannot reorder or recolour the output (they are escaped),
//! `--json` has the steps and the verdict, and a token given as the argument instead of a file is
//! refused without being echoed.

use cognito_authz::testing::now;
use serde_json::{Value, json};

use super::{assert_hides, env};

/// Token values are the caller's: characters that could reorder or recolour what an operator
/// reads (bidirectional overrides, zero-width characters, terminal escapes) are escaped.
#[tokio::test]
async fn token_values_cannot_rewrite_the_output() {
    let env = env("escapes", false).await;
    let sneaky = "ali\u{202e}ecila\u{200b}\u{1b}[31m";
    let token = env.issuer.mint(&env.claims(sneaky, &["sa\u{2066}les"]));
    let run = env.explain(Some(&token), "GET /anything", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    for raw in ['\u{202e}', '\u{200b}', '\u{1b}', '\u{2066}'] {
        assert!(
            !run.all().contains(raw),
            "{raw:?} printed raw:\n{}",
            run.all()
        );
    }
    assert!(
        run.stdout.contains("ali\\u{202e}ecila\\u{200b}\\u{1b}[31m"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("sa\\u{2066}les"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_has_the_steps_and_the_verdict() {
    let env = env("json", true).await;
    let mut claims = env.claims("alice", &[]);
    claims["exp"] = json!(now() - 5);
    let token = env.issuer.mint(&claims);
    let run = env.explain(
        Some(&token),
        "GET /tenants/acme/orders",
        &["--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let out: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(out["verdict"]["result"], "refused");
    assert_eq!(out["verdict"]["status"], 401);
    assert_eq!(out["verdict"]["reason"], "expired");
    let exp = out["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "exp")
        .unwrap();
    assert_eq!(exp["outcome"], "failed");
    assert_eq!(exp["reason"], "expired");
}

/// `--token` takes a file, so that the token stays out of shell history and process lists. A
/// token pasted in its place is refused (exit 2) without being printed back.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_given_as_the_argument_is_not_echoed() {
    let env = env("argv", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    let config = env.config.to_str().unwrap();
    let run = env.run(&[
        "explain",
        "--config",
        config,
        "--request",
        "GET /x",
        "--token",
        &token,
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert_hides(&run, &token);
    assert!(run.stderr.contains("looks like a token"), "{}", run.stderr);
}
