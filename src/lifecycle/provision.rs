//! `tenant create`: a tenant's pool made safe by construction, idempotently.
//!
//! [`Blueprint`] says what the tenant needs (from the configuration and the command line),
//! [`Provisioner::discover`](super::provisioner::Provisioner::discover) reads what exists (the pool found by its name
//! `cognito-authz-<tenant id>`, its groups, its app client found by the same name, the TOTP
//! enrollment client `<tenant id>-totp-enrollment` when enrollment is configured (see
//! `enrollment`), the first admin), and [`Plan::new`] is the difference: only missing or wrong parts become
//! [`PlanStep`]s. A re-run after a failure therefore finishes the job, and never makes a second
//! pool or client. [`Provisioner::apply`](super::provisioner::Provisioner::apply) runs the
//! steps in order.

mod enrollment;
mod plan;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, LambdaConfigType, PreTokenGenerationLambdaVersionType,
    PreTokenGenerationVersionConfigType, UserPoolClientType,
};

use super::carry::{max_token_seconds, required_flows};
use super::pool_audit::{access_token_validity_seconds, validity_seconds};
use super::{LifecycleError, NAME_PREFIX, validate_tenant_id};
use crate::admin::{ALWAYS_PROTECTED, DEFAULT_ADMIN_ROLE, DEFAULT_SELF_SERVICE_ATTRIBUTES};
use crate::aws::DEFAULT_MFA_REQUIRED_ATTRIBUTE;
use crate::config::AuthConfig;
pub use enrollment::{ENROLLMENT_FLOWS, ENROLLMENT_TOKEN_MINUTES, enrollment_client_name};
pub(crate) use enrollment::{enrollment_flows, enrollment_units, has_secret};
pub use plan::{AdminState, ExistingPool, Plan, PlanItem, PlanStep, PoolState};

/// Access-token lifetime of the app client `tenant create` makes, in minutes (the audit's
/// limit is one hour).
pub const ACCESS_TOKEN_MINUTES: i32 = 60;

/// The sign-in flows of the app client `tenant create` makes: SRP (what Amplify uses),
/// refresh, and the admin password flow with which `POST /me/password` proves the current
/// password (`AdminInitiateAuth` with `ADMIN_USER_PASSWORD_AUTH`). That flow is open only to
/// callers with IAM credentials for `cognito-idp:AdminInitiateAuth` (the server), never to a
/// browser: the public password flow (`ALLOW_USER_PASSWORD_AUTH`) stays off, so a user's
/// password still never leaves the browser except to the server's own password route. A
/// repair adds the ones missing to an existing client's flows and keeps the operator's.
pub const AUTH_FLOWS: [ExplicitAuthFlowsType; 3] = [
    ExplicitAuthFlowsType::AllowUserSrpAuth,
    ExplicitAuthFlowsType::AllowRefreshTokenAuth,
    ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
];

/// What `tenant create` was asked for.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ProvisionRequest {
    /// The tenant id (see [`validate_tenant_id`]).
    pub tenant_id: String,
    /// Where the pool goes.
    pub region: String,
    /// The first administrator, if any.
    pub admin: Option<AdminUser>,
    /// Pre Token Generation trigger (attached as event version `V2_0`).
    pub pre_token_lambda: Option<String>,
    /// Post Authentication trigger (the MFA drift guard).
    pub post_auth_lambda: Option<String>,
    /// Admin-only attributes besides the drift guard's.
    pub protected_attributes: Vec<String>,
}

impl ProvisionRequest {
    /// A request for tenant `tenant_id` in `region`, with no trigger and no admin.
    pub fn new(tenant_id: impl Into<String>, region: impl Into<String>) -> Self {
        ProvisionRequest {
            tenant_id: tenant_id.into(),
            region: region.into(),
            ..Default::default()
        }
    }
}

/// The first administrator of a new tenant. Cognito mails them a temporary password; this
/// tool never sees or prints it.
#[derive(Debug, Clone)]
pub struct AdminUser {
    /// User name.
    pub username: String,
    /// Email address (marked verified, the invitation goes there).
    pub email: String,
}

