//! The Pre Token Generation trigger (event versions `V2_0` and `V3_0`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use aws_lambda_events::event::cognito::{
    ClaimsAndScopeOverrideDetailsV2, CognitoAccessTokenGenerationV2,
    CognitoEventUserPoolsPreTokenGenTriggerSource, CognitoEventUserPoolsPreTokenGenV2,
};
use lambda_runtime::LambdaEvent;
use lambda_runtime::tower::util::ServiceFn;
use serde_json::Value;

use super::{Pools, RawHeader, TriggerError, decode_error, wrong_trigger};
use crate::aws::{enrollment_window_open, unix_now};
use crate::config::AuthConfig;
use crate::error::ConfigError;
use crate::tenant::{Tenant, TenantRegistry};
use crate::verify::SELF_SERVICE_SCOPE;

const TRIGGER: &str = "PreTokenGeneration";
const VERSIONS: &[&str] = &["2", "3"];
const EXPECTED_VERSIONS: &str = "\"2\" or \"3\" (attach the trigger with LambdaVersion V2_0 or \
                                 V3_0; V1_0 cannot change access tokens)";

/// Trigger sources of token requests made for a user; the typed event only knows these.
const USER_SOURCES: &[&str] = &[
    "TokenGeneration_HostedAuth",
    "TokenGeneration_Authentication",
    "TokenGeneration_NewPasswordChallenge",
    "TokenGeneration_AuthenticateDevice",
    "TokenGeneration_RefreshTokens",
];

/// `V3_0` only: a machine-to-machine token (client credentials grant). There is no user, no
/// group and no self-service scope to remove.
const CLIENT_CREDENTIALS: &str = "TokenGeneration_ClientCredentials";

/// Claims Cognito does not let a trigger add or override, or that the layer itself reads.
/// Refused at construction, so that a bad `roles_claim` fails the deployment instead of every
/// sign-in.
const RESERVED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "at_hash",
    "aud",
    "auth_time",
    "azp",
    "c_hash",
    "client_id",
    "device_key",
    "event_id",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "scope",
    "sub",
    "token_use",
    "username",
    "version",
];

/// The Pre Token Generation trigger: removes [`SELF_SERVICE_SCOPE`] from the access tokens of
/// users who may not manage themselves.
///
/// For each event it finds the tenant by `userPoolId`, maps the user's groups
/// (`request.groupConfiguration.groupsToOverride`) to roles with the tenant's mapping (the
/// layer's [`Tenant::roles_for_groups`](crate::Tenant::roles_for_groups)), and:
///
/// - a user with one of the self-manage roles ([`super::self_manage_roles`]) gets the token
///   unchanged (`claimsAndScopeOverrideDetails: null`);
/// - any other user gets `accessTokenGeneration.scopesToSuppress =
///   ["aws.cognito.signin.user.admin"]`, so Cognito refuses that token on its self-service APIs
///   (see the [module docs](super) for what stops working);
/// - with `[triggers] roles_claim`, every user's access token also gets the mapped roles as a
///   JSON array claim through `claimsToAddOrOverride`.
///
/// **TOTP enrollment** (`[admin.totp_enrollment_clients]` with `[triggers]
/// mfa_enrollment_window_attribute`): a user without a self-manage role also keeps the scope,
/// in one case only: the token is made for a sign-in (`TokenGeneration_Authentication`, never
/// a refresh) on the tenant's **enrollment client** (a server-only app client: the server
/// signs the user in there with `AdminInitiateAuth` for `POST /me/mfa/totp` and never hands
/// the tokens out), and the user's window attribute names an open window
/// ([`enrollment_window_open`](crate::aws::enrollment_window_open): at most an hour ahead,
/// anything else is closed). Tokens of every other client keep losing the scope during the
/// window, and the enrollment client's tokens lose it outside the window and on every refresh.
///
/// When the response changes anything, `groupOverrideDetails` repeats the request's group
/// configuration: the response object always carries that field, and an empty one would strip
/// the user's groups (and with them every role) from the tokens.
///
/// An event for a pool that is not a configured tenant, of another version than `"2"` / `"3"`
/// or of another trigger is an error, so Cognito refuses the token rather than issue one
/// unfiltered. Machine-to-machine events (`TokenGeneration_ClientCredentials`, `V3_0`) pass
/// unchanged once their pool is known.
///
/// Needs the **Essentials or Plus** feature plan (access-token customization); pair it with
/// the service's `[self_service_guard]`, which catches pools where the trigger is missing.
///
/// ```
/// use cognito_authz::{AuthConfig, lambda::PreTokenGeneration};
///
/// let config = AuthConfig::from_toml(r#"
/// [self_service_guard]
/// allowed_roles = ["admin"]
/// [triggers]
/// roles_claim = "roles"
/// [[tenant]]
/// id = "acme"
/// user_pool_id = "us-east-1_AbCdEf123"
/// client_ids = ["3n4b5urk1ft4fl3mg5e62d9ado"]
/// "#)?;
/// let trigger = PreTokenGeneration::from_config(&config)?;
/// assert_eq!(trigger.self_manage_roles(), ["admin"]);
/// # Ok::<(), cognito_authz::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct PreTokenGeneration {
    pools: Pools,
    self_manage_roles: Vec<String>,
    roles_claim: Option<String>,
    enrollment: Option<EnrollmentScope>,
}

