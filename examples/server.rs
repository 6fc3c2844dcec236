//! A configurable server behind the layer.
//!
//! ```text
//! cargo run --example server -- --config tenants.toml --bind 127.0.0.1:8080 [--no-auth]
//!     [--metrics-bind 127.0.0.1:9090]
//! ```
//!
//! Routes: `GET /me` (any authenticated caller: the principal as JSON, whose `kind` is `user`
//! or `machine` for a client of a tenant's `machine_client_ids`), `GET /admin/ping` (role
//! `admin`), `GET /tenants/{tenant}/admin` (role `admin` and the caller's own tenant). One log
//! line per decision. `--no-auth` serves the same routes without any layer, for load-test
//! baselines; `/me` then answers a fixed principal of the same shape, so both modes send the
//! same amount of JSON and the difference measured is the authentication.
//!
//! Built with `--features dynamodb`, a `[catalog]` section in the file adds tenants from a
//! DynamoDB table at runtime (reached as `[aws]` says); no `[[tenant]]` is then required.
//! `--metrics-bind ADDR` serves the crate's metrics as Prometheus text at `GET /metrics` on
//! ADDR; they are recorded only when built with `--features metrics`.
//! Built with `--features cedar` and given a configuration with a `[cedar]` section (for
//! example `examples/cedar.toml`), every route is authorized by the Cedar policies alone: the
//! role checks above step aside, so decisions can be tried by editing the policy files (they
//! are reloaded every `reload_seconds`).

use std::net::SocketAddr;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{Json, Router, routing::get};
use cognito_authz::{AuthConfig, AuthzLayer, Policy, Principal};
use http::header::WWW_AUTHENTICATE;

#[path = "support/metrics_endpoint.rs"]
mod metrics_endpoint;

struct Args {
    config: String,
    bind: SocketAddr,
    no_auth: bool,
    metrics_bind: Option<SocketAddr>,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut bind: SocketAddr = "127.0.0.1:8080".parse().expect("static address");
    let mut no_auth = false;
    let mut metrics_bind = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = Some(args.next().ok_or("--config needs a file")?),
            "--bind" => {
                let value = args.next().ok_or("--bind needs an address")?;
                bind = value.parse().map_err(|e| format!("--bind {value}: {e}"))?;
            }
            "--no-auth" => no_auth = true,
            "--metrics-bind" => {
                let value = args.next().ok_or("--metrics-bind needs an address")?;
                let addr = value
                    .parse()
                    .map_err(|e| format!("--metrics-bind {value}: {e}"))?;
                metrics_bind = Some(addr);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let config = config.ok_or(
        "usage: server --config FILE [--bind ADDR] [--no-auth] [--metrics-bind ADDR]\n\
         (--metrics-bind: Prometheus text at GET /metrics; cognito_authz records metrics only \
         when built with --features metrics)",
    )?;
    Ok(Args {
        config,
        bind,
        no_auth,
        metrics_bind,
    })
}

/// One line per request: the decision, its status and, for refusals, the reason the layer gave.
async fn log_decision(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let reason = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let decision = match status {
        401 | 403 | 503 => "deny",
        _ => "allow",
    };
    tracing::info!(%method, path, status, decision, reason, "decision");
    response
}

/// What `/me` answers without auth: the fields and values of a typical Cognito access token's
/// principal, serialized per request by serde as the real principal is, from a static struct so
/// that the baseline pays for no more than the serialization.
#[derive(serde::Serialize)]
struct SamplePrincipal {
    tenant: &'static str,
    kind: &'static str,
    subject: &'static str,
    username: &'static str,
    client_id: &'static str,
    token_use: &'static str,
    roles: &'static [&'static str],
    groups: &'static [&'static str],
    scopes: &'static [&'static str],
    expires_at: u64,
    jti: Option<&'static str>,
    origin_jti: Option<&'static str>,
}

