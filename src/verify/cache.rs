//! The verified-token cache: a token verified once is not verified again until it expires.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;

use crate::principal::Principal;

/// Cache key of a token: a 128-bit GMAC tag of the whole token under a key drawn at random when
/// the cache is built, which never leaves the process.
///
/// Why this is a safe key, and why not a plain SHA-256:
/// - A hit must never serve a token that differs from the verified one in any byte, so the key
///   must not collide for two tokens an attacker can choose. GMAC is GHASH (a polynomial in the
///   secret point `H`, with the input length in its last block) masked by one AES block. Two
///   different tokens of at most `l` 16-byte blocks collide only if `H` is one of the at most
///   `l + 1` roots of their difference: probability `(l + 1) / 2^128` for a random `H`, about
///   2^-119 at the default 8 KiB token limit (it grows only linearly with the limit). The
///   attacker never sees a tag (it is a hash-map key only), so each forgery attempt is a blind
///   guess against every cached entry.
/// - One nonce for every token would break GMAC as a *published* MAC (two visible tags give away
///   `H`); here tags are never published, logged or compared in a way the caller can observe
///   beyond hit or miss, and a miss is followed by a full RSA verification.
/// - SHA-256 gives the same guarantee without a key, but costs 0.46 us for a 954-byte access
///   token on the reference machine against 0.12 us for GMAC (`cargo bench --bench verify --
///   cache_key`), and the warm path pays it on every request.
pub(crate) type TokenKey = [u8; 16];

/// Computes [`TokenKey`]s under one random key.
struct TokenKeyer {
    mac: LessSafeKey,
    nonce: [u8; NONCE_LEN],
}

impl TokenKeyer {
    fn new() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut key = [0u8; 32];
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut key)?;
        aws_lc_rs::rand::fill(&mut nonce)?;
        Ok(TokenKeyer {
            mac: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key)?),
            nonce,
        })
    }

    fn key(&self, token: &str) -> TokenKey {
        // Empty plaintext: the tag is GMAC over the token as associated data. Sealing nothing
        // cannot fail; the fallback key is never produced in practice and would only cost a miss.
        self.mac
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(self.nonce),
                Aad::from(token.as_bytes()),
                &mut [],
            )
            .ok()
            .and_then(|tag| tag.as_ref().try_into().ok())
            .unwrap_or([0; 16])
    }
}

/// SHA-256 of `header.payload`, what the RS256 signature covers. Splits at the last dot (a
/// token without one still gets a well-defined digest; it fails parsing later).
pub(crate) fn message_digest(token: &str) -> digest::Digest {
    let message = token.rsplit_once('.').map_or(token, |(m, _)| m);
    digest::digest(&digest::SHA256, message.as_bytes())
}

#[derive(Clone)]
struct Entry {
    principal: Principal,
    /// When the entry stops being served: `exp` + leeway, or `ttl` after insertion if sooner.
    valid_until: Instant,
}

type Entries = quick_cache::sync::Cache<TokenKey, Entry>;

/// Bounded cache of verified principals.
///
/// An entry is served only until its token's `exp` (and at most `ttl` after insertion), checked
/// on every hit; one found past that is removed. Entries nobody asks for again are swept out in
/// the background at most `SWEEP_EVERY` (or `ttl`, if shorter) after they expire, and the size
/// bound holds whatever happens.
///
/// quick_cache rather than moka (which holds the key sets and resolver answers): this lookup runs
/// on every request, and a quick_cache read is a sharded read lock and one atomic, about 20 ns,
/// against 119 ns for moka's read with its access-order bookkeeping, and 69 against 205 ns with
/// two threads reading at once (`cargo bench --bench verify -- token_cache`).
pub(crate) struct VerifiedTokenCache {
    entries: Arc<Entries>,
    keyer: TokenKeyer,
    ttl: Duration,
    sweep_every: Duration,
    next_sweep: Mutex<Instant>,
}

/// Longest an expired entry nobody asks for stays in memory.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Shards of at least 32 entries, a power of two, and `max_entries` split evenly so the shards
/// together never hold more than `max_entries` (quick_cache rounds each shard's share up).
fn sharded(max_entries: u64) -> Entries {
    let parallelism = std::thread::available_parallelism().map_or(4, usize::from) as u64;
    let mut shards = (parallelism * 4).next_power_of_two();
    while shards > 1 && max_entries / shards < 32 {
        shards /= 2;
    }
    let per_shard = max_entries / shards;
    let options = quick_cache::OptionsBuilder::new()
        .shards(shards as usize)
        .estimated_items_capacity(usize::try_from(max_entries).unwrap_or(usize::MAX))
        .weight_capacity(per_shard * shards)
        .build()
        .expect("shards, capacity and weight are all set");
    quick_cache::sync::Cache::with_options(
        options,
        quick_cache::UnitWeighter,
        quick_cache::DefaultHashBuilder::default(),
        quick_cache::sync::DefaultLifecycle::default(),
    )
}

impl VerifiedTokenCache {
    pub(crate) fn new(
        max_entries: u64,
        ttl: Duration,
    ) -> Result<Self, aws_lc_rs::error::Unspecified> {
        let sweep_every = ttl.min(SWEEP_EVERY);
        Ok(VerifiedTokenCache {
            entries: Arc::new(sharded(max_entries)),
            keyer: TokenKeyer::new()?,
            ttl,
            sweep_every,
            next_sweep: Mutex::new(Instant::now() + sweep_every),
        })
    }

