//! `cognito-authz explain` end to end: the real binary, a configuration and Cedar policy folder
//! in a temporary directory, and tokens from a local issuer. Allowed requests list the
//! permitting policies, Cedar refusals name "no permit" or the forbid, every 401 reason the
//! verifier has is reported on the step that refuses, `--at` judges time claims at another
//! instant, keys are fetched when `--jwks` is absent, and the output never holds the token or
//! its signature. Exit codes: 0 allowed, 1 refused, 2 could not evaluate.

#![cfg(feature = "cli")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use cognito_authz::testing::{JwksBehavior, LocalIssuer, SigningKey, now};
use serde_json::{Value, json};

const POOL: &str = "us-east-1_ExplainTest1";
const CLIENT: &str = "acme-web";
const MACHINE: &str = "acme-sync";
const ORDERS: &str = "GET /tenants/{tenant}/orders";

const COMMON: &str = r#"
@id("orders-read")
permit(principal, action == App::Action::"GET /tenants/{tenant}/orders", resource)
when { context.path.tenant == context.tenant };

@id("no-interns")
forbid(principal, action, resource) when { context.roles.contains("intern") };
"#;

const ACME: &str = r#"
@id("admin-all")
permit(principal in App::UserGroup::"us-east-1_ExplainTest1|admin", action, resource);
"#;

/// A configuration, its policies and the issuer's key set in a directory of their own.
struct Env {
    issuer: LocalIssuer,
    dir: PathBuf,
    config: PathBuf,
    jwks: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cognito-authz-explain-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).expect("temp dir");
    dir
}

async fn env(name: &str, cedar: bool) -> Env {
    let issuer = LocalIssuer::start().await.expect("local issuer");
    let dir = unique_dir(name);
    let mut config = format!(
        "[self_service_guard]\nallowed_roles = [\"admin\"]\n\n\
         [[tenant]]\nid = \"acme\"\nuser_pool_id = \"{POOL}\"\nclient_ids = [\"{CLIENT}\"]\n\
         machine_client_ids = [\"{MACHINE}\"]\njwks_url = \"{}\"\n",
        issuer.jwks_url(POOL)
    );
    if cedar {
        config.push_str("\n[cedar]\nnamespace = \"App\"\npolicies = \"policies\"\n");
        std::fs::write(dir.join("policies/common.cedar"), COMMON).unwrap();
        std::fs::write(dir.join("policies/acme.cedar"), ACME).unwrap();
    }
    let config_path = dir.join("tenants.toml");
    std::fs::write(&config_path, config).unwrap();
    let jwks = dir.join("jwks.json");
    let keys = json!({ "keys": [issuer.current_key().jwk()] });
    std::fs::write(&jwks, keys.to_string()).unwrap();
    Env {
        issuer,
        dir,
        config: config_path,
        jwks,
    }
}

/// What a run printed, and its exit code.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().expect("exited"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8"),
        }
    }

    /// The line of step `name`, as `(mark, detail)`.
    fn step(&self, name: &str) -> (&str, &str) {
        let line = self
            .stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no step {name} in:\n{}", self.stdout));
        let rest = line[name.len()..].trim_start();
        let (mark, detail) = rest.split_once(' ').unwrap_or((rest, ""));
        (mark, detail.trim_start())
    }

    fn verdict(&self) -> &str {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix("verdict: "))
            .unwrap_or_else(|| panic!("no verdict in:\n{}", self.stdout))
    }

    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Env {
    fn token_file(&self, token: &str) -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = self
            .dir
            .join(format!("token-{}", NEXT.fetch_add(1, Ordering::SeqCst)));
        std::fs::write(&path, token).unwrap();
        path
    }

    fn run(&self, args: &[&str]) -> Run {
        run_with_stdin(args, None)
    }

    /// `explain` offline (`--jwks`) for `request`, on the orders route when it matches it.
    fn explain(&self, token: Option<&str>, request: &str, extra: &[&str]) -> Run {
        let token_path = token.map(|t| self.token_file(t));
        let mut args = vec![
            "explain",
            "--config",
            self.config.to_str().unwrap(),
            "--request",
            request,
            "--jwks",
            self.jwks.to_str().unwrap(),
        ];
        if request.starts_with("GET /tenants/") {
            args.extend(["--route", ORDERS]);
        }
        if let Some(path) = &token_path {
            args.extend(["--token", path.to_str().unwrap()]);
        }
        args.extend_from_slice(extra);
        let run = self.run(&args);
        if let Some(token) = token {
            assert_hides(&run, token);
        }
        run
    }

    fn claims(&self, username: &str, groups: &[&str]) -> Value {
        let mut claims = self.issuer.access_claims(POOL, CLIENT, username, groups);
        claims["scope"] = json!("orders/read");
        claims
    }
}

