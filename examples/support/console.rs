//! The browser console's public routes for `admin_service`:
//!
//! - `GET /tenants/{tenant}/client-config`: what Amplify needs to sign a user of the tenant in,
//!   `{"userPoolId", "userPoolClientId", "region"}`, plus `"userPoolEndpoint"` when the file's
//!   `[aws] endpoint_url` points at an emulator (then Amplify must use password sign-in: moto's
//!   SRP does not work with Amplify). Unknown tenant 404.
//! - `--console DIR`: the console's built files at `/console/` (`npm run build` in
//!   `examples/console` writes them to `examples/console/dist`).
//! - `POST /cognito-emulator`, only when `[aws] endpoint_url` is set: a relay of Amplify's
//!   sign-in calls to the emulator. A browser cannot call moto itself: moto answers the CORS
//!   preflight (`OPTIONS`) with 500, so every cross-origin Cognito call from the page fails.
//!   `userPoolEndpoint` is then `/cognito-emulator` (the console resolves it against its own
//!   origin). Only the calls an Amplify client makes without credentials are relayed
//!   ([`RELAYED`]); the Admin* operations are not, so the relay adds nothing that a browser
//!   could not do against real Cognito's public endpoint.
//!
//! All are public on purpose: a pool id and an app client id are not secrets (every Amplify
//! app ships them in its bundle), and the console must load them before anyone has signed in.
//!
//! The client configuration comes from the file's `[[tenant]]` entries, then (built with
//! `--features admin,dynamodb`, with a `[catalog]` section) from the tenant catalog, read with
//! the service's own rules (`AuthConfig::catalog`): an item the service would refuse is 404
//! here too. The route is public, so a made-up tenant id must not turn into DynamoDB reads
//! without bound:
//! - every answer, found or not, is kept for `[catalog] refresh_seconds` (default 30 s, the
//!   time the service takes to see a new tenant too), at most 10,000 of them;
//! - reads of the catalog are capped at `[catalog] lookups_per_second` (default 100) per
//!   process; over it, 503 with `Retry-After: 1`, nothing read and nothing kept;
//! - an id longer than a DynamoDB key can hold is 404 without a read;
//! - a table that cannot be read is 503, not kept: the next request asks again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, middleware};
use cognito_authz::AuthConfig;
use serde::Serialize;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Where the console's Amplify sends Cognito calls when the service uses an emulator.
pub const RELAY_PATH: &str = "/cognito-emulator";

/// The Cognito operations of a signing-in Amplify client (no AWS credentials: a session, a
/// refresh token or an access token authorizes them). Nothing else is relayed.
pub const RELAYED: [&str; 6] = [
    "InitiateAuth",
    "RespondToAuthChallenge",
    "RevokeToken",
    "GetTokensFromRefreshToken",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
];

/// The largest request body relayed (Amplify's are well under 8 KiB).
const RELAY_BODY_LIMIT: usize = 64 * 1024;

/// What `Amplify.configure({ Auth: { Cognito: ... } })` takes, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    pub user_pool_id: String,
    pub user_pool_client_id: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pool_endpoint: Option<String>,
}

/// The client configuration of every file tenant that has a user app client, by tenant id.
pub fn client_configs(config: &AuthConfig) -> BTreeMap<String, ClientConfig> {
    config
        .tenants
        .iter()
        .filter_map(|tenant| {
            // A pool id is `<region>_<id>`; it names the region Amplify must talk to.
            let (region, _) = tenant.user_pool_id.split_once('_')?;
            let client = tenant.client_ids.first()?;
            Some((
                tenant.id.clone(),
                ClientConfig {
                    user_pool_id: tenant.user_pool_id.clone(),
                    user_pool_client_id: client.clone(),
                    region: region.to_owned(),
                    user_pool_endpoint: config
                        .aws
                        .endpoint_url
                        .as_ref()
                        .map(|_| RELAY_PATH.to_owned()),
                },
            ))
        })
        .collect()
}

/// Where the route finds client configurations: the file's tenants, then the catalog's.
#[derive(Clone)]
struct Configs {
    file: Arc<BTreeMap<String, ClientConfig>>,
    #[cfg(feature = "dynamodb")]
    catalog: Option<Arc<catalog::CatalogConfigs>>,
}

