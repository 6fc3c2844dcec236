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

/// The longest TOTP enrollment window an administrator may open, in minutes
/// (`POST /admin/users/{username}/mfa/enrollment`).
pub const MAX_ENROLLMENT_WINDOW_MINUTES: u64 = 60;

/// How far the clocks of the server that opened a window and of the trigger reading it may
/// disagree, in seconds: a window's end may lie at most
/// [`MAX_ENROLLMENT_WINDOW_MINUTES`] plus this much in the future.
pub const ENROLLMENT_WINDOW_CLOCK_SKEW_SECONDS: u64 = 60;

/// True if `value`, the enrollment window attribute (`[triggers] mfa_enrollment_window_attribute`)
/// of a user, names a window that is open at `now` (Unix seconds).
///
/// The value is the window's end in Unix seconds, decimal ASCII digits only. Everything else
/// is a closed window, failing closed: a missing or empty attribute, a non-numeric, signed or
/// over-long value, an end that is not after `now`, and an end further in the future than the
/// longest window an administrator can open ([`MAX_ENROLLMENT_WINDOW_MINUTES`] plus
/// [`ENROLLMENT_WINDOW_CLOCK_SKEW_SECONDS`]): such a value was not written by the window route
/// (an administrator's `PATCH /admin/users/{username}/attributes`, say) and must not open a
/// window for longer than the route allows.
pub fn enrollment_window_open(value: Option<&str>, now: u64) -> bool {
    let Some(value) = value else { return false };
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(end) = value.parse::<u64>() else {
        return false;
    };
    let latest = now
        .saturating_add(MAX_ENROLLMENT_WINDOW_MINUTES * 60)
        .saturating_add(ENROLLMENT_WINDOW_CLOCK_SKEW_SECONDS);
    end > now && end <= latest
}

/// The current time in Unix seconds (0 if the clock is before 1970, which closes every window).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn only_a_numeric_end_within_the_longest_window_is_open() {
        let now = 1_800_000_000;
        let open = |v: &str| enrollment_window_open(Some(v), now);
        assert!(open("1800000001"));
        assert!(open(&(now + 15 * 60).to_string()));
        assert!(
            open(&(now + 3600 + 60).to_string()),
            "the longest window plus skew"
        );
        // Expired, now, missing, empty, forged into the far future, not a number.
        assert!(!open("1800000000"));
        assert!(!open("1799999999"));
        assert!(!enrollment_window_open(None, now));
        assert!(!open(""));
        assert!(!open(&(now + 3600 + 61).to_string()));
        assert!(!open("99999999999"));
        assert!(!open("999999999999999999999"));
        for bad in [
            "+1800000100",
            "-1",
            " 1800000100",
            "1800000100 ",
            "1.8e9",
            "0x6B49D200",
            "true",
            "1800000100\n",
            "１８００００００１００",
        ] {
            assert!(!open(bad), "{bad:?}");
        }
    }
}

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
