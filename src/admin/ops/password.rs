//! `POST /me/password`: [`SelfService::change_password`], with MFA step-up, an attempt limit
//! and the app client's `SECRET_HASH`.
//!
//! # Rules
//! - **At least as strong as a sign-in.** The current password is proven by a real sign-in
//!   (`AdminInitiateAuth`, `ADMIN_USER_PASSWORD_AUTH`, on the token's own app client). If
//!   Cognito answers with an MFA challenge, the password is changed only after Cognito accepts
//!   the code (`AdminRespondToAuthChallenge`); until then the answer is 403
//!   `mfa_code_required` naming the challenge. The challenge's session is kept here, bound to
//!   the user and to the password that opened it, for Cognito's 3 minutes, so an SMS or email
//!   user answers the code they were just sent (and is sent one per attempt, at the pool's
//!   messaging cost).
//! - **Not an oracle, not a message pump.** At most `max` counted attempts per user per
//!   window in this process, then 429 with `Retry-After` and Cognito is not asked. Counted:
//!   a wrong password, a wrong code, and every challenge started (answered 403
//!   `mfa_code_required`), since Cognito sends an SMS or email user a billed message for
//!   each; one limit (`[admin] max_password_attempts`) bounds both guessing and messages, so
//!   a stolen token and password cannot make Cognito send more than `max` codes per window.
//!   An attempt is counted before Cognito is asked and released only when it ended otherwise
//!   (changed, policy refusal, outage), so parallel requests cannot exceed the limit. A
//!   legitimate MFA user spends one count per change (the challenge). Cognito's own lockout
//!   (after about five failed sign-ins it delays further ones, growing with each failure)
//!   applies on top, across all replicas.
//! - **No secrets anywhere.** Passwords, codes, sessions and client secrets are never logged,
//!   never in audit events or error messages, and [`PasswordChange`]'s `Debug` hides them.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_cognitoidentityprovider::operation::admin_initiate_auth::AdminInitiateAuthOutput;
use aws_sdk_cognitoidentityprovider::operation::admin_respond_to_auth_challenge::AdminRespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};
use serde::Deserialize;

use super::password_guard::{PasswordGuard, PendingChallenge, UserKey};
use super::{Binding, SelfService};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

/// Cognito's longest password.
const MAX_PASSWORD_CHARS: usize = 256;

