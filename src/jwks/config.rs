//! The key cache's settings, their defaults and the limits [`JwksConfig::validate`] enforces.
//! Every default lives in [`JwksConfig`]'s `Default` implementation; the builder and the
//! configuration file start from it.

use std::time::Duration;

use crate::error::ConfigError;

/// Settings of the key cache. The defaults follow aws-jwt-verify where it has one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwksConfig {
    /// Minimum time between two fetches of one JWKS URL, whatever triggers them. Default 10 s.
    pub cooldown: Duration,
    /// Keys older than this are refreshed by a background task. Default 15 min.
    pub refresh_interval: Duration,
    /// Held keys are served while refreshes fail, until they are this old. Default 24 h.
    pub max_key_age: Duration,
    /// Timeout of one fetch, connection included. Default 3 s.
    pub fetch_timeout: Duration,
    /// Largest JWKS response body accepted. Default 64 KiB (Cognito's is about 1 KiB).
    pub max_response_bytes: usize,
}

/// The shortest cooldown accepted: at most ten fetches per second per pool, whatever the
/// traffic. Production should keep the 10 s default.
pub const MIN_COOLDOWN: Duration = Duration::from_millis(100);

/// The smallest response size limit accepted: a Cognito key set (two RSA keys) is about 1 KiB,
/// so a lower limit would refuse every fetch.
const MIN_RESPONSE_BYTES: usize = 1024;

impl JwksConfig {
    /// Refuses settings that would break the cache's promises (fetch amplification, keys served
    /// past their maximum age, fetches that can never succeed).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cooldown < MIN_COOLDOWN {
            return Err(ConfigError::invalid(
                "jwks.cooldown",
                "must be at least 100 ms: it is what stops unknown kids from driving fetches",
            ));
        }
        if self.fetch_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "jwks.fetch_timeout",
                "must be positive",
            ));
        }
        if self.max_response_bytes < MIN_RESPONSE_BYTES {
            return Err(ConfigError::invalid(
                "jwks.max_response_bytes",
                "must be at least 1024 (a Cognito key set is about 1 KiB)",
            ));
        }
        if self.max_key_age < self.refresh_interval {
            return Err(ConfigError::invalid(
                "jwks.max_key_age",
                "must not be shorter than jwks.refresh_interval",
            ));
        }
        Ok(())
    }
}

impl Default for JwksConfig {
    fn default() -> Self {
        JwksConfig {
            cooldown: Duration::from_secs(10),
            refresh_interval: Duration::from_secs(15 * 60),
            max_key_age: Duration::from_secs(24 * 60 * 60),
            fetch_timeout: Duration::from_secs(3),
            max_response_bytes: 64 * 1024,
        }
    }
}
