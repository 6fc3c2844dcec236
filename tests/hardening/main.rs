//! Hostile input at scale: property tests over token mutations and header strings, floods of
//! unknown kids, unknown issuers and distinct tokens, and a concurrent soak across a key rotation.

#[path = "../common/mod.rs"]
mod common;

mod floods;
mod issuer_faults;
mod settings;
mod soak;
mod tenants;
mod token_mutations;

use std::time::Duration;

use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthError, CognitoAuth};
use common::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A tenant-A `CognitoAuth` whose keys are already fetched, with a long cooldown so that no
/// mutated kid can trigger another fetch during the properties.
struct Fixture {
    rt: tokio::runtime::Runtime,
    issuer: LocalIssuer,
    auth: CognitoAuth,
    token: String,
}

fn fixture() -> Fixture {
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks_with_cooldown(Duration::from_secs(3600)))
    });
    let token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    rt.block_on(auth.verify(&token))
        .expect("the unmodified token is valid");
    Fixture {
        rt,
        issuer,
        auth,
        token,
    }
}

fn fixture_once() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(fixture)
}

fn verify(f: &Fixture, token: &str) -> Result<cognito_authz::Principal, AuthError> {
    f.rt.block_on(f.auth.verify(token))
}