/// Where the trigger keeps the scope for TOTP enrollment.
#[derive(Debug, Clone)]
struct EnrollmentScope {
    /// The user attribute holding the window's end.
    window_attribute: String,
    /// Tenant id -> the tenant's enrollment app client id.
    clients: BTreeMap<String, String>,
}

impl PreTokenGeneration {
    /// Builds the trigger from the configuration: its tenants (validated and mapped exactly as
    /// the layer does), [`self_manage_roles`](super::self_manage_roles) and
    /// `[triggers] roles_claim`.
    pub fn from_config(config: &AuthConfig) -> Result<Self, ConfigError> {
        let trigger = PreTokenGeneration {
            pools: Pools::from_config(config)?,
            self_manage_roles: super::self_manage_roles(config)?,
            roles_claim: None,
            enrollment: None,
        };
        let trigger = match &config.triggers.mfa_enrollment_window_attribute {
            Some(attribute) if !config.admin.totp_enrollment_clients.is_empty() => trigger
                .with_totp_enrollment(
                    attribute.clone(),
                    config.admin.totp_enrollment_clients.clone(),
                )?,
            _ => trigger,
        };
        match &config.triggers.roles_claim {
            Some(claim) => trigger.with_roles_claim(claim.clone()),
            None => Ok(trigger),
        }
    }

