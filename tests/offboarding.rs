//! Offboarding: a tenant that leaves the resolver's store is refused, cached tokens included,
//! once the resolver's answer expires or at once with `remove_tenant`; a changed role mapping
//! applies to cached tokens the same way; configured tenants are left alone.
//!
//! The resolver here is a real one over an in-memory store the test edits, the seam the crate
//! gives services for their tenant catalog. Resolver TTLs are a few hundred milliseconds and the
//! tests sleep just past them.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cognito_authz::tenant::{ResolveFuture, TenantBuilder};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{
    AuthError, AuthzLayer, CognitoAuth, CognitoAuthBuilder, Tenant, error::TenantChangeError,
    tenant::Issuer, tenant::ResolveError, tenant::TenantResolver,
};
use common::*;
use http::StatusCode;
use tokio::sync::Notify;

const RUNTIME_POOL: &str = "us-east-1_RuntimePool1";
const RUNTIME_TENANT: &str = "runtime";
const RUNTIME_CLIENT: &str = "client-runtime";
const OTHER_POOL: &str = "us-east-1_OtherPool2";
const OTHER_TENANT: &str = "other";

/// Short enough to wait for, long enough that a test's own requests run well within it.
const RESOLVER_TTL: Duration = Duration::from_millis(300);
/// Just past [`RESOLVER_TTL`].
const PAST_TTL: Duration = Duration::from_millis(400);

/// Pauses the first resolver call after it has read the store, until released.
struct Gate {
    entered: Notify,
    release: Notify,
}

/// The tenant catalog a service keeps, by user pool id.
#[derive(Clone, Default)]
struct Store {
    tenants: Arc<Mutex<HashMap<String, TenantBuilder>>>,
    calls: Arc<AtomicUsize>,
    gate: Arc<Mutex<Option<Arc<Gate>>>>,
}

impl Store {
    fn put(&self, tenant: TenantBuilder, pool: &str) {
        self.tenants.lock().unwrap().insert(pool.to_owned(), tenant);
    }

    fn delete(&self, pool: &str) {
        self.tenants.lock().unwrap().remove(pool);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn gate_next_call(&self) -> Arc<Gate> {
        let gate = Arc::new(Gate {
            entered: Notify::new(),
            release: Notify::new(),
        });
        *self.gate.lock().unwrap() = Some(gate.clone());
        gate
    }
}

impl TenantResolver for Store {
    fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let found = self
            .tenants
            .lock()
            .unwrap()
            .get(issuer.user_pool_id)
            .cloned();
        let gate = self.gate.lock().unwrap().take();
        Box::pin(async move {
            if let Some(gate) = gate {
                gate.entered.notify_one();
                gate.release.notified().await;
            }
            found
                .map(TenantBuilder::build)
                .transpose()
                .map_err(ResolveError::new)
        })
    }
}

/// The runtime tenant: admins are the members of group `admin_group`.
fn runtime_tenant(issuer: &LocalIssuer, admin_group: &str) -> TenantBuilder {
    Tenant::builder(RUNTIME_TENANT, RUNTIME_POOL)
        .client_id(RUNTIME_CLIENT)
        .role("admin", [admin_group])
        .role("member", ["members"])
        .jwks_url(issuer.jwks_url(RUNTIME_POOL))
}

fn other_tenant(issuer: &LocalIssuer) -> TenantBuilder {
    Tenant::builder(OTHER_TENANT, OTHER_POOL)
        .client_id(RUNTIME_CLIENT)
        .jwks_url(issuer.jwks_url(OTHER_POOL))
}

/// A store holding the runtime tenant (admin group `admins`) and the other tenant.
fn store(issuer: &LocalIssuer) -> Store {
    let store = Store::default();
    store.put(runtime_tenant(issuer, "admins"), RUNTIME_POOL);
    store.put(other_tenant(issuer), OTHER_POOL);
    store
}

/// Configured tenant A, `store` as resolver with `resolver_ttl`, and a 100 ms key cooldown so
/// that a key fetch, were one attempted, would not be held back by the previous one.
fn auth(issuer: &LocalIssuer, store: &Store, resolver_ttl: Duration) -> CognitoAuth {
    auth_a(issuer, |b: CognitoAuthBuilder| {
        b.resolver(store.clone())
            .resolver_ttl(resolver_ttl, resolver_ttl)
            .jwks(jwks_with_cooldown(Duration::from_millis(100)))
    })
}

