//! TOTP enrollment for users whose access tokens lack the self-service scope:
//! [`SelfService::start_totp_enrollment`] and [`SelfService::verify_totp_enrollment`]. The
//! administrator's window is in `totp_window`, the bodies in `totp_bodies`, the waiting
//! enrollments in `totp_state`.
//!
//! # Rules
//! - **Only inside an administrator's window.** The window is an admin-only attribute
//!   (`[triggers] mfa_enrollment_window_attribute`) holding its end in Unix seconds, 1 to
//!   [`MAX_ENROLLMENT_WINDOW_MINUTES`](crate::aws::MAX_ENROLLMENT_WINDOW_MINUTES) ahead. Both
//!   user routes read it first (`AdminGetUser`) and answer 403 `enrollment_window_closed` without signing anyone in when it is closed
//!   (missing, expired, malformed, or further ahead than a window can be).
//! - **A sign-in, on a server-only client.** The user proves their password by a real sign-in
//!   (`AdminInitiateAuth`, `ADMIN_USER_PASSWORD_AUTH`) on the tenant's enrollment app client
//!   (`[admin.totp_enrollment_clients]`, secret required). Then:
//!   - `MFA_SETUP` (the pool requires MFA): the challenge's session authorizes
//!     `AssociateSoftwareToken` and `VerifySoftwareToken`, and `AdminRespondToAuthChallenge`
//!     finishes the sign-in;
//!   - tokens (optional MFA): the Pre Token Generation trigger kept the self-service scope
//!     for this client inside the window only, so the access token authorizes the same two
//!     calls;
//!   - an MFA code challenge (the user has MFA already): the same step-up as
//!     `/me/password` (403 `mfa_code_required`, then the code with the same password).
//!
//!   The session or tokens stay in this process (see `totp_state`), bound to the tenant and
//!   the caller's `sub`, for 3 minutes; the user gets the secret and an `otpauth://` URI only.
//! - **One shot.** A right code enables TOTP as the preferred factor
//!   (`AdminSetUserMFAPreference`), closes the window, and ends the server's session:
//!   `RevokeToken` with the enrollment client's secret, or, where that fails (moto has no
//!   `RevokeToken`), `AdminUserGlobalSignOut`, which ends every session of the user (they sign
//!   in again, now with their authenticator). Should both fail, the tokens are dropped from
//!   memory; they were never sent anywhere, and the trigger never gives the scope to a refresh.
//! - **Counted like password changes.** A wrong password, a wrong code and every started MFA
//!   challenge count against `[admin] max_password_attempts` for the user (one budget with
//!   `/me/password`); over it, 429 and Cognito is not asked.

use std::time::Instant;

use super::password::{code_challenge, unsupported_step};
use super::password_guard::PasswordGuard;
use super::totp_bodies::{TotpEnrollmentStart, TotpSecret, TotpVerification, otpauth_uri};
use super::totp_state::{Authority, EnrollmentKey, Pending};
use super::{Binding, SelfService};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::{enrollment_window_open, send_to_pool, unix_now};
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthenticationResultType, ChallengeNameType, SoftwareTokenMfaSettingsType,
    VerifySoftwareTokenResponseType,
};

/// Where a sign-in on the enrollment client got to.
enum SignedIn {
    Tokens(AuthenticationResultType),
    Setup(String),
}

impl Binding {
    /// The caller's window attribute at `now`: open or not.
    pub(super) async fn window_open(
        &self,
        attribute: &str,
        username: &str,
    ) -> Result<bool, AdminError> {
        let out = send!(
            self,
            self.client
                .admin_get_user()
                .user_pool_id(self.pool())
                .username(username)
        )
        .map_err(|e| from_sdk(e, "AdminGetUser", CallKind::Other))?;
        let value = out
            .user_attributes()
            .iter()
            .find(|a| a.name() == attribute)
            .and_then(AttributeType::value);
        Ok(enrollment_window_open(value, unix_now()))
    }

    pub(super) async fn set_window(
        &self,
        attribute: &str,
        username: &str,
        value: &str,
    ) -> Result<(), AdminError> {
        let attribute = AttributeType::builder()
            .name(attribute)
            .value(value)
            .build()
            .map_err(|e| AdminError::InvalidRequest(e.to_string()))?;
        send!(
            self,
            self.client
                .admin_update_user_attributes()
                .user_pool_id(self.pool())
                .username(username)
                .user_attributes(attribute)
        )
        .map_err(|e| from_sdk(e, "AdminUpdateUserAttributes", CallKind::Other))?;
        Ok(())
    }

