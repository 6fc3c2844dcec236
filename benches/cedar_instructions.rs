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
//! The policies and token are those of `benches/cedar.rs` (`benches/support/`: 100 policies,
//! two routes each with one permit, one forbid for every action). Scenarios:
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

use axum::Router;
use cognito_authz::AuthzLayer;
use cognito_authz::cedar::CedarRequest;
use futures_util::FutureExt;
use tower::ServiceExt;

#[path = "support/mod.rs"]
mod support;

use support::cedar::{ROUTE, URIS, routes};
use support::request;

/// The loop whose instructions are counted; every scenario's setup happens outside it.
#[inline(never)]
fn measured(iterations: usize, step: &mut dyn FnMut(usize)) {
    for i in 0..iterations {
        step(i);
    }
}

fn main() {
    let (scenario, iterations) = support::scenario_args("cedar_instructions");
    let rt = support::runtime();
    let idp = support::issuer(&rt);
    let token = support::token(&idp, "alice");
    let auth = support::auth(&rt, &idp, Some(100_000));
    let cedar = support::cedar::cedar();
    let requests = support::cedar::requests();
    let principal = rt.block_on(auth.verify(&token)).unwrap();
    for request in &requests {
        assert!(cedar.decide(&principal, request).is_allowed());
    }
    let local = support::local_runtime();
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
            let app = support::served(if scenario == "router_role_check" {
                routes()
                    .layer(AuthzLayer::require("admin"))
                    .layer(auth.layer())
            } else {
                routes().layer(cedar.layer()).layer(auth.layer())
            });
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
                    let token = support::token(&idp, &format!("user{i}"));
                    auth.verify(&token).now_or_never().unwrap().unwrap()
                })
                .collect();
            measured(iterations, &mut |i| {
                let decision = cedar.decide(black_box(&principals[i]), &requests[i % 2]);
                assert!(decision.is_allowed());
            });
        }
        other => support::unknown_scenario(other),
    }
}
