//! The verified-token cache: a token verified once is not verified again until it expires.

use std::time::{Duration, Instant};

use aws_lc_rs::digest;

use crate::principal::Principal;

/// Cache key of a token: the SHA-256 of the whole token.
///
/// A collision-resistant digest is what makes a hit safe: a token that differs in any byte has
/// a different key, and finding two tokens with one key is as hard as breaking SHA-256.
/// Storing 32 bytes instead of the token (about 1 KiB) keeps 100,000 entries small.
pub(crate) type TokenDigest = [u8; 32];

/// The cache key, and the hash state at the end of `header.payload`: on a miss that state is
/// finished into the digest the RS256 signature covers, so the message is hashed once for
/// both purposes instead of twice.
pub(crate) struct Prehashed {
    message: digest::Context,
    pub(crate) key: TokenDigest,
}

impl Prehashed {
    /// SHA-256 of `header.payload`, what the RS256 signature covers.
    pub(crate) fn message_digest(self) -> digest::Digest {
        self.message.finish()
    }
}

/// Splits at the last dot (a token without one still gets a well-defined digest; it fails
/// parsing later).
fn split(token: &str) -> (&str, &str) {
    token
        .rsplit_once('.')
        .map_or((token, ""), |(m, _)| (m, &token[m.len()..]))
}

/// SHA-256 of `header.payload` alone (when the verified-token cache is off).
pub(crate) fn message_digest(token: &str) -> digest::Digest {
    digest::digest(&digest::SHA256, split(token).0.as_bytes())
}

pub(crate) fn prehash(token: &str) -> Prehashed {
    let (message, rest) = split(token);
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(message.as_bytes());
    let at_message_end = context.clone();
    context.update(rest.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(context.finish().as_ref());
    Prehashed {
        message: at_message_end,
        key,
    }
}

#[derive(Clone)]
struct Entry {
    principal: Principal,
    /// When the token stops being valid (`exp` + leeway), as a monotonic instant for moka.
    valid_until: Instant,
}

/// Bounded cache of verified principals.
///
/// An entry is served only until its token's `exp` (checked on every hit) and is dropped then,
/// or at the latest `ttl` after insertion. A single time-to-live instead of moka's per-entry
/// expiry keeps inserts cheap (the timer wheel costs about 0.5 us per insert, 4% of an RSA
/// verification); a token living longer than `ttl` is simply verified again.
pub(crate) struct VerifiedTokenCache {
    cache: moka::sync::Cache<TokenDigest, Entry>,
    ttl: Duration,
}

impl VerifiedTokenCache {
    pub(crate) fn new(max_entries: u64, ttl: Duration) -> Self {
        VerifiedTokenCache {
            cache: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build(),
            ttl,
        }
    }

    /// The cached principal, only while its token is still valid: an entry is never served
    /// past `valid_until`, and one found past it is removed.
    pub(crate) fn get(&self, key: &TokenDigest) -> Option<Principal> {
        let entry = self.cache.get(key)?;
        if Instant::now() < entry.valid_until {
            Some(entry.principal)
        } else {
            self.cache.invalidate(key);
            None
        }
    }

    pub(crate) fn insert(&self, key: TokenDigest, principal: Principal, valid_for: Duration) {
        if valid_for.is_zero() {
            return;
        }
        self.cache.insert(
            key,
            Entry {
                principal,
                // Bounded by the ttl, so no `exp` however far can overflow the clock.
                valid_until: Instant::now() + valid_for.min(self.ttl),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_byte_change_changes_the_key() {
        let token = "aGVhZGVy.cGF5bG9hZA.c2lnbmF0dXJl";
        let key = prehash(token).key;
        for i in 0..token.len() {
            let mut bytes = token.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            let changed = String::from_utf8(bytes).unwrap();
            assert_ne!(prehash(&changed).key, key, "byte {i}");
        }
        assert_ne!(prehash(&token[..token.len() - 1]).key, key);
    }

    #[test]
    fn key_is_the_digest_of_the_whole_token() {
        let whole = digest::digest(&digest::SHA256, b"a.bc.d");
        assert_eq!(prehash("a.bc.d").key.as_slice(), whole.as_ref());
        assert_ne!(prehash("a.bc.d").key, prehash("a.b.cd").key);
    }

    #[test]
    fn message_digest_is_what_the_signature_covers() {
        let expected = digest::digest(&digest::SHA256, b"h.p");
        assert_eq!(message_digest("h.p.s").as_ref(), expected.as_ref());
        assert_eq!(
            prehash("h.p.s").message_digest().as_ref(),
            expected.as_ref()
        );
    }
}