    /// `AssociateSoftwareToken` with the session or the access token: the secret, and the
    /// session to verify with (the new one Cognito returns, for a session).
    async fn associate(&self, authority: Authority) -> Result<(String, Authority), AdminError> {
        let operation = self.client.associate_software_token();
        let operation = match &authority {
            Authority::Session(session) => operation.session(session),
            Authority::Tokens { access_token, .. } => operation.access_token(access_token),
        };
        let out = send!(self, operation).map_err(|err| match err.code() {
            // A scope-less access token (the trigger did not keep the scope for the
            // enrollment client) or a spent session: the deployment, not the user.
            Some("NotAuthorizedException") => {
                tracing::error!(
                    target: "cognito_authz::admin",
                    operation = "AssociateSoftwareToken",
                    "refused: the enrollment client's access token lacks the self-service \
                     scope (is the Pre Token Generation trigger configured with the same \
                     enrollment client and window attribute?) or the session expired",
                );
                AdminError::Misconfigured {
                    code: "NotAuthorizedException (AssociateSoftwareToken)".to_owned(),
                }
            }
            _ => from_sdk(err, "AssociateSoftwareToken", CallKind::Other),
        })?;
        let secret = out.secret_code().unwrap_or_default().to_owned();
        if secret.is_empty() {
            return Err(AdminError::Upstream {
                code: "AssociateSoftwareToken returned no secret".to_owned(),
            });
        }
        let authority = match (authority, out.session()) {
            (Authority::Session(_), Some(session)) => Authority::Session(session.to_owned()),
            (authority, _) => authority,
        };
        Ok((secret, authority))
    }

    /// Ends the server's session on the enrollment client: `RevokeToken` with the client's
    /// secret, else `AdminUserGlobalSignOut`. Never fails the request: see the module docs.
    async fn end_enrollment_session(
        &self,
        guard: &PasswordGuard,
        client_id: &str,
        refresh_token: Option<&str>,
    ) {
        if let Some(token) = refresh_token {
            let revoke = self
                .client
                .revoke_token()
                .token(token)
                .client_id(client_id)
                .set_client_secret(guard.client_secret(client_id).map(str::to_owned));
            match send!(self, revoke) {
                Ok(_) => return,
                Err(err) => tracing::warn!(
                    target: "cognito_authz::admin",
                    operation = "RevokeToken",
                    code = err.code().unwrap_or("none"),
                    "could not revoke the enrollment session; signing the user out everywhere",
                ),
            }
        }
        let sign_out = self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(self.pool())
            .username(self.actor.username());
        if let Err(err) = send!(self, sign_out) {
            tracing::error!(
                target: "cognito_authz::admin",
                operation = "AdminUserGlobalSignOut",
                code = err.code().unwrap_or("none"),
                "could not end the enrollment session; its tokens are dropped from memory",
            );
        }
    }
}

impl SelfService {
    fn enrollment_key(&self) -> EnrollmentKey {
        let b = &self.binding;
        (b.tenant.id().to_owned(), b.actor.subject().to_owned())
    }

    /// Counts an attempt (one budget with `/me/password`), runs `op`, and releases the count
    /// unless it failed on a wrong secret or started an MFA challenge.
    async fn counted<T>(
        &self,
        op: impl Future<Output = Result<T, AdminError>>,
    ) -> Result<T, AdminError> {
        let b = &self.binding;
        let key = (b.tenant.id().to_owned(), b.actor.username().to_owned());
        let attempt = self.password.reserve(&key, Instant::now())?;
        let result = op.await;
        if !matches!(
            result,
            Err(AdminError::WrongPassword
                | AdminError::WrongMfaCode
                | AdminError::MfaCodeRequired(_))
        ) {
            self.password.release(attempt);
        }
        result
    }

    /// Starts enrolling an authenticator app (see the module's rules): 200 with the secret;
    /// 403 `totp_enrollment_disabled`, `enrollment_window_closed`, `wrong_password`,
    /// `mfa_code_required`, `wrong_mfa_code`; 429 over the attempt limit.
    pub async fn start_totp_enrollment(
        &self,
        request: &TotpEnrollmentStart,
    ) -> Result<TotpSecret, AdminError> {
        let b = &self.binding;
        let username = b.actor.username();
        b.audited(Action::StartTotpEnrollment, username, None, async {
            request.validate()?;
            let (attribute, client_id) = self.enrollment.for_tenant(b.tenant.id())?;
            if !b.window_open(attribute, username).await? {
                return Err(AdminError::EnrollmentWindowClosed);
            }
            self.counted(self.start_counted(request, client_id)).await
        })
        .await
    }

