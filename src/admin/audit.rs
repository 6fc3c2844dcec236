//! Audit events: one `tracing` event per attempted admin action, on target
//! `cognito_authz::audit`.

use std::fmt;

use super::AdminError;
use crate::metrics::TenantMetrics;
use crate::principal::Principal;

/// Longest `target` field logged, in characters (Cognito user names have at most 128).
const MAX_TARGET_CHARS: usize = 128;
/// Longest `attributes` field logged, in characters.
const MAX_ATTRIBUTES_CHARS: usize = 512;

fn truncate(text: &str, max_chars: usize) -> &str {
    text.char_indices()
        .nth(max_chars)
        .map_or(text, |(end, _)| &text[..end])
}

/// The tracing target of audit events.
pub const AUDIT_TARGET: &str = "cognito_authz::audit";

/// An admin or self-service action, as named in audit events (`action` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// `AdminSetUserMFAPreference`.
    SetMfaPreference,
    /// `AdminUpdateUserAttributes` by an administrator.
    UpdateAttributes,
    /// `AdminGetUser`.
    GetUser,
    /// `ListUsers`.
    ListUsers,
    /// `AdminAddUserToGroup`.
    AddToGroup,
    /// `AdminRemoveUserFromGroup`.
    RemoveFromGroup,
    /// `AdminDisableUser`.
    DisableUser,
    /// `AdminEnableUser`.
    EnableUser,
    /// `AdminUserGlobalSignOut`.
    GlobalSignOut,
    /// `AdminUpdateUserAttributes` on the caller's own user, unprotected attributes only.
    UpdateOwnAttributes,
    /// `AdminGetUser` on the caller: their attributes.
    GetOwnAttributes,
    /// `AdminGetUser` on the caller: their MFA factors.
    GetOwnMfa,
    /// The caller's password change (`AdminInitiateAuth`, `AdminRespondToAuthChallenge`,
    /// `AdminSetUserPassword`).
    ChangeOwnPassword,
    /// `AdminUserGlobalSignOut` on the caller.
    SignOutSelf,
    /// `AdminListDevices` on the caller.
    ListOwnDevices,
    /// `AdminForgetDevice` on the caller.
    ForgetOwnDevice,
    /// `AdminCreateUser` (an invitation) and `AdminAddUserToGroup`.
    CreateUser,
    /// `AdminDeleteUser`.
    DeleteUser,
    /// `AdminResetUserPassword`.
    ResetPassword,
    /// `AdminListGroupsForUser`.
    ListUserGroups,
    /// `ListGroups`.
    ListGroups,
    /// `AdminUpdateUserAttributes` of the enrollment window attribute: a window opened.
    OpenMfaEnrollment,
    /// `AdminUpdateUserAttributes` of the enrollment window attribute: a window closed.
    CloseMfaEnrollment,
    /// The caller's TOTP enrollment start (`AdminGetUser`, `AdminInitiateAuth` on the
    /// enrollment client, `AssociateSoftwareToken`).
    StartTotpEnrollment,
    /// The caller's TOTP enrollment completion (`VerifySoftwareToken`,
    /// `AdminSetUserMFAPreference`, window closed, `RevokeToken`).
    VerifyTotpEnrollment,
}

impl Action {
    /// The stable name used in audit events (`set_mfa_preference`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SetMfaPreference => "set_mfa_preference",
            Action::UpdateAttributes => "update_attributes",
            Action::GetUser => "get_user",
            Action::ListUsers => "list_users",
            Action::AddToGroup => "add_to_group",
            Action::RemoveFromGroup => "remove_from_group",
            Action::DisableUser => "disable_user",
            Action::EnableUser => "enable_user",
            Action::GlobalSignOut => "global_sign_out",
            Action::UpdateOwnAttributes => "update_own_attributes",
            Action::GetOwnAttributes => "get_own_attributes",
            Action::GetOwnMfa => "get_own_mfa",
            Action::ChangeOwnPassword => "change_own_password",
            Action::SignOutSelf => "sign_out_self",
            Action::ListOwnDevices => "list_own_devices",
            Action::ForgetOwnDevice => "forget_own_device",
            Action::CreateUser => "create_user",
            Action::DeleteUser => "delete_user",
            Action::ResetPassword => "reset_password",
            Action::ListUserGroups => "list_user_groups",
            Action::ListGroups => "list_groups",
            Action::OpenMfaEnrollment => "open_mfa_enrollment",
            Action::CloseMfaEnrollment => "close_mfa_enrollment",
            Action::StartTotpEnrollment => "start_totp_enrollment",
            Action::VerifyTotpEnrollment => "verify_totp_enrollment",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an attempt ended (`outcome` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    /// 401: no or bad credentials, so no actor.
    Unauthenticated,
    /// 403/409: the caller may not do this (policy, protected attribute, self-lockout).
    Denied,
    /// 4xx: the request itself was wrong (unknown user, bad body).
    Rejected,
    /// 5xx: the server or Cognito failed.
    Error,
    /// The caller went away while the operation ran: Cognito may or may not have applied it.
    Cancelled,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Denied => "denied",
            Outcome::Rejected => "rejected",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
        }
    }

    pub(crate) fn for_status(status: u16) -> Self {
        match status {
            200..=399 => Outcome::Success,
            401 => Outcome::Unauthenticated,
            403 | 409 | 429 => Outcome::Denied,
            400..=499 => Outcome::Rejected,
            _ => Outcome::Error,
        }
    }
}

