//! `metrics` (feature `metrics`; `cargo bench --bench verify --features metrics -- metrics`):
//! the warm hit and the warm request through the layer, with no recorder and with the
//! `metrics-exporter-prometheus` recorder, and (`*_paired_*`) both interleaved in chunks of
//! 32 so that machine load hits them alike: criterion reports the side with the recorder,
//! and a line printed after the group gives both per-iteration means, their difference and
//! ratio over every iteration of the bench (warm-up included). The recorder is
//! built, not installed globally (a global recorder cannot be removed again): it is this
//! thread's recorder when the instance takes its handles (`metrics::with_local_recorder`),
//! which gives it the same handles as a global installation would.

use std::hint::black_box;

use axum::Router;
use axum::routing::get;
use cognito_authz::CognitoAuth;
use criterion::Criterion;
use tower::ServiceExt;

use crate::fixture::{auth, fixture, now, request};
use crate::paired::Paired;
use crate::support::served;

/// The warm path without and with a recorder; see the module docs.
pub fn metrics(c: &mut Criterion) {
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
