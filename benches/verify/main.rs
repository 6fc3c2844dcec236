//! Verification cost, side by side with the physical limit and peers, on the same token and key.
//!
//! Groups, one module each (its docs say what it measures):
//! - `cold`: every token new, against raw RSA verification (the limit) and jsonwebtoken.
//! - `warm`: the same token again: the cache hit, with revocation lists and a resolved tenant.
//! - `layer`: one request through an axum router, without auth, with the layer, and the peer.
//! - `tenants`: cold and warm verification with 1 and 10,000 tenants registered.
//! - `cache_key`: SHA-256 against GMAC as the verified-token cache's key.
//! - `token_cache`: one read of cached entries, moka against quick_cache.
//! - `metrics` (feature `metrics`; `cargo bench --bench verify --features metrics -- metrics`):
//!   the warm paths without and with the Prometheus recorder.
//!
//! - `*_paired_with_*` (in `cold` and `layer`): the ratios of the performance targets, each side
//!   interleaved with its reference (raw RSA verify, the bare router) in chunks of 32 so that a
//!   loaded machine slows both alike; the ratio over every iteration is printed after the group
//!   ([`paired`]).
//!
//! The tenant, tokens, verifier and request are in [`fixture`]. `scripts/bench-report` runs
//! these with short settings and prints medians and ratios.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../support/mod.rs"]
mod support;

mod cache_key;
mod cold;
mod fixture;
mod layer;
#[cfg(feature = "metrics")]
mod metrics;
mod paired;
mod tenants;
mod token_cache;
mod warm;

/// Without feature `metrics` the group is empty.
#[cfg(not(feature = "metrics"))]
mod metrics {
    pub fn metrics(_: &mut criterion::Criterion) {}
}

fn config() -> Criterion {
    let secs = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(default), Duration::from_millis)
    };
    Criterion::default()
        .warm_up_time(secs("BENCH_WARMUP_MS", 2))
        .measurement_time(secs("BENCH_MEASURE_MS", 5))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = cold::cold, warm::warm, layer::layer, tenants::tenants, cache_key::cache_key,
        token_cache::token_cache, metrics::metrics
}
criterion_main!(benches);