/// Everything a correctly configured tenant pool has, derived from the configuration and the
/// request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Blueprint {
    /// Tenant id.
    pub tenant_id: String,
    /// The pool's region.
    pub region: String,
    /// `cognito-authz-<tenant id>`: the pool's and the app client's name.
    pub name: String,
    /// The drift guard's attribute (`[triggers] mfa_required_attribute`).
    pub mfa_required_attribute: String,
    /// The tenant's admin-only attributes: the drift guard's one first, then the TOTP
    /// enrollment window's (`[triggers] mfa_enrollment_window_attribute`), if configured.
    pub protected_attributes: Vec<String>,
    /// The `custom:` attributes the pool's schema needs (as `custom:name`).
    pub custom_attributes: Vec<String>,
    /// `role = [groups]`: `admin` and each role allowed to keep the self-service scope, each
    /// mapped to the group of the same name.
    pub roles: BTreeMap<String, Vec<String>>,
    /// The app client's explicit `WriteAttributes`: the self-service attributes, standard
    /// ones only, none protected.
    pub write_attributes: Vec<String>,
    /// Pre Token Generation trigger ARN.
    pub pre_token_lambda: Option<String>,
    /// Post Authentication trigger ARN.
    pub post_auth_lambda: Option<String>,
    /// First administrator.
    pub admin: Option<AdminUser>,
    /// The TOTP enrollment app client's name (`<tenant id>-totp-enrollment`), when the
    /// configuration asks for TOTP enrollment (`[triggers] mfa_enrollment_window_attribute`).
    pub enrollment_client: Option<String>,
}

impl Blueprint {
    /// Derives the blueprint; refuses a bad id, region, ARN, attribute or admin.
    pub fn new(config: &AuthConfig, request: ProvisionRequest) -> Result<Self, LifecycleError> {
        validate_tenant_id(&request.tenant_id)?;
        if !is_region(&request.region) {
            return Err(LifecycleError::Refused(format!(
                "{:?} is not an AWS region (expected e.g. us-east-1)",
                request.region
            )));
        }
        let mfa_required_attribute = config
            .triggers
            .mfa_required_attribute
            .clone()
            .unwrap_or_else(|| DEFAULT_MFA_REQUIRED_ATTRIBUTE.to_owned());
        if mfa_required_attribute.trim().is_empty() {
            return Err(ConfigRefusal::field(
                "triggers.mfa_required_attribute",
                "must name a user attribute",
            ));
        }
        let mut protected_attributes = vec![mfa_required_attribute.clone()];
        // The TOTP enrollment window: admin-only too, so created in the schema and kept off
        // the app client's write list.
        if let Some(window) = &config.triggers.mfa_enrollment_window_attribute {
            if window.trim().is_empty() {
                return Err(ConfigRefusal::field(
                    "triggers.mfa_enrollment_window_attribute",
                    "must name a user attribute",
                ));
            }
            protected_attributes.push(window.clone());
        }
        for attribute in request.protected_attributes {
            if attribute.trim().is_empty() {
                return Err(LifecycleError::Refused(
                    "a protected attribute must not be empty".to_owned(),
                ));
            }
            if !protected_attributes.contains(&attribute) {
                protected_attributes.push(attribute);
            }
        }
        let custom_attributes = protected_attributes
            .iter()
            .filter(|a| a.starts_with("custom:"))
            .cloned()
            .collect();
        let write_attributes = config
            .admin
            .self_service_attributes
            .clone()
            .unwrap_or_else(|| {
                DEFAULT_SELF_SERVICE_ATTRIBUTES
                    .iter()
                    .map(|&a| a.to_owned())
                    .collect()
            })
            .into_iter()
            .filter(|a| may_be_user_writable(a, &protected_attributes))
            .collect();
        for arn in [&request.pre_token_lambda, &request.post_auth_lambda]
            .into_iter()
            .flatten()
        {
            if !arn.starts_with("arn:") {
                return Err(LifecycleError::Refused(format!(
                    "{arn:?} is not a Lambda function ARN"
                )));
            }
        }
        if request
            .admin
            .as_ref()
            .is_some_and(|admin| admin.username.trim().is_empty() || !admin.email.contains('@'))
        {
            return Err(LifecycleError::Refused(
                "--admin needs a user name and --admin-email an email address".to_owned(),
            ));
        }
        let enrollment_client = config
            .triggers
            .mfa_enrollment_window_attribute
            .is_some()
            .then(|| enrollment_client_name(&request.tenant_id));
        Ok(Blueprint {
            name: format!("{NAME_PREFIX}{}", request.tenant_id),
            enrollment_client,
            tenant_id: request.tenant_id,
            region: request.region,
            mfa_required_attribute,
            protected_attributes,
            custom_attributes,
            roles: roles_for_new_tenant(config),
            write_attributes,
            pre_token_lambda: request.pre_token_lambda,
            post_auth_lambda: request.post_auth_lambda,
            admin: request.admin,
        })
    }

