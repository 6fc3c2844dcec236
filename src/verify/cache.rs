//! The verified-token cache: a token verified once is not verified again until it expires.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::clock::{HitClock, unix_now};
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
///   2^-119 at the default 8 KiB token limit (it grows only linearly with the limit). Against a
///   full cache of `N` entries, `q` attempts succeed with probability at most
///   `q * N * (l + 1) / 2^128`: 2^-102 an attempt at 100,000 entries.
/// - That bound needs `H` secret, and tags are linear in the token (XORs of tags are predictable
///   without `H`), so tags must stay secret too: they are hash-map keys only, never published,
///   logged or given a `Debug`, and an attacker observes no more than hit or miss, a miss being
///   followed by a full RSA verification. Under that condition one nonce for every token costs
///   nothing; it is what would break GMAC as a *published* MAC (two visible tags give away `H`).
/// - SHA-256 gives the same guarantee without a key, but costs 0.53 us for the 1 KB access
///   token of the benches on the reference machine against 0.18 us for GMAC (`cargo bench
///   --bench verify -- cache_key`, 2026-12-05), and the warm path pays it on every request.
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

    /// The tag of `token`, or `None` if sealing failed: then the token is verified and not
    /// cached, since a shared fallback key would let one token's entry answer for another.
    fn key(&self, token: &[u8]) -> Option<TokenKey> {
        // Empty plaintext: the tag is GMAC over the token as associated data.
        let tag = self
            .mac
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(self.nonce),
                Aad::from(token),
                &mut [],
            )
            .ok()?;
        tag.as_ref().try_into().ok()
    }
}

#[derive(Clone)]
struct Entry {
    principal: Principal,
    /// When the entry stops being served, since the Unix epoch: `exp` + leeway, or `ttl` after
    /// insertion, or the end of the tenant resolver's answer the token was verified under,
    /// whichever is soonest. Wall-clock like `exp` itself, not monotonic: a monotonic clock stops
    /// while a host is suspended or a snapshot (Lambda SnapStart) waits, and would serve a token
    /// past its `exp` afterwards.
    valid_until: Duration,
}

type Entries = quick_cache::sync::Cache<TokenKey, Entry>;

/// Bounded cache of verified principals.
///
/// An entry is served only until its token's `exp` (and at most `ttl` after insertion), checked
/// on every hit; one found past that is removed. Expired entries nobody asks for again are swept
/// out by the first insert `SWEEP_EVERY` (or `ttl`, if shorter) or more after the last sweep,
/// and the size bound holds whatever happens.
///
/// quick_cache rather than moka (which holds the key sets and resolver answers): this lookup runs
/// on every request, and a quick_cache read is a sharded read lock (per-thread reader locks,
/// feature `sharded-lock`) and one atomic, about 22 ns, against 125 ns for moka's read with its
/// access-order bookkeeping; 47-72 ns against 205 ns or more with two threads reading at once
/// (`cargo bench --bench verify -- token_cache`).
pub(crate) struct VerifiedTokenCache {
    entries: Entries,
    keyer: TokenKeyer,
    hit_clock: HitClock,
    ttl: Duration,
    sweep_every: Duration,
    next_sweep: Mutex<Duration>,
    /// Bumped by [`invalidate_all`](Self::invalidate_all), so that a verification that was
    /// already running then does not put its token back.
    generation: AtomicU64,
}

