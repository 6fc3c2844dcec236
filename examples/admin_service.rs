//! The admin and self-service routes of `cognito_authz::admin`, wired to a configuration file.
//!
//! ```text
//! cargo run --example admin_service --features admin -- --config tenants.toml --bind 127.0.0.1:8081
//!     [--metrics-bind 127.0.0.1:9091]
//! ```
//!
//! Several replicas share sign-outs and disables through Redis with a `[revocations]` table in
//! the file (build with `--features admin,redis`); each waits for the store's first load
//! before listening.
//!
//! Routes (all need an access token of a configured tenant; `/admin/...` also role `admin`):
//! `GET /admin/users`, `GET /admin/users/{username}`, `PUT /admin/users/{username}/mfa`,
//! `PATCH /admin/users/{username}/attributes`, `POST /admin/users/{username}/groups`,
//! `DELETE /admin/users/{username}/groups/{group}`, `POST /admin/users/{username}/disable`,
//! `POST /admin/users/{username}/enable`, `POST /admin/users/{username}/signout`,
//! `POST /admin/users`, `DELETE /admin/users/{username}`,
//! `POST /admin/users/{username}/password-reset`, `GET /admin/users/{username}/groups`,
//! `GET /admin/groups`; for any signed-in user `GET|PATCH /me/attributes`, `GET /me/mfa`,
//! `POST /me/password`, `POST /me/signout`, `GET /me/devices`,
//! `DELETE /me/devices/{device_key}`; and, without a token, `GET /admin/openapi.json` (their
//! OpenAPI document).
//!
//! Cognito is reached with the standard AWS provider chain (environment, profile, instance
//! role); `[aws] endpoint_url` in the file or `AWS_ENDPOINT_URL` points it at an emulator such
//! as moto. Built with `--features admin,dynamodb`, a `[catalog]` section adds tenants from a
//! DynamoDB table at runtime, and their administrators reach their own pool (through
//! `apply_config`). Audit events (target `cognito_authz::audit`) are printed at INFO; set `RUST_LOG` to
//! change what is printed.
//!
//! `--console DIR` serves the browser console (`examples/console`, built into `DIR` by
//! `npm run build`) at `/console/`; `GET /tenants/{tenant}/client-config` (no token) gives it
//! the tenant's pool and app client for Amplify, for the file's tenants and (feature
//! `dynamodb`) the catalog's. See `support/console.rs`.
//!
//! `--metrics-bind ADDR` serves the crate's metrics (decisions, admin actions, ...) as
//! Prometheus text at `GET /metrics` on ADDR; they are recorded only when built with
//! `--features admin,metrics`.

use std::net::SocketAddr;

use cognito_authz::AuthConfig;
use cognito_authz::admin::AdminApi;
use cognito_authz::aws::{CognitoClient, cognito_client};

#[path = "support/metrics_endpoint.rs"]
mod metrics_endpoint;

#[path = "support/console.rs"]
mod console;

struct Args {
    config: String,
    bind: SocketAddr,
    metrics_bind: Option<SocketAddr>,
    console: Option<std::path::PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut bind: SocketAddr = "127.0.0.1:8081".parse().expect("static address");
    let mut metrics_bind = None;
    let mut console = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Some(args.next().ok_or("--config needs a file")?),
            "--bind" => {
                let value = args.next().ok_or("--bind needs an address")?;
                bind = value.parse().map_err(|e| format!("--bind {value}: {e}"))?;
            }
            "--metrics-bind" => {
                let value = args.next().ok_or("--metrics-bind needs an address")?;
                let addr = value
                    .parse()
                    .map_err(|e| format!("--metrics-bind {value}: {e}"))?;
                metrics_bind = Some(addr);
            }
            "--console" => console = Some(args.next().ok_or("--console needs a directory")?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let config = config.ok_or(
        "usage: admin_service --config FILE [--bind ADDR] [--metrics-bind ADDR] [--console DIR]\n\
         (--metrics-bind: Prometheus text at GET /metrics; cognito_authz records metrics only \
         when built with --features metrics)",
    )?;
    Ok(Args {
        config,
        bind,
        metrics_bind,
        console,
    })
}

/// The service's routes, built from the configuration as `main` serves them (the end-to-end
/// tests in `tests/self_service_moto.rs` run this same function on a real port).
pub async fn app(config: &AuthConfig, client: CognitoClient) -> Result<axum::Router, String> {
    let auth = config
        .to_builder()
        .and_then(|builder| builder.build())
        .map_err(|e| e.to_string())?;
    for (tenant, err) in auth.prefetch().await {
        tracing::warn!(tenant, error = %err, "prefetch failed; will retry on demand");
    }
    // With a [revocations] table (feature redis), the shared list is loaded before serving:
    // until then every request would get 503. Immediate for other setups.
    let wait = std::time::Duration::from_secs(30);
    if tokio::time::timeout(wait, auth.revocations_loaded())
        .await
        .is_err()
    {
        return Err("the revocation store could not be loaded within 30 s".to_owned());
    }
    // The routes authenticate, authorize and audit by themselves: no outer layer needed.
    // `/me/attributes` may change the standard profile attributes only (add others with
    // `.self_service_attributes(...)`), never the `[triggers] mfa_required_attribute`;
    // `[admin]` also sets the `/me/password` attempt limit and app client secrets.
    Ok(AdminApi::new(auth, client).apply_config(config).router())
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,cognito_authz::audit=info".into()),
        )
        .init();
    let args = parse_args().unwrap_or_else(|msg| fail(msg));
    // Before the CognitoAuth is built and serves: it keeps the handles of the recorder it sees.
    if let Some(addr) = args.metrics_bind {
        metrics_endpoint::serve(addr)
            .await
            .unwrap_or_else(|msg| fail(msg));
    }
    let config = AuthConfig::from_file(&args.config).unwrap_or_else(|e| fail(e));
    let client = cognito_client(&config.aws).await;
    let app = app(&config, client).await.unwrap_or_else(|msg| fail(msg));

    // The console's public routes: client configuration, emulator relay, --console files.
    let app = app.merge(console::routes(&config, args.console).unwrap_or_else(|msg| fail(msg)));
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .unwrap_or_else(|e| fail(format!("cannot bind {}: {e}", args.bind)));
    tracing::info!(address = %args.bind, "admin service listening");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(err) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        fail(format!("server error: {err}"));
    }
}
