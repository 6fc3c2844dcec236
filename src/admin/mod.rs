//! Tenant-bound Cognito admin operations and a ready-made axum admin router (feature `admin`).
//!
//! Every operation acts on the user pool of the tenant that issued the caller's verified
//! token. The pool never comes from the request (path, query, body or header), so an
//! administrator of one tenant cannot reach another tenant's users: they are "not found".
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cognito_authz::{AuthConfig, admin::AdminApi, aws::cognito_client};
//!
//! let config = AuthConfig::from_file("tenants.toml")?;
//! let auth = config.to_builder()?.build()?;
//! let client = cognito_client(&config.aws).await;
//! // Authentication, the admin role, audit events: all applied by the router itself.
//! let app: axum::Router = AdminApi::new(auth, client).router();
//! # Ok(()) }
//! ```
//!
//! - [`router`] / [`AdminApi::admin_router`]: `/admin/users/...` routes, each behind
//!   authentication (access tokens only) and `AuthzLayer::require("admin")` (the role is
//!   configurable with [`AdminApi::admin_role`]).
//! - [`self_service_router`] / [`AdminApi::self_service_router`]: the `/me` routes for any
//!   signed-in user on their own account: attributes (read, and change the self-service ones),
//!   MFA status, password change (with MFA step-up and an attempt limit), sign-out, devices.
//! - [`TenantAdmin`] and [`SelfService`]: the same operations without HTTP.
//! - [`OPENAPI_JSON`]: the OpenAPI 3.1 document of these routes (`docs/admin-openapi.json`),
//!   served by [`AdminApi::admin_router`] at `GET /admin/openapi.json` without a token.
//!
//! # Rules
//! - **Own tenant only.** The tenant is looked up by the principal's tenant id, and must own
//!   the token's app client, so even a runtime tenant that reuses a configured tenant's id
//!   cannot borrow that tenant's pool.
//! - **Self-service attributes.** The self-service change is made with the server's
//!   credentials (`AdminUpdateUserAttributes`) for the user name of the verified token, which
//!   bypasses the app client's write permissions, so the server decides what a user may write:
//!   only the attributes of [`AdminApi::self_service_attributes`] (default
//!   [`DEFAULT_SELF_SERVICE_ATTRIBUTES`], the standard OpenID Connect profile attributes, no
//!   `custom:` ones), and never a protected one: a tenant's `protected_attributes`,
//!   [`ALWAYS_PROTECTED`], the MFA requirement attribute of the Post Authentication trigger
//!   ([`AdminApi::mfa_required_attribute`], default `custom:mfa_required`) and developer-only
//!   `dev:` attributes. Protection wins over the allowlist. `PATCH /me/attributes` naming any
//!   other attribute answers 403 and changes nothing. Administrators change all of them
//!   through `PATCH /admin/users/{username}/attributes`.
//! - **No self-lockout.** An administrator cannot disable or delete themselves, nor leave a
//!   group that maps to the admin role in their tenant (409), whichever name or alias they use.
//! - **No one grants or takes away a role they lack.** An invitation (`POST /admin/users`),
//!   adding a user to a group and removing one from a group may only name groups whose roles
//!   the administrator holds (403 `forbidden` otherwise, nothing changed); an invitation's
//!   groups must exist (404). Roles come from groups only, so attribute changes grant none.
//! - **Password changes are sign-ins.** `POST /me/password` proves the current password with a
//!   real sign-in, answers Cognito's MFA challenge with the user's code before changing
//!   anything, and stops after `[admin] max_password_attempts` failures or started challenges
//!   (each may send a billed SMS or email) per user per window (429); see
//!   [`SelfService::change_password`].
//! - **TOTP enrollment only inside an administrator's window.** `POST /me/mfa/totp` and
//!   `/me/mfa/totp/verify` let a user without the self-service scope enroll an authenticator,
//!   through a server-only enrollment app client, only while
//!   `POST /admin/users/{username}/mfa/enrollment` has opened a window (at most 60 minutes,
//!   one shot); the session or tokens never leave the server. See
//!   [`SelfService::start_totp_enrollment`] and [`AdminApi::totp_enrollment`].
//! - **Machines are never users.** A machine client (`machine_client_ids`) with the admin role
//!   from `client_roles` may use the admin routes on the tenant's users; it has no account of
//!   its own, so every `/me` route and [`AdminApi::self_service`] refuse it (403 `not_a_user`), and it never
//!   matches the self-lockout checks (no user has its empty user name or its client id as
//!   `sub`).
//! - **Audit.** Every attempt, including those refused by authentication (401) or by the role
//!   policy (403), emits one `tracing` event on target `cognito_authz::audit` with fields
//!   `actor` (the user name; absent for a machine client), `actor_sub` (a machine's is its
//!   client id), `actor_kind` (`user` or `machine`), `tenant`, `target`, `action`, `outcome` (`success`, `denied`,
//!   `rejected`, `unauthenticated`, `error`, or `cancelled` when the client went away while
//!   Cognito was being called), `status`, `reason` and, for attribute changes, the attribute
//!   *names*. Tokens and attribute values are never logged.
//!
//! # HTTP answers
//!
//! | situation | status |
//! |---|---|
//! | success | 200 with JSON; 201 for an invitation; 204 without a body for password changes, sign-outs, device removal, deletion and password resets |
//! | no or bad token (including id tokens) | 401 (from the authentication layer) |
//! | not an admin; attribute not open to self-service on `/me/attributes`; a machine on `/me`; wrong current password or MFA code; MFA code required (`challenge` in the body); TOTP enrollment not configured or its window closed | 403 |
//! | too many failed password attempts | 429 + `Retry-After` |
//! | unknown user, group or device in the caller's pool | 404 |
//! | bad body, bad MFA settings, bad attribute (`InvalidParameterException`, message passed on); new password refused by the pool's policy (`invalid_password`) | 400 |
//! | self-lockout; email or phone already used by another account; no TOTP enrollment waiting for a code | 409 |
//! | Cognito throttling, timeout, connection failure, 5xx | 503 + `Retry-After` |
//! | sign-out, disable, delete or demotion done in Cognito, but the shared revocation store (feature `redis`) could not be written | 503 + `Retry-After`, `revocation_not_shared` |
//! | Cognito refuses the server's credentials (`NotAuthorizedException`, missing IAM permission), pool missing | 500 |
//! | any other Cognito error | 502 |
//!
//! `NotAuthorizedException` on an `Admin*` call means the service's IAM identity may not call
//! it: a deployment mistake on this side, not a fault of the client (4xx) nor a malfunction of
//! Cognito (502), and retrying does not help (503), hence 500. Error bodies are
//! `{"error": reason, "error_description": text}`; server-side details only go to the log.
//!
//! # Tenants from a runtime resolver
//! A [`Principal`] names its tenant by id only. Tenants of the configured
//! [`TenantRegistry`](crate::TenantRegistry) are found by that id; tenants found at runtime by
//! a [`TenantResolver`](crate::tenant::TenantResolver) are not reachable that way, so their
//! administrators get 500 (`unknown_tenant`) unless you give [`AdminApi::tenant_lookup`] a
//! [`TenantLookup`] that finds a tenant by id (typically the same store your resolver reads).
//!
//! # Revocation
//! [`TenantAdmin::global_sign_out`] makes Cognito refuse the user's tokens on its own APIs,
//! but access tokens verified locally stay valid until they expire, unless the `CognitoAuth`
//! has a [`Revocations`](crate::Revocations) list. Then sign-out (`/admin/users/{username}/signout`
//! and `/me/signout`), disable, delete and demotion (leaving a group that maps to a role) run in
//! this order:
//! 1. Cognito's own action (`AdminUserGlobalSignOut`, `AdminDisableUser`, `AdminDeleteUser`,
//!    `AdminRemoveUserFromGroup`); if it fails,
//!    nothing is recorded and the Cognito error is answered;
//! 2. the user's `sub` is recorded in this replica's list: it refuses the tokens at once;
//! 3. with a shared list (feature `redis`), the revocation is written to Redis and published.
//!    If that fails the route answers 503 `revocation_not_shared` with `Retry-After`, saying
//!    that Cognito's action was done but other replicas may not know yet. Retrying the route
//!    is safe: both steps are idempotent. (This replica also writes back what it holds when
//!    it reconnects, so the revocation reaches the store once it is back, retry or not.)

