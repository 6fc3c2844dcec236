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
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_authz::cedar::{Cedar, CedarRequest};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthzLayer, CognitoAuth, Tenant};
use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use tower::ServiceExt;

const POOL: &str = "us-east-1_BenchPool1";
const CLIENT: &str = "bench-client";
const ROUTE: &str = "/tenants/{tenant}/orders";
const OTHER_ROUTE: &str = "/tenants/{tenant}/invoices";

/// 20 common and 80 tenant policies over 100 routes; each of the two requests' routes has one
/// permit (by group, tenant and scope) and one forbid (suspended users).
fn policy_folder() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("cognito-authz-cedar-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = |i: usize| {
        let route = match i {
            57 => ROUTE.to_owned(),
            58 => OTHER_ROUTE.to_owned(),
            _ => format!("/r{i}/{{id}}"),
        };
        format!(
            "@id(\"p{i}\")\npermit(principal in App::UserGroup::\"{POOL}|admin\", \
             action == App::Action::\"GET {route}\", resource)\n  when {{ context.path.tenant == context.tenant \
             && context.token.scope.contains(\"aws.cognito.signin.user.admin\") }};\n"
        )
    };
    let mut common: String = (0..19).map(policy).collect();
    common.push_str(
        "@id(\"suspended\")\nforbid(principal, action, resource) when { context.roles.contains(\"suspended\") };\n",
    );
    let own: String = (19..99).map(policy).collect();
    std::fs::write(dir.join("common.cedar"), common).unwrap();
    std::fs::write(dir.join("bench.cedar"), own).unwrap();
    dir
}

fn request(token: &str) -> Request<Body> {
    Request::get("/tenants/bench/orders")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let idp = rt.block_on(LocalIssuer::start()).unwrap();
    let token = idp.mint(&idp.access_claims(POOL, CLIENT, "alice", &["admin", "member"]));
    let tenant = Tenant::builder("bench", POOL)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(POOL))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .build()
        .unwrap();
    let principal = rt.block_on(auth.verify(&token)).unwrap();
    let folder = policy_folder();
    let cedar = Cedar::builder("App").policies(&folder).build().unwrap();
    let cedar_request = CedarRequest::new("GET", ROUTE).param("tenant", "bench");
    assert!(cedar.decide(&principal, &cedar_request).is_allowed());

    let other_request = CedarRequest::new("GET", OTHER_ROUTE).param("tenant", "bench");
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

    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let routes = || {
        Router::new()
            .route(ROUTE, get(|| async { "ok" }))
            .route(OTHER_ROUTE, get(|| async { "ok" }))
    };
    let authn_only = routes().layer(auth.layer());
    let role_check = routes()
        .layer(AuthzLayer::require("admin"))
        .layer(auth.layer());
    let with_cedar = routes().layer(cedar.layer()).layer(auth.layer());
    let mut group = c.benchmark_group("cedar_layer");
    for (name, app) in [
        ("authn_only", &authn_only),
        ("role_check", &role_check),
        ("cedar", &with_cedar),
    ] {
        // Warm the verified-token cache outside of the measurement.
        assert_eq!(
            local
                .block_on(app.clone().oneshot(request(&token)))
                .unwrap()
                .status(),
            200
        );
        group.bench_function(name, |b| {
            b.to_async(&local).iter(|| async {
                let r = app.clone().oneshot(request(&token)).await.unwrap();
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
            let uri = if flip {
                "/tenants/bench/orders"
            } else {
                "/tenants/bench/invoices"
            };
            let mut req = request(&token);
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
        let mut req = request(&token);
        *req.uri_mut() = uri.parse().unwrap();
        let r = local.block_on(app.clone().oneshot(req)).unwrap();
        assert_eq!(r.status(), 200);
    };
    let (mut role_time, mut cedar_time, mut total) = (Duration::ZERO, Duration::ZERO, 0u64);
    let uris = ["/tenants/bench/orders", "/tenants/bench/invoices"];
    group.bench_function("cedar_evaluated_paired_with_role_check", |b| {
        b.iter_custom(|iters| {
            let mut measured = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = (iters - done).min(32);
                let time = |app: &Router| {
                    let start = std::time::Instant::now();
                    for i in 0..n {
                        serve(app, uris[(i % 2) as usize]);
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
    let _ = std::fs::remove_dir_all(folder);
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
