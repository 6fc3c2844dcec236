//! The Post Authentication trigger: the MFA drift guard.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPostAuthentication;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use lambda_runtime::tower::util::ServiceFn;
use lambda_runtime::{BoxFuture, LambdaEvent};
use serde_json::Value;

use super::{Pools, RawHeader, TriggerError, decode_error, wrong_trigger};
use crate::aws::{
    CognitoClient, DEFAULT_MFA_REQUIRED_ATTRIBUTE, enrollment_window_open, pool_region_override,
    send_to_pool, unix_now,
};
use crate::config::AuthConfig;
use crate::error::ConfigError;

const TRIGGER: &str = "PostAuthentication";
const VERSIONS: &[&str] = &["1"];
const EXPECTED_VERSIONS: &str = "\"1\"";
const SOURCES: &[&str] = &["PostAuthentication_Authentication"];

/// The Post Authentication trigger that refuses sign-ins whose MFA has drifted away from what
/// an administrator required. Works on every feature plan.
///
/// An admin-only custom attribute (`[triggers] mfa_required_attribute`, default
/// [`DEFAULT_MFA_REQUIRED_ATTRIBUTE`]) records that the user must use MFA. After each sign-in,
/// Cognito calls this trigger with the user's attributes:
///
/// - attribute missing, empty, `"false"` or `"0"`: no requirement, the sign-in passes without
///   any call to AWS;
/// - `"true"` or `"1"` (and, failing closed, any other value): the trigger calls `AdminGetUser`
///   and fails the sign-in with [`TriggerError::MfaRequired`] unless `UserMFASettingList`
///   names at least one enabled method (`SOFTWARE_TOKEN_MFA`, `SMS_MFA`, `EMAIL_OTP`, ...).
///   Cognito shows the error's message to the user. `PreferredMfaSetting` alone does not
///   count (it names a method, it does not enable one), nor does the legacy `MFAOptions`.
///
/// **One exception, for TOTP enrollment:** with `[triggers] mfa_enrollment_window_attribute`
/// set, a user whose requirement is on but whose MFA is missing is let in (without calling
/// AWS) while that admin-only attribute names an open window
/// ([`enrollment_window_open`](crate::aws::enrollment_window_open): an end in Unix seconds at
/// most an hour ahead, which only `POST /admin/users/{username}/mfa/enrollment` writes).
/// That is what lets them sign in to call `POST /me/mfa/totp`, and lets the server's own
/// sign-in for it pass. A missing, expired, non-numeric or too-distant value is a closed
/// window, and without the setting the guard is exactly as above.
///
/// A failed `AdminGetUser` call fails the sign-in too ([`TriggerError::Cognito`]), as does an
/// event for a pool that is not a configured tenant.
///
/// Keep the attribute admin-only: remove it from every app client's write attributes, or a user
/// could clear the requirement themselves with `UpdateUserAttributes`. The crate's own
/// `PATCH /me/attributes` (feature `admin`) never changes it, provided the service names the
/// same attribute: the default, or `AdminApi::apply_config` with the same file.
/// `AdminGetUser` is sent to the region of the tenant's pool, whatever region the client was
/// built for. The function's role needs `cognito-idp:AdminGetUser` on the tenants' user pools.
pub struct PostAuthentication {
    client: CognitoClient,
    pools: Pools,
    attribute: String,
    window_attribute: Option<String>,
}

impl std::fmt::Debug for PostAuthentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostAuthentication")
            .field("pools", &self.pools)
            .field("attribute", &self.attribute)
            .field("window_attribute", &self.window_attribute)
            .finish_non_exhaustive()
    }
}

impl PostAuthentication {
    /// Builds the trigger from the configuration, with a Cognito client from the standard AWS
    /// provider chain and the `[aws]` overrides ([`cognito_client`](crate::aws::cognito_client)).
    pub async fn from_config(config: &AuthConfig) -> Result<Self, ConfigError> {
        let client = crate::aws::cognito_client(&config.aws).await;
        Self::with_client(config, client)
    }

