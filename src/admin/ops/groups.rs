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
    pub async fn remove_from_group(&self, username: &str, group: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::RemoveFromGroup, username, None, async {
            validate_name("user name", username)?;
            validate_name("group name", group)?;
            let grants_admin = b
                .tenant
                .roles_for_groups(&[group.to_owned()])
                .iter()
                .any(|role| **role == *self.admin_role);
            let username = if grants_admin {
                self.not_self(
                    username,
                    "an administrator cannot remove their own admin group",
                )
                .await?
                .username
            } else {
                username.to_owned()
            };
            send!(
                b,
                b.client
                    .admin_remove_user_from_group()
                    .user_pool_id(b.pool())
                    .username(username)
                    .group_name(group)
            )
            .map_err(|e| from_sdk(e, "AdminRemoveUserFromGroup", CallKind::Group))?;
            Ok(())
        })
        .await
    }
}
