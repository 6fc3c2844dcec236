//! The key cache: each tenant's signing keys (JWKS), fetched lazily, refreshed, and protected
//! against turning the service into an amplifier against the identity provider.
//!
//! Rules, per JWKS URL (one per user pool; a replicated pool's replica regions are fallbacks of
//! its primary URL, tried in order within the same fetch when the primary's fails):
//! - keys are fetched on first use (or by [`CognitoAuth::prefetch`](crate::CognitoAuth::prefetch));
//! - a token with an unknown `kid` triggers a refetch, but fetches happen at most once per
//!   [`cooldown`](JwksConfig::cooldown), and concurrent misses share one fetch (single flight);
//! - keys older than [`refresh_interval`](JwksConfig::refresh_interval) are refreshed by a
//!   background task while requests go on using the keys held;
//! - if a refresh fails, held keys keep working (stale-while-error) until they are
//!   [`max_key_age`](JwksConfig::max_key_age) old; after that, and before any successful fetch,
//!   requests get 503 [`AuthError::KeysUnavailable`](crate::AuthError::KeysUnavailable);
//! - fetches have a timeout and a response size limit, follow no redirects, and keep only RSA
//!   keys usable for RS256 with a modulus of at least 2048 bits.
//!
//! The files split the cache as aws-jwt-verify does: `cache` holds the keys and decides when to
//! fetch; `fetch` fetches (the HTTP client, its limits and metrics, behind a seam tests can
//! replace); `key` parses a key set; `config` and `error` hold the settings and the fetch
//! failure.

mod cache;
mod config;
mod error;
mod fetch;
mod key;

#[cfg(feature = "cli")]
pub(crate) use cache::FixedKeys;
pub(crate) use cache::JwksCache;
pub use config::{JwksConfig, MIN_COOLDOWN};
pub use error::FetchError;
pub(crate) use key::VerifyingKey;