impl Configs {
    fn new(config: &AuthConfig) -> Self {
        Configs {
            file: Arc::new(client_configs(config)),
            #[cfg(feature = "dynamodb")]
            catalog: catalog::CatalogConfigs::new(config).map(Arc::new),
        }
    }

    /// `Err`: the catalog cannot be asked now (503).
    async fn get(&self, tenant: &str) -> Result<Option<ClientConfig>, &'static str> {
        if let Some(config) = self.file.get(tenant) {
            return Ok(Some(config.clone()));
        }
        #[cfg(feature = "dynamodb")]
        if let Some(catalog) = &self.catalog {
            return catalog.get(tenant).await;
        }
        Ok(None)
    }
}

async fn client_config(State(configs): State<Configs>, Path(tenant): Path<String>) -> Response {
    match configs.get(&tenant).await {
        Ok(Some(config)) => Json(config).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": "tenant_not_found",
                "error_description": "no tenant with this id",
            })),
        )
            .into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
            Json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": why,
            })),
        )
            .into_response(),
    }
}

/// Client configurations of the catalog's tenants (feature `dynamodb`).
#[cfg(feature = "dynamodb")]
mod catalog {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use cognito_authz::AuthConfig;
    use cognito_authz::catalog::{
        CatalogEntry, CatalogError, DEFAULT_LOOKUPS_PER_SECOND, DEFAULT_REFRESH_INTERVAL,
        DynamoDbCatalog,
    };

    use super::{ClientConfig, RELAY_PATH};

    /// Most answers kept: enough for every tenant of a large catalog, bounded against made-up
    /// ids.
    const MAX_ANSWERS: u64 = 10_000;

    /// DynamoDB partition keys hold at most 2048 bytes, and a tenant's guard item is keyed
    /// `tenant#<id>`: a longer id cannot be a catalog tenant's.
    const MAX_TENANT_ID_BYTES: usize = 2048 - "tenant#".len();

    pub(super) struct CatalogConfigs {
        catalog: DynamoDbCatalog,
        /// `[aws] endpoint_url` is set: Amplify goes through the relay.
        emulator: bool,
        /// Found (`Some`) and not found (`None`) answers, for the refresh interval.
        answers: moka::future::Cache<String, Option<ClientConfig>>,
        budget: Budget,
    }

    impl CatalogConfigs {
        /// `None` without a `[catalog]` section.
        pub(super) fn new(config: &AuthConfig) -> Option<Self> {
            let section = config.catalog.as_ref()?;
            let kept = section
                .refresh_seconds
                .map_or(DEFAULT_REFRESH_INTERVAL, Duration::from_secs);
            Some(CatalogConfigs {
                catalog: config.catalog(&section.dynamodb_table),
                emulator: config.aws.endpoint_url.is_some(),
                answers: moka::future::Cache::builder()
                    .max_capacity(MAX_ANSWERS)
                    .time_to_live(kept)
                    .build(),
                budget: Budget::new(
                    section
                        .lookups_per_second
                        .unwrap_or(DEFAULT_LOOKUPS_PER_SECOND),
                ),
            })
        }

        pub(super) async fn get(&self, tenant: &str) -> Result<Option<ClientConfig>, &'static str> {
            if tenant.len() > MAX_TENANT_ID_BYTES {
                return Ok(None);
            }
            // Concurrent requests for one id share one read; a failure is not kept.
            self.answers
                .try_get_with_by_ref(tenant, self.read(tenant))
                .await
                .map_err(|why| *why)
        }

