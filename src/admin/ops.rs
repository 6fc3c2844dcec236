//! [`TenantAdmin`] and [`SelfService`]: Cognito operations bound to the caller's own pool.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use aws_sdk_cognitoidentityprovider::config::Region;
use aws_sdk_cognitoidentityprovider::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, EmailMfaSettingsType, SmsMfaSettingsType, SoftwareTokenMfaSettingsType,
};
use serde::{Deserialize, Serialize};

use super::audit::{Action, Event, Pending};
use super::error::{CallKind, from_sdk};
use super::{AdminError, CognitoClient};
use crate::aws::{DEFAULT_MFA_REQUIRED_ATTRIBUTE, pool_region_override, send_to_pool};
use crate::principal::Principal;
use crate::revocation::Revocations;
use crate::tenant::Tenant;

/// Sends a fluent operation on the binding's pool, in the pool's region.
macro_rules! send {
    ($binding:expr, $operation:expr) => {
        send_to_pool!(&$binding.region, $operation)
    };
}

/// Attributes no self-service request may set, whatever the tenant's configuration: setting
/// them with the server's admin credentials would mark an unverified address as verified.
/// The MFA requirement attribute
/// ([`AdminApi::mfa_required_attribute`](super::AdminApi::mfa_required_attribute)) and every
/// developer-only attribute (`dev:` prefix) are refused too.
pub const ALWAYS_PROTECTED: &[&str] = &["email_verified", "phone_number_verified"];

/// The attributes `PATCH /me/attributes` may change when
/// [`AdminApi::self_service_attributes`](super::AdminApi::self_service_attributes) is not set:
/// the standard OpenID Connect profile attributes. No `custom:` attribute, and neither `email`
/// nor `phone_number`, is among them.
pub const DEFAULT_SELF_SERVICE_ATTRIBUTES: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "locale",
    "zoneinfo",
    "picture",
    "website",
    "profile",
    "gender",
    "birthdate",
];

/// The prefix of developer-only attributes (`dev:custom:...`), which Cognito lets only admin
/// credentials write.
const DEVELOPER_ONLY_PREFIX: &str = "dev:";

/// Most attributes accepted in one update.
const MAX_ATTRIBUTES: usize = 50;

/// One MFA factor's setting in [`MfaPreference`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaSetting {
    /// The factor is disabled (and not preferred).
    Off,
    /// The factor is enabled, not preferred.
    Enabled,
    /// The factor is enabled and preferred. At most one factor may be preferred.
    Preferred,
}

impl MfaSetting {
    fn enabled(self) -> bool {
        self != MfaSetting::Off
    }

    fn preferred(self) -> bool {
        self == MfaSetting::Preferred
    }
}

/// A user's MFA preference, as set by `AdminSetUserMFAPreference`. A factor left `None` is
/// not changed. JSON: `{"sms": "off" | "enabled" | "preferred", "totp": ..., "email": ...}`.
///
/// ```
/// use cognito_authz::admin::{MfaPreference, MfaSetting};
///
/// let preference = MfaPreference { sms: Some(MfaSetting::Preferred), ..Default::default() };
/// assert!(preference.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaPreference {
    /// SMS text message MFA (the user needs a `phone_number`).
    #[serde(default)]
    pub sms: Option<MfaSetting>,
    /// Authenticator app (TOTP) MFA; Cognito accepts `enabled`/`preferred` only once the user
    /// has verified a software token.
    #[serde(default)]
    pub totp: Option<MfaSetting>,
    /// Email MFA (Essentials or Plus feature plan, with SES configured).
    #[serde(default)]
    pub email: Option<MfaSetting>,
}

impl MfaPreference {
    /// Checks that at least one factor is given and at most one is preferred.
    pub fn validate(&self) -> Result<(), AdminError> {
        let factors = [self.sms, self.totp, self.email];
        if factors.iter().all(Option::is_none) {
            return Err(AdminError::InvalidRequest(
                "give at least one of `sms`, `totp`, `email`".to_owned(),
            ));
        }
        if factors.iter().flatten().filter(|s| s.preferred()).count() > 1 {
            return Err(AdminError::InvalidRequest(
                "at most one MFA factor can be `preferred`".to_owned(),
            ));
        }
        Ok(())
    }
}

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

fn date(value: Option<&DateTime>) -> Option<String> {
    value.and_then(|d| d.fmt(DateTimeFormat::DateTime).ok())
}

