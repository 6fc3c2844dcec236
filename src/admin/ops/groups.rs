//! Groups: [`TenantAdmin::add_to_group`] and [`TenantAdmin::remove_from_group`].

use super::{TenantAdmin, validate_name};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

impl TenantAdmin {
    /// Adds a user to a group (`AdminAddUserToGroup`).
    pub async fn add_to_group(&self, username: &str, group: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::AddToGroup, username, None, async {
            validate_name("user name", username)?;
            validate_name("group name", group)?;
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
            let roles = b.tenant.roles_for_groups(&[group.to_owned()]);
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
