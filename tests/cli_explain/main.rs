//! `cognito-authz explain` end to end: the real binary, a configuration and Cedar policy folder
//! in a temporary directory, and tokens from a local issuer. Allowed requests list the
//! permitting policies, Cedar refusals name "no permit" or the forbid, every 401 reason the
//! verifier has is reported on the step that refuses, `--at` judges time claims at another
//! instant, keys are fetched when `--jwks` is absent, and the output never holds the token or
//! its signature. Exit codes: 0 allowed, 1 refused, 2 could not evaluate.

#![cfg(feature = "cli")]

mod authentication;
mod decisions;
mod inputs;
mod output;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use cognito_authz::testing::LocalIssuer;
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
