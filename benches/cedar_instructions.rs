//! Fixed-count loops of the Cedar paths, for counting instructions under callgrind (feature
//! `cedar`): repeatable on a loaded machine, where the criterion bench `cedar` is not.
//!
//! `scripts/callgrind-cedar` runs each scenario under `valgrind --tool=callgrind` with
//! collection switched on only inside [`measured`], prints instructions per iteration and the
//! ratio of the target, and splits the evaluated layer's instructions into Cedar's evaluation,
//! the crate's entity, context and request building, and the rest of the layer. By hand:
//! `cargo bench --features cedar --bench cedar_instructions --no-run`, then
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='cedar_instructions::measured*'
//! target/release/deps/cedar_instructions-* SCENARIO ITERATIONS`.
//!
//! The policies and token are those of `benches/cedar.rs` (100 policies, two routes each with
//! one permit, one forbid for every action). Scenarios:
//! - `decide_evaluated`: [`Cedar::decide`], the two routes in turn (every call evaluates);
//! - `decide_repeated`: [`Cedar::decide`], the same request (the remembered decision);
//! - `decide_new_params`: [`Cedar::decide`], one route with its path parameter changing on
//!   every call (the context built again each time; one of the two is refused);
//! - `router_role_check`: the two routes through an axum router behind the authentication layer
//!   and `AuthzLayer::require` (warm token);
//! - `router_cedar_evaluated`: the same behind the Cedar layer instead (every request evaluates);
//! - `router_cedar_repeated`: one route behind the Cedar layer (the remembered decision);
//! - `first_request`: [`Cedar::decide`] for a principal never seen (its entities and context
//!   built), a new verified principal each iteration (its verification is not counted).

use std::hint::black_box;
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use cognito_authz::cedar::{Cedar, CedarRequest};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthzLayer, CognitoAuth, Tenant};
use futures_util::FutureExt;
use http::Request;
use tower::ServiceExt;

const POOL: &str = "us-east-1_BenchPool1";
const CLIENT: &str = "bench-client";
const ROUTE: &str = "/tenants/{tenant}/orders";
const OTHER_ROUTE: &str = "/tenants/{tenant}/invoices";
const URIS: [&str; 2] = ["/tenants/bench/orders", "/tenants/bench/invoices"];

/// The loop whose instructions are counted; every scenario's setup happens outside it.
#[inline(never)]
fn measured(iterations: usize, step: &mut dyn FnMut(usize)) {
    for i in 0..iterations {
        step(i);
    }
}

/// The policy folder of `benches/cedar.rs`: 20 common and 80 tenant policies over 100 routes;
/// each of the two requests' routes has one permit (by group, tenant and scope) and one forbid
/// (suspended users) applies to every action.
fn policy_folder() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cognito-authz-cedar-instructions-{}",
        std::process::id()
    ));
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

fn request(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn main() {
    // `cargo bench` adds `--bench`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(scenario), Some(iterations)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cedar_instructions SCENARIO ITERATIONS (see the module docs)");
        std::process::exit(2);
    };
    let iterations: usize = iterations.parse().expect("ITERATIONS is a number");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let idp = rt.block_on(LocalIssuer::start()).unwrap();
    let claims = |user: &str| idp.access_claims(POOL, CLIENT, user, &["admin", "member"]);
    let token = idp.mint(&claims("alice"));
    let tenant = Tenant::builder("bench", POOL)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(POOL))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .token_cache_entries(100_000)
        .build()
        .unwrap();
    rt.block_on(auth.prefetch());
    let folder = policy_folder();
    let cedar = Cedar::builder("App").policies(&folder).build().unwrap();
    let _ = std::fs::remove_dir_all(&folder);
    let requests = [
        CedarRequest::new("GET", ROUTE).param("tenant", "bench"),
        CedarRequest::new("GET", OTHER_ROUTE).param("tenant", "bench"),
    ];
    let principal = rt.block_on(auth.verify(&token)).unwrap();
    for request in &requests {
        assert!(cedar.decide(&principal, request).is_allowed());
    }
    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let routes = || {
        Router::new()
            .route(ROUTE, get(|| async { "ok" }))
            .route(OTHER_ROUTE, get(|| async { "ok" }))
    };
    let serve = |app: &Router, uri: &str| {
        let response = local
            .block_on(app.clone().oneshot(request(uri, black_box(&token))))
            .unwrap();
        assert_eq!(response.status(), 200);
    };
    match scenario.as_str() {
        "decide_evaluated" => measured(iterations, &mut |i| {
            let decision = cedar.decide(black_box(&principal), black_box(&requests[i % 2]));
            assert!(decision.is_allowed());
        }),
        "decide_new_params" => {
            let other = CedarRequest::new("GET", ROUTE).param("tenant", "other");
            measured(iterations, &mut |i| {
                let request = if i % 2 == 0 { &requests[0] } else { &other };
                let decision = cedar.decide(black_box(&principal), black_box(request));
                assert_eq!(decision.is_allowed(), i % 2 == 0);
            })
        }
        "decide_repeated" => measured(iterations, &mut |_| {
            let decision = cedar.decide(black_box(&principal), black_box(&requests[0]));
            assert!(decision.is_allowed());
        }),
        "router_role_check" | "router_cedar_evaluated" | "router_cedar_repeated" => {
            let app = if scenario == "router_role_check" {
                routes()
                    .layer(AuthzLayer::require("admin"))
                    .layer(auth.layer())
            } else {
                routes().layer(cedar.layer()).layer(auth.layer())
            };
            serve(&app, URIS[0]);
            serve(&app, URIS[1]);
            let turns = if scenario == "router_cedar_repeated" {
                1
            } else {
                2
            };
            measured(iterations, &mut |i| serve(&app, URIS[i % turns]));
        }
        "first_request" => {
            let principals: Vec<_> = (0..iterations)
                .map(|i| {
                    let token = idp.mint(&claims(&format!("user{i}")));
                    auth.verify(&token).now_or_never().unwrap().unwrap()
                })
                .collect();
            measured(iterations, &mut |i| {
                let decision = cedar.decide(black_box(&principals[i]), &requests[i % 2]);
                assert!(decision.is_allowed());
            });
        }
        other => {
            eprintln!("unknown scenario {other:?} (see the module docs)");
            std::process::exit(2);
        }
    }
}
