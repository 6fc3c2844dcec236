//! Set-up shared by the benches `verify`, `instructions`, `cedar` and `cedar_instructions`, each of which
//! includes it with `#[path = "support/mod.rs"] mod support;` (`verify`, a directory, with
//! `#[path = "../support/mod.rs"]`): the bench tenant and its tokens,
//! the verifier, the runtimes, the request, and the command line of the fixed-count benches.
//! Cedar's part (the policies, the two routes) is in [`cedar`], built with the `cedar` feature.
//!
//! Each piece lives once so that the benches measure the same tenant, token and request. The
//! fixed-count benches keep their own `measured` loop: callgrind's `--toggle-collect` finds it
//! by its path (`instructions::measured`, `cedar_instructions::measured`).

// Each bench uses part of this module.
#![allow(dead_code)]

#[cfg(feature = "cedar")]
pub mod cedar;

use axum::Router;
use axum::body::Body;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, Tenant};
use http::Request;
use tokio::runtime::Runtime;

pub const POOL: &str = "us-east-1_BenchPool1";
pub const CLIENT: &str = "bench-client";

/// The router as `axum::serve` runs it: `into_make_service` calls `with_state(())`, which turns
/// every handler into a route once. Called with `oneshot` as built, a layered router would turn
/// its handler into a route again on every request (callgrind: the layered request's lead over
/// the bare router fell from 4,503 to 4,085 instructions once prepared), a cost no served app
/// pays.
pub fn served(router: Router) -> Router {
    router.with_state(())
}

/// The runtime the local issuer and the verifier's key fetches run on: one worker thread.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// The runtime requests are served on: the calling thread.
pub fn local_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A local issuer, started on `rt`.
pub fn issuer(rt: &Runtime) -> LocalIssuer {
    rt.block_on(LocalIssuer::start()).unwrap()
}

/// An access token of the bench pool and client for `user`, in groups `admin` and `member`.
pub fn token(idp: &LocalIssuer, user: &str) -> String {
    idp.mint(&idp.access_claims(POOL, CLIENT, user, &["admin", "member"]))
}

/// The verifier for the one bench tenant (keys from `idp`), its keys already fetched;
/// `cache_entries` sizes the verified-token cache (`None`: the default, `Some(0)`: off).
pub fn auth(rt: &Runtime, idp: &LocalIssuer, cache_entries: Option<u64>) -> CognitoAuth {
    let tenant = Tenant::builder("bench", POOL)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(POOL))
        .build()
        .unwrap();
    let mut builder = CognitoAuth::builder().tenant(tenant).unwrap();
    if let Some(entries) = cache_entries {
        builder = builder.token_cache_entries(entries);
    }
    let auth = builder.build().unwrap();
    rt.block_on(auth.prefetch());
    auth
}

/// `GET uri` with `token` as its bearer token.
pub fn request(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// `SCENARIO ITERATIONS` from the command line of the fixed-count bench `bench` (`cargo bench`
/// adds `--bench`, which is skipped); exits with its usage when either is missing.
pub fn scenario_args(bench: &str) -> (String, usize) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(scenario), Some(iterations)) = (args.first(), args.get(1)) else {
        eprintln!("usage: {bench} SCENARIO ITERATIONS (see the module docs)");
        std::process::exit(2);
    };
    let iterations: usize = iterations.parse().expect("ITERATIONS is a number");
    (scenario.clone(), iterations)
}

/// Exits for a scenario the bench does not know.
pub fn unknown_scenario(scenario: &str) -> ! {
    eprintln!("unknown scenario {scenario:?} (see the module docs)");
    std::process::exit(2);
}
