//! Verification cost, side by side with the physical limit and peers, on the same token and key.
//!
//! Groups:
//! - `cold`: every token new. `raw_rsa_verify` (aws-lc-rs, key parsed once: the limit),
//!   `jsonwebtoken_decode` (RS256, full validation, aws_lc_rs backend), `cognito_authz` with the
//!   verified-token cache off, and with a cache miss + insert.
//! - `warm`: the same token again: `cognito_authz` cache hit (also with a revocation list of
//!   1,000 users, of 10,000 and of 1,000,000 users: what a replica mirroring a shared store of that size
//!   checks, the mirror being the same in-process list, and for a tenant found by a resolver)
//!   vs `jsonwebtoken_decode`.
//! - `layer`: one request through an axum router with `tower::ServiceExt::oneshot`, the router
//!   prepared as `axum::serve` prepares it (`with_state(())`): no auth,
//!   `cognito_authz` warm and cold, and the peer `tower-oauth2-resource-server` (no cache).
//! - `tenants`: cold and warm verification with 1 and 10,000 tenants registered.
//! - `cache_key`: the two ways to key the verified-token cache on this token: SHA-256 of the
//!   whole token, and the GMAC tag under a secret key that the crate uses.
//! - `token_cache`: one read of 1,000 cached entries, moka against quick_cache (the crate's
//!   choice), from one thread and from two threads at once.
//! - `metrics` (feature `metrics`; `cargo bench --bench verify --features metrics -- metrics`):
//!   the warm hit and the warm request through the layer, with no recorder and with the
//!   `metrics-exporter-prometheus` recorder, and (`*_paired_*`) both interleaved in chunks of
//!   32 so that machine load hits them alike: criterion reports the side with the recorder,
//!   and a line printed after the group gives both per-iteration means, their difference and
//!   ratio over every iteration of the bench (warm-up included). The recorder is
//!   built, not installed globally (a global recorder cannot be removed again): it is this
//!   thread's recorder when the instance takes its handles (`metrics::with_local_recorder`),
//!   which gives it the same handles as a global installation would.
//!
//! - `*_paired_with_*` (in `cold` and `layer`): the ratios of the performance targets, each side
//!   interleaved with its reference (raw RSA verify, the bare router) in chunks of 32 so that a
//!   loaded machine slows both alike; the ratio over every iteration is printed after the group.
//!
//! `scripts/bench-report` runs these with short settings and prints medians and ratios.

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, Tenant, TenantRegistry};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::Request;
use serde_json::Value;
use tower::ServiceExt;

#[path = "support/mod.rs"]
mod support;
use support::served;

const POOL: &str = "us-east-1_BenchPool1";
const CLIENT: &str = "bench-client";

struct Fixture {
    _runtime: tokio::runtime::Runtime,
    idp: LocalIssuer,
    token: String,
    /// Distinct valid tokens for cold runs.
    tokens: Vec<String>,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let idp = runtime.block_on(LocalIssuer::start()).unwrap();
    let claims = |user: &str| idp.access_claims(POOL, CLIENT, user, &["admin", "member"]);
    let token = idp.mint(&claims("alice"));
    let tokens = (0..512)
        .map(|i| idp.mint(&claims(&format!("user{i}"))))
        .collect();
    Fixture {
        _runtime: runtime,
        idp,
        token,
        tokens,
    }
}

fn tenant(idp: &LocalIssuer, id: &str, pool: &str) -> Tenant {
    Tenant::builder(id, pool)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(pool))
        .build()
        .unwrap()
}

fn auth(f: &Fixture, extra_tenants: usize, cache_entries: u64) -> CognitoAuth {
    let mut tenants = vec![tenant(&f.idp, "bench", POOL)];
    tenants.extend(
        (0..extra_tenants)
            .map(|i| tenant(&f.idp, &format!("t{i}"), &format!("us-east-1_Extra{i}"))),
    );
    let auth = CognitoAuth::builder()
        .tenants(TenantRegistry::from_tenants(tenants).unwrap())
        .token_cache_entries(cache_entries)
        .build()
        .unwrap();
    // Fetch the bench tenant's keys once, outside of any measurement.
    f._runtime.block_on(auth.prefetch());
    auth
}

/// Completes a future that never waits (keys held, cache warm) without a runtime.
fn now<T>(fut: impl std::future::Future<Output = T>) -> T {
    fut.now_or_never().expect("verification waited on I/O")
}

fn rsa_key(f: &Fixture) -> ParsedPublicKey {
    let jwk = f.idp.current_key().jwk();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .unwrap()
}

fn jsonwebtoken_setup(f: &Fixture) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    let jwk = f.idp.current_key().jwk();
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[LocalIssuer::issuer(POOL)]);
    // Cognito access tokens have no `aud`; client_id is checked by hand below, like a user would.
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss"]);
    (key, validation)
}