const SAMPLE_PRINCIPAL: SamplePrincipal = SamplePrincipal {
    tenant: "load",
    kind: "user",
    subject: "sub-user0001",
    username: "user0001",
    client_id: "load-client",
    token_use: "access",
    roles: &["member"],
    groups: &["member"],
    scopes: &["aws.cognito.signin.user.admin"],
    expires_at: 1_795_000_000,
    jti: Some("jti-user0001-00000"),
    origin_jti: Some("origin-user0001-1795000000"),
};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    // Before the CognitoAuth is built and serves: it keeps the handles of the recorder it sees.
    if let Some(addr) = args.metrics_bind
        && let Err(msg) = metrics_endpoint::serve(addr).await
    {
        eprintln!("{msg}");
        std::process::exit(2);
    }
    let app = if args.no_auth {
        Router::new()
            .route("/me", get(|| async { Json(SAMPLE_PRINCIPAL) }))
            .route("/admin/ping", get(|| async { "pong" }))
            .route("/tenants/{tenant}/admin", get(|| async { "tenant admin" }))
    } else {
        let config = AuthConfig::from_file(&args.config).unwrap_or_else(|err| exit(err));
        let auth = config
            .to_builder()
            .and_then(|builder| builder.build())
            .unwrap_or_else(|err| exit(err));
        let cedar = cedar_layer(&config).unwrap_or_else(|err| exit(err));
        for (tenant, err) in auth.prefetch().await {
            tracing::warn!(tenant, error = %err, "prefetch failed; will retry on demand");
        }
        // A shared revocation list ([revocations] table, feature redis) must be loaded before
        // serving: until then every request would get 503. Immediate for other setups.
        let wait = std::time::Duration::from_secs(30);
        if tokio::time::timeout(wait, auth.revocations_loaded())
            .await
            .is_err()
        {
            eprintln!("the revocation store could not be loaded within 30 s");
            std::process::exit(2);
        }
        let me = || get(|p: Principal| async move { Json(p) });
        let routes = match cedar {
            Some(cedar) => Router::new()
                .route("/me", me())
                .route("/admin/ping", get(|| async { "pong" }))
                .route("/tenants/{tenant}/admin", get(|| async { "tenant admin" }))
                .layer(cedar),
            None => role_routes(me()),
        };
        routes.layer(auth.layer())
    };

    let app = app.layer(middleware::from_fn(log_decision));
    let listener = match tokio::net::TcpListener::bind(args.bind).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("cannot bind {}: {err}", args.bind);
            std::process::exit(2);
        }
    };
    tracing::info!(addr = %args.bind, auth = !args.no_auth, "listening");
    if let Err(err) = axum::serve(listener, app).await {
        eprintln!("server error: {err}");
        std::process::exit(1);
    }
}

/// The built-in role checks, when Cedar is not configured.
fn role_routes(me: axum::routing::MethodRouter) -> Router {
    Router::new()
        .route("/me", me)
        .route(
            "/admin/ping",
            get(|| async { "pong" }).layer(AuthzLayer::require("admin")),
        )
        .route(
            "/tenants/{tenant}/admin",
            get(|| async { "tenant admin" }).layer(AuthzLayer::policy(
                Policy::role("admin").and(Policy::same_tenant_as("tenant")),
            )),
        )
}

fn exit(err: impl std::fmt::Display) -> ! {
    eprintln!("{err}");
    std::process::exit(2)
}

#[cfg(feature = "cedar")]
fn cedar_layer(
    config: &AuthConfig,
) -> Result<Option<cognito_authz::cedar::CedarLayer>, cognito_authz::ConfigError> {
    let cedar = cognito_authz::cedar::Cedar::from_config(config)?;
    if cedar.is_some() {
        tracing::info!("routes are authorized by the Cedar policies of [cedar]");
    }
    Ok(cedar.map(|cedar| cedar.layer()))
}

#[cfg(not(feature = "cedar"))]
fn cedar_layer(_: &AuthConfig) -> Result<Option<AuthzLayer>, cognito_authz::ConfigError> {
    Ok(None)
}
