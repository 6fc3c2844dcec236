//! The per-process state behind `POST /me/password`: the attempt limit, the MFA challenges
//! waiting for their code, and the app clients' secrets (`SECRET_HASH`).
//!
//! An attempt is counted before Cognito is asked and released only when it neither failed on
//! a wrong secret nor started an MFA challenge (which may send a billed SMS or email), so
//! parallel requests cannot exceed the limit. A waiting challenge is bound to
//! the user and to an HMAC (per-process random key) of the password that opened it, kept for
//! Cognito's 3-minute session, and taken at most once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::admin::AdminError;
use crate::config::ClientSecret;

/// Counted attempts (failures and started MFA challenges) allowed per user and window unless
/// `[admin] max_password_attempts` says.
pub const DEFAULT_MAX_PASSWORD_ATTEMPTS: u32 = 5;
/// The attempt window unless `[admin] password_attempt_window_seconds` says (15 minutes).
pub const DEFAULT_PASSWORD_ATTEMPT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long Cognito's challenge session lasts, and so how long it is kept here.
const CHALLENGE_SESSION_TTL: Duration = Duration::from_secs(3 * 60);
/// Users with counted failures held at once (beyond it the least recently used are dropped).
const MAX_TRACKED_USERS: u64 = 100_000;

/// A challenge Cognito opened for a password change, kept until the code comes.
pub(super) struct PendingChallenge {
    pub(super) challenge: ChallengeNameType,
    pub(super) session: String,
    /// HMAC of the current password under a per-process key: the code is accepted only in a
    /// request that carries the same password as the one that opened the challenge.
    pub(super) password_tag: hmac::Tag,
}

/// A user: (tenant id, user name).
pub(super) type UserKey = (String, String);

struct GuardInner {
    max_failures: u32,
    window: Duration,
    failures: moka::sync::Cache<UserKey, Arc<Mutex<VecDeque<Instant>>>>,
    pending: moka::sync::Cache<UserKey, Arc<PendingChallenge>>,
    secrets: BTreeMap<String, ClientSecret>,
    tag_key: hmac::Key,
}

/// The per-process state of password changes: the attempt limit, open challenges and the
/// app clients' secrets. Cheap to clone.
#[derive(Clone)]
pub(crate) struct PasswordGuard(Arc<GuardInner>);

impl std::fmt::Debug for PasswordGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGuard")
            .field("max_failures", &self.0.max_failures)
            .field("window", &self.0.window)
            .field("client_secrets", &self.0.secrets.len())
            .finish_non_exhaustive()
    }
}

impl Default for PasswordGuard {
    fn default() -> Self {
        PasswordGuard::new(
            DEFAULT_MAX_PASSWORD_ATTEMPTS,
            DEFAULT_PASSWORD_ATTEMPT_WINDOW,
            BTreeMap::new(),
        )
    }
}

/// A counted attempt: released (not a failure) with [`PasswordGuard::release`].
pub(crate) struct Attempt {
    key: UserKey,
    at: Instant,
}

