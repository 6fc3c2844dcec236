//! Cedar's cost, side by side in one run (feature `cedar`).
//!
//! Groups:
//! - `cedar_decision`: [`Cedar::decide`] for a tenant whose set has 100 policies (20 common,
//!   80 its own; one permit and one forbid apply to the request): `100_policies` repeats one
//!   request (the principal's last decision is reused), `100_policies_evaluated` alternates two
//!   routes so that every call evaluates the policies (with the principal's entities and
//!   context built on its first request).
//! - `cedar_layer`: one request through an axum router with a warm token:
//!   `role_check` (`AuthzLayer::require`) against `cedar` (the same route authorized by the
//!   100 policies; the principal's last decision is reused) and `cedar_evaluated` (two routes
//!   in turn, the policies evaluated on every request), with `authn_only` as the floor;
//!   `cedar_evaluated_paired_with_role_check` interleaves the last two in chunks of 32 (robust
//!   on a loaded machine) and prints their ratio over every iteration after the group.
//!
//! `cargo bench --features cedar --bench cedar -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::Duration;

use axum::Router;
use cognito_authz::AuthzLayer;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

#[path = "support/mod.rs"]
mod support;

use support::cedar::{URIS, routes};
use support::served;

fn benches(c: &mut Criterion) {
    let rt = support::runtime();
    let idp = support::issuer(&rt);
    let token = support::token(&idp, "alice");
    let auth = support::auth(&rt, &idp, None);
    let request = |uri: &str| support::request(uri, &token);
    let principal = rt.block_on(auth.verify(&token)).unwrap();
    let cedar = support::cedar::cedar();
    let [cedar_request, other_request] = support::cedar::requests();
    assert!(cedar.decide(&principal, &cedar_request).is_allowed());
    assert!(cedar.decide(&principal, &other_request).is_allowed());

    let mut group = c.benchmark_group("cedar_decision");
    // The same request again: the principal's last decision is reused.
    group.bench_function("100_policies", |b| {
        b.iter(|| black_box(cedar.decide(black_box(&principal), black_box(&cedar_request))))
    });
    // Two routes in turn: every call evaluates the policies (entities and context are reused).
    let mut flip = false;
    group.bench_function("100_policies_evaluated", |b| {
        b.iter(|| {
            flip = !flip;
            let request = if flip { &cedar_request } else { &other_request };
            black_box(cedar.decide(black_box(&principal), black_box(request)))
        })
    });
    group.finish();

    let local = support::local_runtime();
    let authn_only = served(routes().layer(auth.layer()));
    let role_check = routes()
        .layer(AuthzLayer::require("admin"))
        .layer(auth.layer());
    let role_check = served(role_check);
    let with_cedar = served(routes().layer(cedar.layer()).layer(auth.layer()));
    let mut group = c.benchmark_group("cedar_layer");
    for (name, app) in [
        ("authn_only", &authn_only),
        ("role_check", &role_check),
        ("cedar", &with_cedar),
    ] {
        // Warm the verified-token cache outside of the measurement.
        assert_eq!(
            local
                .block_on(app.clone().oneshot(request(URIS[0])))
                .unwrap()
                .status(),
            200
        );
        group.bench_function(name, |b| {
            b.to_async(&local).iter(|| async {
                let r = app.clone().oneshot(request(URIS[0])).await.unwrap();
                assert_eq!(r.status(), 200);
            })
        });
    }
    // Two routes in turn: the principal's last decision never applies, the policies are
    // evaluated on every request.
    let mut flip = false;
    group.bench_function("cedar_evaluated", |b| {
        b.to_async(&local).iter(|| {
            flip = !flip;
            let uri = if flip { URIS[0] } else { URIS[1] };
            // Built for the first route, then pointed at `uri`, as since the bench was written
            // (the numbers stay comparable with earlier runs).
            let mut req = request(URIS[0]);
            *req.uri_mut() = uri.parse().unwrap();
            let app = with_cedar.clone();
            async move {
                let r = app.oneshot(req).await.unwrap();
                assert_eq!(r.status(), 200);
            }
        })
    });
    // The same two against the role check, interleaved in chunks of 32 so that a loaded machine
    // slows both alike; the ratio over every iteration is printed after the group.
    let serve = |app: &Router, uri: &str| {
        let mut req = request(URIS[0]);
        *req.uri_mut() = uri.parse().unwrap();
        let r = local.block_on(app.clone().oneshot(req)).unwrap();
        assert_eq!(r.status(), 200);
    };
    let (mut role_time, mut cedar_time, mut total) = (Duration::ZERO, Duration::ZERO, 0u64);
    group.bench_function("cedar_evaluated_paired_with_role_check", |b| {
        b.iter_custom(|iters| {
            let mut measured = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(32);
                let time = |app: &Router| {
                    let start = std::time::Instant::now();
                    for i in 0..n {
                        serve(app, URIS[(i % 2) as usize]);
                    }
                    start.elapsed()
                };
                let (role, cedar) = if (done / 32) % 2 == 0 {
                    let role = time(&role_check);
                    (role, time(&with_cedar))
                } else {
                    let cedar = time(&with_cedar);
                    (time(&role_check), cedar)
                };
                role_time += role;
                cedar_time += cedar;
                measured += cedar;
                done += n;
            }
            total += iters;
            measured
        })
    });
    group.finish();
    let per = |d: Duration| d.as_nanos() as f64 / total as f64;
    println!(
        "cedar_layer/cedar_evaluated_paired_with_role_check: paired over {total} iterations: \
         role check {:.1} ns, Cedar evaluated {:.1} ns, ratio {:.3}",
        per(role_time),
        per(cedar_time),
        per(cedar_time) / per(role_time),
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = cedar_benches;
    config = config();
    targets = benches
}
criterion_main!(cedar_benches);
