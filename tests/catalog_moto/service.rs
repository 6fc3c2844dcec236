//! The harness of the end-to-end tests: a service process (this test binary started again with
//! `--exact service_process`; that test stays in main.rs so its name is exactly that) configured by
//! a TOML file with `[catalog]`, killed when dropped; its configuration, polling until an answer's
//! status, and items written to the table by hand as an attacker with write access would, with the
//! log line that refuses them.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use cognito_authz::catalog::DynamoDbCatalog;
use serde_json::Value;

use super::{moto_host, raw_put, s, unique};
use crate::moto::Moto;

/// A service process; killed when dropped.
pub(crate) struct Service {
    child: Child,
    base: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl Service {
    /// Starts this test binary's `service_process` with `config`.
    pub(crate) fn start(config: &str) -> Service {
        let dir = std::env::temp_dir().join(unique(&format!("catalog-e2e-{}", std::process::id())));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config_path = dir.join("service.toml");
        std::fs::write(&config_path, config).expect("write config");
        let log = dir.join("service.log");
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "service_process", "--ignored", "--nocapture"])
            .env("CATALOG_SERVICE_CONFIG", &config_path)
            // What a deployment would give it; moto accepts any.
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn the service");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the service did not start; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Service {
            child,
            base: format!("http://{addr}"),
            log,
            http: reqwest::Client::new(),
        }
    }

    /// `GET path` with a bearer token: status, `WWW-Authenticate`, body.
    pub(crate) async fn get(&self, path: &str, token: &str) -> (u16, String, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let retry_after = response.headers().contains_key("retry-after");
        let body = response.text().await.expect("body");
        let mut json: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        if retry_after {
            json["retry_after"] = Value::Bool(true);
        }
        (status, challenge, json)
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once it has a line with every one of `parts` (the index is re-read in the
    /// background), or after 5 s.
    pub(crate) async fn log_with(&self, parts: &[&str]) -> String {
        let started = std::time::Instant::now();
        loop {
            let log = self.log();
            if log.lines().any(|l| parts.iter().all(|p| l.contains(p)))
                || started.elapsed() > Duration::from_secs(5)
            {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service configuration: `tenants` (TOML), the catalog `table` on `moto`, checked every
/// `refresh_seconds` (absent: the default), items allowed to name keys on moto and `more_hosts`.
pub(crate) fn config(
    moto: &Moto,
    table: &str,
    tenants: &str,
    refresh_seconds: Option<u64>,
    more_hosts: &[String],
) -> String {
    let refresh = refresh_seconds.map_or(String::new(), |s| format!("refresh_seconds = {s}\n"));
    let hosts: Vec<String> = std::iter::once(moto_host(moto))
        .chain(more_hosts.iter().cloned())
        .map(|h| format!("{h:?}"))
        .collect();
    format!(
        "{tenants}\n[catalog]\ndynamodb_table = \"{table}\"\n{refresh}allowed_jwks_hosts = [{}]\n\n\
         [aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n",
        hosts.join(", "),
        moto.endpoint()
    )
}

/// `GET path` with `token` until the answer's status is `want`, for at most `limit`; returns
/// the last answer and how long it took.
pub(crate) async fn until_status(
    service: &Service,
    path: &str,
    token: &str,
    want: u16,
    limit: Duration,
) -> ((u16, String, Value), Duration) {
    let started = std::time::Instant::now();
    loop {
        let answer = service.get(path, token).await;
        if answer.0 == want || started.elapsed() > limit {
            return (answer, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) const UNKNOWN_ISSUER: &str =
    "Bearer error=\"invalid_token\", error_description=\"token issuer is not a known tenant\"";

/// Writes a tenant item and its guard by hand (bypassing `put`'s rules, as an attacker with
/// write access to the table would) and tells services through the version item.
pub(crate) async fn raw_tenant(
    moto: &Moto,
    catalog: &DynamoDbCatalog,
    item: &[(&str, AttributeValue)],
    tenant_id: &str,
    pool: &str,
) {
    raw_put(moto, catalog.table(), item).await;
    raw_put(
        moto,
        catalog.table(),
        &[
            ("user_pool_id", s(&format!("tenant#{tenant_id}"))),
            ("owner_pool_id", s(pool)),
        ],
    )
    .await;
    catalog.bump_version().await.unwrap();
}

/// The line of the service's log that refuses `pool`'s item, with its table and reason.
pub(crate) async fn refusal_of(service: &Service, table: &str, pool: &str) -> String {
    let log = service.log_with(&["catalog item refused", pool]).await;
    log.lines()
        .find(|l| l.contains("catalog item refused") && l.contains(pool))
        .map(|l| {
            assert!(l.contains("WARN") && l.contains(table), "{l}");
            l.to_owned()
        })
        .unwrap_or_else(|| panic!("no refusal of {pool} logged:\n{log}"))
}
