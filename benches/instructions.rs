//! Fixed-count loops of the verification paths, for counting instructions under callgrind:
//! repeatable on a loaded machine, where wall-clock benches are not.
//!
//! `scripts/callgrind-verify` runs each scenario under `valgrind --tool=callgrind` with
//! collection switched on only inside [`measured`], and prints instructions per iteration and
//! the ratios of the performance targets. By hand:
//! `cargo bench --bench instructions --no-run`, then
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='instructions::measured*'
//! target/release/deps/instructions-* SCENARIO ITERATIONS`.
//!
//! Scenarios: `raw_rsa` (aws-lc-rs, key parsed once: the limit), `no_cache` (verified-token
//! cache off), `miss_insert` (each token new to the cache: miss, verify, insert), `hit`
//! (cached token), `router` (axum router, no auth), `layer_warm` and `layer_no_cache` (the same
//! router behind the layer). Note that under valgrind aws-lc-rs sees no AVX-512, so the RSA share
//! can differ from a native run; the rest of the path is the same code.

use std::hint::black_box;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::CognitoAuth;
use futures_util::FutureExt;
use tower::ServiceExt;

#[path = "support/mod.rs"]
mod support;

use support::{auth, request};

/// The loop whose instructions are counted; every scenario's setup happens outside it.
#[inline(never)]
fn measured(iterations: usize, step: &mut dyn FnMut(usize)) {
    for i in 0..iterations {
        step(i);
    }
}

fn main() {
    let (scenario, iterations) = support::scenario_args("instructions");
    let rt = support::runtime();
    let idp = support::issuer(&rt);
    let token = support::token(&idp, "alice");
    let now = |f: &CognitoAuth, token: &str| {
        f.verify(black_box(token))
            .now_or_never()
            .expect("verification waited on I/O")
            .unwrap()
    };
    let router = support::served(Router::new().route("/me", get(|| async { "ok" })));
    let local = support::local_runtime();
    let serve = |app: &Router| {
        let response = local
            .block_on(app.clone().oneshot(request("/me", black_box(&token))))
            .unwrap();
        assert_eq!(response.status(), 200);
    };
    match scenario.as_str() {
        "raw_rsa" => {
            let jwk = idp.current_key().jwk();
            let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
            let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
            let key = RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .unwrap();
            let key: &ParsedPublicKey = &key;
            let (message, signature) = token.rsplit_once('.').unwrap();
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            measured(iterations, &mut |_| {
                key.verify_sig(black_box(message.as_bytes()), black_box(&signature))
                    .unwrap()
            });
        }
        "no_cache" => {
            let auth = auth(&rt, &idp, Some(0));
            measured(iterations, &mut |_| drop(now(&auth, &token)));
        }
        "miss_insert" => {
            let tokens: Vec<String> = (0..iterations)
                .map(|i| support::token(&idp, &format!("user{i}")))
                .collect();
            let auth = auth(&rt, &idp, Some(100_000));
            measured(iterations, &mut |i| drop(now(&auth, &tokens[i])));
            assert_eq!(auth.cached_tokens(), iterations as u64);
        }
        "hit" => {
            let auth = auth(&rt, &idp, Some(100_000));
            now(&auth, &token);
            measured(iterations, &mut |_| drop(now(&auth, &token)));
        }
        "router" => {
            serve(&router);
            measured(iterations, &mut |_| serve(&router));
        }
        "layer_warm" | "layer_no_cache" => {
            let entries = if scenario == "layer_warm" { 100_000 } else { 0 };
            let auth = auth(&rt, &idp, Some(entries));
            let app = support::served(router.clone().layer(auth.layer()));
            serve(&app);
            measured(iterations, &mut |_| serve(&app));
        }
        other => support::unknown_scenario(other),
    }
}