mod audit;
mod error;
mod openapi;
mod ops;
mod router;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use audit::{AUDIT_TARGET, Action};
pub use error::AdminError;
pub use openapi::OPENAPI_JSON;
pub use ops::{
    ALWAYS_PROTECTED, DEFAULT_MAX_PASSWORD_ATTEMPTS, DEFAULT_PASSWORD_ATTEMPT_WINDOW,
    DEFAULT_SELF_SERVICE_ATTRIBUTES, Device, DeviceList, EnrollmentWindow, EnrollmentWindowRequest,
    GroupInfo, GroupList, ListUsersQuery, MfaPreference, MfaSetting, MfaStatus, NewUser,
    OwnAttributes, OwnMfa, PasswordChange, SelfService, TenantAdmin, TotpEnrollmentStart,
    TotpSecret, TotpVerification, User, UserGroups, UserPage,
};

use crate::auth::CognitoAuth;
pub use crate::aws::{CognitoClient, DEFAULT_MFA_REQUIRED_ATTRIBUTE};
use crate::config::AuthConfig;
use crate::principal::Principal;
use crate::tenant::{ResolveError, Tenant};

/// The role required for admin operations unless [`AdminApi::admin_role`] sets another.
pub const DEFAULT_ADMIN_ROLE: &str = "admin";

