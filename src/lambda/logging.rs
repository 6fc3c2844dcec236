//! The triggers' logs: what CloudWatch can read.
//!
//! `tracing-subscriber` colours its text output whenever its `ansi` feature is on, which any
//! crate in the build can turn on (Cargo unifies features), and CloudWatch shows the escape
//! codes as garbage (`\x1b[2m...`). [`init_logging`] therefore never writes an escape: plain
//! text lines, or one JSON object per line when Lambda's advanced logging controls set
//! `AWS_LAMBDA_LOG_FORMAT=JSON`. The level comes from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`,
//! else `INFO` (the `lambda_runtime` convention), and `RUST_LOG` directives still apply. Lines
//! carry no timestamp and no target: CloudWatch stamps each line itself.
//!
//! Both example functions call [`init_logging`] first thing.

use lambda_runtime::tracing::subscriber::EnvFilter;
use lambda_runtime::tracing::subscriber::filter::LevelFilter;
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use tracing::Subscriber;

/// Lambda's log format variable (advanced logging controls): `JSON` or `Text`.
pub const LOG_FORMAT_ENV: &str = "AWS_LAMBDA_LOG_FORMAT";

/// Lambda's log level variable (advanced logging controls); it takes precedence over
/// `RUST_LOG`.
pub const LOG_LEVEL_ENV: &str = "AWS_LAMBDA_LOG_LEVEL";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain text, one event per line, no colour escapes.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// [`LogFormat::Json`] when [`LOG_FORMAT_ENV`] is `JSON` (any case), else
    /// [`LogFormat::Text`].
    ///
    /// ```
    /// use cognito_authz::lambda::LogFormat;
    ///
    /// assert_eq!(LogFormat::parse(Some("json")), LogFormat::Json);
    /// assert_eq!(LogFormat::parse(Some("Text")), LogFormat::Text);
    /// assert_eq!(LogFormat::parse(None), LogFormat::Text);
    /// ```
    pub fn parse(value: Option<&str>) -> Self {
        if value.is_some_and(|v| v.trim().eq_ignore_ascii_case("json")) {
            LogFormat::Json
        } else {
            LogFormat::Text
        }
    }

    /// The format [`LOG_FORMAT_ENV`] asks for.
    pub fn from_env() -> Self {
        LogFormat::parse(std::env::var(LOG_FORMAT_ENV).ok().as_deref())
    }
}

/// The level filter of the environment: [`LOG_LEVEL_ENV`], else `RUST_LOG`, else `INFO`;
/// `RUST_LOG` directives (`cognito_authz=debug`) apply on top.
pub fn filter_from_env() -> EnvFilter {
    let level = std::env::var(LOG_LEVEL_ENV)
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy()
}

/// The triggers' subscriber, writing to `writer` in `format` through `filter`, never with
/// ANSI escapes. [`init_logging`] installs it on stdout; tests capture it in a buffer.
pub fn log_subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let builder = lambda_runtime::tracing::subscriber::fmt()
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().finish()),
    }
}

/// Installs the triggers' subscriber on stdout, as the environment says (see the module
/// docs). Fails if a global subscriber is already set.
pub fn init_logging() -> Result<(), tracing::subscriber::SetGlobalDefaultError> {
    tracing::subscriber::set_global_default(log_subscriber(
        LogFormat::from_env(),
        filter_from_env(),
        std::io::stdout,
    ))
}