    async fn start_counted(
        &self,
        request: &TotpEnrollmentStart,
        client_id: &str,
    ) -> Result<TotpSecret, AdminError> {
        let b = &self.binding;
        let guard = &self.password;
        let key = self.enrollment_key();
        let password = request.current_password.as_str();
        // A step-up waiting for this code, opened with the same password.
        let waiting = match (&request.mfa_code, self.enrollment.take(&key)) {
            (Some(_), Some(pending)) => match &*pending {
                Pending::StepUp {
                    challenge,
                    session,
                    password_tag,
                } if guard.matches_tag(password, password_tag) => {
                    Some((challenge.clone(), session.clone()))
                }
                _ => None,
            },
            _ => None,
        };
        let (challenge, session) = match waiting {
            Some(step_up) => step_up,
            None => {
                let out = b.sign_in_on(guard, client_id, password).await?;
                match (
                    out.authentication_result(),
                    out.challenge_name(),
                    out.session(),
                ) {
                    (Some(tokens), _, _) => {
                        return self
                            .associate_and_keep(client_id, SignedIn::Tokens(tokens.clone()))
                            .await;
                    }
                    (None, Some(ChallengeNameType::MfaSetup), Some(session)) => {
                        return self
                            .associate_and_keep(client_id, SignedIn::Setup(session.to_owned()))
                            .await;
                    }
                    (None, Some(challenge), Some(session))
                        if code_challenge(challenge).is_some() =>
                    {
                        (challenge.clone(), session.to_owned())
                    }
                    (None, challenge, _) => return Err(unsupported_step(challenge)),
                }
            }
        };
        let Some(code) = &request.mfa_code else {
            let name = code_challenge(&challenge).map_or("unknown", |(name, _)| name);
            self.enrollment.keep(
                key,
                Pending::StepUp {
                    challenge,
                    session,
                    password_tag: guard.tag(password),
                },
            );
            return Err(AdminError::MfaCodeRequired(name));
        };
        let out = b
            .answer_code_on(guard, client_id, &challenge, &session, code)
            .await?;
        match out.authentication_result() {
            Some(tokens) => {
                self.associate_and_keep(client_id, SignedIn::Tokens(tokens.clone()))
                    .await
            }
            None => Err(unsupported_step(out.challenge_name())),
        }
    }

    async fn associate_and_keep(
        &self,
        client_id: &str,
        signed_in: SignedIn,
    ) -> Result<TotpSecret, AdminError> {
        let b = &self.binding;
        let authority = match signed_in {
            SignedIn::Setup(session) => Authority::Session(session),
            SignedIn::Tokens(tokens) => {
                let Some(access_token) = tokens.access_token() else {
                    return Err(AdminError::Upstream {
                        code: "AdminInitiateAuth returned no access token".to_owned(),
                    });
                };
                Authority::Tokens {
                    access_token: access_token.to_owned(),
                    refresh_token: tokens.refresh_token().map(str::to_owned),
                }
            }
        };
        let refresh = match &authority {
            Authority::Tokens { refresh_token, .. } => refresh_token.clone(),
            Authority::Session(_) => None,
        };
        let (secret, authority) = match b.associate(authority).await {
            Ok(associated) => associated,
            Err(err) => {
                b.end_enrollment_session(&self.password, client_id, refresh.as_deref())
                    .await;
                return Err(err);
            }
        };
        self.enrollment.keep(
            self.enrollment_key(),
            Pending::Associated {
                client_id: client_id.to_owned(),
                authority,
            },
        );
        Ok(TotpSecret {
            otpauth_uri: otpauth_uri(b.tenant.id(), b.actor.username(), &secret),
            secret,
        })
    }

