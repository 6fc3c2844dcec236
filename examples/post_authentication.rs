//! A deployable Post Authentication Lambda: the MFA drift guard.
//!
//! Fails a sign-in when the user's admin-only attribute (`custom:mfa_required` by default)
//! requires MFA but `AdminGetUser` shows no MFA method enabled. Reads the service's
//! configuration file: `$COGNITO_AUTHZ_CONFIG`, default `/var/task/tenants.toml`. The function's
//! role needs `cognito-idp:AdminGetUser` on the tenants' user pools.
//!
//! ```sh
//! cargo lambda build --release --example post_authentication --features lambda
//! ```

use std::sync::Arc;

use cognito_authz::AuthConfig;
use cognito_authz::lambda::{self, PostAuthentication};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Plain text (no colour escapes) or JSON lines, as AWS_LAMBDA_LOG_FORMAT says.
    lambda::init_logging()?;
    let config = AuthConfig::from_file(lambda::config_path())?;
    let trigger = Arc::new(PostAuthentication::from_config(&config).await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let trigger = trigger.clone();
        async move { trigger.handle_json(event.payload).await }
    }))
    .await
}
