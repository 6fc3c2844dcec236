//! Cognito Lambda triggers built from the same configuration as the layer (feature `lambda`).
//!
//! Two triggers close the gap the layer cannot see: Cognito's self-service APIs
//! (`SetUserMFAPreference`, `UpdateUserAttributes`, ...) are authorized by the access token
//! alone, never by IAM and never by your service.
//!
//! - [`PreTokenGeneration`] (event versions `V2_0` and `V3_0`): removes
//!   [`SELF_SERVICE_SCOPE`](crate::verify::SELF_SERVICE_SCOPE) from the access tokens of users whose
//!   groups do not map to a role allowed to self-manage, so Cognito itself refuses their
//!   self-service calls. Optionally adds the mapped roles as an access-token claim.
//! - [`PostAuthentication`]: the MFA drift guard. An admin-only attribute records that a user
//!   must use MFA; after each sign-in the trigger reads the user's MFA settings with
//!   `AdminGetUser` and fails the sign-in when MFA is required but no longer enabled.
//!
//! Both find the tenant by the event's `userPoolId` among the configured tenants, and fail
//! (Cognito then refuses the sign-in or the token) for a pool that is not one: a trigger
//! attached to the wrong pool must not silently issue unfiltered tokens.
//!
//! # Feature plan
//! Access-token customization (`V2_0`, `V3_0`) needs the **Essentials or Plus** feature plan;
//! on Lite only `V1_0` exists, which changes id tokens only and cannot remove a scope. On such
//! pools, enable `[self_service_guard]` in the service: it refuses access tokens that still carry
//! the scope for users without an allowed role. [`self_manage_roles`] makes sure the trigger and
//! the guard use the same role list. The Post Authentication trigger works on every plan.
//!
//! # What stops working for users without the scope
//! With the scope removed, every Cognito API call authorized by that access token fails with
//! `NotAuthorizedException: Access Token does not have required scopes`: `GetUser`,
//! `UpdateUserAttributes`, `VerifyUserAttribute`, `DeleteUserAttributes`, `ChangePassword`,
//! `SetUserMFAPreference`, `AssociateSoftwareToken` / `VerifySoftwareToken` with an access
//! token, `GetUserAttributeVerificationCode`, device APIs, `DeleteUser`, `GlobalSignOut`. In
//! Amplify that is `fetchUserAttributes`, `updateUserAttributes`, `setUpTOTP`, `verifyTOTPSetup`,
//! `updateMFAPreference`, `fetchMFAPreference`, `updatePassword`, `deleteUser`, device
//! tracking, and global sign-out. Sign-up, sign-in (including the `MFA_SETUP` challenge, which
//! uses a session, not an access token), forgot-password and `RevokeToken` are unaffected. The
//! crate's admin routes and `/me` routes replace the lost calls on the server side; TOTP
//! enrollment (`POST /me/mfa/totp`) is the one case where [`PreTokenGeneration`] keeps the
//! scope for a user without a self-manage role: on the tenant's server-only enrollment client,
//! on a sign-in, while an administrator-opened window is open, and [`PostAuthentication`] lets
//! such a user in without their required MFA during that window only.
//!
//! # Deploying
//! See `examples/pre_token_generation.rs` and `examples/post_authentication.rs`: each reads
//! the configuration file named by [`CONFIG_PATH_ENV`] (default [`DEFAULT_CONFIG_PATH`]) at cold
//! start; a bad file fails the function's initialization, so sign-ins fail rather than pass
//! unfiltered. Both log through [`init_logging`]: plain text without colour escapes, or JSON
//! lines when `AWS_LAMBDA_LOG_FORMAT=JSON`.

mod logging;
mod post_auth;
mod pre_token;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

pub use crate::aws::DEFAULT_MFA_REQUIRED_ATTRIBUTE;
pub use logging::{
    LOG_FORMAT_ENV, LOG_LEVEL_ENV, LogFormat, filter_from_env, init_logging, log_subscriber,
};
pub use post_auth::PostAuthentication;
pub use pre_token::PreTokenGeneration;

use crate::config::AuthConfig;
use crate::error::ConfigError;
use crate::tenant::{Tenant, TenantRegistry};
use crate::verify::SelfServiceGuard;

/// The environment variable naming the configuration file of the example functions.
pub const CONFIG_PATH_ENV: &str = "COGNITO_AUTHZ_CONFIG";

/// Where the configuration file is by default: the root of the deployment package.
pub const DEFAULT_CONFIG_PATH: &str = "/var/task/tenants.toml";

/// The configuration file path: `$COGNITO_AUTHZ_CONFIG`, else [`DEFAULT_CONFIG_PATH`].
pub fn config_path() -> PathBuf {
    std::env::var_os(CONFIG_PATH_ENV)
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH), PathBuf::from)
}

