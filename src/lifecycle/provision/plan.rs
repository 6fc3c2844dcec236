//! [`Plan`]: what exists for a tenant ([`PoolState`]) against its [`Blueprint`], as the
//! [`PlanStep`]s still to run.

use std::collections::BTreeSet;

use aws_sdk_cognitoidentityprovider::types::{
    SchemaAttributeType, UserPoolClientType, UserPoolMfaType, UserPoolType,
};

use super::has_secret;
use super::{ACCESS_TOKEN_MINUTES, Blueprint, ENROLLMENT_TOKEN_MINUTES};
use crate::lifecycle::TENANT_TAG;

/// What exists already for a tenant.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PoolState {
    /// The pool named `cognito-authz-<tenant id>` in the region, if any.
    pub pool: Option<ExistingPool>,
}

/// An existing tenant pool and its parts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ExistingPool {
    /// `DescribeUserPool`.
    pub pool: UserPoolType,
    /// MFA setting from `GetUserPoolMfaConfig`.
    pub mfa: Option<UserPoolMfaType>,
    /// True if TOTP (software token) MFA is enabled.
    pub totp_enabled: bool,
    /// Group names.
    pub groups: BTreeSet<String>,
    /// The app client named like the pool.
    pub client: Option<UserPoolClientType>,
    /// The TOTP enrollment client (named `<tenant id>-totp-enrollment`), when the blueprint
    /// asks for one.
    pub enrollment_client: Option<UserPoolClientType>,
    /// The first administrator, if one was asked for.
    pub admin: AdminState,
}

impl ExistingPool {
    /// The pool id.
    pub fn id(&self) -> &str {
        self.pool.id().unwrap_or_default()
    }
}

/// Whether the requested first administrator exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminState {
    /// No administrator was requested.
    #[default]
    NotRequested,
    /// Not in the pool.
    Missing,
    /// In the pool; `in_group` if already in the admin group.
    Exists {
        /// Member of the admin group.
        in_group: bool,
    },
}

/// One change `tenant create` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanStep {
    /// Create the pool with its custom attributes, tag and triggers.
    CreatePool,
    /// Add these custom attributes to an existing pool.
    AddCustomAttributes(Vec<String>),
    /// Attach the requested triggers to an existing pool.
    SetTriggers,
    /// MFA optional (or kept on) with TOTP enabled.
    EnableTotpMfa,
    /// Create a group.
    CreateGroup(String),
    /// Create the app client.
    CreateClient,
    /// Give the existing app client the blueprint's settings, keeping all others.
    UpdateClient,
    /// Create the TOTP enrollment client (server-only, with a secret).
    CreateEnrollmentClient,
    /// Give the existing TOTP enrollment client the server-only settings, keeping all others.
    UpdateEnrollmentClient,
    /// Create the first administrator.
    CreateAdminUser,
    /// Put the first administrator in the admin group.
    AddAdminToGroup,
}

