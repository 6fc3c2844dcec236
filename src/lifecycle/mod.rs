//! Tenant lifecycle (feature `cli`): provision a tenant's user pool the safe way, register it,
//! and audit every pool against the configuration. The `cognito-authz` binary is a thin shell
//! over this module, so each rule here is testable without a terminal.
//!
//! - [`provision`]: what a correctly configured tenant pool looks like ([`Blueprint`]), what
//!   exists already ([`PoolState`]) and the idempotent [`Plan`] between the two;
//!   [`provisioner`] reads the pool and applies the plan.
//! - [`registry`]: where a tenant is registered: the configuration file (edited with its
//!   comments and layout kept) or a tenant catalog.
//! - [`removal`]: `tenant remove --delete-pool` deletes only a pool tagged for the tenant.
//! - [`pool_audit`]: the checks of `cognito-authz audit`, as pure functions over what Cognito
//!   returns (named so to stay apart from [`admin`](crate::admin)'s audit-event log).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cognito_authz::AuthConfig;
//! use cognito_authz::lifecycle::pool_audit::{AuditPolicy, PoolSnapshot, check_pool};
//!
//! let config = AuthConfig::from_file("tenants.toml")?;
//! let client = cognito_authz::aws::cognito_client(&config.aws).await;
//! let tenant = &config.tenants[0];
//! let policy = AuditPolicy::for_tenant(&config, tenant, config.self_service_guard.is_some());
//! let snapshot = PoolSnapshot::read(&client, &tenant.user_pool_id).await?;
//! for finding in check_pool(&policy, &snapshot) {
//!     println!("{} {} {}", finding.severity, finding.check, finding.subject);
//! }
//! # Ok(()) }
//! ```

mod carry;
pub mod pool_audit;
pub mod provision;
pub mod provisioner;
mod reads;
pub mod registry;
pub mod removal;

use aws_sdk_cognitoidentityprovider::config::Region;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, SdkError};

pub use provision::{Blueprint, Plan, PlanStep, PoolState, ProvisionRequest};
pub use provisioner::{Provisioned, Provisioner};
pub use registry::{CatalogTarget, Registry, TenantEntry};

use crate::aws::CognitoClient;
use crate::catalog::CatalogError;
use crate::error::ConfigError;

/// The prefix of the user pool (and app client) names this tool gives a tenant's resources:
/// `cognito-authz-<tenant id>`. A re-run finds them by this name.
pub const NAME_PREFIX: &str = "cognito-authz-";

/// The tag `tenant create` puts on a pool: its tenant id.
pub const TENANT_TAG: &str = "cognito-authz:tenant";

/// Longest tenant id accepted by `tenant create`: the pool name (`cognito-authz-<id>`) must
/// fit Cognito's 128-character limit.
pub const MAX_TENANT_ID_LEN: usize = 64;

/// Why a lifecycle command failed. Messages name the cause and never carry secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// The tenant id cannot be used.
    #[error("invalid tenant id {id:?}: {reason}")]
    InvalidTenantId {
        /// The id given.
        id: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration file could not be read, edited or written.
    #[error("{path}: {message}")]
    ConfigFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The tenant is registered with another pool; nothing was changed.
    #[error(
        "tenant {id:?} is already registered with user pool {registered}; \
         refusing to register it with {found}"
    )]
    Conflict {
        /// The tenant id.
        id: String,
        /// The pool of the existing registration.
        registered: String,
        /// The pool this run found or would create.
        found: String,
    },
    /// The DynamoDB tenant catalog refused or could not be reached (the message names the
    /// table and the cause).
    #[error("tenant catalog: {0}")]
    Catalog(#[from] CatalogError),
    /// Cognito refused or could not be reached.
    #[error("{operation} failed: {message}")]
    Aws {
        /// The Cognito operation.
        operation: &'static str,
        /// The SDK's error with its causes (no secrets).
        message: String,
    },
    /// `tenant remove --delete-pool`: the pool's [`TENANT_TAG`] does not name the tenant (or
    /// the pool has none); nothing was changed.
    #[error(
        "user pool {user_pool_id} is not tenant {tenant_id:?}'s: {}; refusing to delete it \
         (nothing was changed; --force deletes it anyway)",
        tag_says(.tag)
    )]
    PoolNotOwned {
        /// The pool the registration names.
        user_pool_id: String,
        /// The tenant being removed.
        tenant_id: String,
        /// The value of the pool's tag, if it has one.
        tag: Option<String>,
    },
    /// Something Cognito returned makes the command unsafe to continue.
    #[error("{0}")]
    Refused(String),
}

fn tag_says(tag: &Option<String>) -> String {
    match tag {
        Some(value) => format!("its tag {TENANT_TAG} is {value:?}"),
        None => format!("it has no {TENANT_TAG} tag"),
    }
}

impl LifecycleError {
    pub(crate) fn aws<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        LifecycleError::Aws {
            operation,
            message: DisplayErrorContext(&err).to_string(),
        }
    }
}

/// Checks a tenant id for `tenant create`: the rule of the configuration file (not empty), and
/// what makes a deterministic pool name out of it: at most [`MAX_TENANT_ID_LEN`] ASCII letters,
/// digits, `-` or `_`, starting with a letter or digit.
///
/// ```
/// use cognito_authz::lifecycle::validate_tenant_id;
///
/// assert!(validate_tenant_id("acme-eu_2").is_ok());
/// assert!(validate_tenant_id("").is_err());
/// assert!(validate_tenant_id("acme corp").is_err());
/// assert!(validate_tenant_id("-acme").is_err());
/// ```
pub fn validate_tenant_id(id: &str) -> Result<(), LifecycleError> {
    let refuse = |reason| {
        Err(LifecycleError::InvalidTenantId {
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() {
        return refuse("must not be empty");
    }
    if id.len() > MAX_TENANT_ID_LEN {
        return refuse("must be at most 64 characters");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return refuse("may contain only ASCII letters, digits, '-' and '_'");
    }
    if !id.as_bytes()[0].is_ascii_alphanumeric() {
        return refuse("must start with a letter or a digit");
    }
    Ok(())
}

/// The region override for calls on a pool in `region` through `client` (`None` when the
/// client is already there); see [`send_to_pool!`](crate::aws::send_to_pool).
pub(crate) fn region_override(client: &CognitoClient, region: &str) -> Option<Region> {
    (client.config().region().map(Region::as_ref) != Some(region))
        .then(|| Region::new(region.to_owned()))
}

/// The region named by a user pool id (`us-east-1_AbC` → `us-east-1`).
pub(crate) fn pool_region(user_pool_id: &str) -> &str {
    user_pool_id
        .split_once('_')
        .map_or(user_pool_id, |(region, _)| region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_fit_a_pool_name() {
        for good in ["a", "acme", "ACME-2", "acme_eu", &"x".repeat(64)] {
            assert!(validate_tenant_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            " acme",
            "acme/x",
            "acme.eu",
            "_acme",
            "é",
            &"x".repeat(65),
        ] {
            let err = validate_tenant_id(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid tenant id"), "{bad}: {err}");
        }
    }

    #[test]
    fn pool_region_is_the_id_prefix() {
        assert_eq!(pool_region("eu-west-1_AbC"), "eu-west-1");
    }
}