impl PasswordGuard {
    pub(crate) fn new(
        max_failures: u32,
        window: Duration,
        secrets: BTreeMap<String, ClientSecret>,
    ) -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let tag_key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("system randomness");
        PasswordGuard(Arc::new(GuardInner {
            max_failures,
            window,
            failures: moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED_USERS)
                .time_to_idle(window)
                .build(),
            pending: moka::sync::Cache::builder()
                .max_capacity(MAX_TRACKED_USERS)
                .time_to_live(CHALLENGE_SESSION_TTL)
                .build(),
            secrets,
            tag_key,
        }))
    }

    /// Counts an attempt for `key`, or refuses it if the window already holds `max` of them.
    pub(crate) fn reserve(&self, key: &UserKey, now: Instant) -> Result<Attempt, AdminError> {
        let inner = &self.0;
        let entry = inner.failures.get_with(key.clone(), Default::default);
        let mut times = entry.lock().unwrap_or_else(|e| e.into_inner());
        while times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= inner.window)
        {
            times.pop_front();
        }
        if times.len() >= inner.max_failures as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let left = inner
                .window
                .saturating_sub(now.saturating_duration_since(oldest));
            let retry_after = u32::try_from(left.as_secs().max(1)).unwrap_or(u32::MAX);
            return Err(AdminError::TooManyAttempts { retry_after });
        }
        times.push_back(now);
        Ok(Attempt {
            key: key.clone(),
            at: now,
        })
    }

    /// Uncounts an attempt whose password (and code) were right, or that failed for another
    /// reason than a wrong secret, without starting a challenge.
    pub(crate) fn release(&self, attempt: Attempt) {
        if let Some(entry) = self.0.failures.get(&attempt.key) {
            let mut times = entry.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = times.iter().position(|&t| t == attempt.at) {
                times.remove(i);
            }
        }
    }

    /// `SECRET_HASH` for `username` on `client_id`, if the configuration has its secret:
    /// Base64(HMAC-SHA256(secret, username + client id)).
    pub(super) fn secret_hash(&self, client_id: &str, username: &str) -> Option<String> {
        let secret = self.0.secrets.get(client_id)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
        let mut context = hmac::Context::with_key(&key);
        context.update(username.as_bytes());
        context.update(client_id.as_bytes());
        Some(STANDARD.encode(context.sign().as_ref()))
    }

    /// The configured secret of `client_id` (for `RevokeToken`), if any. Never logged.
    pub(super) fn client_secret(&self, client_id: &str) -> Option<&str> {
        self.0.secrets.get(client_id).map(ClientSecret::expose)
    }

    /// True if `password` is the one `tag` was made from (constant time).
    pub(super) fn matches_tag(&self, password: &str, tag: &hmac::Tag) -> bool {
        hmac::verify(&self.0.tag_key, password.as_bytes(), tag.as_ref()).is_ok()
    }

    pub(super) fn tag(&self, password: &str) -> hmac::Tag {
        hmac::sign(&self.0.tag_key, password.as_bytes())
    }

    /// Keeps `pending` for `key` until its code comes (or Cognito's session expires).
    pub(super) fn keep_pending(&self, key: UserKey, pending: Arc<PendingChallenge>) {
        self.0.pending.insert(key, pending);
    }

    pub(super) fn take_pending(
        &self,
        key: &UserKey,
        password: &str,
    ) -> Option<Arc<PendingChallenge>> {
        let pending = self.0.pending.remove(key)?;
        hmac::verify(
            &self.0.tag_key,
            password.as_bytes(),
            pending.password_tag.as_ref(),
        )
        .ok()
        .map(|()| pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> UserKey {
        ("acme".to_owned(), "ann".to_owned())
    }

    #[test]
    fn five_failures_per_window_then_429_until_the_oldest_leaves() {
        let guard = PasswordGuard::new(5, Duration::from_secs(900), BTreeMap::new());
        let start = Instant::now();
        for i in 0..5 {
            guard
                .reserve(&key(), start + Duration::from_secs(i))
                .expect("within the limit");
        }
        let refused = guard.reserve(&key(), start + Duration::from_secs(100));
        assert_eq!(
            refused.err(),
            Some(AdminError::TooManyAttempts { retry_after: 800 })
        );
        // Another user, or another tenant's user of the same name, is not affected.
        guard
            .reserve(&("globex".to_owned(), "ann".to_owned()), start)
            .expect("other tenant");
        // Once the oldest failure is 15 minutes old, one more attempt is allowed.
        let later = start + Duration::from_secs(900);
        let attempt = guard.reserve(&key(), later).expect("window moved");
        assert!(guard.reserve(&key(), later).is_err());
        // A released attempt (right password) does not count.
        guard.release(attempt);
        guard.reserve(&key(), later).expect("released");
    }

    #[test]
    fn secret_hash_is_hmac_of_username_and_client_id() {
        let mut secrets = BTreeMap::new();
        secrets.insert("client1".to_owned(), ClientSecret::new("s3cret"));
        let guard = PasswordGuard::new(5, Duration::from_secs(900), secrets);
        // python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b's3cret',
        //   b'annclient1',hashlib.sha256).digest()).decode())"
        assert_eq!(
            guard.secret_hash("client1", "ann").as_deref(),
            Some(EXPECTED_SECRET_HASH)
        );
        assert_eq!(guard.secret_hash("client2", "ann"), None);
        assert!(!format!("{guard:?}").contains("s3cret"));
    }

    #[test]
    fn a_pending_challenge_is_bound_to_the_password_that_opened_it() {
        let guard = PasswordGuard::default();
        let pending = Arc::new(PendingChallenge {
            challenge: ChallengeNameType::SmsMfa,
            session: "session".to_owned(),
            password_tag: guard.tag("right"),
        });
        guard.keep_pending(key(), pending.clone());
        assert!(guard.take_pending(&key(), "wrong").is_none());
        // Taken even on a mismatch: a wrong guess spends the challenge.
        guard.keep_pending(key(), pending);
        assert!(guard.take_pending(&key(), "right").is_some());
        assert!(guard.take_pending(&key(), "right").is_none(), "used once");
    }

    const EXPECTED_SECRET_HASH: &str = "gfNB0p8L00i834MnlFpDqZz7Gfhe7Yuypw8fDwTpQLQ=";
}