    /// Completes the enrollment with the authenticator's first code (see the module's rules):
    /// 204; 403 `totp_enrollment_disabled`, `enrollment_window_closed`, `wrong_mfa_code`
    /// (the enrollment stays for another try); 409 `no_pending_enrollment`; 429.
    pub async fn verify_totp_enrollment(
        &self,
        request: &TotpVerification,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        let username = b.actor.username();
        b.audited(Action::VerifyTotpEnrollment, username, None, async {
            request.validate()?;
            let (attribute, client_id) = self.enrollment.for_tenant(b.tenant.id())?;
            let key = self.enrollment_key();
            // The window first, as on the start: closed since, the waiting enrollment is
            // dropped and its session ended.
            let open = b.window_open(attribute, username).await?;
            let Some(pending) = self.enrollment.take(&key) else {
                return Err(if open {
                    AdminError::NoPendingEnrollment
                } else {
                    AdminError::EnrollmentWindowClosed
                });
            };
            let (pending_client, authority) = match &*pending {
                Pending::Associated {
                    client_id,
                    authority,
                } => (client_id.as_str(), authority),
                Pending::StepUp { .. } if open => return Err(AdminError::NoPendingEnrollment),
                Pending::StepUp { .. } => return Err(AdminError::EnrollmentWindowClosed),
            };
            let refresh = match authority {
                Authority::Tokens { refresh_token, .. } => refresh_token.as_deref(),
                Authority::Session(_) => None,
            };
            if !open || pending_client != client_id {
                b.end_enrollment_session(&self.password, pending_client, refresh)
                    .await;
                return Err(AdminError::EnrollmentWindowClosed);
            }
            let verified = self
                .counted(self.verify_code(client_id, authority, &request.code))
                .await;
            let refresh = match verified {
                Ok(refresh) => refresh,
                Err(AdminError::WrongMfaCode) => {
                    self.enrollment.put_back(key, pending.clone());
                    return Err(AdminError::WrongMfaCode);
                }
                Err(err) => {
                    b.end_enrollment_session(&self.password, client_id, refresh)
                        .await;
                    return Err(err);
                }
            };
            let enabled = self.enable_totp().await;
            let closed = b.set_window(attribute, username, "0").await;
            b.end_enrollment_session(&self.password, client_id, refresh.as_deref())
                .await;
            enabled.and(closed)
        })
        .await
    }

    /// `VerifySoftwareToken`, then for `MFA_SETUP` the end of the sign-in. Returns the refresh
    /// token the server then holds, if any.
    async fn verify_code(
        &self,
        client_id: &str,
        authority: &Authority,
        code: &str,
    ) -> Result<Option<String>, AdminError> {
        let b = &self.binding;
        let operation = b
            .client
            .verify_software_token()
            .user_code(code)
            .friendly_device_name("authenticator");
        let operation = match authority {
            Authority::Session(session) => operation.session(session),
            Authority::Tokens { access_token, .. } => operation.access_token(access_token),
        };
        let out = send!(b, operation).map_err(|err| match err.code() {
            Some("EnableSoftwareTokenMFAException" | "CodeMismatchException") => {
                AdminError::WrongMfaCode
            }
            // An expired session or token: start again.
            Some("NotAuthorizedException" | "ExpiredCodeException") => {
                AdminError::NoPendingEnrollment
            }
            _ => from_sdk(err, "VerifySoftwareToken", CallKind::Other),
        })?;
        if out.status() != Some(&VerifySoftwareTokenResponseType::Success) {
            return Err(AdminError::WrongMfaCode);
        }
        match authority {
            Authority::Tokens { refresh_token, .. } => Ok(refresh_token.clone()),
            Authority::Session(session) => {
                let session = out.session().unwrap_or(session);
                let username = b.actor.username();
                let mut operation = b
                    .client
                    .admin_respond_to_auth_challenge()
                    .user_pool_id(b.pool())
                    .client_id(client_id)
                    .challenge_name(ChallengeNameType::MfaSetup)
                    .session(session)
                    .challenge_responses("USERNAME", username);
                if let Some(hash) = self.password.secret_hash(client_id, username) {
                    operation = operation.challenge_responses("SECRET_HASH", hash);
                }
                let out = send!(b, operation).map_err(|err| match err.code() {
                    // The setup session expired (3 minutes): start again.
                    Some("NotAuthorizedException") => AdminError::NoPendingEnrollment,
                    _ => from_sdk(err, "AdminRespondToAuthChallenge", CallKind::Other),
                })?;
                Ok(out
                    .authentication_result()
                    .and_then(|r| r.refresh_token())
                    .map(str::to_owned))
            }
        }
    }

    /// TOTP enabled and preferred (`AdminSetUserMFAPreference`); other factors unchanged.
    async fn enable_totp(&self) -> Result<(), AdminError> {
        let b = &self.binding;
        send!(
            b,
            b.client
                .admin_set_user_mfa_preference()
                .user_pool_id(b.pool())
                .username(b.actor.username())
                .software_token_mfa_settings(
                    SoftwareTokenMfaSettingsType::builder()
                        .enabled(true)
                        .preferred_mfa(true)
                        .build()
                )
        )
        .map_err(|e| from_sdk(e, "AdminSetUserMFAPreference", CallKind::Other))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
