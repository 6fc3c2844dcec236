//! [`TenantAdmin`] and [`SelfService`]: Cognito operations bound to the caller's own pool, one
//! file per concern: reading users (`users`), MFA (`mfa`), attributes and self-service
//! (`attributes`), groups (`groups`), account state: disable, enable, sign out (`account`),
//! the admin console's invite, delete, reset and group listings (`console`), and the caller's
//! own account: reads, sign-out, devices (`me`) and password changes (`password`), and TOTP
//! enrollment for users without the self-service scope (`totp`, state in `totp_state`).

use std::future::Future;
use std::sync::Arc;

use aws_sdk_cognitoidentityprovider::config::Region;
use aws_sdk_cognitoidentityprovider::types::AttributeType;

use super::audit::{Action, Event, Pending};
use super::error::{CallKind, from_sdk};
use super::{AdminError, CognitoClient};
use crate::aws::{pool_region_override, send_to_pool};
use crate::principal::Principal;
use crate::revocation::Revocations;
use crate::tenant::Tenant;

/// Sends a fluent operation on the binding's pool, in the pool's region.
macro_rules! send {
    ($binding:expr, $operation:expr) => {
        send_to_pool!(&$binding.region, $operation)
    };
}

mod account;
mod attributes;
mod console;
mod groups;
mod me;
mod mfa;
mod password;
mod password_guard;
mod totp;
mod totp_bodies;
mod totp_state;
mod totp_window;
mod users;

pub(crate) use attributes::SelfServiceRules;
pub use attributes::{ALWAYS_PROTECTED, DEFAULT_SELF_SERVICE_ATTRIBUTES, SelfService};
pub use console::{GroupInfo, GroupList, NewUser, UserGroups};
pub use me::{Device, DeviceList, OwnAttributes, OwnMfa};
pub use mfa::{MfaPreference, MfaSetting};
pub use password::PasswordChange;
pub(crate) use password_guard::PasswordGuard;
pub use password_guard::{DEFAULT_MAX_PASSWORD_ATTEMPTS, DEFAULT_PASSWORD_ATTEMPT_WINDOW};
pub use totp_bodies::{
    EnrollmentWindow, EnrollmentWindowRequest, TotpEnrollmentStart, TotpSecret, TotpVerification,
};
pub(crate) use totp_state::TotpEnrollment;
pub use users::{ListUsersQuery, MfaStatus, User, UserPage};

/// Cognito's pattern for user and group names: 1 to 128 letters, marks, symbols, numbers or
/// punctuation (no spaces, no control characters).
fn validate_name(kind: &str, value: &str) -> Result<(), AdminError> {
    let chars = value.chars().count();
    if chars == 0 || chars > 128 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdminError::InvalidRequest(format!(
            "{kind} must be 1 to 128 characters without spaces or control characters"
        )));
    }
    Ok(())
}

/// The pool, the client and the verified caller every operation is bound to.
#[derive(Clone)]
struct Binding {
    client: CognitoClient,
    tenant: Arc<Tenant>,
    actor: Principal,
    /// Set when the tenant's pool is in another region than the client's default.
    region: Option<Region>,
}

impl Binding {
    fn new(client: CognitoClient, tenant: Arc<Tenant>, actor: Principal) -> Self {
        let region = pool_region_override(&client, &tenant);
        Binding {
            client,
            tenant,
            actor,
            region,
        }
    }

    fn pool(&self) -> &str {
        self.tenant.user_pool_id()
    }

    async fn audited<T>(
        &self,
        action: Action,
        target: &str,
        attributes: Option<&str>,
        operation: impl Future<Output = Result<T, AdminError>>,
    ) -> Result<T, AdminError> {
        let pending = Pending::new(
            Event::new(action, Some(&self.actor), Some(target)).attributes(attributes),
        );
        let result = operation.await;
        pending.finish(&result);
        result
    }
}