fn run_with_stdin(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cognito-authz"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cognito-authz runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    Run::from(child.wait_with_output().expect("cognito-authz ends"))
}

/// Neither the token, nor its payload, nor its signature appear in the output.
fn assert_hides(run: &Run, token: &str) {
    let all = run.all();
    let segments: Vec<&str> = token.split('.').collect();
    assert!(!all.contains(token), "the token is printed:\n{all}");
    if let [_, payload, signature] = segments[..] {
        for (part, text) in [("payload", payload), ("signature", signature)] {
            assert!(
                text.len() < 8 || !all.contains(text),
                "the token's {part} is printed:\n{all}"
            );
        }
    }
}

/// The steps before `failed` that must have passed for it to be reached.
fn assert_refused_at(run: &Run, failed: &str, reason: &str, before: &[&str]) {
    assert_eq!(run.code, 1, "{}", run.all());
    let (mark, detail) = run.step(failed);
    assert_eq!(mark, "FAIL", "{failed}: {}", run.stdout);
    assert!(
        detail.starts_with(&format!("{reason}:")),
        "{failed}: {detail}"
    );
    for step in before {
        assert_eq!(
            run.step(step).0,
            "ok",
            "{step} before {failed}: {}",
            run.stdout
        );
    }
    assert_eq!(run.step("decision").0, "skip", "{}", run.stdout);
    assert!(
        run.verdict()
            .starts_with(&format!("refused, 401 invalid_token ({reason})")),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_requests_list_the_permitting_policies() {
    let env = env("allow", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    let run = env.explain(Some(&token), "GET /tenants/acme/orders", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.verdict(), "allowed");
    for step in [
        "request",
        "token",
        "tenant",
        "key",
        "signature",
        "claims",
        "exp",
        "roles",
    ] {
        assert_eq!(run.step(step).0, "ok", "{step}: {}", run.stdout);
    }
    assert!(
        run.step("request")
            .1
            .contains("path parameters [tenant=acme]")
    );
    assert!(
        run.step("tenant")
            .1
            .starts_with(&format!("acme (issuer {})", LocalIssuer::issuer(POOL)))
    );
    assert!(run.step("username").1.contains("username alice"));
    assert_eq!(run.step("revocation").0, "skip");
    let (mark, detail) = run.step("decision");
    assert_eq!(mark, "ok");
    assert_eq!(
        detail,
        format!("allow \"{ORDERS}\": permitted by common/orders-read")
    );

    // An admin is permitted by its tenant's policy as well.
    let token = env.issuer.mint(&env.claims("root", &["admin"]));
    let run = env.explain(Some(&token), "GET /tenants/acme/orders", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let detail = run.step("decision").1;
    assert!(detail.contains("acme/admin-all"), "{detail}");
    assert!(detail.contains("common/orders-read"), "{detail}");
    assert!(
        run.step("roles")
            .1
            .contains("groups [admin] -> roles [admin]")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cedar_refusals_name_no_permit_or_the_forbid() {
    let env = env("deny", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    // Another tenant's orders: the path parameter is not the caller's tenant.
    let run = env.explain(Some(&token), "GET /tenants/globex/orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let (mark, detail) = run.step("decision");
    assert_eq!(mark, "FAIL");
    assert!(detail.contains("no permit matched"), "{detail}");
    assert!(
        run.verdict()
            .starts_with("refused, 403 insufficient_scope (forbidden)"),
        "{}",
        run.stdout
    );
    // No route given: the path itself is the action, which no policy names.
    let run = env.explain(Some(&token), "DELETE /orders/7", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.step("decision")
            .1
            .contains("\"DELETE /orders/7\": no permit matched")
    );

    let intern = env.issuer.mint(&env.claims("ivan", &["intern", "admin"]));
    let run = env.explain(Some(&intern), "GET /tenants/acme/orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let detail = run.step("decision").1;
    assert!(
        detail.contains("forbidden by common/no-interns"),
        "{detail}"
    );
}

/// Schema action groups, HEAD and undecodable path parameters are explained as the Cedar layer
/// decides them (issue 18): the forbid on the group names itself, HEAD is the GET action, and
/// a parameter that does not decode is the layer's 400.
#[tokio::test(flavor = "multi_thread")]
async fn groups_head_and_undecodable_parameters_are_explained_as_decided() {
    let env = env("groups", true).await;
    std::fs::write(
        env.dir.join("policies/schema.cedarschema"),
        r#"namespace App {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  type Ctx = { roles: Set<String> };
  action "writes";
  action "POST /orders" in ["writes"] appliesTo { principal: User, resource: Application, context: Ctx };
  action "GET /orders" appliesTo { principal: User, resource: Application, context: Ctx };
}
"#,
    )
    .unwrap();
    std::fs::write(
        env.dir.join("policies/common.cedar"),
        format!(
            r#"@id("admin-all")
permit(principal in App::UserGroup::"{POOL}|admin", action, resource);
@id("readonly-writes")
forbid(principal, action in App::Action::"writes", resource) when {{ context.roles.contains("readonly") }};
@id("no-interns-read")
forbid(principal, action == App::Action::"GET /orders", resource) when {{ context.roles.contains("intern") }};
"#
        ),
    )
    .unwrap();
    std::fs::write(env.dir.join("policies/acme.cedar"), "// none\n").unwrap();
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str("schema = \"policies/schema.cedarschema\"\n");
    std::fs::write(&env.config, config).unwrap();

    let readonly = env.issuer.mint(&env.claims("rita", &["admin", "readonly"]));
    let run = env.explain(Some(&readonly), "POST /orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(
        run.step("decision").1,
        "forbidden: a Cedar policy forbids this request; deny \"POST /orders\": forbidden by \
         common/readonly-writes"
    );
    let admin = env.issuer.mint(&env.claims("adam", &["admin"]));
    let run = env.explain(Some(&admin), "POST /orders", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.step("decision")
            .1
            .contains("permitted by common/admin-all")
    );

    let intern = env.issuer.mint(&env.claims("ivan", &["admin", "intern"]));
    let run = env.explain(Some(&intern), "HEAD /orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.step("request")
            .1
            .starts_with("HEAD /orders; action \"GET /orders\""),
        "{}",
        run.stdout
    );
    assert!(
        run.step("decision")
            .1
            .contains("forbidden by common/no-interns-read"),
        "{}",
        run.stdout
    );

    let run = env.explain(
        Some(&admin),
        "GET /orders/%FF",
        &["--route", "/orders/{order}"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let (mark, detail) = run.step("decision");
    assert_eq!(mark, "FAIL", "{}", run.stdout);
    assert!(
        detail.starts_with("invalid_path_parameter: "),
        "{}",
        run.stdout
    );
    assert!(
        run.verdict()
            .starts_with("refused, 400 invalid_request (invalid_path_parameter)"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_cedar_authentication_decides_and_roles_are_listed() {
    let env = env("no-cedar", false).await;
    let token = env.issuer.mint(&env.claims("alice", &["sales"]));
    let run = env.explain(Some(&token), "GET /anything", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.step("roles").1.contains("roles [sales]"));
    assert!(
        run.step("decision")
            .1
            .contains("live in the service's code")
    );
}

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
