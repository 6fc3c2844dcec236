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
use axum::body::Body;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, Tenant};
use futures_util::FutureExt;
use http::Request;
use tower::ServiceExt;

const POOL: &str = "us-east-1_BenchPool1";
const CLIENT: &str = "bench-client";

/// The loop whose instructions are counted; every scenario's setup happens outside it.
#[inline(never)]
fn measured(iterations: usize, step: &mut dyn FnMut(usize)) {
    for i in 0..iterations {
        step(i);
    }
}

fn auth(rt: &tokio::runtime::Runtime, idp: &LocalIssuer, cache_entries: u64) -> CognitoAuth {
    let tenant = Tenant::builder("bench", POOL)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(POOL))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .token_cache_entries(cache_entries)
        .build()
        .unwrap();
    rt.block_on(auth.prefetch());
    auth
}

fn request(token: &str) -> Request<Body> {
    Request::get("/me")
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
        eprintln!("usage: instructions SCENARIO ITERATIONS (see the module docs)");
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
    let now = |f: &CognitoAuth, token: &str| {
        f.verify(black_box(token))
            .now_or_never()
            .expect("verification waited on I/O")
            .unwrap()
    };
    let router = Router::new().route("/me", get(|| async { "ok" }));
    let local = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let serve = |app: &Router| {
        let response = local
            .block_on(app.clone().oneshot(request(black_box(&token))))
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
            let auth = auth(&rt, &idp, 0);
            measured(iterations, &mut |_| drop(now(&auth, &token)));
        }
        "miss_insert" => {
            let tokens: Vec<String> = (0..iterations)
                .map(|i| idp.mint(&claims(&format!("user{i}"))))
                .collect();
            let auth = auth(&rt, &idp, 100_000);
            measured(iterations, &mut |i| drop(now(&auth, &tokens[i])));
            assert_eq!(auth.cached_tokens(), iterations as u64);
        }
        "hit" => {
            let auth = auth(&rt, &idp, 100_000);
            now(&auth, &token);
            measured(iterations, &mut |_| drop(now(&auth, &token)));
        }
        "router" => {
            serve(&router);
            measured(iterations, &mut |_| serve(&router));
        }
        "layer_warm" | "layer_no_cache" => {
            let entries = if scenario == "layer_warm" { 100_000 } else { 0 };
            let auth = auth(&rt, &idp, entries);
            let app = router.clone().layer(auth.layer());
            serve(&app);
            measured(iterations, &mut |_| serve(&app));
        }
        other => {
            eprintln!("unknown scenario {other:?} (see the module docs)");
            std::process::exit(2);
        }
    }
}
