//! What an admin console needs beyond reading and changing users: invite
//! ([`TenantAdmin::create_user`]), delete ([`TenantAdmin::delete_user`]), force a new password
//! ([`TenantAdmin::reset_password`]) and list groups ([`TenantAdmin::user_groups`],
//! [`TenantAdmin::list_groups`]).
//!
//! Rules: an invitation may only name groups that exist, and only groups whose roles the
//! administrator holds themselves (else 403: no one grants a role they lack); deleting a user
//! revokes their tokens like a sign-out; an administrator cannot delete themselves (409).

use aws_sdk_cognitoidentityprovider::types::{AttributeType, DeliveryMediumType, GroupType};
use serde::{Deserialize, Serialize};

use super::users::listed_user;
use super::{TenantAdmin, User, validate_name};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

/// Cognito's quota of groups per user.
const MAX_GROUPS_PER_USER: usize = 100;
/// Pages of group listings read at most (60 groups each).
const MAX_GROUP_PAGES: usize = 200;

/// The body of `POST /admin/users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The user name.
    pub username: String,
    /// Where Cognito sends the invitation with the temporary password.
    pub email: String,
    /// Groups to add the user to; each must exist.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// `GET /admin/users/{username}/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UserGroups {
    /// The user's group names.
    pub groups: Vec<String>,
}

/// One group of the pool, with the roles it maps to in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupInfo {
    /// The group name.
    pub name: String,
    /// Cognito's description, if any.
    pub description: Option<String>,
    /// The tenant's roles its members get (`[tenant.roles]`, or the group's own name when
    /// the tenant maps none).
    pub roles: Vec<String>,
}

/// `GET /admin/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupList {
    /// The pool's groups.
    pub groups: Vec<GroupInfo>,
}

impl NewUser {
    fn validate(&self) -> Result<(), AdminError> {
        validate_name("user name", &self.username)?;
        let email_ok = self.email.chars().count() <= 2048
            && self
                .email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !self
                .email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !email_ok {
            return Err(AdminError::InvalidRequest(
                "`email` must be an email address".to_owned(),
            ));
        }
        if self.groups.len() > MAX_GROUPS_PER_USER {
            return Err(AdminError::InvalidRequest(format!(
                "at most {MAX_GROUPS_PER_USER} groups"
            )));
        }
        for group in &self.groups {
            validate_name("group name", group)?;
        }
        Ok(())
    }
}

fn group_names(groups: &[GroupType]) -> impl Iterator<Item = String> + '_ {
    groups
        .iter()
        .filter_map(|g| g.group_name().map(str::to_owned))
}

