//! Fuzzes the verification entry point with arbitrary bytes as the bearer token.
//!
//! Keys are fetched once from a local issuer before fuzzing, and the cooldown is long, so every
//! input runs the whole parse / tenant / key / signature / claims path without waiting on I/O.
//!
//! The issuer serves the fixed public key in `keys/jwks.json`, not a key of its own: the seed
//! `seeds/verify/valid-token` is signed with that key's private half (thrown away once the
//! seed was made) and expires in 2100, so it verifies in every run and the fuzzer starts from
//! a token that passes every check. A key generated per run would make every stored token
//! fail at the signature, leaving the claim rules and the success path unreached.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use cognito_authz::testing::{JwksBehavior, LocalIssuer};
use cognito_authz::{CognitoAuth, Tenant, TokenUses, jwks::JwksConfig};
use futures_util::FutureExt;
use libfuzzer_sys::fuzz_target;

const POOL: &str = "us-east-1_FuzzPool1";

struct Fixture {
    _runtime: tokio::runtime::Runtime,
    _issuer: LocalIssuer,
    auth: CognitoAuth,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let issuer = runtime.block_on(LocalIssuer::start()).expect("issuer");
        issuer.set_behavior(JwksBehavior::Body(
            include_bytes!("../keys/jwks.json").to_vec(),
        ));
        let mut jwks = JwksConfig::default();
        jwks.cooldown = Duration::from_secs(86_400);
        let tenant = Tenant::builder("fuzz", POOL)
            .client_id("fuzz-client")
            .jwks_url(issuer.jwks_url(POOL))
            .build()
            .expect("tenant");
        let auth = CognitoAuth::builder()
            .tenant(tenant)
            .expect("registry")
            .jwks(jwks)
            .build()
            .expect("auth");
        assert!(runtime.block_on(auth.prefetch()).is_empty());
        Fixture {
            _runtime: runtime,
            _issuer: issuer,
            auth,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    // Held keys and a long cooldown: verification completes without awaiting anything.
    // A fuzzer cannot forge RS256: nothing it makes may verify, except the seed itself.
    if let Some(Ok(principal)) = f.auth.verify_as(token, TokenUses::ANY).now_or_never() {
        assert_eq!(principal.username(), "seed");
    }
});