/// The body of `POST /me/password`. `Debug` shows none of the values.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password the user signs in with now.
    pub current_password: String,
    /// The new password (Cognito's password policy applies).
    pub new_password: String,
    /// The code of the MFA challenge, once `mfa_code_required` was answered.
    #[serde(default)]
    pub mfa_code: Option<String>,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange")
            .field("mfa_code", &self.mfa_code.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl PasswordChange {
    fn validate(&self) -> Result<(), AdminError> {
        for (field, value) in [
            ("current_password", &self.current_password),
            ("new_password", &self.new_password),
        ] {
            let chars = value.chars().count();
            if chars == 0 || chars > MAX_PASSWORD_CHARS {
                return Err(AdminError::InvalidRequest(format!(
                    "`{field}` must be 1 to {MAX_PASSWORD_CHARS} characters"
                )));
            }
        }
        if let Some(code) = &self.mfa_code
            && (code.is_empty() || code.len() > 16 || !code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(AdminError::InvalidRequest(
                "`mfa_code` must be 1 to 16 digits".to_owned(),
            ));
        }
        Ok(())
    }
}

/// The challenges answered with a code, and the response key of each.
pub(super) fn code_challenge(
    challenge: &ChallengeNameType,
) -> Option<(&'static str, &'static str)> {
    match challenge {
        ChallengeNameType::SoftwareTokenMfa => {
            Some(("SOFTWARE_TOKEN_MFA", "SOFTWARE_TOKEN_MFA_CODE"))
        }
        ChallengeNameType::SmsMfa => Some(("SMS_MFA", "SMS_MFA_CODE")),
        ChallengeNameType::EmailOtp => Some(("EMAIL_OTP", "EMAIL_OTP_CODE")),
        _ => None,
    }
}

/// Why a sign-in check failed: a wrong password, unless Cognito says the app client is not
/// set up for it (a deployment fault, not the user's).
pub(super) fn sign_in_refused(message: Option<&str>) -> AdminError {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    if message.contains("flow not enabled") || message.contains("secret hash") {
        AdminError::Misconfigured {
            code: "NotAuthorizedException (app client setup)".to_owned(),
        }
    } else {
        AdminError::WrongPassword
    }
}

impl Binding {
    async fn check_password(
        &self,
        guard: &PasswordGuard,
        password: &str,
    ) -> Result<AdminInitiateAuthOutput, AdminError> {
        self.sign_in_on(guard, self.actor.client_id(), password)
            .await
    }

    /// A sign-in of the caller with `password` on app client `client_id`
    /// (`ADMIN_USER_PASSWORD_AUTH`, with the client's `SECRET_HASH` when configured).
    pub(super) async fn sign_in_on(
        &self,
        guard: &PasswordGuard,
        client_id: &str,
        password: &str,
    ) -> Result<AdminInitiateAuthOutput, AdminError> {
        use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
        let username = self.actor.username();
        let mut operation = self
            .client
            .admin_initiate_auth()
            .user_pool_id(self.pool())
            .client_id(client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password);
        if let Some(hash) = guard.secret_hash(client_id, username) {
            operation = operation.auth_parameters("SECRET_HASH", hash);
        }
        send!(self, operation).map_err(|err| match err.code() {
            Some("NotAuthorizedException") => sign_in_refused(err.message()),
            _ => from_sdk(err, "AdminInitiateAuth", CallKind::Other),
        })
    }

    async fn answer_challenge(
        &self,
        guard: &PasswordGuard,
        pending: &PendingChallenge,
        code: &str,
    ) -> Result<(), AdminError> {
        let out = self
            .answer_code_on(
                guard,
                self.actor.client_id(),
                &pending.challenge,
                &pending.session,
                code,
            )
            .await?;
        match out.authentication_result() {
            Some(_) => Ok(()),
            None => Err(unsupported_step(out.challenge_name())),
        }
    }

    /// Answers an MFA code challenge of a sign-in on app client `client_id`.
    pub(super) async fn answer_code_on(
        &self,
        guard: &PasswordGuard,
        client_id: &str,
        challenge: &ChallengeNameType,
        session: &str,
        code: &str,
    ) -> Result<AdminRespondToAuthChallengeOutput, AdminError> {
        use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
        let Some((_, response_key)) = code_challenge(challenge) else {
            return Err(AdminError::WrongMfaCode);
        };
        let username = self.actor.username();
        let mut operation = self
            .client
            .admin_respond_to_auth_challenge()
            .user_pool_id(self.pool())
            .client_id(client_id)
            .challenge_name(challenge.clone())
            .session(session)
            .challenge_responses("USERNAME", username)
            .challenge_responses(response_key, code);
        if let Some(hash) = guard.secret_hash(client_id, username) {
            operation = operation.challenge_responses("SECRET_HASH", hash);
        }
        send!(self, operation).map_err(|err| match err.code() {
            // An expired or spent session is refused this way too.
            Some("NotAuthorizedException") => AdminError::WrongMfaCode,
            _ => from_sdk(err, "AdminRespondToAuthChallenge", CallKind::Other),
        })
    }

    async fn set_password(&self, password: &str) -> Result<(), AdminError> {
        send!(
            self,
            self.client
                .admin_set_user_password()
                .user_pool_id(self.pool())
                .username(self.actor.username())
                .password(password)
                .permanent(true)
        )
        .map_err(|e| from_sdk(e, "AdminSetUserPassword", CallKind::Other))?;
        Ok(())
    }
}

/// A sign-in step that is not an MFA code (new password required, MFA setup, factor choice).
pub(super) fn unsupported_step(challenge: Option<&ChallengeNameType>) -> AdminError {
    let name = challenge.map_or("unknown", ChallengeNameType::as_str);
    AdminError::InvalidRequest(format!(
        "the account must complete a sign-in step first ({name}); sign in again, then retry"
    ))
}

impl SelfService {
    /// Changes the caller's own password (see the module's rules): 403
    /// [`AdminError::WrongPassword`], [`AdminError::MfaCodeRequired`] or
    /// [`AdminError::WrongMfaCode`]; 400 [`AdminError::InvalidPassword`] for Cognito's policy;
    /// 429 [`AdminError::TooManyAttempts`] once the window holds `max` failures and started
    /// challenges.
    pub async fn change_password(&self, change: &PasswordChange) -> Result<(), AdminError> {
        let b = &self.binding;
        let username = b.actor.username();
        b.audited(Action::ChangeOwnPassword, username, None, async {
            change.validate()?;
            let guard = &self.password;
            let key = (b.tenant.id().to_owned(), username.to_owned());
            let attempt = guard.reserve(&key, Instant::now())?;
            let result = self.change_password_counted(change, &key).await;
            // A started challenge stays counted like a failure: Cognito may have sent an SMS
            // or email (billed) for it, and only this bound stops a caller holding the token
            // and password from asking for codes without end.
            if !matches!(
                result,
                Err(AdminError::WrongPassword
                    | AdminError::WrongMfaCode
                    | AdminError::MfaCodeRequired(_))
            ) {
                guard.release(attempt);
            }
            result
        })
        .await
    }

    async fn change_password_counted(
        &self,
        change: &PasswordChange,
        key: &UserKey,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        let guard = &self.password;
        let current = change.current_password.as_str();
        let stored = match change.mfa_code {
            Some(_) => guard.take_pending(key, current),
            None => None,
        };
        let pending = match stored {
            Some(pending) => pending,
            None => {
                let out = b.check_password(guard, current).await?;
                if out.authentication_result().is_some() {
                    return b.set_password(&change.new_password).await;
                }
                let challenge = out.challenge_name().cloned();
                let (Some(challenge), Some(session)) = (challenge, out.session()) else {
                    return Err(unsupported_step(None));
                };
                if code_challenge(&challenge).is_none() {
                    return Err(unsupported_step(Some(&challenge)));
                }
                Arc::new(PendingChallenge {
                    challenge,
                    session: session.to_owned(),
                    password_tag: guard.tag(current),
                })
            }
        };
        let Some(code) = &change.mfa_code else {
            let name = code_challenge(&pending.challenge).map_or("unknown", |(name, _)| name);
            guard.keep_pending(key.clone(), pending);
            return Err(AdminError::MfaCodeRequired(name));
        };
        b.answer_challenge(guard, &pending, code).await?;
        b.set_password(&change.new_password).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_from_the_file_never_show_in_debug() {
        let config = crate::config::AuthConfig::from_toml(
            "[[tenant]]\nid = 'a'\nuser_pool_id = 'us-east-1_a'\nclient_ids = ['c']\n\
             [admin]\nmax_password_attempts = 3\npassword_attempt_window_seconds = 60\n\
             [admin.client_secrets]\nc = 'hush-hush-1234'\n",
        )
        .expect("config");
        assert_eq!(config.admin.max_password_attempts, Some(3));
        assert_eq!(config.admin.password_attempt_window_seconds, Some(60));
        assert_eq!(config.admin.client_secrets["c"].expose(), "hush-hush-1234");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hush-hush"), "{shown}");
        assert!(
            crate::config::AuthConfig::from_toml(
                "[[tenant]]\nid = 'a'\nuser_pool_id = 'us-east-1_a'\nclient_ids = ['c']\n\
                 [admin]\nmax_password_attempt = 3\n"
            )
            .is_err(),
            "a misspelt key is refused"
        );
    }

    #[test]
    fn debug_and_errors_never_show_passwords_or_codes() {
        let change: PasswordChange = serde_json::from_str(
            r#"{"current_password":"Old-Secret1!","new_password":"New-Secret2!","mfa_code":"123456"}"#,
        )
        .expect("body");
        let shown = format!("{change:?}");
        for secret in ["Old-Secret1!", "New-Secret2!", "123456"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let long = PasswordChange {
            new_password: "x".repeat(300),
            ..change.clone()
        };
        let err = long.validate().unwrap_err();
        assert!(!err.to_string().contains("xxx"), "{err}");
        let bad_code = PasswordChange {
            mfa_code: Some("12a456".to_owned()),
            ..change
        };
        assert!(
            !bad_code
                .validate()
                .unwrap_err()
                .to_string()
                .contains("12a456")
        );
        assert!(
            serde_json::from_str::<PasswordChange>(
                r#"{"new_password":"x","current_password":"y","user":"bob"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn sign_in_refusals_tell_client_setup_from_a_wrong_password() {
        assert_eq!(
            sign_in_refused(Some("Incorrect username or password.")),
            AdminError::WrongPassword
        );
        assert_eq!(
            sign_in_refused(Some("Auth flow not enabled for this client")).status(),
            500
        );
        assert_eq!(
            sign_in_refused(Some("Unable to verify secret hash for client abc")).status(),
            500
        );
    }
}
