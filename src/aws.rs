//! The Cognito Identity Provider client used by admin operations and triggers (feature `aws`).

use aws_config::{BehaviorVersion, Region};
pub use aws_sdk_cognitoidentityprovider::Client as CognitoClient;

use crate::aws_section::AwsSection;
#[cfg(any(feature = "admin", feature = "lambda"))]
use crate::tenant::Tenant;

/// The user attribute that records that a user must use MFA, when
/// `[triggers] mfa_required_attribute` is not set. The Post Authentication trigger reads it,
/// and the self-service routes of the `admin` feature never let a user change it.
pub const DEFAULT_MFA_REQUIRED_ATTRIBUTE: &str = "custom:mfa_required";

/// Builds a client from the standard AWS provider chain (environment, profile, instance role,
/// ...), with `[aws]` overrides: `endpoint_url` (an emulator such as moto) and `region`.
/// `AWS_ENDPOINT_URL` and `AWS_REGION` in the environment are honoured by the chain itself.
pub async fn cognito_client(aws: &AwsSection) -> CognitoClient {
    CognitoClient::new(&sdk_config(aws).await)
}

/// The shared SDK settings of every AWS client this crate builds: the standard provider chain
/// with the `[aws]` overrides.
pub(crate) async fn sdk_config(aws: &AwsSection) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &aws.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The region a call on `tenant`'s pool must be sent to, when it is not the client's own
/// region (`None` when they agree). A pool lives in the region its id names, whatever region
/// the client was built for, so every call on a tenant's pool goes through [`send_to_pool!`].
#[cfg(any(feature = "admin", feature = "lambda"))]
pub(crate) fn pool_region_override(client: &CognitoClient, tenant: &Tenant) -> Option<Region> {
    (client.config().region().map(Region::as_ref) != Some(tenant.region()))
        .then(|| Region::new(tenant.region().to_owned()))
}

/// Sends a fluent Cognito operation, in `$region` (from [`pool_region_override`]) when it is
/// `Some`, else in the client's own region. Evaluates to the operation's `Result`.
#[cfg(any(feature = "admin", feature = "lambda"))]
macro_rules! send_to_pool {
    ($region:expr, $operation:expr) => {{
        let operation = $operation;
        match $region {
            Some(region) => {
                operation
                    .customize()
                    .config_override(
                        aws_sdk_cognitoidentityprovider::Config::builder().region(region.clone()),
                    )
                    .send()
                    .await
            }
            None => operation.send().await,
        }
    }};
}
#[cfg(any(feature = "admin", feature = "lambda"))]
pub(crate) use send_to_pool;

#[cfg(all(test, any(feature = "admin", feature = "lambda")))]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::config::Credentials;

    fn client(region: Option<&str>) -> CognitoClient {
        let mut config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(Credentials::new("test", "test", None, None, "test"));
        if let Some(region) = region {
            config = config.region(Region::new(region.to_owned()));
        }
        CognitoClient::from_conf(config.build())
    }

    #[test]
    fn region_is_overridden_only_when_the_pool_is_elsewhere() {
        let tenant = Tenant::builder("acme", "eu-west-1_AbC")
            .client_id("c")
            .build()
            .unwrap();
        assert_eq!(
            pool_region_override(&client(Some("eu-west-1")), &tenant),
            None
        );
        assert_eq!(
            pool_region_override(&client(Some("us-east-1")), &tenant),
            Some(Region::new("eu-west-1"))
        );
        assert_eq!(
            pool_region_override(&client(None), &tenant),
            Some(Region::new("eu-west-1"))
        );
    }
}
