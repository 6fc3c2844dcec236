//! The triggers' logs reach CloudWatch readable: no ANSI colour escapes in text mode, one JSON
//! object per line with `AWS_LAMBDA_LOG_FORMAT=JSON`. Checked on the subscriber writing into a
//! buffer, and on the real setup ([`lambda::init_logging`], as both example functions call it)
//! in a child process whose stdout is captured.

#![cfg(feature = "lambda")]

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};

use cognito_authz::AuthConfig;
use cognito_authz::lambda::{self, LogFormat, PreTokenGeneration};
use lambda_runtime::tracing::subscriber::EnvFilter;
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const ESCAPE: &str = "\x1b[";
/// Set in the child process: it logs through the real setup and exits.
const CHILD_ENV: &str = "COGNITO_AUTHZ_LOGGING_CHILD";

/// A writer into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// What the triggers log in one invocation: the Pre Token Generation decision (debug) inside
/// a span, and a warning with fields, as the drift guard writes them.
fn log_an_invocation() {
    let config = AuthConfig::from_file(format!("{FIXTURES}/tenants.toml")).unwrap();
    let trigger = PreTokenGeneration::from_config(&config).unwrap();
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/pre_token_gen_v2_member.json")).unwrap(),
    )
    .unwrap();
    let span = tracing::info_span!("invocation", request_id = "req-1");
    let _entered = span.enter();
    trigger.handle_json(event).expect("event handled");
    tracing::warn!(
        target: "cognito_authz::trigger",
        user_pool_id = "us-east-1_Example",
        "sign-in refused: MFA required but not enabled"
    );
}

fn captured(format: LogFormat) -> String {
    let buffer = Buffer::default();
    let subscriber = lambda::log_subscriber(format, EnvFilter::new("debug"), buffer.clone());
    tracing::subscriber::with_default(subscriber, log_an_invocation);
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

#[track_caller]
fn assert_json_lines(text: &str) {
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let decision = lines
        .iter()
        .find(|l| l["fields"]["decision"].is_string())
        .unwrap_or_else(|| panic!("no decision line in {text}"));
    assert_eq!(
        decision["fields"]["decision"],
        "suppress_self_service_scope"
    );
    assert_eq!(decision["level"], "DEBUG");
    let warning = lines
        .iter()
        .find(|l| l["level"] == "WARN")
        .unwrap_or_else(|| panic!("no warning in {text}"));
    assert_eq!(
        warning["fields"]["message"],
        "sign-in refused: MFA required but not enabled"
    );
    assert_eq!(warning["span"]["request_id"], "req-1");
}

#[test]
fn the_subscriber_writes_plain_text_or_json_lines() {
    let text = captured(LogFormat::Text);
    assert!(!text.contains(ESCAPE), "colour escapes in {text:?}");
    assert!(
        text.contains("decision=\"suppress_self_service_scope\"")
            || text.contains("decision=suppress_self_service_scope"),
        "{text}"
    );
    assert!(
        text.contains("WARN invocation{request_id=\"req-1\"}: sign-in refused"),
        "{text}"
    );
    let json = captured(LogFormat::Json);
    assert!(!json.contains(ESCAPE), "colour escapes in {json:?}");
    assert!(json.lines().all(|l| l.starts_with('{')), "{json}");
    assert_json_lines(&json);
}

/// The child's side of [`the_real_setup_logs_without_escapes`]; does nothing in a normal run.
#[test]
fn child_logs_through_init_logging() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    // libtest's "test child_logs_through_init_logging ... " has no line end yet.
    std::io::stdout().write_all(b"\n").unwrap();
    lambda::init_logging().expect("first subscriber");
    log_an_invocation();
}

/// Runs [`child_logs_through_init_logging`] in a child process with `format`; its stdout.
fn child_stdout(format: Option<&str>) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["child_logs_through_init_logging", "--exact", "--nocapture"])
        .args(["--color", "never", "--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .env("AWS_LAMBDA_LOG_LEVEL", "debug")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    match format {
        Some(format) => command.env(lambda::LOG_FORMAT_ENV, format),
        None => command.env_remove(lambda::LOG_FORMAT_ENV),
    };
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_real_setup_logs_without_escapes() {
    for format in [None, Some("Text")] {
        let text = child_stdout(format);
        assert!(
            !text.contains(ESCAPE),
            "{format:?}: colour escapes in {text:?}"
        );
        assert!(
            text.contains("sign-in refused: MFA required but not enabled")
                && text.contains("suppress_self_service_scope"),
            "{format:?}: {text}"
        );
    }
    let json = child_stdout(Some("JSON"));
    assert!(!json.contains(ESCAPE), "colour escapes in {json:?}");
    assert_json_lines(&json);
}