    /// Every group the role mapping names.
    pub fn groups(&self) -> BTreeSet<&str> {
        self.roles.values().flatten().map(String::as_str).collect()
    }

    /// The group the first administrator joins: the first one mapped to `admin`.
    pub fn admin_group(&self) -> &str {
        self.roles
            .get(DEFAULT_ADMIN_ROLE)
            .and_then(|groups| groups.first())
            .map_or(DEFAULT_ADMIN_ROLE, String::as_str)
    }

    /// The triggers the pool should have, merged over `current` (other triggers are kept).
    /// `None` when nothing was asked for or everything is in place already.
    pub(crate) fn lambda_config(
        &self,
        current: Option<&LambdaConfigType>,
    ) -> Option<LambdaConfigType> {
        let pre_ok = self.pre_token_lambda.as_ref().is_none_or(|arn| {
            current
                .and_then(|c| c.pre_token_generation_config())
                .is_some_and(|c| {
                    c.lambda_arn() == arn
                        && *c.lambda_version() != PreTokenGenerationLambdaVersionType::V10
                })
        });
        let post_ok = self.post_auth_lambda.as_ref().is_none_or(|arn| {
            current.and_then(LambdaConfigType::post_authentication) == Some(arn.as_str())
        });
        if pre_ok && post_ok {
            return None;
        }
        let mut config = current
            .cloned()
            .unwrap_or_else(|| LambdaConfigType::builder().build());
        if let Some(arn) = &self.pre_token_lambda {
            config.pre_token_generation_config = Some(
                PreTokenGenerationVersionConfigType::builder()
                    .lambda_version(PreTokenGenerationLambdaVersionType::V20)
                    .lambda_arn(arn)
                    .build()
                    .expect("version and ARN are set"),
            );
            // The legacy field must be absent or equal; absent cannot clash.
            config.pre_token_generation = None;
        }
        if let Some(arn) = &self.post_auth_lambda {
            config.post_authentication = Some(arn.clone());
        }
        Some(config)
    }

    /// True if an existing app client already has this blueprint's settings.
    pub(crate) fn client_is_right(&self, client: &UserPoolClientType) -> bool {
        let writes: BTreeSet<&str> = client
            .write_attributes()
            .iter()
            .map(String::as_str)
            .collect();
        let wanted: BTreeSet<&str> = self.write_attributes.iter().map(String::as_str).collect();
        client.write_attributes.is_some()
            && writes == wanted
            && client.enable_token_revocation == Some(true)
            && required_flows(Some(client))
                .iter()
                .all(|f| client.explicit_auth_flows().contains(f))
            && access_token_validity_seconds(client) <= max_token_seconds()
            && validity_seconds(
                client.id_token_validity,
                client.token_validity_units().and_then(|u| u.id_token()),
            ) <= max_token_seconds()
    }
}

/// A `ConfigError` naming a configuration field, as a [`LifecycleError`].
struct ConfigRefusal;

impl ConfigRefusal {
    fn field(field: &str, message: &str) -> LifecycleError {
        LifecycleError::Config(crate::error::ConfigError::invalid(
            field,
            message.to_owned(),
        ))
    }
}

/// `admin` plus every role the configuration lets keep the self-service scope, each mapped to
/// the group of the same name.
fn roles_for_new_tenant(config: &AuthConfig) -> BTreeMap<String, Vec<String>> {
    let guard_roles = config
        .self_service_guard
        .iter()
        .flat_map(|g| g.allowed_roles.iter());
    let trigger_roles = config.triggers.self_manage_roles.iter().flatten();
    std::iter::once(DEFAULT_ADMIN_ROLE.to_owned())
        .chain(guard_roles.chain(trigger_roles).cloned())
        .filter(|role| !role.trim().is_empty())
        .map(|role| (role.clone(), vec![role]))
        .collect()
}

/// A standard attribute that is not protected: custom attributes are never on the write list
/// (a `custom:` self-service attribute would first need to be in the pool's schema).
fn may_be_user_writable(attribute: &str, protected: &[String]) -> bool {
    !attribute.contains(':')
        && !ALWAYS_PROTECTED
            .iter()
            .any(|p| p.eq_ignore_ascii_case(attribute))
        && !protected.iter().any(|p| p.eq_ignore_ascii_case(attribute))
}

fn is_region(region: &str) -> bool {
    region.split('-').count() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

#[cfg(test)]
mod tests;