impl TenantAdmin {
    /// Invites a user (`AdminCreateUser`: Cognito emails a temporary password; the address is
    /// marked verified, the invitation proving it on first sign-in) and adds them to `groups`
    /// (`AdminAddUserToGroup`). Every group must exist (404 otherwise) and map only to roles
    /// the caller holds (403 otherwise), both checked before the user is created; if adding a
    /// group fails afterwards, the new user is deleted again.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, AdminError> {
        let b = &self.binding;
        b.audited(Action::CreateUser, &new.username, None, async {
            new.validate()?;
            let mut groups = new.groups.clone();
            groups.sort();
            groups.dedup();
            self.require_roles_of(&groups)?;
            for group in &groups {
                send!(
                    b,
                    b.client
                        .get_group()
                        .user_pool_id(b.pool())
                        .group_name(group)
                )
                .map_err(|e| from_sdk(e, "GetGroup", CallKind::Group))?;
            }
            let email = |name: &str, value: &str| {
                AttributeType::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| AdminError::InvalidRequest(e.to_string()))
            };
            let out = send!(
                b,
                b.client
                    .admin_create_user()
                    .user_pool_id(b.pool())
                    .username(&new.username)
                    .user_attributes(email("email", &new.email)?)
                    .user_attributes(email("email_verified", "true")?)
                    .desired_delivery_mediums(DeliveryMediumType::Email)
            )
            .map_err(|e| from_sdk(e, "AdminCreateUser", CallKind::Other))?;
            let user = out.user().map(listed_user).ok_or(AdminError::Upstream {
                code: "AdminCreateUser answered no user".to_owned(),
            })?;
            for group in &groups {
                let added = send!(
                    b,
                    b.client
                        .admin_add_user_to_group()
                        .user_pool_id(b.pool())
                        .username(&user.username)
                        .group_name(group)
                )
                .map_err(|e| from_sdk(e, "AdminAddUserToGroup", CallKind::Group));
                if let Err(err) = added {
                    // Best effort: a half-made invitation is worse than none.
                    let _ = send!(
                        b,
                        b.client
                            .admin_delete_user()
                            .user_pool_id(b.pool())
                            .username(&user.username)
                    );
                    return Err(err);
                }
            }
            Ok(user)
        })
        .await
    }

    /// Deletes a user (`AdminDeleteUser`); refused with [`AdminError::SelfLockout`] on the
    /// caller. With a revocation list their tokens are refused from now on (shared when the
    /// list is), as after a sign-out.
    pub async fn delete_user(&self, username: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::DeleteUser, username, None, async {
            validate_name("user name", username)?;
            let user = self
                .not_self(username, "an administrator cannot delete themselves")
                .await?;
            send!(
                b,
                b.client
                    .admin_delete_user()
                    .user_pool_id(b.pool())
                    .username(&user.username)
            )
            .map_err(|e| from_sdk(e, "AdminDeleteUser", CallKind::Other))?;
            self.revoke(&user, "Cognito deleted the user").await
        })
        .await
    }

    /// Makes the user choose a new password at their next sign-in (`AdminResetUserPassword`;
    /// Cognito sends them a code).
    pub async fn reset_password(&self, username: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::ResetPassword, username, None, async {
            validate_name("user name", username)?;
            send!(
                b,
                b.client
                    .admin_reset_user_password()
                    .user_pool_id(b.pool())
                    .username(username)
            )
            .map_err(|e| from_sdk(e, "AdminResetUserPassword", CallKind::Other))?;
            Ok(())
        })
        .await
    }

    /// The user's groups (`AdminListGroupsForUser`).
    pub async fn user_groups(&self, username: &str) -> Result<UserGroups, AdminError> {
        let b = &self.binding;
        b.audited(Action::ListUserGroups, username, None, async {
            validate_name("user name", username)?;
            let mut groups = Vec::new();
            let mut token = None;
            for _ in 0..MAX_GROUP_PAGES {
                let out = send!(
                    b,
                    b.client
                        .admin_list_groups_for_user()
                        .user_pool_id(b.pool())
                        .username(username)
                        .limit(60)
                        .set_next_token(token.take())
                )
                .map_err(|e| from_sdk(e, "AdminListGroupsForUser", CallKind::Other))?;
                groups.extend(group_names(out.groups()));
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            Ok(UserGroups { groups })
        })
        .await
    }

    /// The pool's groups with the roles each maps to (`ListGroups`).
    pub async fn list_groups(&self) -> Result<GroupList, AdminError> {
        let b = &self.binding;
        b.audited(Action::ListGroups, "*", None, async {
            let mut groups = Vec::new();
            let mut token = None;
            for _ in 0..MAX_GROUP_PAGES {
                let out = send!(
                    b,
                    b.client
                        .list_groups()
                        .user_pool_id(b.pool())
                        .limit(60)
                        .set_next_token(token.take())
                )
                .map_err(|e| from_sdk(e, "ListGroups", CallKind::Other))?;
                groups.extend(out.groups().iter().filter_map(|g| {
                    let name = g.group_name()?.to_owned();
                    let roles = b
                        .tenant
                        .roles_for_groups(std::slice::from_ref(&name))
                        .iter()
                        .map(|r| r.to_string())
                        .collect();
                    Some(GroupInfo {
                        description: g.description().filter(|d| !d.is_empty()).map(str::to_owned),
                        name,
                        roles,
                    })
                }));
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            Ok(GroupList { groups })
        })
        .await
    }
}