/// The roles allowed to keep [`SELF_SERVICE_SCOPE`](crate::verify::SELF_SERVICE_SCOPE):
/// `[triggers] self_manage_roles`, else the `[self_service_guard]` roles, else `["admin"]`.
///
/// When both sections list roles they must be the same set: a role the trigger lets keep the
/// scope but the guard does not would make the service refuse every token of those users, and
/// a role the guard allows but the trigger does not would leave pools without the trigger
/// unchecked for it.
pub fn self_manage_roles(config: &AuthConfig) -> Result<Vec<String>, ConfigError> {
    let guard = config.self_service_guard.as_ref().map(|g| &g.allowed_roles);
    match (&config.triggers.self_manage_roles, guard) {
        (Some(trigger), Some(guard)) => {
            let mut a: Vec<&str> = trigger.iter().map(String::as_str).collect();
            let mut b: Vec<&str> = guard.iter().map(String::as_str).collect();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            if a != b {
                return Err(ConfigError::invalid(
                    "triggers.self_manage_roles",
                    "must list the same roles as self_service_guard.allowed_roles",
                ));
            }
            Ok(trigger.clone())
        }
        (Some(roles), None) | (None, Some(roles)) => Ok(roles.clone()),
        (None, None) => Ok(SelfServiceGuard::default().allowed_roles),
    }
}

/// Why a trigger refused an event. Cognito fails the sign-in (or token refresh) and shows
/// the message, so messages never contain tokens or attribute values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// The event does not have the shape of this trigger's event (wrong trigger attached, a
    /// field of the wrong type, not a JSON object, ...).
    #[error("not a valid {trigger} event: {detail}")]
    InvalidEvent {
        /// The trigger that received it.
        trigger: &'static str,
        /// What is wrong; names fields, never echoes values.
        detail: String,
    },
    /// A required field is absent.
    #[error("{trigger} event has no `{field}`")]
    MissingField {
        /// The trigger that received it.
        trigger: &'static str,
        /// The field's JSON name.
        field: &'static str,
    },
    /// The event's `version` is not one this trigger handles.
    #[error("{trigger} event version {version:?} is not supported; expected {expected}")]
    UnsupportedVersion {
        /// The trigger that received it.
        trigger: &'static str,
        /// The version found (at most 32 characters of it).
        version: String,
        /// What is supported.
        expected: &'static str,
    },
    /// The event's `triggerSource` belongs to another trigger.
    #[error("{trigger} received an event with trigger source {found:?}")]
    WrongTrigger {
        /// The trigger that received it.
        trigger: &'static str,
        /// The `triggerSource` found (at most 64 characters of it).
        found: String,
    },
    /// The event's user pool is not a configured tenant.
    #[error("user pool {user_pool_id:?} is not a configured tenant")]
    UnknownUserPool {
        /// The pool id (at most 64 characters of it).
        user_pool_id: String,
    },
    /// The MFA drift guard: the user must use MFA but has no MFA method enabled.
    #[error(
        "multi-factor authentication is required for this account but is not enabled; \
         ask an administrator to restore it"
    )]
    MfaRequired,
    /// `AdminGetUser` failed, so the MFA requirement could not be checked.
    #[error("could not read the account's MFA settings")]
    Cognito(#[source] Box<aws_sdk_cognitoidentityprovider::Error>),
}

impl TriggerError {
    /// A short stable identifier of the variant, sent as the Lambda error type.
    pub fn reason(&self) -> &'static str {
        match self {
            TriggerError::InvalidEvent { .. } => "InvalidEvent",
            TriggerError::MissingField { .. } => "MissingField",
            TriggerError::UnsupportedVersion { .. } => "UnsupportedVersion",
            TriggerError::WrongTrigger { .. } => "WrongTrigger",
            TriggerError::UnknownUserPool { .. } => "UnknownUserPool",
            TriggerError::MfaRequired => "MfaRequired",
            TriggerError::Cognito(_) => "CognitoError",
        }
    }
}

