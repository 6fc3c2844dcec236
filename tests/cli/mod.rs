//! Shared by the `cognito-authz` binary tests: a moto server with a configuration file
//! pointing at it, the binary run with dummy credentials, and the audit's JSON report read.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_cognitoidentityprovider::Client;
use serde_json::Value;

use crate::moto::Moto;

pub const PRE: &str = "arn:aws:lambda:us-east-1:123456789012:function:pre-token";
pub const POST: &str = "arn:aws:lambda:us-east-1:123456789012:function:post-auth";

/// A moto server and a configuration file in a directory of its own.
pub struct Env {
    pub moto: Moto,
    pub dir: PathBuf,
    pub config: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub const HEADER: &str = "# Tenants of the test service.\n\
    [self_service_guard] # non-admins lose the self-service scope\n\
    allowed_roles = [\"admin\"]\n";

pub fn env(name: &str, tenants: &str) -> Env {
    let moto = Moto::start();
    let dir = std::env::temp_dir().join(format!("cognito-authz-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tenants.toml");
    let text = format!(
        "{HEADER}\n[aws]\nendpoint_url = \"{}\" # moto\nregion = \"us-east-1\"\n{tenants}",
        moto.endpoint()
    );
    std::fs::write(&config, text).unwrap();
    Env { moto, dir, config }
}

impl Env {
    pub fn cli(&self, args: &[&str]) -> Output {
        cli_with(&self.config, args)
    }

    pub fn create(&self, id: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "tenant",
            "create",
            "--id",
            id,
            "--region",
            "us-east-1",
            "--pre-token-lambda",
            PRE,
            "--post-auth-lambda",
            POST,
        ];
        args.extend_from_slice(extra);
        self.cli(&args)
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.config).unwrap()
    }

    pub fn client(&self) -> Client {
        self.moto.client()
    }
}

/// Runs the binary with `--config` and dummy credentials (never the caller's).
pub fn cli_with(config: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cognito-authz"));
    let (first, rest) = match args {
        ["tenant", sub, rest @ ..] => (vec!["tenant", *sub], rest),
        [sub, rest @ ..] => (vec![*sub], rest),
        [] => (vec![], args),
    };
    command
        .args(first)
        .arg("--config")
        .arg(config)
        .args(rest)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command.output().expect("run cognito-authz")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

#[track_caller]
pub fn assert_ok(output: &Output) {
    assert_eq!(
        code(output),
        0,
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

pub async fn pools(client: &Client) -> Vec<(String, String)> {
    client
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .unwrap()
        .user_pools()
        .iter()
        .map(|p| (p.name().unwrap().to_owned(), p.id().unwrap().to_owned()))
        .collect()
}

pub async fn client_ids(client: &Client, pool: &str) -> Vec<String> {
    client
        .list_user_pool_clients()
        .user_pool_id(pool)
        .max_results(60)
        .send()
        .await
        .unwrap()
        .user_pool_clients()
        .iter()
        .map(|c| c.client_id().unwrap().to_owned())
        .collect()
}

/// Runs `audit --format json`: (exit code, [(check, severity, subject)]).
pub fn audit(env: &Env) -> (i32, Vec<(String, String, String)>) {
    let output = env.cli(&["audit", "--format", "json"]);
    assert!(
        code(&output) == 0 || code(&output) == 1,
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let findings = json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["findings"].as_array().unwrap().clone())
        .map(|f| {
            assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()));
            (
                f["check"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (code(&output), findings)
}

#[track_caller]
pub fn expect_only(env: &Env, check: &str, severity: &str, subject: &str, exit: i32) {
    let (code, findings) = audit(env);
    assert_eq!(
        findings,
        [(check.to_owned(), severity.to_owned(), subject.to_owned())],
        "{check}"
    );
    assert_eq!(code, exit, "{check}");
}

/// The tenant's (pool id, client id) from the configuration file.
pub fn registered(env: &Env, id: &str) -> (String, String) {
    let config = cognito_authz::AuthConfig::from_file(&env.config).unwrap();
    let tenant = config.tenants.iter().find(|t| t.id == id).unwrap();
    (tenant.user_pool_id.clone(), tenant.client_ids[0].clone())
}