/// The admin routes of [`AdminApi::admin_router`] for role `admin`, registry tenants only.
pub fn router(auth: CognitoAuth, client: CognitoClient) -> axum::Router {
    AdminApi::new(auth, client).admin_router()
}

/// The self-service routes of [`AdminApi::self_service_router`], registry tenants only.
pub fn self_service_router(auth: CognitoAuth, client: CognitoClient) -> axum::Router {
    AdminApi::new(auth, client).self_service_router()
}

/// The boxed future a [`TenantLookup`] returns.
pub type TenantLookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Arc<Tenant>>, ResolveError>> + Send + 'a>>;

/// Finds a tenant by id, for tenants that a [`TenantResolver`](crate::tenant::TenantResolver) adds at
/// runtime (registry tenants are found without it).
///
/// ```
/// use std::sync::Arc;
/// use cognito_authz::{tenant::ResolveError, Tenant};
/// use cognito_authz::admin::{TenantLookup, TenantLookupFuture};
///
/// struct FromDatabase;
///
/// impl TenantLookup for FromDatabase {
///     fn tenant<'a>(&'a self, id: &'a str) -> TenantLookupFuture<'a> {
///         Box::pin(async move {
///             // A real lookup queries the store the resolver reads, by tenant id.
///             if id != "runtime" {
///                 return Ok(None);
///             }
///             Tenant::builder("runtime", "us-east-1_Runtime1")
///                 .client_id("client")
///                 .protected_attributes(["custom:plan"])
///                 .build()
///                 .map(|t| Some(Arc::new(t)))
///                 .map_err(ResolveError::new)
///         })
///     }
/// }
/// ```
pub trait TenantLookup: Send + Sync + 'static {
    /// The tenant with this id, `Ok(None)` if there is none, or an error if the store could not
    /// be asked (the request then gets 503).
    fn tenant<'a>(&'a self, id: &'a str) -> TenantLookupFuture<'a>;
}

/// The admin routes find a catalog tenant by the principal's tenant id.
#[cfg(feature = "dynamodb")]
impl TenantLookup for crate::catalog::DynamoDbCatalog {
    fn tenant<'a>(&'a self, id: &'a str) -> TenantLookupFuture<'a> {
        Box::pin(async move {
            let found = self.find_by_tenant(id).await;
            self.refused_as_unknown(found)
                .map(|found| found.map(|(_, tenant)| Arc::new(tenant)))
        })
    }
}

