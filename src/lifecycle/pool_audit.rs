//! `cognito-authz audit`: is each tenant's pool still configured so that non-admins cannot
//! change their own MFA or protected attributes?
//!
//! [`PoolSnapshot::read`] reads a pool (`DescribeUserPool`, `ListUserPoolClients`,
//! `DescribeUserPoolClient`, `ListGroups`); [`check_pool`] turns it into [`Finding`]s against
//! the tenant's [`AuditPolicy`] (the findings and the report's shape are in `report`). The
//! checks are pure, so each rule is tested on constructed SDK values as well as against an
//! emulator.
//!
//! | check | severity | finding |
//! |---|---|---|
//! | `client-writes-protected-attribute` | high | an app client lets users write a protected attribute or the drift guard's attribute |
//! | `client-write-attributes-default` | medium | an app client has no explicit write list (users may write every standard attribute) |
//! | `unknown-client` | high | a configured client id does not exist in the pool |
//! | `machine-client-unknown` | high | a `machine_client_ids` entry is not an app client of the pool |
//! | `pre-token-trigger-missing` | high with `[self_service_guard]` or `[triggers]`, else medium | nothing removes the self-service scope |
//! | `pre-token-trigger-v1` | high | the trigger is event version 1, which cannot remove scopes |
//! | `post-auth-trigger-missing` | medium when the drift guard's attribute is in the schema, else low | MFA drift goes undetected |
//! | `admin-group-missing` | medium | no group maps to the admin role |
//! | `mfa-required-attribute-missing` | medium | the drift guard's attribute is not in the schema |
//! | `token-revocation-disabled` | medium | tokens carry no `origin_jti`: session revocation cannot work |
//! | `access-token-validity-long` | low | access tokens live longer than one hour |
//! | `admin-password-auth-missing` | medium | with `/me/password` enabled ([`AuditPolicy::me_password`]), a users' app client (`client_ids`) does not allow `ALLOW_ADMIN_USER_PASSWORD_AUTH`, so `POST /me/password` fails for its users |

mod enrollment;
mod report;

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, LambdaConfigType, PreTokenGenerationLambdaVersionType,
    SchemaAttributeType, TimeUnitsType, UserPoolClientType, UserPoolType,
};

use super::reads::{describe_client, list_clients, list_groups};
use super::{LifecycleError, pool_region, region_override};
use crate::admin::DEFAULT_ADMIN_ROLE;
use crate::aws::{CognitoClient, DEFAULT_MFA_REQUIRED_ATTRIBUTE, send_to_pool};
use crate::config::{AuthConfig, TenantSection};
use crate::lifecycle::TenantEntry;
use enrollment::check_enrollment_client;
pub use report::{AuditReport, Check, Finding, Severity, TenantReport};

/// Longest access-token lifetime that raises no finding.
pub const MAX_ACCESS_TOKEN_SECONDS: i64 = 3600;

/// What a tenant's pool must satisfy, from the configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuditPolicy {
    /// Admin-only attributes (the tenant's `protected_attributes`).
    pub protected_attributes: Vec<String>,
    /// The drift guard's attribute (`[triggers] mfa_required_attribute`).
    pub mfa_required_attribute: String,
    /// The configured app client ids.
    pub client_ids: Vec<String>,
    /// The configured machine (client-credentials) app client ids.
    pub machine_client_ids: Vec<String>,
    /// Groups that give the admin role (any one suffices).
    pub admin_groups: Vec<String>,
    /// True when the configuration relies on the scope being suppressed
    /// (`[self_service_guard]` or `[triggers]` present): a missing trigger is then high.
    pub scope_guard_expected: bool,
    /// True when `POST /me/password` is served for this tenant, so each of its users' app
    /// clients (`client_ids`, machine clients excepted) must allow
    /// `ALLOW_ADMIN_USER_PASSWORD_AUTH`, the flow the route proves the current password with.
    /// The route has no per-tenant switch: the admin API serves it for every tenant whose
    /// tokens it accepts. `cognito-authz audit` sets it when the file has an `[admin]` table
    /// (the admin API's settings), else it stays false; see [`AuditPolicy::me_password`].
    pub me_password_enabled: bool,
    /// The TOTP enrollment window attribute (`[triggers] mfa_enrollment_window_attribute`):
    /// admin-only like the drift guard's.
    pub enrollment_window_attribute: Option<String>,
    /// The tenant's TOTP enrollment app client (`[admin.totp_enrollment_clients]`): it must
    /// exist, have a secret and no flow a user could sign in with.
    pub enrollment_client: Option<String>,
}