/// Least time between two sweeps of expired entries.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Shards of at least 32 entries, a power of two, and `max_entries` split evenly so the shards
/// together never hold more than `max_entries` (quick_cache rounds each shard's share up).
fn sharded(max_entries: u64, parallelism: u64) -> Entries {
    let mut shards = (parallelism.max(1) * 4).next_power_of_two();
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

/// A cache key, and the cache generation it was computed in.
#[derive(Clone, Copy)]
pub(crate) struct CacheSlot {
    key: TokenKey,
    generation: u64,
}

impl VerifiedTokenCache {
    pub(crate) fn new(
        max_entries: u64,
        ttl: Duration,
    ) -> Result<Self, aws_lc_rs::error::Unspecified> {
        let parallelism = std::thread::available_parallelism().map_or(4, usize::from) as u64;
        let sweep_every = ttl.min(SWEEP_EVERY);
        Ok(VerifiedTokenCache {
            entries: sharded(max_entries, parallelism),
            keyer: TokenKeyer::new()?,
            hit_clock: HitClock::new(),
            ttl,
            sweep_every,
            next_sweep: Mutex::new(unix_now() + sweep_every),
            generation: AtomicU64::new(0),
        })
    }

    /// Where `token` is cached: its key now, `None` if it cannot be keyed (it is then verified
    /// every time).
    pub(crate) fn slot(&self, token: &[u8]) -> Option<CacheSlot> {
        Some(CacheSlot {
            generation: self.generation.load(Ordering::Acquire),
            key: self.keyer.key(token)?,
        })
    }

    /// The cached principal, only while its token is still valid: an entry is never served
    /// past `valid_until`, and one found past it is removed.
    pub(crate) fn get(&self, slot: &CacheSlot) -> Option<Principal> {
        let entry = self.entries.get(&slot.key)?;
        let now = self.hit_clock.now_at_least();
        if now < entry.valid_until {
            Some(entry.principal)
        } else {
            self.entries
                .remove_if(&slot.key, |entry| entry.valid_until <= now);
            None
        }
    }

    /// Caches `principal` until `valid_until` (since the Unix epoch), at most `ttl` from now.
    pub(crate) fn insert(&self, slot: CacheSlot, principal: Principal, valid_until: Duration) {
        let now = unix_now();
        if valid_until <= now {
            return;
        }
        self.entries.insert(
            slot.key,
            Entry {
                principal,
                valid_until: valid_until.min(now + self.ttl),
            },
        );
        // `invalidate_all` bumps the generation before it clears: either the clear comes after
        // this insert and removes it, or the bump is visible here.
        if self.generation.load(Ordering::Acquire) != slot.generation {
            self.entries.remove(&slot.key);
        }
        self.sweep_if_due(now);
    }

    /// Inserts are the cold path (an RSA verification each), so they carry the sweep: at most
    /// once per `sweep_every`, about 0.8 ms for 100,000 entries, each shard locked in turn.
    /// Done in place rather than on a spawned thread: nothing to fail to start.
    fn sweep_if_due(&self, now: Duration) {
        let Ok(mut next) = self.next_sweep.try_lock() else {
            return;
        };
        if now < *next {
            return;
        }
        *next = now + self.sweep_every;
        drop(next);
        self.sweep();
    }

    fn sweep(&self) {
        let now = unix_now();
        self.entries.retain(|_, entry| now < entry.valid_until);
    }

    pub(crate) fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// Drops the entries of tenant `tenant_id`; like [`invalidate_all`](Self::invalidate_all),
    /// a verification already running then does not put its token back (whatever its tenant:
    /// it is verified again on its next request).
    pub(crate) fn invalidate_tenant(&self, tenant_id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries
            .retain(|_, entry| entry.principal.tenant() != tenant_id);
    }

    /// Entries held, after dropping expired ones (for tests and memory reports).
    pub(crate) fn entry_count(&self) -> u64 {
        self.sweep();
        self.entries.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tenant;
    use crate::principal::tests::principal;

    fn sample() -> Principal {
        let tenant = Tenant::builder("t", "us-east-1_a")
            .client_id("c")
            .build()
            .unwrap();
        principal(&tenant, &["g"], "s")
    }

    #[test]
    fn any_byte_change_changes_the_key() {
        let keyer = TokenKeyer::new().unwrap();
        let token = "aGVhZGVy.cGF5bG9hZA.c2lnbmF0dXJl";
        let key = keyer.key(token.as_bytes()).unwrap();
        for i in 0..token.len() {
            let mut bytes = token.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            let changed = String::from_utf8(bytes).unwrap();
            assert_ne!(keyer.key(changed.as_bytes()).unwrap(), key, "byte {i}");
        }
        // Length is part of the tag: a prefix, or trailing bytes GHASH would pad to, differ.
        assert_ne!(
            keyer.key(&token.as_bytes()[..token.len() - 1]).unwrap(),
            key
        );
        assert_ne!(keyer.key(format!("{token}\0").as_bytes()).unwrap(), key);
        assert_ne!(keyer.key(b"").unwrap(), keyer.key(b"\0").unwrap());
    }

    #[test]
    fn keys_are_stable_within_a_cache_and_differ_across_caches() {
        let (a, b) = (TokenKeyer::new().unwrap(), TokenKeyer::new().unwrap());
        assert_eq!(a.key(b"h.p.s"), a.key(b"h.p.s"));
        // Each cache draws its own key: a tag learnt from one process says nothing of another.
        assert_ne!(a.key(b"h.p.s"), b.key(b"h.p.s"));
    }

    #[test]
    fn shards_never_hold_more_than_the_bound_in_all() {
        for parallelism in [1, 2, 3, 16, 64] {
            for bound in [1u64, 7, 31, 32, 33, 100, 500, 1_000, 4_095, 100_000] {
                let entries = sharded(bound, parallelism);
                let entry = Entry {
                    principal: sample(),
                    valid_until: unix_now() + Duration::from_secs(60),
                };
                for i in 0..bound * 3 {
                    let mut key = [0u8; 16];
                    key[..8].copy_from_slice(&i.to_le_bytes());
                    entries.insert(key, entry.clone());
                }
                let held = entries.len() as u64;
                let at = format!("bound {bound}, parallelism {parallelism}: {held} held");
                assert!(held <= bound, "{at}");
                // Rounding to whole shards loses at most one entry a shard.
                assert!(held + entries.num_shards() as u64 > bound, "{at}");
            }
        }
    }

    fn slot(cache: &VerifiedTokenCache, token: &str) -> CacheSlot {
        cache.slot(token.as_bytes()).unwrap()
    }

    // Timing in these tests only ever waits for something to expire: a slow machine makes the
    // entries more expired, never less, so no assertion depends on being fast.
    #[test]
    fn entries_are_served_until_their_deadline_and_at_most_ttl() {
        let cache = VerifiedTokenCache::new(100, Duration::from_secs(3600)).unwrap();
        let now = unix_now();
        cache.insert(
            slot(&cache, "long"),
            sample(),
            now + Duration::from_secs(3600),
        );
        cache.insert(
            slot(&cache, "short"),
            sample(),
            now + Duration::from_millis(50),
        );
        cache.insert(slot(&cache, "gone"), sample(), now);
        assert!(cache.get(&slot(&cache, "long")).is_some());
        assert!(
            cache.get(&slot(&cache, "gone")).is_none(),
            "expired at insert"
        );
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            cache.get(&slot(&cache, "short")).is_none(),
            "served past exp"
        );
        assert_eq!(cache.entries.len(), 1, "an expired entry found is removed");

        let short_ttl = VerifiedTokenCache::new(100, Duration::from_millis(50)).unwrap();
        short_ttl.insert(
            slot(&short_ttl, "b"),
            sample(),
            now + Duration::from_secs(3600),
        );
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            short_ttl.get(&slot(&short_ttl, "b")).is_none(),
            "served past the ttl"
        );
    }

    #[test]
    fn expired_entries_are_swept_without_being_looked_up() {
        let cache = VerifiedTokenCache::new(100, Duration::from_secs(3600)).unwrap();
        let now = unix_now();
        cache.insert(slot(&cache, "a"), sample(), now + Duration::from_millis(50));
        cache.insert(slot(&cache, "b"), sample(), now + Duration::from_secs(3600));
        std::thread::sleep(Duration::from_millis(100));
        // Not due yet: the next insert leaves the expired entry alone.
        cache.insert(slot(&cache, "c"), sample(), now + Duration::from_secs(3600));
        assert_eq!(cache.entries.len(), 3);
        // Due: the next insert sweeps it out.
        *cache.next_sweep.lock().unwrap() = Duration::ZERO;
        cache.insert(slot(&cache, "d"), sample(), now + Duration::from_secs(3600));
        assert_eq!(cache.entries.len(), 3, "the expired entry is still held");
        assert!(cache.entries.get(&slot(&cache, "a").key).is_none());
        assert!(
            *cache.next_sweep.lock().unwrap() > now,
            "next sweep not scheduled"
        );
    }

    #[test]
    fn a_verification_running_across_invalidate_all_does_not_cache_its_token() {
        let cache = VerifiedTokenCache::new(100, Duration::from_secs(3600)).unwrap();
        let far = unix_now() + Duration::from_secs(3600);
        // Keyed before the invalidation, inserted after it (a verification in flight).
        let before = slot(&cache, "t");
        cache.invalidate_all();
        cache.insert(before, sample(), far);
        assert!(cache.get(&slot(&cache, "t")).is_none());
        cache.insert(slot(&cache, "t"), sample(), far);
        assert!(cache.get(&slot(&cache, "t")).is_some());
    }

    #[test]
    fn invalidate_tenant_drops_that_tenant_only_and_what_is_in_flight() {
        let cache = VerifiedTokenCache::new(100, Duration::from_secs(3600)).unwrap();
        let far = unix_now() + Duration::from_secs(3600);
        let other = Tenant::builder("other", "us-east-1_b")
            .client_id("c")
            .build()
            .unwrap();
        cache.insert(slot(&cache, "t"), sample(), far);
        cache.insert(slot(&cache, "o"), principal(&other, &[], "s"), far);
        let in_flight = slot(&cache, "late");
        cache.invalidate_tenant("t");
        cache.insert(in_flight, sample(), far);
        assert!(cache.get(&slot(&cache, "t")).is_none());
        assert!(cache.get(&slot(&cache, "late")).is_none());
        assert!(cache.get(&slot(&cache, "o")).is_some());
    }
}