/// Admin operations and routes for a service: the authenticator, the Cognito client, the
/// admin role and what users may change on their own account. Cheap to clone.
#[derive(Clone)]
pub struct AdminApi {
    auth: CognitoAuth,
    client: CognitoClient,
    admin_role: Arc<str>,
    lookup: Option<Arc<dyn TenantLookup>>,
    self_service: ops::SelfServiceRules,
    /// Shared by every request of this API: the password attempt limit and open challenges.
    password: ops::PasswordGuard,
    /// TOTP enrollment: settings and the enrollments waiting for their code.
    enrollment: ops::TotpEnrollment,
}

impl std::fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi")
            .field("tenants", &self.auth.tenants().len())
            .field("admin_role", &self.admin_role)
            .field("lookup", &self.lookup.is_some())
            .field("self_service", &self.self_service)
            .field("password", &self.password)
            .field("enrollment", &self.enrollment)
            .finish_non_exhaustive()
    }
}

impl AdminApi {
    /// Admin operations for `auth`'s tenants through `client` (build it with
    /// [`aws::cognito_client`](crate::aws::cognito_client)); the admin role is
    /// [`DEFAULT_ADMIN_ROLE`], self-service covers [`DEFAULT_SELF_SERVICE_ATTRIBUTES`].
    pub fn new(auth: CognitoAuth, client: CognitoClient) -> Self {
        AdminApi {
            auth,
            client,
            admin_role: Arc::from(DEFAULT_ADMIN_ROLE),
            lookup: None,
            self_service: ops::SelfServiceRules::default(),
            password: ops::PasswordGuard::default(),
            enrollment: ops::TotpEnrollment::default(),
        }
    }

    /// Applies the settings of the configuration file that concern admin operations:
    /// `[admin] self_service_attributes` (see
    /// [`self_service_attributes`](Self::self_service_attributes)) and
    /// `[triggers] mfa_required_attribute` (see [`mfa_required_attribute`](Self::mfa_required_attribute)),
    /// so that `/me/attributes` never changes the attribute the Post Authentication trigger
    /// reads. A blank MFA attribute is ignored (the trigger refuses it at load). With feature
    /// `dynamodb`, a `[catalog]` section also becomes the [`tenant_lookup`](Self::tenant_lookup),
    /// so administrators of catalog tenants reach their own pool.
    #[must_use]
    pub fn apply_config(self, config: &AuthConfig) -> Self {
        let admin = &config.admin;
        let api = self.password_attempts(
            admin
                .max_password_attempts
                .unwrap_or(DEFAULT_MAX_PASSWORD_ATTEMPTS),
            admin.password_attempt_window_seconds.map_or(
                DEFAULT_PASSWORD_ATTEMPT_WINDOW,
                std::time::Duration::from_secs,
            ),
            admin.client_secrets.clone(),
        );
        let api = match &admin.self_service_attributes {
            Some(attributes) => api.self_service_attributes(attributes.iter().cloned()),
            None => api,
        };
        let api = match &config.triggers.mfa_enrollment_window_attribute {
            Some(attribute) if !attribute.trim().is_empty() => {
                api.totp_enrollment(attribute.clone(), admin.totp_enrollment_clients.clone())
            }
            _ => api,
        };
        #[cfg(feature = "dynamodb")]
        let api = match &config.catalog {
            Some(catalog) => api.tenant_lookup(config.catalog(&catalog.dynamodb_table)),
            None => api,
        };
        match &config.triggers.mfa_required_attribute {
            Some(attribute) if !attribute.trim().is_empty() => {
                api.mfa_required_attribute(attribute.clone())
            }
            _ => api,
        }
    }

