//! Account state: [`TenantAdmin::disable_user`], [`TenantAdmin::enable_user`] and
//! [`TenantAdmin::global_sign_out`], recorded in the revocation list when there is one.

use super::{StoredUser, TenantAdmin, validate_name};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

impl TenantAdmin {
    /// Disables a user (`AdminDisableUser`); refused with [`AdminError::SelfLockout`] on the
    /// caller themselves. With a revocation list, the user's tokens are refused from now on.
    pub async fn disable_user(&self, username: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::DisableUser, username, None, async {
            validate_name("user name", username)?;
            let user = self
                .not_self(username, "an administrator cannot disable themselves")
                .await?;
            send!(
                b,
                b.client
                    .admin_disable_user()
                    .user_pool_id(b.pool())
                    .username(&user.username)
            )
            .map_err(|e| from_sdk(e, "AdminDisableUser", CallKind::Other))?;
            self.revoke(&user, "Cognito disabled the user").await
        })
        .await
    }

    /// Enables a user (`AdminEnableUser`).
    pub async fn enable_user(&self, username: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::EnableUser, username, None, async {
            validate_name("user name", username)?;
            send!(
                b,
                b.client
                    .admin_enable_user()
                    .user_pool_id(b.pool())
                    .username(username)
            )
            .map_err(|e| from_sdk(e, "AdminEnableUser", CallKind::Other))?;
            Ok(())
        })
        .await
    }

    /// Signs a user out of every session (`AdminUserGlobalSignOut`): Cognito then refuses
    /// their refresh tokens and their access tokens on its own APIs. Access tokens verified
    /// locally stay valid until they expire, unless the `CognitoAuth` has a
    /// [`Revocations`](crate::Revocations) list: then the user's tokens issued until now are
    /// refused from now on (the user is looked up first, for their `sub`).
    pub async fn global_sign_out(&self, username: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::GlobalSignOut, username, None, async {
            validate_name("user name", username)?;
            let user = match self.revocations {
                Some(_) => Some(self.stored_user(username).await?),
                None => None,
            };
            send!(
                b,
                b.client
                    .admin_user_global_sign_out()
                    .user_pool_id(b.pool())
                    .username(user.as_ref().map_or(username, |u| u.username.as_str()))
            )
            .map_err(|e| from_sdk(e, "AdminUserGlobalSignOut", CallKind::Other))?;
            match &user {
                Some(user) => self.revoke(user, "Cognito signed the user out").await,
                None => Ok(()),
            }
        })
        .await
    }

    /// Records `user` in the revocation list, if there is one, after Cognito's own action
    /// (`done`) succeeded: this replica refuses the user's tokens at once; a shared list is
    /// then written to its store, and if that fails the caller learns that Cognito's part was
    /// done but the other replicas may not know (503, retry: both steps are idempotent).
    pub(super) async fn revoke(
        &self,
        user: &StoredUser,
        done: &'static str,
    ) -> Result<(), AdminError> {
        let (Some(revocations), Some(sub)) = (&self.revocations, &user.sub) else {
            return Ok(());
        };
        revocations
            .revoke_user_shared(self.binding.tenant.id(), sub)
            .await
            .map_err(|_| AdminError::RevocationNotShared(done))
    }
}
