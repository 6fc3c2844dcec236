//! A deployable Pre Token Generation Lambda (trigger event version V2_0 or V3_0).
//!
//! Removes `aws.cognito.signin.user.admin` from the access tokens of users without a
//! self-manage role, using the tenants and roles of the service's configuration file:
//! `$COGNITO_AUTHZ_CONFIG`, default `/var/task/tenants.toml` (the root of the package).
//!
//! ```sh
//! cargo lambda build --release --example pre_token_generation --features lambda
//! ```
//!
//! A bad configuration fails the cold start, so Cognito refuses tokens rather than issue them
//! unfiltered.

use std::sync::Arc;

use cognito_authz::lambda::{self, PreTokenGeneration};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Plain text (no colour escapes) or JSON lines, as AWS_LAMBDA_LOG_FORMAT says.
    lambda::init_logging()?;
    let trigger = Arc::new(PreTokenGeneration::from_config_file(lambda::config_path())?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let trigger = trigger.clone();
        async move { trigger.handle_json(event.payload) }
    }))
    .await
}