/// One audit record. Attribute *names* may be logged; attribute values, tokens and Cognito's
/// messages for client errors (which can echo values) never are.
pub(crate) struct Event<'a> {
    pub(crate) action: Action,
    pub(crate) actor: Option<&'a Principal>,
    pub(crate) target: Option<&'a str>,
    pub(crate) outcome: Outcome,
    pub(crate) status: u16,
    pub(crate) reason: Option<&'a str>,
    pub(crate) attributes: Option<&'a str>,
    /// Whom the metrics count an attempt without an actor under.
    pub(crate) anonymous: Option<&'a TenantMetrics>,
}

impl<'a> Event<'a> {
    pub(crate) fn new(
        action: Action,
        actor: Option<&'a Principal>,
        target: Option<&'a str>,
    ) -> Self {
        Event {
            action,
            actor,
            target,
            outcome: Outcome::Success,
            status: 200,
            reason: None,
            attributes: None,
            anonymous: None,
        }
    }

    /// Counts an attempt without an actor (refused by authentication) in these metrics.
    pub(crate) fn anonymous(mut self, metrics: &'a TenantMetrics) -> Self {
        self.anonymous = Some(metrics);
        self
    }

    pub(crate) fn attributes(mut self, names: Option<&'a str>) -> Self {
        self.attributes = names;
        self
    }

    pub(crate) fn result<T>(mut self, result: &Result<T, AdminError>) -> Self {
        if let Err(err) = result {
            self.status = err.status().as_u16();
            self.outcome = Outcome::for_status(self.status);
            self.reason = Some(err.reason());
        }
        self
    }

    pub(crate) fn status(mut self, status: u16, reason: &'a str) -> Self {
        self.status = status;
        self.outcome = Outcome::for_status(status);
        self.reason = Some(reason);
        self
    }

    pub(crate) fn cancelled(mut self) -> Self {
        self.outcome = Outcome::Cancelled;
        self.status = 499;
        self.reason = Some("cancelled");
        self
    }

    pub(crate) fn emit(self) {
        let tenant = self.actor.and_then(Principal::metrics).or(self.anonymous);
        crate::metrics::admin_action(tenant, self.action.as_str(), self.outcome.as_str());
        // Both come from the request: bounded, so a long path or body cannot flood the logs.
        let target = self.target.map(|t| truncate(t, MAX_TARGET_CHARS));
        let attributes = self.attributes.map(|a| truncate(a, MAX_ATTRIBUTES_CHARS));
        macro_rules! event {
            ($level:expr) => {
                tracing::event!(
                    target: AUDIT_TARGET,
                    $level,
                    actor = self.actor.and_then(Principal::username_if_user),
                    actor_sub = self.actor.map(Principal::subject),
                    actor_kind = self.actor.map(|p| p.kind().as_str()),
                    tenant = self.actor.map(Principal::tenant),
                    target = target,
                    action = self.action.as_str(),
                    outcome = self.outcome.as_str(),
                    status = self.status,
                    reason = self.reason,
                    attributes = attributes,
                    "admin action",
                )
            };
        }
        match self.outcome {
            Outcome::Success => event!(tracing::Level::INFO),
            Outcome::Error => event!(tracing::Level::ERROR),
            _ => event!(tracing::Level::WARN),
        }
    }
}

/// Emits its event as cancelled if dropped before [`Pending::finish`]: a request whose client
/// disconnects mid-call is dropped with it, and the change may still have reached Cognito.
pub(crate) struct Pending<'a>(Option<Event<'a>>);

impl<'a> Pending<'a> {
    pub(crate) fn new(event: Event<'a>) -> Self {
        Pending(Some(event))
    }

    pub(crate) fn finish<T>(mut self, result: &Result<T, AdminError>) {
        if let Some(event) = self.0.take() {
            event.result(result).emit();
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(event) = self.0.take() {
            event.cancelled().emit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("ééé", 2), "éé");
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(Outcome::for_status(200), Outcome::Success);
        assert_eq!(Outcome::for_status(401), Outcome::Unauthenticated);
        assert_eq!(Outcome::for_status(403), Outcome::Denied);
        assert_eq!(Outcome::for_status(409), Outcome::Denied);
        assert_eq!(Outcome::for_status(404), Outcome::Rejected);
        assert_eq!(Outcome::for_status(503), Outcome::Error);
    }

    #[test]
    fn a_dropped_attempt_is_audited_as_cancelled() {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::layer::SubscriberExt;

        #[derive(Clone, Default)]
        struct Grab(Arc<Mutex<Vec<Vec<String>>>>);
        struct Fields<'a>(&'a mut Vec<String>);
        impl tracing::field::Visit for Fields<'_> {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.push(format!("{}={value}", field.name()));
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                self.0.push(format!("{}={value:?}", field.name()));
            }
        }
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Grab {
            fn on_event(
                &self,
                event: &tracing::Event<'_>,
                _: tracing_subscriber::layer::Context<'_, S>,
            ) {
                let mut fields = Vec::new();
                event.record(&mut Fields(&mut fields));
                self.0.lock().unwrap().push(fields);
            }
        }

        let grab = Grab::default();
        let subscriber = tracing_subscriber::registry().with(grab.clone());
        tracing::subscriber::with_default(subscriber, || {
            drop(Pending::new(Event::new(
                Action::DisableUser,
                None,
                Some("bob"),
            )));
            Pending::new(Event::new(Action::EnableUser, None, Some("bob"))).finish(&Ok::<
                (),
                AdminError,
            >(
                ()
            ));
        });
        let events = grab.0.lock().unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            events[0].contains(&"outcome=cancelled".to_owned()),
            "{events:?}"
        );
        assert!(
            events[0].contains(&"action=disable_user".to_owned()),
            "{events:?}"
        );
        assert!(
            events[1].contains(&"outcome=success".to_owned()),
            "{events:?}"
        );
    }
}
