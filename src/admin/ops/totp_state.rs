//! The per-process state of TOTP enrollment (`POST /me/mfa/totp`, `POST /me/mfa/totp/verify`):
//! the settings (window attribute, each tenant's enrollment app client) and the enrollments
//! waiting for their first code.
//!
//! # Rules
//! - **Server-side only.** A waiting enrollment holds what authorizes
//!   `VerifySoftwareToken`: the `MFA_SETUP` session, or the access and refresh tokens of the
//!   server's sign-in on the enrollment client. It is never sent to the client, never logged,
//!   and its `Debug` shows none of it.
//! - **Bound to the caller.** Kept under (tenant id, the caller's `sub`): only the same user of
//!   the same tenant can complete it. A new start replaces the user's earlier one.
//! - **Short-lived.** Kept for Cognito's 3-minute session at most, and taken by the
//!   verification (put back only after a wrong code, for another try).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;

use crate::admin::AdminError;

/// How long Cognito's sign-in and `MFA_SETUP` sessions last, and so how long a waiting
/// enrollment is kept.
const ENROLLMENT_TTL: Duration = Duration::from_secs(3 * 60);
/// Waiting enrollments held at once (beyond it the least recently used are dropped).
const MAX_PENDING: u64 = 100_000;

/// (tenant id, the caller's `sub`).
pub(super) type EnrollmentKey = (String, String);

/// What authorizes the calls that finish an enrollment.
pub(super) enum Authority {
    /// The `MFA_SETUP` challenge's session (pools that require MFA), as
    /// `AssociateSoftwareToken` last returned it.
    Session(String),
    /// The enrollment client's tokens (pools with optional MFA): the access token keeps the
    /// self-service scope because the trigger kept it for this client inside the window.
    Tokens {
        access_token: String,
        refresh_token: Option<String>,
    },
}

/// One user's enrollment in progress.
pub(super) enum Pending {
    /// The sign-in on the enrollment client answered with an MFA code challenge (the user has
    /// MFA already): the code comes with the same password in the next request.
    StepUp {
        challenge: ChallengeNameType,
        session: String,
        /// HMAC of the password that opened it (see `PasswordGuard::tag`).
        password_tag: hmac::Tag,
    },
    /// A secret was issued; the first code from the authenticator completes it.
    Associated {
        /// The enrollment app client the session or tokens belong to.
        client_id: String,
        authority: Authority,
    },
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pending::StepUp { challenge, .. } => f
                .debug_struct("StepUp")
                .field("challenge", challenge)
                .finish_non_exhaustive(),
            Pending::Associated {
                client_id,
                authority,
            } => f
                .debug_struct("Associated")
                .field("client_id", client_id)
                .field(
                    "authority",
                    &match authority {
                        Authority::Session(_) => "session <redacted>",
                        Authority::Tokens { .. } => "tokens <redacted>",
                    },
                )
                .finish(),
        }
    }
}

struct Inner {
    window_attribute: Option<Arc<str>>,
    /// Tenant id -> enrollment app client id.
    clients: BTreeMap<String, String>,
    pending: moka::sync::Cache<EnrollmentKey, Arc<Pending>>,
}

/// TOTP enrollment settings and waiting enrollments, shared by every request of one
/// `AdminApi`. Cheap to clone. Off (every route answers `totp_enrollment_disabled`) until
/// configured.
#[derive(Clone)]
pub(crate) struct TotpEnrollment(Arc<Inner>);

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrollment")
            .field("window_attribute", &self.0.window_attribute)
            .field("clients", &self.0.clients)
            .field("pending", &self.0.pending.entry_count())
            .finish()
    }
}

impl Default for TotpEnrollment {
    fn default() -> Self {
        TotpEnrollment::new(None, BTreeMap::new())
    }
}

impl TotpEnrollment {
    pub(crate) fn new(window_attribute: Option<String>, clients: BTreeMap<String, String>) -> Self {
        TotpEnrollment(Arc::new(Inner {
            window_attribute: window_attribute
                .filter(|a| !a.trim().is_empty())
                .map(Arc::from),
            clients,
            pending: moka::sync::Cache::builder()
                .max_capacity(MAX_PENDING)
                .time_to_live(ENROLLMENT_TTL)
                .build(),
        }))
    }

