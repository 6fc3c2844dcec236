//! Fetching a tenant's key set: the [`JwksFetcher`] seam the cache calls, and [`HttpFetcher`],
//! the one used outside tests, which owns the HTTP client, the fetch limits and the metric
//! label.
//!
//! One call of [`JwksFetcher::fetch`] is one attempt for the cache's cooldown and single
//! flight, whatever it does inside: [`HttpFetcher`] tries a replicated pool's replica regions
//! within that one call, so a primary outage costs each replica at most one fetch per cooldown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use super::{FetchError, JwksConfig, VerifyingKey, key::parse_jwks};
use crate::error::ConfigError;
use crate::tenant::Tenant;

/// A key set: the usable keys by `kid`.
pub(crate) type KeyMap = HashMap<String, Arc<VerifyingKey>>;

/// Room reserved for a response body before reading it: a Cognito key set is about 1 KiB, so it
/// is read without growing the buffer; the size limit bounds whatever comes beyond.
const INITIAL_BODY_CAPACITY: usize = 4096;

/// Where one tenant's key set can be fetched from: its JWKS URL, then (a replicated pool) the
/// fallback URLs in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoints<'a> {
    /// For logs and metrics.
    pub(crate) tenant_id: &'a str,
    pub(crate) url: &'a str,
    pub(crate) fallbacks: &'a [String],
}

impl<'a> Endpoints<'a> {
    pub(crate) fn of(tenant: &'a Tenant) -> Self {
        Endpoints {
            tenant_id: tenant.id(),
            url: tenant.jwks_url(),
            fallbacks: tenant.replica_jwks_urls(),
        }
    }
}

/// Fetches key sets for the cache. The cache decides when (cooldown, single flight, refresh);
/// an implementation only fetches. Boxed futures keep the trait object-safe, so the cache holds
/// any fetcher without a type parameter.
pub(crate) trait JwksFetcher: Send + Sync + 'static {
    /// One attempt to fetch the key set of `endpoints`.
    fn fetch<'a>(&'a self, endpoints: Endpoints<'a>) -> BoxFuture<'a, Result<KeyMap, FetchError>>;
}

/// Fetches over HTTP within [`JwksConfig`]'s timeout and size limit, following no redirects,
/// and counts each request in the metrics.
pub(crate) struct HttpFetcher {
    http: reqwest::Client,
    timeout: Duration,
    max_response_bytes: usize,
    /// Whether fetch metrics carry a `tenant` label.
    metrics_tenant_label: bool,
}

impl HttpFetcher {
    /// The client for `config`'s limits. `config` is expected to be validated.
    pub(crate) fn new(
        config: &JwksConfig,
        metrics_tenant_label: bool,
    ) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(config.fetch_timeout)
            .connect_timeout(config.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Fetches are minutes apart: an idle pooled connection per tenant would only hold
            // a file descriptor (thousands, with thousands of tenants).
            .pool_max_idle_per_host(0)
            .user_agent(concat!("cognito-authz/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::HttpClient)?;
        Ok(HttpFetcher {
            http,
            timeout: config.fetch_timeout,
            max_response_bytes: config.max_response_bytes,
            metrics_tenant_label,
        })
    }

    /// Fetches from the primary URL, then, while that fails, from each fallback in turn. The
    /// primary's error is the one returned when every endpoint fails.
    async fn fetch_with_fallback(&self, endpoints: Endpoints<'_>) -> Result<KeyMap, FetchError> {
        let tenant_id = endpoints.tenant_id;
        let primary = match self.fetch_counted(endpoints.url, tenant_id).await {
            Ok(keys) => return Ok(keys),
            Err(err) => err,
        };
        for (i, fallback) in endpoints.fallbacks.iter().enumerate() {
            tracing::warn!(tenant = tenant_id, error = %primary, replica = i, "JWKS fetch failed; trying a replica region");
            match self.fetch_counted(fallback, tenant_id).await {
                Ok(keys) => return Ok(keys),
                Err(err) => {
                    tracing::warn!(tenant = tenant_id, error = %err, replica = i, "replica JWKS fetch failed");
                }
            }
        }
        Err(primary)
    }

    /// One fetch of `url`, counted in the metrics.
    async fn fetch_counted(&self, url: &str, tenant_id: &str) -> Result<KeyMap, FetchError> {
        let started = Instant::now();
        let result = self.fetch_jwks(url).await;
        let tenant = self.metrics_tenant_label.then_some(tenant_id);
        let label = result
            .as_ref()
            .map_or_else(FetchError::metric_label, |_| "ok");
        crate::metrics::jwks_fetch(tenant, label, started.elapsed());
        result
    }

    /// GETs `url` and parses it as a key set, within the timeout and size limit.
    async fn fetch_jwks(&self, url: &str) -> Result<KeyMap, FetchError> {
        // reqwest's own timeout covers the body too; this outer one also bounds DNS and anything
        // else a misbehaving server could stretch.
        let body = tokio::time::timeout(self.timeout, self.read_body(url))
            .await
            .map_err(|_| FetchError::Timeout)??;
        parse_jwks(&body)
    }

    async fn read_body(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let limit = self.max_response_bytes;
        let mut response = self
            .http
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify)?;
        if response.status() != http::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(FetchError::TooLarge(limit));
        }
        // Read chunk by chunk so a body without (or lying about) Content-Length cannot grow past
        // the limit in memory.
        let mut body = Vec::with_capacity(INITIAL_BODY_CAPACITY);
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl JwksFetcher for HttpFetcher {
    fn fetch<'a>(&'a self, endpoints: Endpoints<'a>) -> BoxFuture<'a, Result<KeyMap, FetchError>> {
        Box::pin(self.fetch_with_fallback(endpoints))
    }
}

fn classify(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        FetchError::Timeout
    } else {
        // Without the URL: it is configuration, already known to whoever reads the logs.
        FetchError::Transport(err.without_url().to_string())
    }
}
