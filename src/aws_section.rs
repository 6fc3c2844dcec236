//! The `[aws]` section of the configuration file, re-exported as
//! [`config::AwsSection`](crate::config::AwsSection). Below the configuration, so that the AWS
//! clients the configuration builds on (`aws`, `catalog`) can take it without importing it.

use serde::Deserialize;

/// `[aws]`: where the Cognito Identity Provider API is. Region and credentials otherwise come
/// from the standard AWS provider chain; `AWS_ENDPOINT_URL` in the environment also works.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AwsSection {
    /// Custom endpoint (an emulator such as moto: `http://127.0.0.1:5000`).
    pub endpoint_url: Option<String>,
    /// Region override.
    pub region: Option<String>,
}