    /// Builds the trigger from the configuration with a given client (an emulator, tests).
    pub fn with_client(config: &AuthConfig, client: CognitoClient) -> Result<Self, ConfigError> {
        let attribute = config
            .triggers
            .mfa_required_attribute
            .clone()
            .unwrap_or_else(|| DEFAULT_MFA_REQUIRED_ATTRIBUTE.to_owned());
        if attribute.trim().is_empty() {
            return Err(ConfigError::invalid(
                "triggers.mfa_required_attribute",
                "must name a user attribute",
            ));
        }
        let window_attribute = config.triggers.mfa_enrollment_window_attribute.clone();
        if window_attribute
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(ConfigError::invalid(
                "triggers.mfa_enrollment_window_attribute",
                "must name a user attribute",
            ));
        }
        Ok(PostAuthentication {
            client,
            pools: Pools::from_config(config)?,
            attribute,
            window_attribute,
        })
    }

    /// The attribute that records the MFA requirement.
    pub fn attribute(&self) -> &str {
        &self.attribute
    }

    /// True if these user attributes name an open TOTP enrollment window at `now` (always
    /// false without `[triggers] mfa_enrollment_window_attribute`).
    pub fn enrollment_window_open(
        &self,
        user_attributes: &HashMap<String, String>,
        now: u64,
    ) -> bool {
        self.window_attribute.as_ref().is_some_and(|attribute| {
            enrollment_window_open(user_attributes.get(attribute).map(String::as_str), now)
        })
    }

    /// True if these user attributes require MFA (see the type's docs for the values).
    pub fn mfa_required(&self, user_attributes: &HashMap<String, String>) -> bool {
        match user_attributes.get(&self.attribute).map(|v| v.trim()) {
            None => false,
            Some(v) if v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false") => false,
            // "true", "1", and any value nobody meant: a requirement someone mistyped is
            // still a requirement.
            Some(_) => true,
        }
    }

    /// Handles one event: returns it unchanged when the sign-in may proceed.
    pub async fn handle(
        &self,
        event: CognitoEventUserPoolsPostAuthentication,
    ) -> Result<CognitoEventUserPoolsPostAuthentication, TriggerError> {
        let header = &event.cognito_event_user_pools_header;
        let tenant = self
            .pools
            .tenant_for(TRIGGER, header, VERSIONS, EXPECTED_VERSIONS)?;
        let username = header
            .user_name
            .as_deref()
            .ok_or(TriggerError::MissingField {
                trigger: TRIGGER,
                field: "userName",
            })?;
        if !self.mfa_required(&event.request.user_attributes) {
            tracing::debug!(
                target: "cognito_authz::trigger",
                trigger = TRIGGER,
                tenant = tenant.id(),
                decision = "allow",
                reason = "mfa_not_required",
            );
            return Ok(event);
        }
        if self.enrollment_window_open(&event.request.user_attributes, unix_now()) {
            // An administrator opened a window to enroll TOTP: without this the user could
            // never sign in to do it. Bounded to an hour by the window's own check.
            tracing::info!(
                target: "cognito_authz::trigger",
                trigger = TRIGGER,
                tenant = tenant.id(),
                decision = "allow",
                reason = "mfa_enrollment_window_open",
            );
            return Ok(event);
        }
        // The pool's own region, whatever region the client was built for.
        let region = pool_region_override(&self.client, tenant);
        let user = send_to_pool!(
            &region,
            self.client
                .admin_get_user()
                .user_pool_id(tenant.user_pool_id())
                .username(username)
        )
        .map_err(|e| {
            let error = aws_sdk_cognitoidentityprovider::Error::from(e);
            // The code only: service messages can quote request parameters (the username).
            tracing::warn!(
                target: "cognito_authz::trigger",
                trigger = TRIGGER,
                tenant = tenant.id(),
                code = error.code().unwrap_or("none"),
                "AdminGetUser failed"
            );
            TriggerError::Cognito(Box::new(error))
        })?;
        // Not the legacy `MFAOptions`: AWS no longer supports it and it never reports TOTP.
        let enabled = user.user_mfa_setting_list().iter().any(|m| !m.is_empty());
        tracing::debug!(
            target: "cognito_authz::trigger",
            trigger = TRIGGER,
            tenant = tenant.id(),
            decision = if enabled { "allow" } else { "deny" },
            reason = if enabled { "mfa_enabled" } else { "mfa_required_not_enabled" },
        );
        if enabled {
            Ok(event)
        } else {
            Err(TriggerError::MfaRequired)
        }
    }

    /// Handles a raw event, as the Lambda runtime delivers it: checks version and trigger
    /// source before decoding, then [`handle`](Self::handle).
    pub async fn handle_json(&self, event: Value) -> Result<Value, TriggerError> {
        let header = RawHeader::read(TRIGGER, &event)?;
        let source = header.source(TRIGGER, VERSIONS, EXPECTED_VERSIONS)?;
        if !SOURCES.contains(&source) {
            return Err(wrong_trigger(TRIGGER, source));
        }
        let typed: CognitoEventUserPoolsPostAuthentication =
            serde_json::from_value(event).map_err(|e| decode_error(TRIGGER, &e))?;
        let handled = self.handle(typed).await?;
        serde_json::to_value(handled).map_err(|e| decode_error(TRIGGER, &e))
    }

    /// The trigger as a Lambda service, for `lambda_runtime::run(trigger.service())`.
    pub fn service(
        self,
    ) -> ServiceFn<
        impl Fn(LambdaEvent<Value>) -> BoxFuture<'static, Result<Value, TriggerError>> + Clone,
    > {
        let trigger = Arc::new(self);
        lambda_runtime::service_fn(move |event: LambdaEvent<Value>| {
            let trigger = trigger.clone();
            let future: BoxFuture<'static, _> =
                Box::pin(async move { trigger.handle_json(event.payload).await });
            future
        })
    }
}
