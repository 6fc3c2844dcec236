//! `warm`: the same token again: `cognito_authz` cache hit (also with a revocation list of
//! 1,000 users, of 10,000 and of 1,000,000 users: what a replica mirroring a shared store of that size
//! checks, the mirror being the same in-process list, and for a tenant found by a resolver)
//! vs `jsonwebtoken_decode`.

use std::hint::black_box;
use std::time::Duration;

use cognito_authz::{CognitoAuth, Tenant};
use criterion::Criterion;

use crate::fixture::{
    CLIENT, POOL, auth, fixture, jsonwebtoken_decode, jsonwebtoken_setup, now, tenant,
};

pub fn warm(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("warm");
    let auth = auth(&f, 0, 100_000);
    group.bench_function("cognito_authz_hit", |b| {
        b.iter(|| now(auth.verify(black_box(&f.token))).unwrap())
    });
    // A revocation list holding 1,000 revoked users of the tenant (not this token's): the
    // lookup a service with revocations pays on every request.
    let revocations = cognito_authz::Revocations::new();
    for i in 0..1_000 {
        revocations.revoke_user("bench", &format!("sub-revoked{i}"));
    }
    let with_revocations = CognitoAuth::builder()
        .tenant(tenant(&f.idp, "bench", POOL))
        .unwrap()
        .revocations(revocations)
        .build()
        .unwrap();
    f._runtime.block_on(with_revocations.prefetch());
    group.bench_function("cognito_authz_hit_with_revocations", |b| {
        b.iter(|| now(with_revocations.verify(black_box(&f.token))).unwrap())
    });
    // The same hit for a tenant found by a resolver: its entries also carry the end of the
    // resolver's answer (offboarding), which must cost the hit nothing.
    let resolved = CognitoAuth::builder()
        .resolver(BenchResolver(f.idp.jwks_url(RESOLVED_POOL)))
        .resolver_ttl(Duration::from_secs(3600), Duration::from_secs(60))
        .build()
        .unwrap();
    let resolved_token =
        f.idp.mint(
            &f.idp
                .access_claims(RESOLVED_POOL, CLIENT, "alice", &["admin", "member"]),
        );
    f._runtime
        .block_on(resolved.verify(&resolved_token))
        .unwrap();
    group.bench_function("cognito_authz_hit_resolver_tenant", |b| {
        b.iter(|| now(resolved.verify(black_box(&resolved_token))).unwrap())
    });
    // 10,000 revoked users, as a replica holds them when mirroring a shared store (feature
    // `redis`): the per-request check reads the same in-process list.
    let mirror = cognito_authz::Revocations::new();
    for i in 0..10_000 {
        mirror.revoke_user("bench", &format!("sub-revoked{i}"));
    }
    let with_mirror = CognitoAuth::builder()
        .tenant(tenant(&f.idp, "bench", POOL))
        .unwrap()
        .revocations(mirror)
        .build()
        .unwrap();
    f._runtime.block_on(with_mirror.prefetch());
    group.bench_function("cognito_authz_hit_with_10k_revoked", |b| {
        b.iter(|| now(with_mirror.verify(black_box(&f.token))).unwrap())
    });
    // 1,000,000: a large SaaS's day of sign-outs (README, "Running several replicas").
    let big = cognito_authz::Revocations::new();
    for i in 0..1_000_000 {
        big.revoke_user("bench", &format!("sub-revoked{i}"));
    }
    let with_big = CognitoAuth::builder()
        .tenant(tenant(&f.idp, "bench", POOL))
        .unwrap()
        .revocations(big)
        .build()
        .unwrap();
    f._runtime.block_on(with_big.prefetch());
    group.bench_function("cognito_authz_hit_with_1m_revoked", |b| {
        b.iter(|| now(with_big.verify(black_box(&f.token))).unwrap())
    });
    let (jwt_key, validation) = jsonwebtoken_setup(&f);
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken_decode(black_box(&f.token), &jwt_key, &validation))
    });
    group.finish();
}

const RESOLVED_POOL: &str = "us-east-1_BenchPool2";

/// Resolves [`RESOLVED_POOL`] only, as a tenant like the bench tenant.
struct BenchResolver(String);

impl cognito_authz::tenant::TenantResolver for BenchResolver {
    fn resolve<'a>(
        &'a self,
        issuer: cognito_authz::tenant::Issuer<'a>,
    ) -> cognito_authz::tenant::ResolveFuture<'a> {
        let tenant = (issuer.user_pool_id == RESOLVED_POOL).then(|| {
            Tenant::builder("resolved", RESOLVED_POOL)
                .client_id(CLIENT)
                .jwks_url(&self.0)
                .build()
                .unwrap()
        });
        Box::pin(async move { Ok(tenant) })
    }
}
