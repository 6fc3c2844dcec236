//! Memory held by the verified-token cache: live heap bytes per cached token, measured with a
//! counting global allocator, and the bound under a stream of distinct tokens.
//!
//! `cargo bench --bench memory` (env `MEMORY_TOKENS`, default 100000). Prints, does not assert:
//! benches measure, tests check behaviour.
//!
//! With `--features cedar` it also prints the bytes per cached token once each cached principal
//! has been decided by Cedar (its entities, its last context and its last decision are kept on
//! the principal while the cache keeps it, see `cedar::prepared`), and again after a second
//! request with other path parameters (the principal then keeps the token part of its context).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, Tenant};
use futures_util::FutureExt;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const POOL: &str = "us-east-1_MemoryPool1";
const CLIENT: &str = "memory-client";

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let n: usize = std::env::var("MEMORY_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let idp = runtime.block_on(LocalIssuer::start()).unwrap();
    let key = idp.current_key();
    // Realistic Cognito access tokens: two groups, the self-service scope, jti/origin_jti.
    let claims: Vec<_> = (0..n)
        .map(|i| {
            idp.access_claims(
                POOL,
                CLIENT,
                &format!("user-{i:08}"),
                &["member", "reports"],
            )
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = n.div_ceil(threads);
    let tokens: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = claims
            .chunks(chunk)
            .map(|part| {
                let key = key.clone();
                s.spawn(move || part.iter().map(|c| key.sign(c)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    drop(claims);
    let token_bytes: usize = tokens.iter().map(String::len).sum();

    // A sharded cache fills unevenly, so at capacity `n` a few entries of `n` are already
    // evicted; the first row leaves room to hold all `n`.
    for capacity in [(n + n / 4) as u64, n as u64, (n / 10) as u64] {
        let auth = CognitoAuth::builder()
            .tenant(
                Tenant::builder("memory", POOL)
                    .client_id(CLIENT)
                    .jwks_url(idp.jwks_url(POOL))
                    .build()
                    .unwrap(),
            )
            .unwrap()
            .token_cache_entries(capacity)
            .build()
            .unwrap();
        assert!(runtime.block_on(auth.prefetch()).is_empty());
        let before = LIVE.load(Ordering::SeqCst);
        for token in &tokens {
            auth.verify(token).now_or_never().unwrap().unwrap();
        }
        let held = auth.cached_tokens();
        let after = LIVE.load(Ordering::SeqCst);
        let grown = after - before;
        println!(
            "capacity {capacity:>7}: {n} distinct tokens verified, {held} cached, live heap +{:.1} MiB \
             ({:.0} bytes per cached token; tokens themselves average {} bytes and are not stored)",
            mib(grown),
            grown as f64 / held.max(1) as f64,
            token_bytes / n,
        );
    }
    #[cfg(feature = "cedar")]
    with_cedar(&runtime, &idp, &tokens);
}

/// Every cached principal decided once by Cedar (a request with a path parameter, as through the
/// layer): the cache's bytes per entry with the Cedar data each principal then carries.
#[cfg(feature = "cedar")]
fn with_cedar(runtime: &tokio::runtime::Runtime, idp: &LocalIssuer, tokens: &[String]) {
    use cognito_authz::cedar::{Cedar, CedarRequest};

    let n = tokens.len();
    let folder = std::env::temp_dir().join(format!("cognito-authz-memory-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("common.cedar"),
        format!(
            "@id(\"members\")\npermit(principal in App::UserGroup::\"{POOL}|member\", \
             action == App::Action::\"GET /tenants/{{tenant}}/orders\", resource)\n  \
             when {{ context.path.tenant == context.tenant }};\n"
        ),
    )
    .unwrap();
    let cedar = Cedar::builder("App").policies(&folder).build().unwrap();
    let _ = std::fs::remove_dir_all(&folder);
    let request = CedarRequest::new("GET", "/tenants/{tenant}/orders").param("tenant", "memory");
    let auth = CognitoAuth::builder()
        .tenant(
            Tenant::builder("memory", POOL)
                .client_id(CLIENT)
                .jwks_url(idp.jwks_url(POOL))
                .build()
                .unwrap(),
        )
        .unwrap()
        .token_cache_entries((n + n / 4) as u64)
        .build()
        .unwrap();
    assert!(runtime.block_on(auth.prefetch()).is_empty());
    let before = LIVE.load(Ordering::SeqCst);
    for token in tokens {
        auth.verify(token).now_or_never().unwrap().unwrap();
    }
    let verified = LIVE.load(Ordering::SeqCst);
    for token in tokens {
        // A cache hit: the cached principal, which keeps what Cedar built for it.
        let principal = auth.verify(token).now_or_never().unwrap().unwrap();
        assert!(cedar.decide(&principal, &request).is_allowed());
    }
    let decided = LIVE.load(Ordering::SeqCst);
    let held = auth.cached_tokens().max(1) as f64;
    println!(
        "with Cedar (feature cedar): {n} cached tokens each decided once, live heap +{:.1} MiB \
         ({:.0} bytes per cached token, of which Cedar's data {:.0})",
        mib(decided - before),
        (decided - before) as f64 / held,
        (decided - verified) as f64 / held,
    );
    // Once more with another path parameter (refused: another tenant), as a caller going from
    // one order to the next: each principal then keeps the token part of its context too.
    let other = CedarRequest::new("GET", "/tenants/{tenant}/orders").param("tenant", "other");
    for token in tokens {
        let principal = auth.verify(token).now_or_never().unwrap().unwrap();
        assert!(!cedar.decide(&principal, &other).is_allowed());
    }
    let changed = LIVE.load(Ordering::SeqCst);
    println!(
        "with Cedar, after a second request with other path parameters: live heap +{:.1} MiB \
         ({:.0} bytes per cached token, of which Cedar's data {:.0})",
        mib(changed - before),
        (changed - before) as f64 / held,
        (changed - verified) as f64 / held,
    );
}