fn attribute_map(attributes: &[AttributeType]) -> BTreeMap<String, String> {
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

/// Attribute names are 1 to 32 characters (`custom:` included); values at most 2048.
fn to_attribute_types(
    attributes: &BTreeMap<String, String>,
) -> Result<Vec<AttributeType>, AdminError> {
    if attributes.is_empty() {
        return Err(AdminError::InvalidRequest(
            "`attributes` must name at least one attribute".to_owned(),
        ));
    }
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(AdminError::InvalidRequest(format!(
            "at most {MAX_ATTRIBUTES} attributes per request"
        )));
    }
    attributes
        .iter()
        .map(|(name, value)| {
            let name_chars = name.chars().count();
            if name_chars == 0
                || name_chars > 32
                || name.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(AdminError::InvalidRequest(
                    "attribute names must be 1 to 32 characters without spaces".to_owned(),
                ));
            }
            // The value is deliberately left out of the message: it may be a protected one.
            if value.chars().count() > 2048 {
                return Err(AdminError::InvalidRequest(format!(
                    "value of attribute `{name}` is longer than 2048 characters"
                )));
            }
            AttributeType::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| AdminError::InvalidRequest(e.to_string()))
        })
        .collect()
}

fn attribute_names(attributes: &BTreeMap<String, String>) -> String {
    let names: Vec<&str> = attributes.keys().map(String::as_str).collect();
    names.join(",")
}

