//! The Cognito Identity Provider client used by admin operations and triggers (feature `aws`).

use aws_config::{BehaviorVersion, Region};
pub use aws_sdk_cognitoidentityprovider::Client as CognitoClient;

use crate::config::AwsSection;

/// Builds a client from the standard AWS provider chain (environment, profile, instance role,
/// ...), with `[aws]` overrides: `endpoint_url` (an emulator such as moto) and `region`.
/// `AWS_ENDPOINT_URL` and `AWS_REGION` in the environment are honoured by the chain itself.
pub async fn cognito_client(aws: &AwsSection) -> CognitoClient {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &aws.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    CognitoClient::new(&loader.load().await)
}