impl AuditPolicy {
    /// The policy for `tenant` of `config`. `scope_guard_expected`: whether the file has a
    /// `[self_service_guard]` or `[triggers]` table (presence, which the parsed config alone
    /// cannot tell for an empty `[triggers]`).
    pub fn for_tenant(
        config: &AuthConfig,
        tenant: &TenantSection,
        scope_guard_expected: bool,
    ) -> Self {
        let admin_groups = match &tenant.roles {
            // With a mapping, only the groups mapped to admin give it.
            Some(roles) => roles.get(DEFAULT_ADMIN_ROLE).cloned().unwrap_or_default(),
            // Without one, a group's name is its role.
            None => vec![DEFAULT_ADMIN_ROLE.to_owned()],
        };
        AuditPolicy {
            protected_attributes: tenant.protected_attributes.clone(),
            mfa_required_attribute: mfa_required_attribute(config),
            client_ids: tenant.client_ids.clone(),
            machine_client_ids: tenant.machine_client_ids.clone(),
            admin_groups,
            scope_guard_expected,
            me_password_enabled: false,
            enrollment_window_attribute: config.triggers.mfa_enrollment_window_attribute.clone(),
            enrollment_client: config
                .admin
                .totp_enrollment_clients
                .get(&tenant.id)
                .cloned(),
        }
    }

    /// The policy for a catalog tenant (or any registered [`TenantEntry`]), with the file's
    /// settings from `config`.
    pub fn for_entry(config: &AuthConfig, entry: &TenantEntry, scope_guard_expected: bool) -> Self {
        let admin_groups = if entry.roles.is_empty() {
            // Without a mapping, a group's name is its role.
            vec![DEFAULT_ADMIN_ROLE.to_owned()]
        } else {
            entry
                .roles
                .get(DEFAULT_ADMIN_ROLE)
                .cloned()
                .unwrap_or_default()
        };
        AuditPolicy {
            protected_attributes: entry.protected_attributes.clone(),
            mfa_required_attribute: mfa_required_attribute(config),
            client_ids: entry.client_ids.clone(),
            machine_client_ids: entry.machine_client_ids.clone(),
            admin_groups,
            scope_guard_expected,
            me_password_enabled: false,
            enrollment_window_attribute: config.triggers.mfa_enrollment_window_attribute.clone(),
            enrollment_client: config
                .admin
                .totp_enrollment_clients
                .get(&entry.tenant_id)
                .cloned(),
        }
    }

    /// The same policy, holding the users' app clients to `POST /me/password`'s sign-in flow
    /// when `enabled` (see [`me_password_enabled`](Self::me_password_enabled)).
    pub fn me_password(mut self, enabled: bool) -> Self {
        self.me_password_enabled = enabled;
        self
    }

    /// The users' app clients: the configured ones that are not machine clients.
    fn user_client(&self, id: &str) -> bool {
        self.client_ids.iter().any(|c| c == id) && !self.machine_client_ids.iter().any(|c| c == id)
    }

    /// The protected attributes, the drift guard's attribute and the enrollment window's.
    fn admin_only(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.mfa_required_attribute.as_str())
            .chain(self.enrollment_window_attribute.as_deref())
            .chain(self.protected_attributes.iter().map(String::as_str))
    }
}

/// `[triggers] mfa_required_attribute`, or its default.
fn mfa_required_attribute(config: &AuthConfig) -> String {
    config
        .triggers
        .mfa_required_attribute
        .clone()
        .unwrap_or_else(|| DEFAULT_MFA_REQUIRED_ATTRIBUTE.to_owned())
}

/// What `audit` reads of one pool.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolSnapshot {
    /// `DescribeUserPool`.
    pub pool: UserPoolType,
    /// `DescribeUserPoolClient` of every app client of the pool.
    pub clients: Vec<UserPoolClientType>,
    /// Every group name.
    pub groups: Vec<String>,
}

impl PoolSnapshot {
    /// Builds a snapshot from parts (tests, other sources).
    pub fn new(pool: UserPoolType, clients: Vec<UserPoolClientType>, groups: Vec<String>) -> Self {
        PoolSnapshot {
            pool,
            clients,
            groups,
        }
    }