    /// The attempt limit of `POST /me/password` (failures and started MFA challenges per user
    /// per `window`, in this process; defaults [`DEFAULT_MAX_PASSWORD_ATTEMPTS`], [`DEFAULT_PASSWORD_ATTEMPT_WINDOW`])
    /// and the secrets of app clients that have one (by client id, for `SECRET_HASH`).
    /// [`apply_config`](Self::apply_config) sets them from `[admin]`. Starts a new count.
    #[must_use]
    pub fn password_attempts(
        mut self,
        max_failures: u32,
        window: std::time::Duration,
        client_secrets: std::collections::BTreeMap<String, crate::config::ClientSecret>,
    ) -> Self {
        self.password = ops::PasswordGuard::new(max_failures, window, client_secrets);
        self
    }

    /// The only attributes users may change on their own account (`PATCH /me/attributes`,
    /// [`SelfService::update_attributes`]), compared exactly; this replaces the default list
    /// [`DEFAULT_SELF_SERVICE_ATTRIBUTES`], and an empty list closes self-service. Protected
    /// attributes stay refused even if listed: the tenant's `protected_attributes`,
    /// [`ALWAYS_PROTECTED`], the [`mfa_required_attribute`](Self::mfa_required_attribute) and
    /// developer-only `dev:` attributes.
    ///
    /// ```no_run
    /// # fn run(auth: cognito_authz::CognitoAuth, client: cognito_authz::aws::CognitoClient) {
    /// use cognito_authz::admin::{AdminApi, DEFAULT_SELF_SERVICE_ATTRIBUTES};
    ///
    /// let api = AdminApi::new(auth, client).self_service_attributes(
    ///     DEFAULT_SELF_SERVICE_ATTRIBUTES.iter().copied().chain(["custom:team"]),
    /// );
    /// # }
    /// ```
    #[must_use]
    pub fn self_service_attributes<I, S>(mut self, attributes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.self_service.allow(attributes);
        self
    }

    /// The attribute that records that a user must use MFA, read by the Post Authentication
    /// trigger (`[triggers] mfa_required_attribute`; default
    /// [`DEFAULT_MFA_REQUIRED_ATTRIBUTE`]). Users can never change it on their own account,
    /// whatever the allowlist says. [`apply_config`](Self::apply_config) sets it from the file.
    #[must_use]
    pub fn mfa_required_attribute(mut self, attribute: impl Into<String>) -> Self {
        self.self_service.mfa_required_attribute(attribute.into());
        self
    }

    /// Turns on TOTP enrollment for users without the self-service scope
    /// (`POST /admin/users/{username}/mfa/enrollment`, `POST /me/mfa/totp`,
    /// `POST /me/mfa/totp/verify`): `window_attribute` is the admin-only attribute holding a
    /// user's window end (`[triggers] mfa_enrollment_window_attribute`; users can never change
    /// it on their own account), `clients` maps tenant ids to their server-only enrollment app
    /// client (`[admin.totp_enrollment_clients]`; give each one's secret to
    /// [`password_attempts`](Self::password_attempts)). Tenants without a client answer 403
    /// `totp_enrollment_disabled`. [`apply_config`](Self::apply_config) sets it from the file.
    /// Starts with no waiting enrollment.
    #[must_use]
    pub fn totp_enrollment(
        mut self,
        window_attribute: impl Into<String>,
        clients: std::collections::BTreeMap<String, String>,
    ) -> Self {
        let window_attribute = window_attribute.into();
        self.self_service
            .enrollment_window_attribute(Some(window_attribute.as_str()));
        self.enrollment = ops::TotpEnrollment::new(Some(window_attribute), clients);
        self
    }

    /// The role required for admin operations (default [`DEFAULT_ADMIN_ROLE`]). Groups that
    /// map to it are the ones an administrator cannot leave themselves.
    #[must_use]
    pub fn admin_role(mut self, role: impl Into<String>) -> Self {
        self.admin_role = Arc::from(role.into());
        self
    }

    /// Finds tenants that are not in the registry (runtime tenants), by id.
    #[must_use]
    pub fn tenant_lookup(mut self, lookup: impl TenantLookup) -> Self {
        self.lookup = Some(Arc::new(lookup));
        self
    }