/// Cognito admin operations on the caller's own tenant's user pool.
///
/// Obtained from a verified [`Principal`] with the admin role
/// ([`AdminApi::tenant_admin`](super::AdminApi::tenant_admin) or
/// [`TenantAdmin::for_principal`]): the pool is the one of the tenant that issued the
/// principal's token, never a value from the request, so a user of another tenant is simply
/// "not found". Every call emits one audit event (target `cognito_authz::audit`: actor, tenant,
/// target, action, outcome; attribute names but never values).
///
/// ```no_run
/// # async fn run(auth: cognito_authz::CognitoAuth, principal: cognito_authz::Principal)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// use cognito_authz::admin::{MfaPreference, MfaSetting, TenantAdmin};
/// use cognito_authz::aws::cognito_client;
///
/// let client = cognito_client(&Default::default()).await;
/// let admin = TenantAdmin::for_principal(&auth, client, &principal)?;
/// admin
///     .set_mfa_preference("bob", &MfaPreference { sms: Some(MfaSetting::Preferred), ..Default::default() })
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TenantAdmin {
    binding: Binding,
    admin_role: Arc<str>,
    /// The `CognitoAuth`'s revocation list: sign-outs and disables are recorded in it.
    revocations: Option<Revocations>,
    /// TOTP enrollment settings: the window attribute and the tenants' enrollment clients.
    enrollment: TotpEnrollment,
}

impl std::fmt::Debug for TenantAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantAdmin")
            .field("tenant", &self.binding.tenant.id())
            .field("user_pool_id", &self.binding.pool())
            .field("actor", &self.binding.actor.username())
            .finish_non_exhaustive()
    }
}

impl TenantAdmin {
    pub(crate) fn new(
        client: CognitoClient,
        tenant: Arc<Tenant>,
        actor: Principal,
        admin_role: Arc<str>,
        revocations: Option<Revocations>,
        enrollment: TotpEnrollment,
    ) -> Self {
        TenantAdmin {
            binding: Binding::new(client, tenant, actor),
            admin_role,
            revocations,
            enrollment,
        }
    }

    /// The admin operations of `principal`'s tenant: role
    /// [`DEFAULT_ADMIN_ROLE`](super::DEFAULT_ADMIN_ROLE) required ([`AdminError::Forbidden`]),
    /// registry tenants only ([`AdminError::UnknownTenant`]), as
    /// [`AdminApi::new`](super::AdminApi::new) would give them. Keep an
    /// [`AdminApi`](super::AdminApi) instead to change the role or add a
    /// [`TenantLookup`](super::TenantLookup).
    pub fn for_principal(
        auth: &crate::CognitoAuth,
        client: CognitoClient,
        principal: &Principal,
    ) -> Result<Self, AdminError> {
        super::AdminApi::new(auth.clone(), client).registry_tenant_admin(principal)
    }

    /// The tenant whose pool every call acts on.
    pub fn tenant(&self) -> &Tenant {
        &self.binding.tenant
    }

    /// The administrator on whose behalf calls are made.
    pub fn actor(&self) -> &Principal {
        &self.binding.actor
    }

    /// Resolves `username` (which may be an alias) to the stored user name and `sub`.
    async fn stored_user(&self, username: &str) -> Result<StoredUser, AdminError> {
        let b = &self.binding;
        let out = send!(
            b,
            b.client
                .admin_get_user()
                .user_pool_id(b.pool())
                .username(username)
        )
        .map_err(|e| from_sdk(e, "AdminGetUser", CallKind::Other))?;
        let sub = out
            .user_attributes()
            .iter()
            .find(|a| a.name() == "sub")
            .and_then(AttributeType::value);
        Ok(StoredUser {
            username: out.username().to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// [`stored_user`](Self::stored_user), refused if that is the caller: the following call
    /// acts on exactly the user that was checked.
    async fn not_self(&self, username: &str, why: &'static str) -> Result<StoredUser, AdminError> {
        let user = self.stored_user(username).await?;
        let actor = &self.binding.actor;
        if user.username == actor.username() || user.sub.as_deref() == Some(actor.subject()) {
            return Err(AdminError::SelfLockout(why));
        }
        Ok(user)
    }
}

/// A user as Cognito stores them: the user name (an alias resolved) and `sub`.
struct StoredUser {
    username: String,
    sub: Option<String>,
}
