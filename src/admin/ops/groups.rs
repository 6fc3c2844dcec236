//! Groups: [`TenantAdmin::add_to_group`] and [`TenantAdmin::remove_from_group`].
//!
//! Rule: no one grants or takes away a role they lack. Adding a user to a group, removing a
//! user from one, and inviting a user into groups (`console`) are refused with 403
//! [`AdminError::Forbidden`] when the group maps (in the tenant's `[tenant.roles]`, or by its
//! own name when the tenant maps none) to a role the administrator does not hold themselves,
//! before Cognito is asked: an `admin` cannot make someone `superadmin` or `billing`, nor
//! demote a `superadmin` (removal is refused for symmetry: taking a role away is as much a
//! decision about that role as granting it). All three go through
//! `TenantAdmin::require_roles_of`. Attributes carry no roles here (roles come from groups
//! only, and from `client_roles` for machines), so attribute changes need no such check.

use super::{TenantAdmin, validate_name};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

impl TenantAdmin {
    /// Refuses with [`AdminError::Forbidden`] (naming the role) if any of `groups` maps to a
    /// role the caller does not hold: the one check behind every change of group membership.
    pub(super) fn require_roles_of<G: AsRef<str>>(&self, groups: &[G]) -> Result<(), AdminError> {
        let b = &self.binding;
        match b
            .tenant
            .roles_for_groups(groups)
            .into_iter()
            .find(|role| !b.actor.has_role(role))
        {
            Some(role) => Err(AdminError::Forbidden(role.to_string())),
            None => Ok(()),
        }
    }

    /// Adds a user to a group (`AdminAddUserToGroup`); refused with [`AdminError::Forbidden`]
    /// if the group maps to a role the caller lacks.
    pub async fn add_to_group(&self, username: &str, group: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::AddToGroup, username, None, async {
            validate_name("user name", username)?;
            validate_name("group name", group)?;
            self.require_roles_of(&[group])?;
            send!(
                b,
                b.client
                    .admin_add_user_to_group()
                    .user_pool_id(b.pool())
                    .username(username)
                    .group_name(group)
            )
            .map_err(|e| from_sdk(e, "AdminAddUserToGroup", CallKind::Group))?;
            Ok(())
        })
        .await
    }

    /// Removes a user from a group (`AdminRemoveUserFromGroup`). Refused with
    /// [`AdminError::Forbidden`] if the group maps to a role the caller lacks, and with
    /// [`AdminError::SelfLockout`] when the user is the caller and the group maps to the admin
    /// role in this tenant, whatever name (alias, other case) the caller used for themselves.
    ///
    /// A demotion takes effect at once: when the group maps to any role and the `CognitoAuth`
    /// has a [`Revocations`](crate::Revocations) list, the user's tokens issued until now are
    /// refused from now on (shared with every replica when the list is), exactly as after a
    /// sign-out, since they still carry the group. The user's next sign-in gets the new groups.
    pub async fn remove_from_group(&self, username: &str, group: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::RemoveFromGroup, username, None, async {
            validate_name("user name", username)?;
            validate_name("group name", group)?;
            self.require_roles_of(&[group])?;
            let roles = b.tenant.roles_for_groups(&[group]);
            let grants_admin = roles.iter().any(|role| **role == *self.admin_role);
            // The user (alias resolved, with `sub`) is needed to refuse their own demotion
            // and to revoke their tokens.
            let user = if grants_admin {
                Some(
                    self.not_self(
                        username,
                        "an administrator cannot remove their own admin group",
                    )
                    .await?,
                )
            } else if !roles.is_empty() && self.revocations.is_some() {
                Some(self.stored_user(username).await?)
            } else {
                None
            };
            let username = user.as_ref().map_or(username, |u| u.username.as_str());
            send!(
                b,
                b.client
                    .admin_remove_user_from_group()
                    .user_pool_id(b.pool())
                    .username(username)
                    .group_name(group)
            )
            .map_err(|e| from_sdk(e, "AdminRemoveUserFromGroup", CallKind::Group))?;
            match &user {
                Some(user) if !roles.is_empty() => {
                    self.revoke(user, "Cognito removed the user from the group")
                        .await
                }
                _ => Ok(()),
            }
        })
        .await
    }
}