        async fn read(&self, tenant: &str) -> Result<Option<ClientConfig>, &'static str> {
            if !self.budget.take() {
                return Err("too many tenant lookups; retry in a second");
            }
            match self.catalog.get_by_tenant(tenant).await {
                Ok(found) => Ok(found.and_then(|entry| self.client_config(entry))),
                // As the service: an item its rules refuse is no tenant (logged, then 404).
                Err(err @ CatalogError::Malformed { .. }) => {
                    tracing::warn!(error = %err, "catalog item refused; its tenant is unknown");
                    Ok(None)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the tenant catalog cannot be read");
                    Err("the tenant catalog cannot be read now")
                }
            }
        }

        fn client_config(&self, entry: CatalogEntry) -> Option<ClientConfig> {
            // As for the file's tenants: the first app client is the users' one.
            let client = entry.client_ids.into_iter().next()?;
            Some(ClientConfig {
                user_pool_id: entry.user_pool_id,
                user_pool_client_id: client,
                region: entry.region,
                user_pool_endpoint: self.emulator.then(|| RELAY_PATH.to_owned()),
            })
        }
    }

    /// At most `per_second` catalog reads in each one-second window.
    struct Budget {
        per_second: u32,
        window: Mutex<(Instant, u32)>,
    }

    impl Budget {
        fn new(per_second: u32) -> Self {
            Budget {
                per_second,
                window: Mutex::new((Instant::now(), 0)),
            }
        }

        fn take(&self) -> bool {
            let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if now.duration_since(window.0) >= Duration::from_secs(1) {
                *window = (now, 0);
            }
            if window.1 >= self.per_second {
                return false;
            }
            window.1 += 1;
            true
        }
    }
}

/// The page and its script come from this server only, talk only to this server and to
/// Cognito, and are never framed.
async fn console_headers(request: Request, next: middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// With an emulator, Cognito is reached through this server's relay, so `'self'` covers it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' https://cognito-idp.*.amazonaws.com; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

#[derive(Clone)]
struct Relay {
    client: reqwest::Client,
    endpoint: String,
}

fn relay_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "__type": "RelayRefused", "message": message });
    (status, Json(body)).into_response()
}

/// Forwards one allowed Cognito JSON call to the emulator and its answer back, unchanged.
async fn relay(State(relay): State<Relay>, headers: HeaderMap, body: Bytes) -> Response {
    const SERVICE: &str = "AWSCognitoIdentityProviderService.";
    let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) else {
        return relay_error(StatusCode::BAD_REQUEST, "X-Amz-Target is missing");
    };
    if !target
        .strip_prefix(SERVICE)
        .is_some_and(|operation| RELAYED.contains(&operation))
    {
        return relay_error(StatusCode::FORBIDDEN, "this operation is not relayed");
    }
    let answer = relay
        .client
        .post(&relay.endpoint)
        .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(body)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(_) => return relay_error(StatusCode::BAD_GATEWAY, "the emulator did not answer"),
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let Ok(bytes) = answer.bytes().await else {
        return relay_error(StatusCode::BAD_GATEWAY, "the emulator's answer broke off");
    };
    let mut response = (status, bytes).into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The public routes: client configuration always, the relay with an emulator, the console's
/// files when `dir` is given.
pub fn routes(config: &AuthConfig, dir: Option<PathBuf>) -> Result<Router, String> {
    let configs = Configs::new(config);
    let mut router = Router::new()
        .route("/tenants/{tenant}/client-config", get(client_config))
        .with_state(configs);
    if let Some(endpoint) = &config.aws.endpoint_url {
        let relay_state = Relay {
            client: reqwest::Client::new(),
            endpoint: endpoint.clone(),
        };
        router = router.merge(
            Router::new()
                .route(RELAY_PATH, post(relay))
                .with_state(relay_state)
                .layer(DefaultBodyLimit::max(RELAY_BODY_LIMIT)),
        );
    }
    let Some(dir) = dir else {
        return Ok(router);
    };
    if !dir.join("index.html").is_file() {
        return Err(format!(
            "--console {}: no index.html (run `npm ci && npm run build` in examples/console)",
            dir.display()
        ));
    }
    let files = Router::new()
        .route("/console/", get(console_file))
        .route("/console/{*file}", get(console_file))
        .with_state(ServeDir::new(dir))
        .layer(middleware::from_fn(console_headers));
    // The bare `/console` redirects, or the page's relative links would miss the directory.
    Ok(router
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .merge(files))
}

/// `/console/<file>` is `<file>` of DIR (ServeDir refuses `..` and serves `index.html` for
/// the directory).
async fn console_file(State(files): State<ServeDir>, mut request: Request) -> Response {
    let uri = request.uri();
    let rest = uri.path().strip_prefix("/console").unwrap_or("/");
    let stripped = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    match stripped.parse() {
        Ok(stripped) => *request.uri_mut() = stripped,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    }
    match files.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}
