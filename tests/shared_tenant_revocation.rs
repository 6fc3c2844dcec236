//! `Revocations::revoke_tenant_shared` offboards a tenant on every replica at once, through a
//! real redis-server (feature `redis`): two replicas with cached tokens and resolver answers,
//! one removal, both refuse within 100 ms, long before the resolver's TTL.

#![cfg(feature = "redis")]

mod common;
mod redis_server;
#[path = "redis_server/replicas.rs"]
mod replicas;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cognito_authz::tenant::{ResolveFuture, TenantBuilder};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{
    AuthError, CognitoAuth, Tenant, revocation::RedisRevocations, tenant::Issuer,
    tenant::ResolveError, tenant::TenantResolver,
};
use common::*;
use redis_server::RedisServer;
use replicas::*;

const RUNTIME_POOL: &str = "us-east-1_RuntimePool1";
const RUNTIME_TENANT: &str = "runtime";
const OTHER_POOL: &str = "us-east-1_OtherPool2";
const CLIENT: &str = "client-runtime";

/// The tenant catalog every replica reads, by user pool id.
#[derive(Clone, Default)]
struct Catalog(Arc<Mutex<HashMap<String, TenantBuilder>>>);

impl TenantResolver for Catalog {
    fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a> {
        let found = self.0.lock().unwrap().get(issuer.user_pool_id).cloned();
        Box::pin(async move {
            found
                .map(TenantBuilder::build)
                .transpose()
                .map_err(ResolveError::new)
        })
    }
}

fn replica_with(issuer: &LocalIssuer, catalog: &Catalog, url: String) -> CognitoAuth {
    auth_a(issuer, |b| {
        b.resolver(catalog.clone())
            // Far longer than the test: only the broadcast can make a difference.
            .resolver_ttl(Duration::from_secs(3600), Duration::from_secs(3600))
            .redis_revocations(RedisRevocations::new(url))
    })
}

fn catalog(issuer: &LocalIssuer) -> Catalog {
    let catalog = Catalog::default();
    for (id, pool) in [(RUNTIME_TENANT, RUNTIME_POOL), ("other", OTHER_POOL)] {
        catalog.0.lock().unwrap().insert(
            pool.to_owned(),
            Tenant::builder(id, pool)
                .client_id(CLIENT)
                .jwks_url(issuer.jwks_url(pool)),
        );
    }
    catalog
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_revoked_on_one_replica_is_refused_by_both_within_100_ms() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let catalog = catalog(&issuer);
    let a = replica_with(&issuer, &catalog, server.url());
    let b = replica_with(&issuer, &catalog, server.url());
    loaded(&a).await;
    loaded(&b).await;
    let token = issuer.mint(&issuer.access_claims(RUNTIME_POOL, CLIENT, "alice", &[]));
    let other = issuer.mint(&issuer.access_claims(OTHER_POOL, CLIENT, "bob", &[]));
    for auth in [&a, &b] {
        auth.verify(&token).await.expect("valid before");
        auth.verify(&other).await.expect("valid before");
    }

    // Offboarded: out of the catalog, then revoked on A only.
    catalog.0.lock().unwrap().remove(RUNTIME_POOL);
    let start = Instant::now();
    a.revocations()
        .unwrap()
        .revoke_tenant_shared(RUNTIME_TENANT)
        .await
        .expect("shared");
    for auth in [&a, &b] {
        while auth.verify(&token).await != Err(AuthError::UnknownIssuer) {
            assert!(
                start.elapsed() < Duration::from_millis(100),
                "still accepted after 100 ms: {:?}",
                auth.verify(&token).await
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    println!(
        "tenant refused on both replicas after {:?}",
        start.elapsed()
    );
    // The other tenant is untouched (its answer is asked again, and still found).
    for auth in [&a, &b] {
        auth.verify(&other)
            .await
            .expect("other tenant still served");
    }
    // A configured tenant cannot be revoked this way: it is the service's configuration.
    a.revocations()
        .unwrap()
        .revoke_tenant_shared(TENANT_A)
        .await
        .unwrap();
    let alice_a = issuer.mint(&access_a(&issuer, "carol", &[]));
    tokio::time::sleep(Duration::from_millis(50)).await;
    b.verify(&alice_a).await.expect("configured tenant kept");
}

/// What `cognito-authz tenant remove` does with a `[revocations]` table: one message from a
/// process that keeps no mirror.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_without_a_mirror_offboards_the_tenant_on_every_replica() {
    let server = RedisServer::start();
    let issuer = start_issuer().await;
    let catalog = catalog(&issuer);
    let a = replica_with(&issuer, &catalog, server.url());
    let b = replica_with(&issuer, &catalog, server.url());
    loaded(&a).await;
    loaded(&b).await;
    let token = issuer.mint(&issuer.access_claims(RUNTIME_POOL, CLIENT, "alice", &[]));
    for auth in [&a, &b] {
        auth.verify(&token).await.expect("valid before");
    }
    catalog.0.lock().unwrap().remove(RUNTIME_POOL);
    RedisRevocations::new(server.url())
        .revoke_tenant(RUNTIME_TENANT)
        .await
        .expect("published");
    for auth in [&a, &b] {
        eventually("refused on every replica", || async {
            auth.verify(&token).await == Err(AuthError::UnknownIssuer)
        })
        .await;
    }
    // Nothing listens on a closed port: a typed error, no address in it.
    let err = RedisRevocations::new(RedisServer::unreachable_url())
        .revoke_tenant(RUNTIME_TENANT)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}