fn jsonwebtoken_decode(token: &str, key: &jsonwebtoken::DecodingKey, v: &jsonwebtoken::Validation) {
    let data = jsonwebtoken::decode::<Value>(token, key, v).unwrap();
    assert_eq!(data.claims["client_id"], CLIENT);
    assert_eq!(data.claims["token_use"], "access");
}

fn cold(c: &mut Criterion) {
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

fn warm(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("warm");
    let auth = auth(&f, 0, 100_000);
    group.bench_function("cognito_authz_hit", |b| {
        b.iter(|| now(auth.verify(black_box(&f.token))).unwrap())
    });
    // A revocation list holding 1,000 revoked users of the tenant (not this token's): the
    // lookup a service with revocations pays on every request.
    let revocations = cognito_authz::Revocations::new();
    for i in 0..1_000 {
        revocations.revoke_user("bench", &format!("sub-revoked{i}"));
    }
    let with_revocations = CognitoAuth::builder()
        .tenant(tenant(&f.idp, "bench", POOL))
        .unwrap()
        .revocations(revocations)
        .build()
        .unwrap();
    f._runtime.block_on(with_revocations.prefetch());
    group.bench_function("cognito_authz_hit_with_revocations", |b| {
        b.iter(|| now(with_revocations.verify(black_box(&f.token))).unwrap())
    });
    // The same hit for a tenant found by a resolver: its entries also carry the end of the
    // resolver's answer (offboarding), which must cost the hit nothing.
    let resolved = CognitoAuth::builder()
        .resolver(BenchResolver(f.idp.jwks_url(RESOLVED_POOL)))
        .resolver_ttl(Duration::from_secs(3600), Duration::from_secs(60))
        .build()
        .unwrap();
    let resolved_token =
        f.idp.mint(
            &f.idp
                .access_claims(RESOLVED_POOL, CLIENT, "alice", &["admin", "member"]),
        );
    f._runtime
        .block_on(resolved.verify(&resolved_token))
        .unwrap();
    group.bench_function("cognito_authz_hit_resolver_tenant", |b| {
        b.iter(|| now(resolved.verify(black_box(&resolved_token))).unwrap())
    });
    // 10,000 revoked users, as a replica holds them when mirroring a shared store (feature
    // `redis`): the per-request check reads the same in-process list.
    let mirror = cognito_authz::Revocations::new();
    for i in 0..10_000 {
        mirror.revoke_user("bench", &format!("sub-revoked{i}"));
    }
    let with_mirror = CognitoAuth::builder()
        .tenant(tenant(&f.idp, "bench", POOL))
        .unwrap()
        .revocations(mirror)
        .build()
        .unwrap();
    f._runtime.block_on(with_mirror.prefetch());
    group.bench_function("cognito_authz_hit_with_10k_revoked", |b| {
        b.iter(|| now(with_mirror.verify(black_box(&f.token))).unwrap())
    });
    // 1,000,000: a large SaaS's day of sign-outs (README, "Running several replicas").
    let big = cognito_authz::Revocations::new();
    for i in 0..1_000_000 {
        big.revoke_user("bench", &format!("sub-revoked{i}"));
    }
    let with_big = CognitoAuth::builder()
        .tenant(tenant(&f.idp, "bench", POOL))
        .unwrap()
        .revocations(big)
        .build()
        .unwrap();
    f._runtime.block_on(with_big.prefetch());
    group.bench_function("cognito_authz_hit_with_1m_revoked", |b| {
        b.iter(|| now(with_big.verify(black_box(&f.token))).unwrap())
    });
    let (jwt_key, validation) = jsonwebtoken_setup(&f);
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken_decode(black_box(&f.token), &jwt_key, &validation))
    });
    group.finish();
}

const RESOLVED_POOL: &str = "us-east-1_BenchPool2";

/// Resolves [`RESOLVED_POOL`] only, as a tenant like the bench tenant.
struct BenchResolver(String);

impl cognito_authz::tenant::TenantResolver for BenchResolver {
    fn resolve<'a>(
        &'a self,
        issuer: cognito_authz::tenant::Issuer<'a>,
    ) -> cognito_authz::tenant::ResolveFuture<'a> {
        let tenant = (issuer.user_pool_id == RESOLVED_POOL).then(|| {
            Tenant::builder("resolved", RESOLVED_POOL)
                .client_id(CLIENT)
                .jwks_url(&self.0)
                .build()
                .unwrap()
        });
        Box::pin(async move { Ok(tenant) })
    }
}