    /// The cache key of `token`.
    pub(crate) fn key(&self, token: &str) -> TokenKey {
        self.keyer.key(token)
    }

    /// The cached principal, only while its token is still valid: an entry is never served
    /// past `valid_until`, and one found past it is removed.
    pub(crate) fn get(&self, key: &TokenKey) -> Option<Principal> {
        let entry = self.entries.get(key)?;
        if Instant::now() < entry.valid_until {
            Some(entry.principal)
        } else {
            self.entries.remove(key);
            None
        }
    }

    pub(crate) fn insert(&self, key: TokenKey, principal: Principal, valid_for: Duration) {
        if valid_for.is_zero() {
            return;
        }
        let now = Instant::now();
        self.entries.insert(
            key,
            Entry {
                principal,
                // Bounded by the ttl, so no `exp` however far can overflow the clock.
                valid_until: now + valid_for.min(self.ttl),
            },
        );
        self.sweep_if_due(now);
    }

    /// Inserts are the cold path (an RSA verification each), so they carry the sweep: once per
    /// `sweep_every`, on a blocking thread when a tokio runtime is there to lend one, since a
    /// sweep walks every entry.
    fn sweep_if_due(&self, now: Instant) {
        let Ok(mut next) = self.next_sweep.try_lock() else {
            return;
        };
        if now < *next {
            return;
        }
        *next = now + self.sweep_every;
        drop(next);
        let entries = Arc::clone(&self.entries);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || sweep(&entries));
            }
            Err(_) => sweep(&entries),
        }
    }

    pub(crate) fn invalidate_all(&self) {
        self.entries.clear();
    }

    /// Entries held, after dropping expired ones (for tests and memory reports).
    pub(crate) fn entry_count(&self) -> u64 {
        sweep(&self.entries);
        self.entries.len() as u64
    }
}

fn sweep(entries: &Entries) {
    let now = Instant::now();
    entries.retain(|_, entry| now < entry.valid_until);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_byte_change_changes_the_key() {
        let keyer = TokenKeyer::new().unwrap();
        let token = "aGVhZGVy.cGF5bG9hZA.c2lnbmF0dXJl";
        let key = keyer.key(token);
        for i in 0..token.len() {
            let mut bytes = token.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            let changed = String::from_utf8(bytes).unwrap();
            assert_ne!(keyer.key(&changed), key, "byte {i}");
        }
        // Length is part of the tag: a prefix, or trailing bytes GHASH would pad to, differ.
        assert_ne!(keyer.key(&token[..token.len() - 1]), key);
        assert_ne!(keyer.key(&format!("{token}\0")), key);
        assert_ne!(keyer.key(""), keyer.key("\0"));
    }

    #[test]
    fn keys_are_stable_within_a_cache_and_differ_across_caches() {
        let (a, b) = (TokenKeyer::new().unwrap(), TokenKeyer::new().unwrap());
        assert_eq!(a.key("h.p.s"), a.key("h.p.s"));
        // Each cache draws its own key: a tag learnt from one process says nothing of another.
        assert_ne!(a.key("h.p.s"), b.key("h.p.s"));
    }

    #[test]
    fn message_digest_is_what_the_signature_covers() {
        let expected = digest::digest(&digest::SHA256, b"h.p");
        assert_eq!(message_digest("h.p.s").as_ref(), expected.as_ref());
    }

    #[test]
    fn shards_never_hold_more_than_the_bound_in_all() {
        for bound in [1u64, 7, 31, 32, 33, 100, 500, 1_000, 4_095, 100_000] {
            let entries = sharded(bound);
            let tenant = crate::Tenant::builder("t", "us-east-1_a")
                .client_id("c")
                .build()
                .unwrap();
            let entry = Entry {
                principal: crate::principal::tests::principal(&tenant, &["g"], "s"),
                valid_until: Instant::now() + Duration::from_secs(60),
            };
            for i in 0..bound * 3 {
                let mut key = [0u8; 16];
                key[..8].copy_from_slice(&i.to_le_bytes());
                entries.insert(key, entry.clone());
            }
            let held = entries.len() as u64;
            assert!(held <= bound, "bound {bound}: {held} held");
            // Rounding to whole shards loses at most one entry a shard.
            assert!(
                held + entries.num_shards() as u64 > bound,
                "bound {bound}: {held} held"
            );
        }
    }

    #[test]
    fn expired_entries_are_swept_without_being_looked_up() {
        let cache = VerifiedTokenCache::new(100, Duration::from_millis(50)).unwrap();
        let tenant = crate::Tenant::builder("t", "us-east-1_a")
            .client_id("c")
            .build()
            .unwrap();
        let principal = crate::principal::tests::principal(&tenant, &["g"], "s");
        cache.insert([1; 16], principal.clone(), Duration::from_secs(3600));
        std::thread::sleep(Duration::from_millis(120));
        // No runtime here, so the insert that finds the sweep due runs it in place.
        cache.insert([2; 16], principal, Duration::from_secs(3600));
        assert_eq!(cache.entries.len(), 1, "the expired entry is still held");
        assert!(cache.get(&[1; 16]).is_none());
        assert!(cache.get(&[2; 16]).is_some());
    }
}