impl From<TriggerError> for lambda_runtime::Diagnostic {
    fn from(error: TriggerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.reason().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The configured tenants indexed by user pool id.
#[derive(Debug)]
struct Pools {
    by_pool: HashMap<String, Arc<Tenant>>,
}

impl Pools {
    /// Builds the tenants exactly as the layer does (same validation, same role mapping).
    fn from_config(config: &AuthConfig) -> Result<Self, ConfigError> {
        let auth = config.to_builder()?.build()?;
        Ok(Self::from_registry(auth.tenants()))
    }

    fn from_registry(registry: &TenantRegistry) -> Self {
        let by_pool = registry
            .tenants()
            .iter()
            .map(|t| (t.user_pool_id().to_owned(), t.clone()))
            .collect();
        Pools { by_pool }
    }

    /// Checks a typed event's header (supported version, a trigger source) and returns the
    /// tenant of its user pool.
    fn tenant_for<T>(
        &self,
        trigger: &'static str,
        header: &aws_lambda_events::event::cognito::CognitoEventUserPoolsHeader<T>,
        supported: &[&str],
        expected: &'static str,
    ) -> Result<&Arc<Tenant>, TriggerError> {
        check_version(trigger, header.version.as_deref(), supported, expected)?;
        if header.trigger_source.is_none() {
            return Err(TriggerError::MissingField {
                trigger,
                field: "triggerSource",
            });
        }
        self.get(trigger, header.user_pool_id.as_deref())
    }

    fn get(&self, trigger: &'static str, pool: Option<&str>) -> Result<&Arc<Tenant>, TriggerError> {
        let pool = pool.ok_or(TriggerError::MissingField {
            trigger,
            field: "userPoolId",
        })?;
        self.by_pool
            .get(pool)
            .ok_or_else(|| TriggerError::UnknownUserPool {
                user_pool_id: clip(pool, 64),
            })
    }
}

/// At most `max` characters of an event value echoed in an error.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The error for an event of another trigger.
fn wrong_trigger(trigger: &'static str, source: &str) -> TriggerError {
    TriggerError::WrongTrigger {
        trigger,
        found: clip(source, 64),
    }
}

/// Checks `version` against the supported list.
fn check_version(
    trigger: &'static str,
    version: Option<&str>,
    supported: &[&str],
    expected: &'static str,
) -> Result<(), TriggerError> {
    let version = version.ok_or(TriggerError::MissingField {
        trigger,
        field: "version",
    })?;
    if supported.contains(&version) {
        Ok(())
    } else {
        Err(TriggerError::UnsupportedVersion {
            trigger,
            version: clip(version, 32),
            expected,
        })
    }
}

/// The top-level string fields read before typed decoding, so that a wrong trigger or version
/// gets its own error rather than a generic decoding one.
struct RawHeader<'a> {
    version: Option<&'a str>,
    trigger_source: Option<&'a str>,
    user_pool_id: Option<&'a str>,
}

impl<'a> RawHeader<'a> {
    /// The trigger source, once the version is supported and a source is present.
    fn source(
        &self,
        trigger: &'static str,
        supported: &[&str],
        expected: &'static str,
    ) -> Result<&'a str, TriggerError> {
        check_version(trigger, self.version, supported, expected)?;
        self.trigger_source.ok_or(TriggerError::MissingField {
            trigger,
            field: "triggerSource",
        })
    }

    fn read(trigger: &'static str, event: &'a Value) -> Result<Self, TriggerError> {
        let object = event
            .as_object()
            .ok_or_else(|| TriggerError::InvalidEvent {
                trigger,
                detail: "the event is not a JSON object".to_owned(),
            })?;
        let string = |field: &'static str| -> Result<Option<&'a str>, TriggerError> {
            match object.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(TriggerError::InvalidEvent {
                    trigger,
                    detail: format!("`{field}` is not a string"),
                }),
            }
        };
        Ok(RawHeader {
            version: string("version")?,
            trigger_source: string("triggerSource")?,
            user_pool_id: string("userPoolId")?,
        })
    }
}

/// Turns a decoding error into [`TriggerError::InvalidEvent`]. serde's messages can quote
/// the offending value (an attribute value, say), so only "missing field" messages, which
/// name a field and nothing else, are passed on.
fn decode_error(trigger: &'static str, error: &serde_json::Error) -> TriggerError {
    let message = error.to_string();
    let detail = match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
    {
        Some((field, _)) => format!("missing field `{field}`"),
        None => "a field is missing or has the wrong type".to_owned(),
    };
    TriggerError::InvalidEvent { trigger, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> AuthConfig {
        AuthConfig::from_toml(&format!(
            "{text}\n[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\n"
        ))
        .unwrap()
    }

    #[test]
    fn self_manage_roles_defaults_and_agreement() {
        assert_eq!(self_manage_roles(&config("")).unwrap(), ["admin"]);
        assert_eq!(
            self_manage_roles(&config("[self_service_guard]\nallowed_roles=['owner']")).unwrap(),
            ["owner"]
        );
        assert_eq!(
            self_manage_roles(&config("[triggers]\nself_manage_roles=['x','y']")).unwrap(),
            ["x", "y"]
        );
        assert_eq!(
            self_manage_roles(&config(
                "[self_service_guard]\nallowed_roles=['y','x']\n\
                 [triggers]\nself_manage_roles=['x','y','x']"
            ))
            .unwrap(),
            ["x", "y", "x"]
        );
        let e = self_manage_roles(&config(
            "[self_service_guard]\nallowed_roles=['admin']\n\
             [triggers]\nself_manage_roles=['admin','support']",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("triggers.self_manage_roles"), "{e}");
    }

    #[test]
    fn decode_errors_never_quote_values() {
        let e = serde_json::from_str::<HashMap<String, String>>(r#"{"a": 12345}"#).unwrap_err();
        let text = decode_error("T", &e).to_string();
        assert!(!text.contains("12345"), "{text}");
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct S {
            scopes: Vec<String>,
        }
        let e = serde_json::from_str::<S>("{}").unwrap_err();
        assert_eq!(
            decode_error("T", &e).to_string(),
            "not a valid T event: missing field `scopes`"
        );
    }

    #[test]
    fn config_path_default() {
        if std::env::var_os(CONFIG_PATH_ENV).is_none() {
            assert_eq!(config_path(), PathBuf::from(DEFAULT_CONFIG_PATH));
        }
    }
}
