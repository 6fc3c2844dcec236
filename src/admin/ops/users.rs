//! Reading users: [`TenantAdmin::get_user`] and [`TenantAdmin::list_users`].

use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cognitoidentityprovider::types::{AttributeType, UserType};
use serde::Serialize;

use super::{TenantAdmin, validate_name};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

/// A user as seen by an administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct User {
    /// The user name (Cognito's `Username`).
    pub username: String,
    /// Whether the user is enabled.
    pub enabled: bool,
    /// Cognito's user status (`CONFIRMED`, `FORCE_CHANGE_PASSWORD`, ...).
    pub status: Option<String>,
    /// All attributes, by name.
    pub attributes: BTreeMap<String, String>,
    /// MFA settings; present for a single user, absent in lists (Cognito does not list them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaStatus>,
    /// Creation time, RFC 3339.
    pub created_at: Option<String>,
    /// Last modification time, RFC 3339.
    pub modified_at: Option<String>,
}

/// A user's MFA settings, from `AdminGetUser`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MfaStatus {
    /// Enabled factors (`SMS_MFA`, `SOFTWARE_TOKEN_MFA`, `EMAIL_OTP`).
    pub enabled: Vec<String>,
    /// The preferred factor, if any.
    pub preferred: Option<String>,
}

/// One page of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UserPage {
    /// The users of this page.
    pub users: Vec<User>,
    /// Pass this back as [`ListUsersQuery::pagination_token`] for the next page.
    pub pagination_token: Option<String>,
}

/// Parameters of [`TenantAdmin::list_users`]; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUsersQuery {
    /// Page size, 1 to 60 (Cognito's maximum; its default is 60).
    pub limit: Option<i32>,
    /// The token of the previous page.
    pub pagination_token: Option<String>,
    /// A Cognito `ListUsers` filter, for example `email ^= "ann"`. The pool is always the
    /// caller's; a filter cannot widen that.
    pub filter: Option<String>,
}

pub(super) fn date(value: Option<&DateTime>) -> Option<String> {
    value.and_then(|d| d.fmt(DateTimeFormat::DateTime).ok())
}

pub(super) fn attribute_map(attributes: &[AttributeType]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|a| {
            (
                a.name().to_owned(),
                a.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A user as `ListUsers` and `AdminCreateUser` give them (no MFA settings).
pub(super) fn listed_user(u: &UserType) -> User {
    User {
        username: u.username().unwrap_or_default().to_owned(),
        enabled: u.enabled(),
        status: u.user_status().map(|s| s.as_str().to_owned()),
        attributes: attribute_map(u.attributes()),
        mfa: None,
        created_at: date(u.user_create_date()),
        modified_at: date(u.user_last_modified_date()),
    }
}

impl TenantAdmin {
    /// Reads a user, with MFA settings (`AdminGetUser`).
    pub async fn get_user(&self, username: &str) -> Result<User, AdminError> {
        let b = &self.binding;
        b.audited(Action::GetUser, username, None, async {
            validate_name("user name", username)?;
            let out = send!(
                b,
                b.client
                    .admin_get_user()
                    .user_pool_id(b.pool())
                    .username(username)
            )
            .map_err(|e| from_sdk(e, "AdminGetUser", CallKind::Other))?;
            Ok(User {
                username: out.username().to_owned(),
                enabled: out.enabled(),
                status: out.user_status().map(|s| s.as_str().to_owned()),
                attributes: attribute_map(out.user_attributes()),
                mfa: Some(MfaStatus {
                    enabled: out.user_mfa_setting_list().to_vec(),
                    preferred: out
                        .preferred_mfa_setting()
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned),
                }),
                created_at: date(out.user_create_date()),
                modified_at: date(out.user_last_modified_date()),
            })
        })
        .await
    }

    /// Lists the pool's users, one page at a time (`ListUsers`).
    pub async fn list_users(&self, query: &ListUsersQuery) -> Result<UserPage, AdminError> {
        let b = &self.binding;
        b.audited(Action::ListUsers, "*", None, async {
            if query.limit.is_some_and(|l| !(1..=60).contains(&l)) {
                return Err(AdminError::InvalidRequest(
                    "`limit` must be between 1 and 60".to_owned(),
                ));
            }
            if query
                .filter
                .as_ref()
                .is_some_and(|f| f.chars().count() > 256)
            {
                return Err(AdminError::InvalidRequest(
                    "`filter` is longer than 256 characters".to_owned(),
                ));
            }
            let out = send!(
                b,
                b.client
                    .list_users()
                    .user_pool_id(b.pool())
                    .set_limit(query.limit)
                    .set_pagination_token(query.pagination_token.clone())
                    .set_filter(query.filter.clone())
            )
            .map_err(|e| from_sdk(e, "ListUsers", CallKind::Other))?;
            Ok(UserPage {
                users: out.users().iter().map(listed_user).collect(),
                pagination_token: out.pagination_token().map(str::to_owned),
            })
        })
        .await
    }
}