fn request(token: &str) -> Request<Body> {
    Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn layer(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("layer");
    let base = Router::new().route("/me", get(|| async { "ok" }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let plain = served(base.clone());
    group.bench_function("axum_no_auth", |b| {
        b.to_async(&rt)
            .iter(|| async { plain.clone().oneshot(request(&f.token)).await.unwrap() })
    });
    let warm_auth = auth(&f, 0, 100_000);
    let warm = served(base.clone().layer(warm_auth.layer()));
    group.bench_function("cognito_authz_warm", |b| {
        b.to_async(&rt).iter(|| async {
            let r = warm.clone().oneshot(request(&f.token)).await.unwrap();
            assert_eq!(r.status(), 200);
        })
    });
    let cold_auth = auth(&f, 0, 0);
    let cold = served(base.clone().layer(cold_auth.layer()));
    group.bench_function("cognito_authz_no_cache", |b| {
        b.to_async(&rt).iter(|| async {
            let r = cold.clone().oneshot(request(&f.token)).await.unwrap();
            assert_eq!(r.status(), 200);
        })
    });

    let jwks = serde_json::json!({ "keys": [f.idp.current_key().jwk()] }).to_string();
    let peer = rt.block_on(async {
        use tower_oauth2_resource_server::{
            server::OAuth2ResourceServer, tenant::TenantConfiguration,
            validation::ClaimsValidationSpec,
        };
        let tenant = TenantConfiguration::static_builder(jwks)
            .claims_validation(
                ClaimsValidationSpec::new()
                    .iss(&LocalIssuer::issuer(POOL))
                    .exp(true),
            )
            .build()
            .unwrap();
        <OAuth2ResourceServer>::builder()
            .add_tenant(tenant)
            .build()
            .await
            .unwrap()
    });
    let peer_app = served(base.clone().layer(peer.into_layer()));
    group.bench_function("tower_oauth2_resource_server", |b| {
        b.to_async(&rt).iter(|| async {
            let r = peer_app.clone().oneshot(request(&f.token)).await.unwrap();
            assert_eq!(r.status(), 200);
        })
    });
    // The warm layer against the bare router, interleaved in chunks of 32 (see `paired`).
    let serve = |app: &Router| {
        let r = rt.block_on(app.clone().oneshot(request(&f.token))).unwrap();
        assert_eq!(r.status(), 200);
    };
    let warm_paired = Paired::default();
    group.bench_function("warm_paired_with_no_auth", |b| {
        b.iter_custom(|iters| {
            warm_paired.sample(iters, &mut || serve(&plain), &mut || serve(&warm))
        })
    });
    group.finish();
    warm_paired.report_as(
        "layer/warm_paired_with_no_auth",
        "axum router, no auth",
        "with the layer, warm token",
    );
}

fn tenants(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("tenants");
    for extra in [0usize, 9_999] {
        let n = extra + 1;
        let warm = auth(&f, extra, 100_000);
        group.bench_function(format!("warm_{n}"), |b| {
            b.iter(|| now(warm.verify(black_box(&f.token))).unwrap())
        });
        let cold = auth(&f, extra, 0);
        group.bench_function(format!("cold_{n}"), |b| {
            b.iter(|| now(cold.verify(black_box(&f.token))).unwrap())
        });
    }
    group.finish();
}

fn cache_key(c: &mut Criterion) {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::digest::{SHA256, digest};
    let f = fixture();
    let token = f.token.as_bytes();
    let mut group = c.benchmark_group("cache_key");
    group.bench_function("sha256", |b| b.iter(|| digest(&SHA256, black_box(token))));
    let mac = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    group.bench_function("gmac", |b| {
        b.iter(|| {
            mac.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([9; 12]),
                Aad::from(black_box(token)),
                &mut [],
            )
            .unwrap()
        })
    });
    group.finish();
}

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

fn token_cache(c: &mut Criterion) {
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

/// Times `iters` runs of `without` and of `with`, interleaved in chunks of 32 (alternating which
/// goes first) so that both see the same load on a shared machine.
fn paired(iters: u64, without: &mut dyn FnMut(), with: &mut dyn FnMut()) -> (Duration, Duration) {
    let time = |f: &mut dyn FnMut(), n: u64| {
        let start = std::time::Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed()
    };
    let (mut base, mut measured) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(32);
        if (done / 32) % 2 == 0 {
            base += time(without, n);
            measured += time(with, n);
        } else {
            measured += time(with, n);
            base += time(without, n);
        }
        done += n;
    }
    (base, measured)
}

/// Totals of a paired bench: time without, time with, iterations.
#[derive(Default)]
struct Paired(std::cell::Cell<(Duration, Duration, u64)>);

impl Paired {
    /// Runs one criterion sample, reporting the time of `with`; keeps both totals.
    fn sample(&self, iters: u64, without: &mut dyn FnMut(), with: &mut dyn FnMut()) -> Duration {
        let (base, measured) = paired(iters, without, with);
        let (b, m, n) = self.0.get();
        self.0.set((b + base, m + measured, n + iters));
        measured
    }

    #[cfg(feature = "metrics")]
    fn report(&self, name: &str) {
        self.report_as(name, "without recorder", "with Prometheus recorder");
    }

    /// Prints both per-iteration means, their difference and ratio, over every iteration.
    fn report_as(&self, name: &str, without: &str, with: &str) {
        let (base, measured, n) = self.0.get();
        if n == 0 {
            // Filtered out of this run.
            return;
        }
        let per = |d: Duration| d.as_nanos() as f64 / n as f64;
        println!(
            "{name}: paired over {n} iterations: {without} {:.1} ns, {with} {:.1} ns, \
             delta {:+.1} ns, ratio {:.3}",
            per(base),
            per(measured),
            per(measured) - per(base),
            per(measured) / per(base),
        );
    }
}

/// The warm path without and with a recorder; see the module docs.
#[cfg(feature = "metrics")]
fn metrics(c: &mut Criterion) {
    use metrics_exporter_prometheus::PrometheusBuilder;

    // Two instances of the same configuration differ by up to 100 ns a warm hit on a loaded
    // machine (memory placement): the paired benches cycle through several of each kind.
    const INSTANCES: usize = 6;
    let f = fixture();
    let mut group = c.benchmark_group("metrics");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let base = Router::new().route("/me", get(|| async { "ok" }));
    let serve = |app: &Router| {
        let r = rt.block_on(app.clone().oneshot(request(&f.token))).unwrap();
        assert_eq!(r.status(), 200);
    };
    // Handles are taken on first use: `plain` instances are first used without a recorder
    // (their handles are no-ops), `recorded` ones with the Prometheus recorder set, exactly as
    // if it had been installed globally. After that, which recorder is set no longer matters.
    let recorder = PrometheusBuilder::new().build_recorder();
    let instances = |recorded: bool| -> Vec<(CognitoAuth, Router)> {
        (0..INSTANCES)
            .map(|_| {
                let auth = auth(&f, 0, 100_000);
                let app = served(base.clone().layer(auth.layer()));
                let first_use = || {
                    now(auth.verify(&f.token)).unwrap();
                    serve(&app);
                };
                if recorded {
                    metrics::with_local_recorder(&recorder, first_use);
                } else {
                    first_use();
                }
                (auth, app)
            })
            .collect()
    };
    let plain = instances(false);
    let recorded = instances(true);
    let other = instances(false);
    let hit = |set: &[(CognitoAuth, Router)], i: &mut usize| {
        *i += 1;
        drop(now(set[*i % INSTANCES].0.verify(black_box(&f.token))).unwrap());
    };
    let request = |set: &[(CognitoAuth, Router)], i: &mut usize| {
        *i += 1;
        serve(&set[*i % INSTANCES].1);
    };

    group.bench_function("hit_no_recorder", |b| {
        b.iter(|| now(plain[0].0.verify(black_box(&f.token))).unwrap())
    });
    group.bench_function("hit_prometheus", |b| {
        b.iter(|| now(recorded[0].0.verify(black_box(&f.token))).unwrap())
    });
    let (mut i, mut j) = (0, 0);
    let paired_hit = Paired::default();
    group.bench_function("hit_paired_prometheus", |b| {
        b.iter_custom(|iters| {
            paired_hit.sample(iters, &mut || hit(&plain, &mut i), &mut || {
                hit(&recorded, &mut j)
            })
        })
    });
    let control = Paired::default();
    group.bench_function("hit_paired_control", |b| {
        b.iter_custom(|iters| {
            control.sample(iters, &mut || hit(&plain, &mut i), &mut || {
                hit(&other, &mut j)
            })
        })
    });
    group.bench_function("layer_warm_no_recorder", |b| b.iter(|| serve(&plain[0].1)));
    group.bench_function("layer_warm_prometheus", |b| {
        b.iter(|| serve(&recorded[0].1))
    });
    let paired_layer = Paired::default();
    group.bench_function("layer_paired_prometheus", |b| {
        b.iter_custom(|iters| {
            paired_layer.sample(iters, &mut || request(&plain, &mut i), &mut || {
                request(&recorded, &mut j)
            })
        })
    });
    group.finish();
    control.report("metrics/hit_paired_control (no recorder on either side)");
    paired_hit.report("metrics/hit_paired_prometheus");
    paired_layer.report("metrics/layer_paired_prometheus");
    // The measurements above must have counted into the recorder, or they measured nothing.
    let text = recorder.handle().render();
    assert!(
        text.contains("cognito_authz_token_cache_hits_total")
            && text.contains(r#"outcome="allowed",reason="ok""#),
        "the recorder saw no metrics:\n{text}"
    );
}

#[cfg(not(feature = "metrics"))]
fn metrics(_: &mut Criterion) {}

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
    targets = cold, warm, layer, tenants, cache_key, token_cache, metrics
}
criterion_main!(benches);