/// Protected for self-service: the tenant's list (compared ignoring ASCII case, so that a
/// differently cased name cannot slip through) plus [`ALWAYS_PROTECTED`].
fn is_protected(tenant: &Tenant, name: &str) -> bool {
    tenant
        .protected_attributes()
        .iter()
        .map(String::as_str)
        .chain(ALWAYS_PROTECTED.iter().copied())
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// What a user may change on their own account: an allowlist, minus everything protected.
#[derive(Debug, Clone)]
pub(crate) struct SelfServiceRules {
    /// The only attributes a user may change (exact names).
    allowed: Arc<[String]>,
    /// The Post Authentication trigger's MFA requirement attribute: never self-service.
    mfa_required_attribute: Arc<str>,
}

impl Default for SelfServiceRules {
    fn default() -> Self {
        SelfServiceRules {
            allowed: DEFAULT_SELF_SERVICE_ATTRIBUTES
                .iter()
                .map(|&a| a.to_owned())
                .collect(),
            mfa_required_attribute: Arc::from(DEFAULT_MFA_REQUIRED_ATTRIBUTE),
        }
    }
}

impl SelfServiceRules {
    pub(crate) fn allow<I, S>(&mut self, attributes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed = attributes.into_iter().map(Into::into).collect();
    }

    pub(crate) fn mfa_required_attribute(&mut self, attribute: String) {
        self.mfa_required_attribute = Arc::from(attribute);
    }

    /// True if a user of `tenant` may change `name` on their own account: it is allowlisted
    /// (exactly) and not protected in any way (protection ignores ASCII case and always wins).
    fn permits(&self, tenant: &Tenant, name: &str) -> bool {
        let developer_only = name
            .get(..DEVELOPER_ONLY_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(DEVELOPER_ONLY_PREFIX));
        !developer_only
            && !is_protected(tenant, name)
            && !self.mfa_required_attribute.eq_ignore_ascii_case(name)
            && self.allowed.iter().any(|a| a == name)
    }
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

    async fn update_attributes(
        &self,
        username: &str,
        attributes: Vec<AttributeType>,
    ) -> Result<(), AdminError> {
        send!(
            self,
            self.client
                .admin_update_user_attributes()
                .user_pool_id(self.pool())
                .username(username)
                .set_user_attributes(Some(attributes))
        )
        .map_err(|e| from_sdk(e, "AdminUpdateUserAttributes", CallKind::Other))?;
        Ok(())
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
    ) -> Self {
        TenantAdmin {
            binding: Binding::new(client, tenant, actor),
            admin_role,
            revocations,
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

    /// Sets another user's MFA preference (`AdminSetUserMFAPreference`).
    pub async fn set_mfa_preference(
        &self,
        username: &str,
        preference: &MfaPreference,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::SetMfaPreference, username, None, async {
            validate_name("user name", username)?;
            preference.validate()?;
            let operation = b
                .client
                .admin_set_user_mfa_preference()
                .user_pool_id(b.pool())
                .username(username)
                .set_sms_mfa_settings(preference.sms.map(|s| {
                    SmsMfaSettingsType::builder()
                        .enabled(s.enabled())
                        .preferred_mfa(s.preferred())
                        .build()
                }))
                .set_software_token_mfa_settings(preference.totp.map(|s| {
                    SoftwareTokenMfaSettingsType::builder()
                        .enabled(s.enabled())
                        .preferred_mfa(s.preferred())
                        .build()
                }))
                .set_email_mfa_settings(preference.email.map(|s| {
                    EmailMfaSettingsType::builder()
                        .enabled(s.enabled())
                        .preferred_mfa(s.preferred())
                        .build()
                }));
            send!(b, operation)
                .map_err(|e| from_sdk(e, "AdminSetUserMFAPreference", CallKind::Other))?;
            Ok(())
        })
        .await
    }

    /// Updates a user's attributes, admin-only (protected) ones included
    /// (`AdminUpdateUserAttributes`).
    pub async fn update_attributes(
        &self,
        username: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        let names = attribute_names(attributes);
        b.audited(Action::UpdateAttributes, username, Some(&names), async {
            validate_name("user name", username)?;
            let attributes = to_attribute_types(attributes)?;
            b.update_attributes(username, attributes).await
        })
        .await
    }

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
                users: out
                    .users()
                    .iter()
                    .map(|u| User {
                        username: u.username().unwrap_or_default().to_owned(),
                        enabled: u.enabled(),
                        status: u.user_status().map(|s| s.as_str().to_owned()),
                        attributes: attribute_map(u.attributes()),
                        mfa: None,
                        created_at: date(u.user_create_date()),
                        modified_at: date(u.user_last_modified_date()),
                    })
                    .collect(),
                pagination_token: out.pagination_token().map(str::to_owned),
            })
        })
        .await
    }

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
    /// [`Revocations`] list: then the user's tokens issued until now are refused from now on
    /// (the user is looked up first, for their `sub`).
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
    async fn revoke(&self, user: &StoredUser, done: &'static str) -> Result<(), AdminError> {
        let (Some(revocations), Some(sub)) = (&self.revocations, &user.sub) else {
            return Ok(());
        };
        revocations
            .revoke_user_shared(self.binding.tenant.id(), sub)
            .await
            .map_err(|_| AdminError::RevocationNotShared(done))
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

/// What a signed-in user may do to their own account through the server: change the
/// attributes allowed for self-service. The server calls `AdminUpdateUserAttributes` with its
/// own credentials for the user name in the verified token, never one from the request.
///
/// Admin credentials bypass the app client's write permissions, so the server decides alone
/// what a user may write. An attribute may be changed only if it is
/// - in the allowlist ([`AdminApi::self_service_attributes`](super::AdminApi::self_service_attributes),
///   default [`DEFAULT_SELF_SERVICE_ATTRIBUTES`]: no `custom:` attribute), compared exactly, and
/// - not protected: not one of the tenant's `protected_attributes`, not in
///   [`ALWAYS_PROTECTED`], not the MFA requirement attribute
///   ([`AdminApi::mfa_required_attribute`](super::AdminApi::mfa_required_attribute), default
///   `custom:mfa_required`), and not developer-only (`dev:` prefix), all compared ignoring
///   ASCII case. Protection wins over the allowlist.
#[derive(Clone)]
pub struct SelfService {
    binding: Binding,
    rules: SelfServiceRules,
}

impl std::fmt::Debug for SelfService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfService")
            .field("tenant", &self.binding.tenant.id())
            .field("user", &self.binding.actor.username())
            .finish_non_exhaustive()
    }
}

impl SelfService {
    pub(crate) fn new(
        client: CognitoClient,
        tenant: Arc<Tenant>,
        actor: Principal,
        rules: SelfServiceRules,
    ) -> Self {
        SelfService {
            binding: Binding::new(client, tenant, actor),
            rules,
        }
    }

    /// The user whose account this changes.
    pub fn username(&self) -> &str {
        self.binding.actor.username()
    }

    /// True if the caller may change `attribute` on their own account (see the type's docs).
    pub fn may_change(&self, attribute: &str) -> bool {
        self.rules.permits(&self.binding.tenant, attribute)
    }

