//! The verified-token cache: a token verified once is not verified again until it expires.

use std::time::{Duration, Instant};

use aws_lc_rs::digest;

use crate::principal::Principal;

/// Cache key: SHA-256 of the whole token. A collision-resistant digest is what makes a hit
/// safe: a token that differs in any byte has a different key, and finding two tokens with the
/// same key is as hard as breaking SHA-256. Storing 32 bytes instead of the token (about 1 KiB)
/// keeps 100,000 entries small.
pub(crate) type TokenDigest = [u8; 32];

pub(crate) fn digest_token(token: &str) -> TokenDigest {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[derive(Clone)]
struct Entry {
    principal: Principal,
    /// When the token stops being valid (`exp` + leeway), as a monotonic instant for moka.
    valid_until: Instant,
}

struct ExpireAtExp;

impl moka::Expiry<TokenDigest, Entry> for ExpireAtExp {
    fn expire_after_create(
        &self,
        _: &TokenDigest,
        entry: &Entry,
        now: Instant,
    ) -> Option<Duration> {
        Some(entry.valid_until.saturating_duration_since(now))
    }
}

/// Bounded cache of verified principals, each entry expiring when its token does.
pub(crate) struct VerifiedTokenCache {
    cache: moka::sync::Cache<TokenDigest, Entry>,
}

impl VerifiedTokenCache {
    pub(crate) fn new(max_entries: u64) -> Self {
        VerifiedTokenCache {
            cache: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(ExpireAtExp)
                .build(),
        }
    }

    /// The cached principal, only while its token is still valid. moka's expiry is checked
    /// lazily and with coarse timing, so validity is checked here again: an entry is never
    /// served past `valid_until`.
    pub(crate) fn get(&self, key: &TokenDigest) -> Option<Principal> {
        let entry = self.cache.get(key)?;
        (Instant::now() < entry.valid_until).then_some(entry.principal)
    }

    pub(crate) fn insert(&self, key: TokenDigest, principal: Principal, valid_for: Duration) {
        if valid_for.is_zero() {
            return;
        }
        self.cache.insert(
            key,
            Entry {
                principal,
                valid_until: Instant::now() + valid_for,
            },
        );
    }

    pub(crate) fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// Entries held, after pending maintenance (for tests and memory reports).
    pub(crate) fn entry_count(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}