    /// Reads a configuration file and builds the trigger from it.
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_config(&AuthConfig::from_file(path)?)
    }

    /// Builds the trigger from tenants made with the builder API. Use the same roles as the
    /// service's [`SelfServiceGuard`](crate::verify::SelfServiceGuard).
    pub fn new<I, S>(tenants: &TenantRegistry, self_manage_roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PreTokenGeneration {
            pools: Pools::from_registry(tenants),
            self_manage_roles: self_manage_roles.into_iter().map(Into::into).collect(),
            roles_claim: None,
            enrollment: None,
        }
    }

    /// Keeps the scope for TOTP enrollment (see the type's docs): on sign-ins through
    /// `clients[tenant id]` while the user's `window_attribute` names an open window.
    pub fn with_totp_enrollment(
        mut self,
        window_attribute: impl Into<String>,
        clients: BTreeMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let window_attribute = window_attribute.into();
        if window_attribute.trim().is_empty() {
            return Err(ConfigError::invalid(
                "triggers.mfa_enrollment_window_attribute",
                "must name a user attribute",
            ));
        }
        self.enrollment = Some(EnrollmentScope {
            window_attribute,
            clients,
        });
        Ok(self)
    }

    /// Adds the mapped roles to every access token as the claim `claim` (a JSON array of
    /// strings). Fails for claims Cognito reserves (`sub`, `scope`, `cognito:*`, ...).
    pub fn with_roles_claim(mut self, claim: impl Into<String>) -> Result<Self, ConfigError> {
        let claim = claim.into();
        if claim.is_empty()
            || claim.starts_with("cognito:")
            || RESERVED_CLAIMS.contains(&claim.as_str())
        {
            return Err(ConfigError::invalid(
                "triggers.roles_claim",
                format!("{claim:?} is a claim Cognito reserves"),
            ));
        }
        self.roles_claim = Some(claim);
        Ok(self)
    }

    /// The roles allowed to keep the self-service scope.
    pub fn self_manage_roles(&self) -> &[String] {
        &self.self_manage_roles
    }

    /// The claim the mapped roles are added as, if any.
    pub fn roles_claim(&self) -> Option<&str> {
        self.roles_claim.as_deref()
    }

    /// True if a user of pool `user_pool_id` with these Cognito groups keeps the self-service
    /// scope: the same decision as the layer's
    /// [`SelfServiceGuard`](crate::verify::SelfServiceGuard) with the same roles.
    pub fn may_self_manage(
        &self,
        user_pool_id: &str,
        groups: &[String],
    ) -> Result<bool, TriggerError> {
        let tenant = self.pools.get(TRIGGER, Some(user_pool_id))?;
        Ok(self.allows(&tenant.roles_for_groups(groups)))
    }

    /// True if this event is a sign-in on `tenant`'s enrollment client by a user whose
    /// enrollment window is open at `now`.
    fn keeps_for_enrollment(
        &self,
        tenant: &Tenant,
        event: &CognitoEventUserPoolsPreTokenGenV2,
        now: u64,
    ) -> bool {
        let Some(enrollment) = &self.enrollment else {
            return false;
        };
        let header = &event.cognito_event_user_pools_header;
        let sign_in = matches!(
            header.trigger_source,
            Some(CognitoEventUserPoolsPreTokenGenTriggerSource::Authentication)
        );
        let client = header.caller_context.client_id.as_deref();
        let enrollment_client = enrollment.clients.get(tenant.id()).map(String::as_str);
        sign_in
            && client.is_some()
            && client == enrollment_client
            && enrollment_window_open(
                event
                    .request
                    .user_attributes
                    .get(&enrollment.window_attribute)
                    .map(String::as_str),
                now,
            )
    }

    fn allows(&self, roles: &[Arc<str>]) -> bool {
        self.self_manage_roles
            .iter()
            .any(|allowed| roles.iter().any(|r| **r == **allowed))
    }

    /// Handles one user token event and returns it with its `response` set.
    pub fn handle(
        &self,
        event: CognitoEventUserPoolsPreTokenGenV2,
    ) -> Result<CognitoEventUserPoolsPreTokenGenV2, TriggerError> {
        self.handle_at(event, unix_now())
    }

    /// [`handle`](Self::handle) at `now` (Unix seconds), for tests of the enrollment window.
    pub fn handle_at(
        &self,
        mut event: CognitoEventUserPoolsPreTokenGenV2,
        now: u64,
    ) -> Result<CognitoEventUserPoolsPreTokenGenV2, TriggerError> {
        let header = &event.cognito_event_user_pools_header;
        let tenant = self
            .pools
            .tenant_for(TRIGGER, header, VERSIONS, EXPECTED_VERSIONS)?;
        let group_configuration = &event.request.group_configuration;
        let roles = tenant.roles_for_groups(&group_configuration.groups_to_override);
        let by_role = self.allows(&roles);
        let for_enrollment = !by_role && self.keeps_for_enrollment(tenant, &event, now);
        let keeps_scope = by_role || for_enrollment;
        let decision = if for_enrollment {
            "keep_self_service_scope_for_enrollment"
        } else if keeps_scope {
            "keep_self_service_scope"
        } else {
            "suppress_self_service_scope"
        };
        tracing::debug!(
            target: "cognito_authz::trigger",
            trigger = TRIGGER,
            tenant = tenant.id(),
            decision,
        );
        if keeps_scope && self.roles_claim.is_none() {
            event.response.claims_and_scope_override_details = None;
            return Ok(event);
        }
        let mut access = CognitoAccessTokenGenerationV2::default();
        if !keeps_scope {
            access.scopes_to_suppress = vec![SELF_SERVICE_SCOPE.to_owned()];
        }
        if let Some(claim) = &self.roles_claim {
            let roles = roles.iter().map(|r| Value::from(&**r)).collect();
            access
                .claims_to_add_or_override
                .insert(claim.clone(), Value::Array(roles));
        }
        let mut details = ClaimsAndScopeOverrideDetailsV2::default();
        details.group_override_details = group_configuration.clone();
        details.access_token_generation = Some(access);
        event.response.claims_and_scope_override_details = Some(details);
        Ok(event)
    }

    /// Handles a raw event, as the Lambda runtime delivers it: checks version, trigger source
    /// and pool before decoding, passes machine-to-machine events through, and handles the
    /// rest with [`handle`](Self::handle).
    pub fn handle_json(&self, event: Value) -> Result<Value, TriggerError> {
        let header = RawHeader::read(TRIGGER, &event)?;
        let source = header.source(TRIGGER, VERSIONS, EXPECTED_VERSIONS)?;
        if source == CLIENT_CREDENTIALS {
            self.pools.get(TRIGGER, header.user_pool_id)?;
            return Ok(event);
        }
        if !USER_SOURCES.contains(&source) {
            return Err(wrong_trigger(TRIGGER, source));
        }
        let typed: CognitoEventUserPoolsPreTokenGenV2 =
            serde_json::from_value(event).map_err(|e| decode_error(TRIGGER, &e))?;
        let handled = self.handle(typed)?;
        serde_json::to_value(handled).map_err(|e| decode_error(TRIGGER, &e))
    }

    /// The trigger as a Lambda service, for `lambda_runtime::run(trigger.service())`.
    pub fn service(
        self,
    ) -> ServiceFn<
        impl Fn(LambdaEvent<Value>) -> std::future::Ready<Result<Value, TriggerError>> + Clone,
    > {
        let trigger = Arc::new(self);
        lambda_runtime::service_fn(move |event: LambdaEvent<Value>| {
            std::future::ready(trigger.handle_json(event.payload))
        })
    }
}
