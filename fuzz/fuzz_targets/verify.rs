//! Fuzzes the verification entry point with arbitrary bytes as the bearer token.
//!
//! Keys are fetched once from a local issuer before fuzzing, and the cooldown is long, so every
//! input runs the whole parse / tenant / key / signature / claims path without waiting on I/O.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use cognito_authz::testing::LocalIssuer;
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
        // A token valid under this run's key, into the (ignored) working corpus for the next
        // run; the committed seed in seeds/ is one from an earlier run.
        let token = issuer.mint(&issuer.access_claims(POOL, "fuzz-client", "seed", &["admin"]));
        if std::fs::create_dir_all("corpus/verify").is_ok() {
            let _ = std::fs::write("corpus/verify/valid-token", token);
        }
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
