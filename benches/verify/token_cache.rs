//! `token_cache`: one read of 1,000 cached entries, moka against quick_cache (the crate's
//! choice), from one thread and from two threads at once.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;

use crate::fixture::{auth, fixture, now};

/// Reads of `keys` spread over `threads` threads at once; the time is per read and thread.
fn concurrent_reads(iters: u64, threads: u64, read: impl Fn(u64) + Sync) -> Duration {
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let read = &read;
            s.spawn(move || (0..iters).for_each(|i| read(i * 7 + t * 13)));
        }
    });
    start.elapsed()
}

pub fn token_cache(c: &mut Criterion) {
    type Key = [u8; 16];
    let f = fixture();
    let auth = auth(&f, 0, 100_000);
    let principal = now(auth.verify(&f.token)).unwrap();
    let keys: Vec<Key> = (0..1_000u128)
        .map(|i| (i * 0x9e37_79b9).to_le_bytes())
        .collect();
    let moka = moka::sync::Cache::<Key, cognito_authz::Principal>::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(3600))
        .build();
    let quick = quick_cache::sync::Cache::<Key, cognito_authz::Principal>::new(100_000);
    for key in &keys {
        moka.insert(*key, principal.clone());
        quick.insert(*key, principal.clone());
    }
    let key = |i: u64| &keys[(i % 1_000) as usize];
    let mut group = c.benchmark_group("token_cache");
    for threads in [1, 2] {
        group.bench_function(format!("moka_get_{threads}_threads"), |b| {
            b.iter_custom(|n| concurrent_reads(n, threads, |i| drop(black_box(moka.get(key(i))))))
        });
        group.bench_function(format!("quick_cache_get_{threads}_threads"), |b| {
            b.iter_custom(|n| concurrent_reads(n, threads, |i| drop(black_box(quick.get(key(i))))))
        });
    }
    group.finish();
}