    /// The window attribute, if enrollment is configured at all (self-service never writes it).
    pub(crate) fn window_attribute(&self) -> Option<&str> {
        self.0.window_attribute.as_deref()
    }

    /// The window attribute and the enrollment client of `tenant`, or
    /// [`AdminError::TotpEnrollmentDisabled`] when either is not configured.
    pub(super) fn for_tenant(&self, tenant: &str) -> Result<(&str, &str), AdminError> {
        match (self.window_attribute(), self.0.clients.get(tenant)) {
            (Some(attribute), Some(client)) => Ok((attribute, client.as_str())),
            _ => Err(AdminError::TotpEnrollmentDisabled),
        }
    }

    pub(super) fn keep(&self, key: EnrollmentKey, pending: Pending) {
        self.0.pending.insert(key, Arc::new(pending));
    }

    /// Takes the user's waiting enrollment, if any (at most once).
    pub(super) fn take(&self, key: &EnrollmentKey) -> Option<Arc<Pending>> {
        self.0.pending.remove(key)
    }

    /// Puts an enrollment back after a wrong code, unless a newer one replaced it meanwhile.
    pub(super) fn put_back(&self, key: EnrollmentKey, pending: Arc<Pending>) {
        let _ = self.0.pending.entry(key).or_insert_with(|| pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sub: &str) -> EnrollmentKey {
        ("acme".to_owned(), sub.to_owned())
    }

    #[test]
    fn off_until_configured_per_tenant() {
        assert_eq!(
            TotpEnrollment::default().for_tenant("acme"),
            Err(AdminError::TotpEnrollmentDisabled)
        );
        let mut clients = BTreeMap::new();
        clients.insert("acme".to_owned(), "enroll".to_owned());
        let without_window = TotpEnrollment::new(Some(" ".to_owned()), clients.clone());
        assert!(without_window.for_tenant("acme").is_err());
        let on = TotpEnrollment::new(Some("custom:mfa_enroll_until".to_owned()), clients);
        assert_eq!(
            on.for_tenant("acme"),
            Ok(("custom:mfa_enroll_until", "enroll"))
        );
        assert_eq!(
            on.for_tenant("globex"),
            Err(AdminError::TotpEnrollmentDisabled)
        );
    }

    #[test]
    fn an_enrollment_is_bound_to_its_user_taken_once_and_never_shown() {
        let state = TotpEnrollment::default();
        state.keep(
            key("ann-sub"),
            Pending::Associated {
                client_id: "enroll".to_owned(),
                authority: Authority::Tokens {
                    access_token: "eyJ.access.token".to_owned(),
                    refresh_token: Some("refresh-token-value".to_owned()),
                },
            },
        );
        assert!(state.take(&key("bob-sub")).is_none(), "another user");
        assert!(
            state
                .take(&("globex".to_owned(), "ann-sub".to_owned()))
                .is_none(),
            "another tenant"
        );
        let taken = state.take(&key("ann-sub")).expect("the user's own");
        let shown = format!("{taken:?} {state:?}");
        for secret in ["eyJ.access.token", "refresh-token-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(state.take(&key("ann-sub")).is_none(), "taken once");
        // A wrong code puts it back, unless a newer start replaced it.
        state.put_back(key("ann-sub"), taken.clone());
        assert!(state.take(&key("ann-sub")).is_some());
        state.keep(
            key("ann-sub"),
            Pending::Associated {
                client_id: "enroll".to_owned(),
                authority: Authority::Session("newer".to_owned()),
            },
        );
        state.put_back(key("ann-sub"), taken);
        let current = state.take(&key("ann-sub")).expect("kept");
        assert!(matches!(
            &*current,
            Pending::Associated {
                authority: Authority::Session(s),
                ..
            } if s == "newer"
        ));
        assert!(!format!("{current:?}").contains("newer"));
    }
}