    /// Reads pool `user_pool_id`, in the region its id names, with every page of clients and
    /// groups.
    pub async fn read(client: &CognitoClient, user_pool_id: &str) -> Result<Self, LifecycleError> {
        let region = region_override(client, pool_region(user_pool_id));
        let pool = send_to_pool!(
            &region,
            client.describe_user_pool().user_pool_id(user_pool_id)
        )
        .map_err(|e| LifecycleError::aws("DescribeUserPool", e))?
        .user_pool
        .ok_or_else(|| {
            LifecycleError::Refused(format!(
                "DescribeUserPool returned no pool for {user_pool_id}"
            ))
        })?;
        let mut clients = Vec::new();
        for description in list_clients(client, &region, user_pool_id).await? {
            if let Some(id) = description.client_id() {
                clients.push(describe_client(client, &region, user_pool_id, id).await?);
            }
        }
        let groups = list_groups(client, &region, user_pool_id).await?;
        Ok(PoolSnapshot {
            pool,
            clients,
            groups,
        })
    }
}

/// An app client's access-token lifetime in seconds: `AccessTokenValidity` in its unit
/// (hours when no unit is given), or Cognito's default of one hour when unset.
pub fn access_token_validity_seconds(client: &UserPoolClientType) -> i64 {
    validity_seconds(
        client.access_token_validity,
        client.token_validity_units().and_then(|u| u.access_token()),
    )
}

/// An access- or id-token lifetime in seconds: `value` in `unit` (hours when no unit is
/// given, Cognito's default for both), or Cognito's default of one hour when unset.
pub(crate) fn validity_seconds(value: Option<i32>, unit: Option<&TimeUnitsType>) -> i64 {
    let Some(value) = value else {
        return 3600;
    };
    let seconds_per_unit = match unit.unwrap_or(&TimeUnitsType::Hours) {
        TimeUnitsType::Seconds => 1,
        TimeUnitsType::Minutes => 60,
        TimeUnitsType::Days => 86_400,
        // Hours, and any unit this SDK does not know yet, are read as hours.
        _ => 3600,
    };
    i64::from(value) * seconds_per_unit
}

/// Every finding for one pool, most severe first.
pub fn check_pool(policy: &AuditPolicy, snapshot: &PoolSnapshot) -> Vec<Finding> {
    let pool = &snapshot.pool;
    let pool_id = pool.id().unwrap_or_default();
    let mut findings = Vec::new();
    for client in &snapshot.clients {
        check_client(policy, client, &mut findings);
        let id = client.client_id().unwrap_or_default();
        if policy.me_password_enabled && policy.user_client(id) && !allows_admin_password(client) {
            findings.push(Finding::new(
                Check::AdminPasswordAuthMissing,
                Severity::Medium,
                id,
                "the app client does not allow ALLOW_ADMIN_USER_PASSWORD_AUTH: POST /me/password \
                 cannot check its users' current password (500 server_misconfigured)"
                    .to_owned(),
            ));
        }
    }
    for id in &policy.client_ids {
        if !snapshot.clients.iter().any(|c| c.client_id() == Some(id)) {
            findings.push(Finding::new(
                Check::UnknownClient,
                Severity::High,
                id,
                format!("configured app client {id} does not exist in pool {pool_id}"),
            ));
        }
    }
    for id in &policy.machine_client_ids {
        if !snapshot.clients.iter().any(|c| c.client_id() == Some(id)) {
            findings.push(Finding::new(
                Check::MachineClientUnknown,
                Severity::High,
                id,
                format!("machine client {id} (machine_client_ids) is not an app client of pool {pool_id}"),
            ));
        }
    }
    if let Some(id) = &policy.enrollment_client {
        let client = snapshot.clients.iter().find(|c| c.client_id() == Some(id));
        check_enrollment_client(id, client, pool_id, &mut findings);
    }
    let in_schema = pool
        .schema_attributes()
        .iter()
        .filter_map(SchemaAttributeType::name)
        .any(|name| name == policy.mfa_required_attribute);
    check_triggers(
        policy,
        pool.lambda_config(),
        pool_id,
        in_schema,
        &mut findings,
    );
    if !policy
        .admin_groups
        .iter()
        .any(|g| snapshot.groups.contains(g))
    {
        findings.push(Finding::new(
            Check::AdminGroupMissing,
            Severity::Medium,
            pool_id,
            format!(
                "no group mapped to role {DEFAULT_ADMIN_ROLE} exists (expected one of: {})",
                policy.admin_groups.join(", ")
            ),
        ));
    }
    if !in_schema {
        findings.push(Finding::new(
            Check::MfaRequiredAttributeMissing,
            Severity::Medium,
            pool_id,
            format!(
                "the drift guard's attribute {} is not in the pool's schema",
                policy.mfa_required_attribute
            ),
        ));
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.check.cmp(&b.check))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    findings
}

