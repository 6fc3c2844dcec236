//! `cold`: every token new. `raw_rsa_verify` (aws-lc-rs, key parsed once: the limit),
//! `jsonwebtoken_decode` (RS256, full validation, aws_lc_rs backend), `cognito_authz` with the
//! verified-token cache off, and with a cache miss + insert; and (`*_paired_with_raw`) the two
//! cognito-authz sides interleaved with the raw verification in chunks of 32, the ratio over
//! every iteration printed after the group.

use std::hint::black_box;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;

use crate::fixture::{auth, fixture, jsonwebtoken_decode, jsonwebtoken_setup, now, rsa_key};
use crate::paired::Paired;

pub fn cold(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("cold");
    let key = rsa_key(&f);
    let (message, signature) = f.token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    group.bench_function("raw_rsa_verify", |b| {
        b.iter(|| {
            key.verify_sig(black_box(message.as_bytes()), black_box(&signature))
                .unwrap()
        })
    });
    let (jwt_key, validation) = jsonwebtoken_setup(&f);
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken_decode(black_box(&f.token), &jwt_key, &validation))
    });
    let no_cache = auth(&f, 0, 0);
    group.bench_function("cognito_authz_no_cache", |b| {
        b.iter(|| now(no_cache.verify(black_box(&f.token))).unwrap())
    });
    // One long-lived instance whose cache is emptied between passes over the tokens: each token
    // is new to the cache, and the cache's memory has been touched before, as in a service
    // (a fresh 100,000-entry cache per pass measured first-touch page faults too).
    let reused = auth(&f, 0, 100_000);
    group.bench_function("cognito_authz_miss_and_insert", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                reused.invalidate_caches();
                let chunk = f.tokens.len().min((iters - done) as usize);
                let start = std::time::Instant::now();
                for token in &f.tokens[..chunk] {
                    now(reused.verify(black_box(token))).unwrap();
                }
                total += start.elapsed();
                done += chunk as u64;
            }
            total
        })
    });
    // The ratios to the limit, with each side interleaved with the raw verification in chunks
    // of 32 (see `paired`), so that a loaded machine slows both alike: criterion reports the
    // cognito-authz side, and a line printed after the group gives the ratio over every
    // iteration.
    let raw = || {
        key.verify_sig(black_box(message.as_bytes()), black_box(&signature))
            .unwrap()
    };
    let no_cache_paired = Paired::default();
    group.bench_function("no_cache_paired_with_raw", |b| {
        b.iter_custom(|iters| {
            no_cache_paired.sample(iters, &mut || raw(), &mut || {
                drop(now(no_cache.verify(black_box(&f.token))).unwrap())
            })
        })
    });
    let miss_paired = Paired::default();
    group.bench_function("miss_and_insert_paired_with_raw", |b| {
        b.iter_custom(|iters| {
            // The long-lived instance above, emptied at the start of each pass over the tokens
            // (inside the timed side: a clear of the table, about 0.1% of a pass).
            let mut i = 0usize;
            miss_paired.sample(iters, &mut || raw(), &mut || {
                let token = i % f.tokens.len();
                i += 1;
                if token == 0 {
                    reused.invalidate_caches();
                }
                drop(now(reused.verify(black_box(&f.tokens[token]))).unwrap())
            })
        })
    });
    group.finish();
    no_cache_paired.report_as(
        "cold/no_cache_paired_with_raw",
        "raw RSA verify",
        "cognito-authz, cache off",
    );
    miss_paired.report_as(
        "cold/miss_and_insert_paired_with_raw",
        "raw RSA verify",
        "cognito-authz, miss + insert",
    );
}