fn runtime_token(issuer: &LocalIssuer, user: &str, groups: &[&str]) -> String {
    issuer.mint(&issuer.access_claims(RUNTIME_POOL, RUNTIME_CLIENT, user, groups))
}

async fn ok() -> &'static str {
    "ok"
}

fn app(auth: &CognitoAuth) -> Router {
    Router::new()
        .route("/me", get(ok))
        .route("/admin", get(ok).layer(AuthzLayer::require("admin")))
        .layer(auth.layer())
}

#[tokio::test]
async fn a_tenant_removed_from_the_resolver_is_refused_after_its_ttl_and_nothing_is_fetched() {
    let issuer = start_issuer().await;
    let store = store(&issuer);
    let auth = auth(&issuer, &store, RESOLVER_TTL);
    let app = app(&auth);
    let token = runtime_token(&issuer, "alice", &["members"]);
    assert_eq!(call(&app, "/me", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(call(&app, "/me", Some(&token)).await.status, StatusCode::OK);
    assert_eq!((store.calls(), issuer.fetch_count()), (1, 1), "cached");

    store.delete(RUNTIME_POOL);
    // A token with a kid not yet known: for a tenant still served it would make the key cache
    // fetch the key set (the cooldown is long over by then).
    issuer.rotate();
    let new_kid_token = runtime_token(&issuer, "bob", &["members"]);
    tokio::time::sleep(PAST_TTL).await;

    for token in [&token, &new_kid_token] {
        let reply = call(&app, "/me", Some(token)).await;
        assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::UnknownIssuer);
        assert_eq!(auth.verify(token).await, Err(AuthError::UnknownIssuer));
    }
    assert_eq!(issuer.fetch_count(), 1, "keys fetched for a removed tenant");
    assert_eq!(
        store.calls(),
        2,
        "asked once after the TTL, then not found is cached"
    );
}

#[tokio::test]
async fn a_renamed_admin_group_applies_to_cached_tokens_after_the_ttl() {
    let issuer = start_issuer().await;
    let store = store(&issuer);
    let auth = auth(&issuer, &store, RESOLVER_TTL);
    let app = app(&auth);
    let old_admin = runtime_token(&issuer, "alice", &["admins"]);
    let new_admin = runtime_token(&issuer, "bob", &["administrators"]);
    assert_eq!(
        call(&app, "/admin", Some(&old_admin)).await.status,
        StatusCode::OK
    );
    let reply = call(&app, "/admin", Some(&new_admin)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    store.put(runtime_tenant(&issuer, "administrators"), RUNTIME_POOL);
    tokio::time::sleep(PAST_TTL).await;

    let reply = call(&app, "/admin", Some(&old_admin)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "old group still admin");
    assert_eq!(
        call(&app, "/admin", Some(&new_admin)).await.status,
        StatusCode::OK
    );
    // Both still authenticate, and the new answer is cached again: no further resolver call.
    assert_eq!(
        call(&app, "/me", Some(&old_admin)).await.status,
        StatusCode::OK
    );
    assert_eq!(store.calls(), 2);
    assert_eq!(
        issuer.fetch_count(),
        1,
        "the held keys serve the new answer"
    );
}

#[tokio::test]
async fn configured_tenants_keep_their_cached_tokens_and_cannot_be_removed_at_runtime() {
    let issuer = start_issuer().await;
    let store = store(&issuer);
    let auth = auth(&issuer, &store, RESOLVER_TTL);
    let configured = issuer.mint(&access_a(&issuer, "carol", &["admin"]));
    let runtime = runtime_token(&issuer, "alice", &["members"]);
    auth.verify(&configured).await.unwrap();
    auth.verify(&runtime).await.unwrap();
    assert_eq!(auth.cached_tokens(), 2);

    tokio::time::sleep(PAST_TTL).await;
    // Expired entries are not counted: the runtime tenant's ends with its resolver answer, the
    // configured tenant's lasts until the token's `exp`.
    assert_eq!(auth.cached_tokens(), 1);

    let refused = Err(TenantChangeError::Configured(TENANT_A.to_owned()));
    assert_eq!(auth.remove_tenant(TENANT_A), refused);
    assert_eq!(auth.refresh_tenant(TENANT_A), refused);
    assert_eq!(auth.cached_tokens(), 1);
    let principal = auth.verify(&configured).await.unwrap();
    assert_eq!(principal.tenant(), TENANT_A);
    assert_eq!(
        store.calls(),
        1,
        "the configured tenant never asks the resolver"
    );
}

#[tokio::test]
async fn remove_tenant_refuses_its_cached_tokens_at_once_and_keeps_other_tenants() {
    let issuer = start_issuer().await;
    let store = store(&issuer);
    // The default TTL: only `remove_tenant` can make a difference within this test.
    let auth = auth(&issuer, &store, Duration::from_secs(300));
    let token = runtime_token(&issuer, "alice", &["members"]);
    let other = issuer.mint(&issuer.access_claims(OTHER_POOL, RUNTIME_CLIENT, "olga", &[]));
    auth.verify(&token).await.unwrap();
    auth.verify(&other).await.unwrap();
    let fetches = issuer.fetch_count();

    store.delete(RUNTIME_POOL);
    auth.verify(&token)
        .await
        .expect("served from cache until removed or the TTL ends");
    assert_eq!(auth.remove_tenant(RUNTIME_TENANT), Ok(()));
    assert_eq!(
        auth.cached_tokens(),
        1,
        "the other tenant's token stays cached"
    );
    assert_eq!(auth.verify(&token).await, Err(AuthError::UnknownIssuer));
    assert_eq!(
        issuer.fetch_count(),
        fetches,
        "keys fetched for a removed tenant"
    );

    let calls = store.calls();
    auth.verify(&other).await.unwrap();
    assert_eq!(
        store.calls(),
        calls,
        "the other tenant's token was verified again"
    );

    // Onboarded again (refresh drops the cached "not found"): served again, with its keys
    // fetched anew, removal having let them go.
    store.put(runtime_tenant(&issuer, "admins"), RUNTIME_POOL);
    assert_eq!(auth.refresh_tenant(RUNTIME_TENANT), Ok(()));
    auth.verify(&token).await.unwrap();
    assert_eq!(issuer.fetch_count(), fetches + 1);
}

#[tokio::test]
async fn refresh_tenant_applies_a_new_role_mapping_at_once_without_fetching_keys() {
    let issuer = start_issuer().await;
    let store = store(&issuer);
    let auth = auth(&issuer, &store, Duration::from_secs(300));
    let app = app(&auth);
    let token = runtime_token(&issuer, "alice", &["admins"]);
    assert_eq!(
        call(&app, "/admin", Some(&token)).await.status,
        StatusCode::OK
    );

    store.put(runtime_tenant(&issuer, "administrators"), RUNTIME_POOL);
    assert_eq!(
        call(&app, "/admin", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(auth.refresh_tenant(RUNTIME_TENANT), Ok(()));
    let reply = call(&app, "/admin", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!((store.calls(), issuer.fetch_count()), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_in_flight_across_remove_tenant_caches_neither_its_token_nor_the_answer() {
    let issuer = start_issuer().await;
    let store = store(&issuer);
    let auth = auth(&issuer, &store, Duration::from_secs(300));
    let token = runtime_token(&issuer, "alice", &["members"]);
    let gate = store.gate_next_call();
    let in_flight = tokio::spawn({
        let (auth, token) = (auth.clone(), token.clone());
        async move { auth.verify(&token).await }
    });
    // The resolver has read the store while the tenant was still in it.
    gate.entered.notified().await;
    store.delete(RUNTIME_POOL);
    assert_eq!(auth.remove_tenant(RUNTIME_TENANT), Ok(()));
    gate.release.notify_one();

    // Started before the removal, it completes with what it read then.
    let principal = in_flight.await.unwrap().unwrap();
    assert_eq!(principal.tenant(), RUNTIME_TENANT);
    assert_eq!(auth.verify(&token).await, Err(AuthError::UnknownIssuer));
    assert_eq!(auth.cached_tokens(), 0);
    assert_eq!(store.calls(), 2, "the resolver is asked again");
}