fn check_client(policy: &AuditPolicy, client: &UserPoolClientType, findings: &mut Vec<Finding>) {
    let id = client.client_id().unwrap_or_default();
    match &client.write_attributes {
        Some(writes) if !writes.is_empty() => {
            let writable: Vec<&str> = policy
                .admin_only()
                .filter(|p| writes.iter().any(|w| w.eq_ignore_ascii_case(p)))
                .collect();
            if !writable.is_empty() {
                findings.push(Finding::new(
                    Check::ClientWritesProtectedAttribute,
                    Severity::High,
                    id,
                    format!(
                        "users of this app client may write {} themselves",
                        writable.join(", ")
                    ),
                ));
            }
        }
        _ => {
            findings.push(Finding::new(
                Check::ClientWriteAttributesDefault,
                Severity::Medium,
                id,
                "no explicit write attributes: users may write every standard attribute".to_owned(),
            ));
            // Without a list, standard (non-custom) attributes are writable by users.
            let writable: Vec<&str> = policy.admin_only().filter(|p| !p.contains(':')).collect();
            if !writable.is_empty() {
                findings.push(Finding::new(
                    Check::ClientWritesProtectedAttribute,
                    Severity::High,
                    id,
                    format!(
                        "with no write list, users of this app client may write {} themselves",
                        writable.join(", ")
                    ),
                ));
            }
        }
    }
    if client.enable_token_revocation == Some(false) {
        findings.push(Finding::new(
            Check::TokenRevocationDisabled,
            Severity::Medium,
            id,
            "token revocation is off: tokens carry no origin_jti, sessions cannot be revoked"
                .to_owned(),
        ));
    }
    let lifetime = access_token_validity_seconds(client);
    if lifetime > MAX_ACCESS_TOKEN_SECONDS {
        findings.push(Finding::new(
            Check::AccessTokenValidityLong,
            Severity::Low,
            id,
            format!("access tokens live {lifetime} s (more than one hour)"),
        ));
    }
}

/// True if `client` lets the server sign its users in with `AdminInitiateAuth` and
/// `ADMIN_USER_PASSWORD_AUTH`: `ALLOW_ADMIN_USER_PASSWORD_AUTH`, or its legacy name
/// `ADMIN_NO_SRP_AUTH`, which Cognito still honours on older clients. No flows listed means
/// Cognito's defaults (SRP, refresh, custom), which do not include it.
fn allows_admin_password(client: &UserPoolClientType) -> bool {
    client.explicit_auth_flows().iter().any(|f| {
        matches!(
            f,
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth
                | ExplicitAuthFlowsType::AdminNoSrpAuth
        )
    })
}

fn check_triggers(
    policy: &AuditPolicy,
    lambda: Option<&LambdaConfigType>,
    pool_id: &str,
    attribute_in_schema: bool,
    findings: &mut Vec<Finding>,
) {
    let versioned = lambda.and_then(LambdaConfigType::pre_token_generation_config);
    let legacy = lambda.and_then(LambdaConfigType::pre_token_generation);
    match (versioned, legacy) {
        (Some(config), _)
            if *config.lambda_version() != PreTokenGenerationLambdaVersionType::V10 => {}
        (Some(_), _) | (None, Some(_)) => findings.push(Finding::new(
            Check::PreTokenTriggerV1,
            Severity::High,
            pool_id,
            "the Pre Token Generation trigger is event version V1_0, which cannot remove the \
             self-service scope (use V2_0 or V3_0)"
                .to_owned(),
        )),
        (None, None) => findings.push(Finding::new(
            Check::PreTokenTriggerMissing,
            if policy.scope_guard_expected {
                Severity::High
            } else {
                Severity::Medium
            },
            pool_id,
            "no Pre Token Generation trigger: every user's access token keeps the self-service \
             scope (aws.cognito.signin.user.admin)"
                .to_owned(),
        )),
    }
    if lambda
        .and_then(LambdaConfigType::post_authentication)
        .is_none()
    {
        findings.push(Finding::new(
            Check::PostAuthTriggerMissing,
            if attribute_in_schema {
                Severity::Medium
            } else {
                Severity::Low
            },
            pool_id,
            "no Post Authentication trigger: MFA drift goes undetected".to_owned(),
        ));
    }
}

#[cfg(test)]
mod tests;
