//! One bounded JWKS fetch over HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use super::{FetchError, JwksConfig, VerifyingKey, key::parse_jwks};

/// GETs `url` and parses it as a key set, within the configured timeout and size limit.
pub(super) async fn fetch_jwks(
    http: &reqwest::Client,
    url: &str,
    config: &JwksConfig,
) -> Result<HashMap<String, Arc<VerifyingKey>>, FetchError> {
    // reqwest's own timeout covers the body too; this outer one also bounds DNS and anything
    // else a misbehaving server could stretch.
    let body = tokio::time::timeout(config.fetch_timeout, read_body(http, url, config))
        .await
        .map_err(|_| FetchError::Timeout)??;
    parse_jwks(&body)
}

async fn read_body(
    http: &reqwest::Client,
    url: &str,
    config: &JwksConfig,
) -> Result<Vec<u8>, FetchError> {
    let limit = config.max_response_bytes;
    let mut response = http
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
    let mut body = Vec::with_capacity(4096);
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn classify(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        FetchError::Timeout
    } else {
        // Without the URL: it is configuration, already known to whoever reads the logs.
        FetchError::Transport(err.without_url().to_string())
    }
}