    /// Changes the caller's own attributes. If any of them may not be changed by the user
    /// (see [`may_change`](Self::may_change): not allowlisted, protected, the MFA requirement
    /// attribute or developer-only), nothing is changed and
    /// [`AdminError::ProtectedAttribute`] names the first such attribute.
    pub async fn update_attributes(
        &self,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        let names = attribute_names(attributes);
        let username = b.actor.username();
        b.audited(Action::UpdateOwnAttributes, username, Some(&names), async {
            if let Some(name) = attributes.keys().find(|name| !self.may_change(name)) {
                return Err(AdminError::ProtectedAttribute(name.clone()));
            }
            let attributes = to_attribute_types(attributes)?;
            b.update_attributes(username, attributes).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_preference_json_and_validation() {
        let p: MfaPreference = serde_json::from_str(r#"{"sms":"preferred","totp":"off"}"#).unwrap();
        assert_eq!(p.sms, Some(MfaSetting::Preferred));
        assert_eq!(p.totp, Some(MfaSetting::Off));
        assert!(p.validate().is_ok());
        let both: MfaPreference =
            serde_json::from_str(r#"{"sms":"preferred","totp":"preferred"}"#).unwrap();
        assert!(both.validate().is_err());
        assert!(MfaPreference::default().validate().is_err());
        assert!(serde_json::from_str::<MfaPreference>(r#"{"sms":"on"}"#).is_err());
        assert!(serde_json::from_str::<MfaPreference>(r#"{"pool":"x","sms":"off"}"#).is_err());
    }

    #[test]
    fn names_and_attributes_are_checked() {
        assert!(validate_name("user name", "alice").is_ok());
        assert!(validate_name("user name", "ann@example.com").is_ok());
        for bad in ["", "a b", "a\nb", &"x".repeat(129)] {
            assert!(validate_name("user name", bad).is_err(), "{bad:?}");
        }
        let mut attrs = BTreeMap::new();
        assert!(to_attribute_types(&attrs).is_err());
        attrs.insert("name".to_owned(), "Ann".to_owned());
        assert_eq!(to_attribute_types(&attrs).unwrap().len(), 1);
        attrs.insert("custom:plan".to_owned(), "x".repeat(2049));
        let err = to_attribute_types(&attrs).unwrap_err();
        assert!(!err.to_string().contains("xxxx"), "{err}");
        let mut long_name = BTreeMap::new();
        long_name.insert("custom:".to_owned() + &"n".repeat(30), String::new());
        assert!(to_attribute_types(&long_name).is_err());
    }

    #[test]
    fn protection_ignores_case_and_always_covers_verification_flags() {
        let tenant = Tenant::builder("acme", "us-east-1_AbC")
            .client_id("c")
            .protected_attributes(["custom:plan"])
            .build()
            .unwrap();
        assert!(is_protected(&tenant, "custom:plan"));
        assert!(is_protected(&tenant, "CUSTOM:Plan"));
        assert!(is_protected(&tenant, "email_verified"));
        assert!(!is_protected(&tenant, "name"));
    }

    #[test]
    fn self_service_needs_the_allowlist_and_protection_wins() {
        let tenant = Tenant::builder("acme", "us-east-1_AbC")
            .client_id("c")
            .protected_attributes(["custom:plan", "nickname"])
            .build()
            .unwrap();
        let default = SelfServiceRules::default();
        assert!(default.permits(&tenant, "name"));
        assert!(default.permits(&tenant, "birthdate"));
        // Not allowlisted (exact names only), protected, or developer-only.
        for refused in [
            "NAME",
            "email",
            "phone_number",
            "custom:team",
            "custom:plan",
            "nickname",
            "email_verified",
            "custom:mfa_required",
            "dev:custom:x",
        ] {
            assert!(!default.permits(&tenant, refused), "{refused}");
        }

        let mut rules = SelfServiceRules::default();
        rules.allow([
            "name",
            "custom:team",
            "custom:plan",
            "custom:mfa_required",
            "dev:custom:x",
            "DEV:custom:y",
            "phone_number_verified",
        ]);
        assert!(rules.permits(&tenant, "name"));
        assert!(rules.permits(&tenant, "custom:team"));
        assert!(!rules.permits(&tenant, "given_name"), "replaced, not added");
        for protected in [
            "custom:plan",
            "custom:mfa_required",
            "dev:custom:x",
            "DEV:custom:y",
            "phone_number_verified",
        ] {
            assert!(!rules.permits(&tenant, protected), "{protected}");
        }

        // Another MFA attribute is protected instead of the default one.
        rules.mfa_required_attribute("custom:must_mfa".to_owned());
        rules.allow(["custom:must_mfa", "custom:mfa_required"]);
        assert!(!rules.permits(&tenant, "custom:must_mfa"));
        assert!(!rules.permits(&tenant, "CUSTOM:MUST_MFA"));
        assert!(rules.permits(&tenant, "custom:mfa_required"));

        rules.allow(std::iter::empty::<String>());
        assert!(!rules.permits(&tenant, "name"));
    }
}
