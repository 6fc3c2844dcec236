//! Where `explain` gets what it judges: keys are fetched when `--jwks` is absent (a failed fetch
//! cannot evaluate), the token comes from stdin with or without `Bearer`, and whatever cannot be
//! evaluated exits 2.

use cognito_authz::testing::JwksBehavior;

use super::{ORDERS, POOL, assert_hides, env, run_with_stdin};

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_fetched_without_jwks_and_a_failed_fetch_cannot_evaluate() {
    let env = env("fetch", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    let token_path = env.token_file(&token);
    let args = [
        "explain",
        "--config",
        env.config.to_str().unwrap(),
        "--request",
        "GET /tenants/acme/orders",
        "--route",
        ORDERS,
        "--token",
        token_path.to_str().unwrap(),
    ];
    let run = env.run(&args);
    assert_eq!(run.code, 0, "{}", run.all());
    let key = run.step("key").1;
    assert!(
        key.contains(&format!("fetched from {}", env.issuer.jwks_url(POOL))),
        "{key}"
    );
    assert_eq!(env.issuer.fetch_count(), 1);

    env.issuer.set_behavior(JwksBehavior::Status(500));
    let run = env.run(&args);
    assert_hides(&run, &token);
    assert_eq!(run.code, 2, "{}", run.all());
    let (mark, detail) = run.step("key");
    assert_eq!(mark, "FAIL");
    assert!(detail.contains("failed: HTTP status 500"), "{detail}");
    // The trace and the verifier agree: the service would answer 503.
    assert_eq!(
        run.verdict(),
        "could not evaluate: signing keys are temporarily unavailable (the service would answer 503)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_comes_from_stdin_with_or_without_bearer() {
    let env = env("stdin", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    for text in [format!("Bearer {token}\n"), format!("  {token}\n\n")] {
        let run = run_with_stdin(
            &[
                "explain",
                "--config",
                env.config.to_str().unwrap(),
                "--request",
                "GET /tenants/acme/orders",
                "--route",
                ORDERS,
                "--jwks",
                env.jwks.to_str().unwrap(),
                "--token",
                "-",
            ],
            Some(&text),
        );
        assert_hides(&run, &token);
        assert_eq!(run.code, 0, "{}", run.all());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_cannot_be_evaluated_exits_2() {
    let env = env("exit2", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    let token_path = env.token_file(&token);
    let config = env.config.to_str().unwrap();
    let jwks = env.jwks.to_str().unwrap();
    let token_arg = token_path.to_str().unwrap();
    let missing = env.dir.join("missing.toml");
    let garbage = env.dir.join("garbage.json");
    std::fs::write(&garbage, "{\"keys\": 7}").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--config", missing.to_str().unwrap(), "--request", "GET /x"],
            "missing.toml",
        ),
        (
            vec!["--config", config, "--request", "GET"],
            "expected \"METHOD PATH\"",
        ),
        (
            vec!["--config", config, "--request", "get /x"],
            "HTTP method in capitals",
        ),
        (
            vec![
                "--config",
                config,
                "--request",
                "GET /orders",
                "--route",
                ORDERS,
            ],
            "does not match route",
        ),
        (
            vec![
                "--config",
                config,
                "--request",
                "GET /x",
                "--jwks",
                garbage.to_str().unwrap(),
            ],
            "not a JWKS document",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["explain", "--token", token_arg];
        all.extend(args);
        if !all.contains(&"--jwks") {
            all.extend(["--jwks", jwks]);
        }
        let run = env.run(&all);
        assert_hides(&run, &token);
        assert_eq!(run.code, 2, "{all:?}: {}", run.all());
        assert!(run.stderr.contains(message), "{all:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{all:?}: {}", run.stdout);
    }
    let run = env.run(&[
        "explain",
        "--config",
        config,
        "--request",
        "GET /x",
        "--token",
        "/nonexistent/token",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("cannot read token file /nonexistent/token"),
        "{}",
        run.stderr
    );
}
