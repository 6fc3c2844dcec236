//! `cognito-authz explain`: one request through the layers' pipeline, without a server, step
//! by step. Exit 0: allowed, 1: refused (401 or 403), 2: could not evaluate.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use cognito_authz::AuthConfig;
use cognito_authz::explain::{ExplainRequest, Explainer, Explanation, Step, StepOutcome, Verdict};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The service's configuration file.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The request, "METHOD PATH" (for example "GET /tenants/acme/orders").
    #[arg(long, value_name = "METHOD PATH")]
    request: String,
    /// The route template the request matched (for example "GET /tenants/{tenant}/orders"):
    /// the Cedar action and the path parameters. Default: the path itself.
    #[arg(long, value_name = "TEMPLATE")]
    route: Option<String>,
    /// The token, from a file or `-` for stdin (never from the command line, so that it stays
    /// out of shell history). A leading "Bearer " is accepted. Default: an anonymous request.
    #[arg(long, value_name = "FILE|-")]
    token: Option<PathBuf>,
    /// Keys from this JWKS file instead of fetching them (offline).
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// Judge `exp`, `nbf` and `iat` at this time (seconds since the Unix epoch) instead of now.
    #[arg(long, value_name = "UNIX_TIME")]
    at: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Exit status when the request could not be evaluated.
const CANNOT_EVALUATE: u8 = 2;

pub async fn run(args: ExplainArgs) -> ExitCode {
    let explanation = match explain(&args).await {
        Ok(explanation) => explanation,
        Err(message) => {
            eprintln!("error: could not explain: {message}");
            return ExitCode::from(CANNOT_EVALUATE);
        }
    };
    match args.format {
        Format::Text => print_text(&explanation),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&explanation)).expect("JSON values serialize")
        ),
    }
    match explanation.verdict {
        Verdict::Allowed => ExitCode::SUCCESS,
        Verdict::Refused(_) => ExitCode::FAILURE,
        Verdict::Undecided(_) => ExitCode::from(CANNOT_EVALUATE),
    }
}

async fn explain(args: &ExplainArgs) -> Result<Explanation, String> {
    let request =
        ExplainRequest::parse(&args.request, args.route.as_deref()).map_err(|e| e.to_string())?;
    let config = AuthConfig::from_file(&args.config).map_err(|e| e.to_string())?;
    let token = args.token.as_deref().map(read_token).transpose()?;
    let explainer = match &args.jwks {
        Some(path) => {
            let jwks = std::fs::read(path)
                .map_err(|e| format!("cannot read key set {}: {e}", path.display()))?;
            Explainer::offline(config, &jwks, &path.display().to_string())
        }
        None => Explainer::new(config),
    }
    .map_err(|e| e.to_string())?;
    let explainer = match args.at {
        Some(at) => explainer.at(UNIX_EPOCH + Duration::from_secs(at)),
        None => explainer,
    };
    Ok(explainer.explain(&request, token.as_deref()).await)
}

/// The token of a file or of stdin (`-`), trimmed, without a leading "Bearer ".
fn read_token(path: &Path) -> Result<String, String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the token from stdin: {e}"))?;
    } else {
        text = std::fs::read_to_string(path).map_err(|e| {
            if looks_like_token(path) {
                // Not echoed: it would land in logs and terminal scrollback.
                "cannot read token file: the argument looks like a token; --token takes a \
                 file, or - for stdin, and the token is not printed"
                    .to_owned()
            } else {
                format!("cannot read token file {}: {e}", path.display())
            }
        })?;
    }
    let token = text.trim();
    let token = match token.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => token[7..].trim_start(),
        _ => token,
    };
    Ok(token.to_owned())
}

/// A JWS compact token rather than a path: three base64url segments, no path separator.
fn looks_like_token(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.len() > 40
        && text.split('.').count() == 3
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Claim values come from the token: escaped so that they cannot drive the terminal.
fn printable(text: &str) -> String {
    // Token values are attacker-chosen: control characters, and the invisible and bidirectional
    // formatting characters that could reorder or hide what an operator reads, are escaped.
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    text.chars()
        .map(|c| {
            if unsafe_char(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn print_text(explanation: &Explanation) {
    for step in &explanation.steps {
        let (mark, detail) = match &step.outcome {
            StepOutcome::Passed => ("ok", printable(&step.detail)),
            StepOutcome::Skipped => ("skip", printable(&step.detail)),
            StepOutcome::Failed(err) => {
                let detail = if step.detail.is_empty() {
                    format!("{}: {err}", err.reason())
                } else {
                    format!("{}: {err}; {}", err.reason(), printable(&step.detail))
                };
                ("FAIL", detail)
            }
        };
        println!("{:<12} {mark:<4}  {detail}", step.name);
    }
    match &explanation.verdict {
        Verdict::Allowed => println!("verdict: allowed"),
        Verdict::Refused(err) => println!(
            "verdict: refused, {} {} ({}): {err}",
            err.status().as_u16(),
            err.error_code(),
            err.reason()
        ),
        Verdict::Undecided(why) => println!("verdict: could not evaluate: {}", printable(why)),
    }
}

fn to_json(explanation: &Explanation) -> Value {
    let steps: Vec<Value> = explanation.steps.iter().map(step_json).collect();
    let verdict = match &explanation.verdict {
        Verdict::Allowed => json!({"result": "allowed"}),
        Verdict::Refused(err) => json!({
            "result": "refused",
            "status": err.status().as_u16(),
            "code": err.error_code(),
            "reason": err.reason(),
            "message": err.to_string(),
        }),
        Verdict::Undecided(why) => json!({"result": "undecided", "message": why}),
    };
    json!({"steps": steps, "verdict": verdict})
}

fn step_json(step: &Step) -> Value {
    match &step.outcome {
        StepOutcome::Passed => {
            json!({"name": step.name, "outcome": "passed", "detail": step.detail})
        }
        StepOutcome::Skipped => {
            json!({"name": step.name, "outcome": "skipped", "detail": step.detail})
        }
        StepOutcome::Failed(err) => json!({
            "name": step.name,
            "outcome": "failed",
            "reason": err.reason(),
            "message": err.to_string(),
            "detail": step.detail,
        }),
    }
}
