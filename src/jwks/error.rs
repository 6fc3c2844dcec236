//! Why fetching a key set failed.

/// Why a JWKS fetch failed. Logged (with the tenant id), never sent to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No answer within the fetch timeout.
    #[error("timed out")]
    Timeout,
    /// Connection or protocol failure.
    #[error("transport error: {0}")]
    Transport(String),
    /// A status other than 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body exceeded the size limit.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not a JWKS JSON document.
    #[error("response is not a JWKS document")]
    InvalidJson,
    /// The document has no RSA key usable for RS256 with at least 2048 bits.
    #[error("no usable RS256 key in the key set")]
    NoUsableKeys,
}

impl FetchError {
    /// The `result` label of [`JWKS_FETCHES_TOTAL`](crate::metrics::JWKS_FETCHES_TOTAL).
    pub(super) fn metric_label(&self) -> &'static str {
        match self {
            FetchError::Timeout => "timeout",
            FetchError::Transport(_) => "transport",
            FetchError::Status(_) => "status",
            FetchError::TooLarge(_) => "too_large",
            FetchError::InvalidJson => "invalid_json",
            FetchError::NoUsableKeys => "no_usable_keys",
        }
    }
}