    /// The admin operations of `principal`'s tenant; [`AdminError::Forbidden`] without the
    /// admin role.
    pub async fn tenant_admin(&self, principal: &Principal) -> Result<TenantAdmin, AdminError> {
        self.require_admin_role(principal)?;
        let tenant = self.tenant_of(principal).await?;
        Ok(self.bind_admin(tenant, principal))
    }

    /// [`tenant_admin`](Self::tenant_admin) for registry tenants only, without the
    /// [`TenantLookup`]: what [`TenantAdmin::for_principal`] does.
    pub(crate) fn registry_tenant_admin(
        &self,
        principal: &Principal,
    ) -> Result<TenantAdmin, AdminError> {
        self.require_admin_role(principal)?;
        let tenant = self.registry_tenant(principal);
        Ok(self.bind_admin(owning_tenant(tenant, principal)?, principal))
    }

    /// What `principal` may change on their own account; [`AdminError::NotAUser`] for a
    /// machine client, which has none.
    pub async fn self_service(&self, principal: &Principal) -> Result<SelfService, AdminError> {
        if principal.is_machine() {
            return Err(AdminError::NotAUser);
        }
        let tenant = self.tenant_of(principal).await?;
        Ok(SelfService::new(
            self.client.clone(),
            tenant,
            principal.clone(),
            self.self_service.clone(),
            self.password.clone(),
            self.auth.revocations().cloned(),
            self.enrollment.clone(),
        ))
    }

    fn require_admin_role(&self, principal: &Principal) -> Result<(), AdminError> {
        if principal.has_role(&self.admin_role) {
            Ok(())
        } else {
            Err(AdminError::Forbidden(self.admin_role.to_string()))
        }
    }

    fn bind_admin(&self, tenant: Arc<Tenant>, principal: &Principal) -> TenantAdmin {
        TenantAdmin::new(
            self.client.clone(),
            tenant,
            principal.clone(),
            self.admin_role.clone(),
            self.auth.revocations().cloned(),
            self.enrollment.clone(),
        )
    }

    /// The registry tenant with the principal's tenant id (not yet checked to own the token).
    fn registry_tenant(&self, principal: &Principal) -> Option<Arc<Tenant>> {
        self.auth.tenants().get_by_id(principal.tenant()).cloned()
    }

    /// The principal's tenant: from the registry, else from the [`TenantLookup`]; either way
    /// it must own the token's app client.
    async fn tenant_of(&self, principal: &Principal) -> Result<Arc<Tenant>, AdminError> {
        let id = principal.tenant();
        let tenant = match (self.registry_tenant(principal), &self.lookup) {
            (Some(tenant), _) => Some(tenant),
            (None, Some(lookup)) => lookup.tenant(id).await.map_err(|err| {
                tracing::warn!(
                    target: "cognito_authz::admin",
                    tenant = id,
                    error = %err,
                    "tenant lookup failed",
                );
                AdminError::Unavailable
            })?,
            (None, None) => None,
        };
        owning_tenant(tenant, principal)
    }
}

/// Accepts `tenant` for `principal` only if it is the principal's tenant and owns the token's
/// app client. App client ids are unique across pools, so this ties the tenant found by id to
/// the pool that issued the token, even if a runtime tenant reused a configured tenant's id.
fn owning_tenant(
    tenant: Option<Arc<Tenant>>,
    principal: &Principal,
) -> Result<Arc<Tenant>, AdminError> {
    let id = principal.tenant();
    let Some(tenant) = tenant else {
        tracing::error!(
            target: "cognito_authz::admin",
            tenant = id,
            "tenant is not in the registry and no TenantLookup found it",
        );
        return Err(AdminError::UnknownTenant);
    };
    if tenant.id() != id || !tenant.owns_client(principal.client_id()) {
        tracing::error!(
            target: "cognito_authz::admin",
            tenant = id,
            "the tenant found by id does not own the token's app client; refusing",
        );
        return Err(AdminError::UnknownTenant);
    }
    Ok(tenant)
}