impl PlanStep {
    /// One line saying what the step does, without secrets.
    pub fn describe(&self, blueprint: &Blueprint) -> String {
        let b = blueprint;
        match self {
            PlanStep::CreatePool => {
                let mut text = format!(
                    "create user pool {} in {} (tag {TENANT_TAG}={}; custom attributes: {}",
                    b.name,
                    b.region,
                    b.tenant_id,
                    list_or_none(&b.custom_attributes)
                );
                if let Some(arn) = &b.pre_token_lambda {
                    text.push_str(&format!("; Pre Token Generation V2_0: {arn}"));
                }
                if let Some(arn) = &b.post_auth_lambda {
                    text.push_str(&format!("; Post Authentication: {arn}"));
                }
                text + ")"
            }
            PlanStep::AddCustomAttributes(names) => {
                format!("add custom attributes {}", names.join(", "))
            }
            PlanStep::SetTriggers => {
                let mut parts = Vec::new();
                if let Some(arn) = &b.pre_token_lambda {
                    parts.push(format!("Pre Token Generation V2_0: {arn}"));
                }
                if let Some(arn) = &b.post_auth_lambda {
                    parts.push(format!("Post Authentication: {arn}"));
                }
                format!("attach triggers ({})", parts.join("; "))
            }
            PlanStep::EnableTotpMfa => "set MFA optional with TOTP (software token)".to_owned(),
            PlanStep::CreateGroup(group) => format!("create group {group}"),
            PlanStep::CreateClient => format!(
                "create app client {} (no secret; SRP, refresh and admin password flows; token \
                 revocation on; access tokens {ACCESS_TOKEN_MINUTES} min; write attributes: {})",
                b.name,
                list_or_none(&b.write_attributes)
            ),
            PlanStep::UpdateClient => format!(
                "update app client {} (write attributes: {}; token revocation on; SRP, refresh \
                 and admin password flows added; access and id tokens at most \
                 {ACCESS_TOKEN_MINUTES} min; every other setting kept)",
                b.name,
                list_or_none(&b.write_attributes)
            ),
            PlanStep::CreateEnrollmentClient => format!(
                "create TOTP enrollment client {} (secret; only the admin password and refresh \
                 flows; no OAuth; token revocation on; access tokens \
                 {ENROLLMENT_TOKEN_MINUTES} min; write attributes: {})",
                b.enrollment_client.as_deref().unwrap_or_default(),
                list_or_none(&b.write_attributes)
            ),
            PlanStep::UpdateEnrollmentClient => format!(
                "update TOTP enrollment client {} (flows: only the admin password and refresh \
                 flows; OAuth off; token revocation on; access tokens \
                 {ENROLLMENT_TOKEN_MINUTES} min; write attributes: {}; every other setting \
                 and the secret kept)",
                b.enrollment_client.as_deref().unwrap_or_default(),
                list_or_none(&b.write_attributes)
            ),
            PlanStep::CreateAdminUser => {
                let admin = b.admin.as_ref().map_or("", |a| a.username.as_str());
                format!("create user {admin} (Cognito emails a temporary password)")
            }
            PlanStep::AddAdminToGroup => {
                let admin = b.admin.as_ref().map_or("", |a| a.username.as_str());
                format!("add user {admin} to group {}", b.admin_group())
            }
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// One line of a plan: a change, or a part already in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanItem {
    /// To do.
    Do(PlanStep),
    /// Already right; nothing to do.
    Keep(String),
}

/// The steps from what exists to the blueprint, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Changes and kept parts, in order.
    pub items: Vec<PlanItem>,
}

impl Plan {
    /// Compares `state` with `blueprint`. Pure: the same inputs give the same plan.
    pub fn new(blueprint: &Blueprint, state: &PoolState) -> Plan {
        let b = blueprint;
        let mut items = Vec::new();
        let keep = |items: &mut Vec<PlanItem>, text: String| items.push(PlanItem::Keep(text));
        let Some(existing) = &state.pool else {
            items.push(PlanItem::Do(PlanStep::CreatePool));
            items.push(PlanItem::Do(PlanStep::EnableTotpMfa));
            items.extend(
                b.groups()
                    .into_iter()
                    .map(|g| PlanItem::Do(PlanStep::CreateGroup(g.to_owned()))),
            );
            items.push(PlanItem::Do(PlanStep::CreateClient));
            if b.enrollment_client.is_some() {
                items.push(PlanItem::Do(PlanStep::CreateEnrollmentClient));
            }
            if b.admin.is_some() {
                items.push(PlanItem::Do(PlanStep::CreateAdminUser));
                items.push(PlanItem::Do(PlanStep::AddAdminToGroup));
            }
            return Plan { items };
        };
        keep(
            &mut items,
            format!("user pool {} exists: {}", b.name, existing.id()),
        );
        let schema: BTreeSet<&str> = existing
            .pool
            .schema_attributes()
            .iter()
            .filter_map(SchemaAttributeType::name)
            .collect();
        let missing: Vec<String> = b
            .custom_attributes
            .iter()
            .filter(|a| !schema.contains(a.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() {
            keep(&mut items, "custom attributes in place".to_owned());
        } else {
            items.push(PlanItem::Do(PlanStep::AddCustomAttributes(missing)));
        }
        if b.lambda_config(existing.pool.lambda_config()).is_some() {
            items.push(PlanItem::Do(PlanStep::SetTriggers));
        } else if b.pre_token_lambda.is_some() || b.post_auth_lambda.is_some() {
            keep(&mut items, "triggers attached".to_owned());
        }
        // UpdateUserPool (for the triggers) may reset MFA settings: set them after it.
        let mfa_on = matches!(
            existing.mfa,
            Some(UserPoolMfaType::Optional | UserPoolMfaType::On)
        );
        if mfa_on && existing.totp_enabled && !items.contains(&PlanItem::Do(PlanStep::SetTriggers))
        {
            keep(&mut items, "MFA with TOTP enabled".to_owned());
        } else {
            items.push(PlanItem::Do(PlanStep::EnableTotpMfa));
        }
        for group in b.groups() {
            if existing.groups.contains(group) {
                keep(&mut items, format!("group {group} exists"));
            } else {
                items.push(PlanItem::Do(PlanStep::CreateGroup(group.to_owned())));
            }
        }
        match &existing.client {
            None => items.push(PlanItem::Do(PlanStep::CreateClient)),
            Some(client) if b.client_is_right(client) => keep(
                &mut items,
                format!(
                    "app client {} exists: {}",
                    b.name,
                    client.client_id().unwrap_or_default()
                ),
            ),
            Some(_) => items.push(PlanItem::Do(PlanStep::UpdateClient)),
        }
        if let Some(name) = &b.enrollment_client {
            match &existing.enrollment_client {
                None => items.push(PlanItem::Do(PlanStep::CreateEnrollmentClient)),
                // Without a secret no update helps: the provisioner refuses this step.
                Some(client) if b.enrollment_client_is_right(client) && has_secret(client) => {
                    keep(
                        &mut items,
                        format!(
                            "TOTP enrollment client {name} exists: {}",
                            client.client_id().unwrap_or_default()
                        ),
                    );
                }
                Some(_) => items.push(PlanItem::Do(PlanStep::UpdateEnrollmentClient)),
            }
        }
        match existing.admin {
            AdminState::NotRequested => {}
            AdminState::Missing => {
                items.push(PlanItem::Do(PlanStep::CreateAdminUser));
                items.push(PlanItem::Do(PlanStep::AddAdminToGroup));
            }
            AdminState::Exists { in_group: false } => {
                items.push(PlanItem::Do(PlanStep::AddAdminToGroup));
            }
            AdminState::Exists { in_group: true } => {
                let admin = b.admin.as_ref().map_or("", |a| a.username.as_str());
                keep(
                    &mut items,
                    format!("user {admin} is in group {}", b.admin_group()),
                );
            }
        }
        Plan { items }
    }

    /// The plan as text, one line per item: `do: ...` for a change, `ok: ...` for a part
    /// already in place.
    pub fn lines(&self, blueprint: &Blueprint) -> Vec<String> {
        self.items
            .iter()
            .map(|item| match item {
                PlanItem::Do(step) => format!("do: {}", step.describe(blueprint)),
                PlanItem::Keep(text) => format!("ok: {text}"),
            })
            .collect()
    }

    /// True if the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.items.iter().all(|i| matches!(i, PlanItem::Keep(_)))
    }
}
