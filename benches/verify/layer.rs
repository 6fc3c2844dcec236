//! `layer`: one request through an axum router with `tower::ServiceExt::oneshot`, the router
//! prepared as `axum::serve` prepares it (`with_state(())`): no auth,
//! `cognito_authz` warm and cold, and the peer `tower-oauth2-resource-server` (no cache); and
//! (`warm_paired_with_no_auth`) the warm layer interleaved with the bare router in chunks of 32,
//! the ratio over every iteration printed after the group.

use axum::Router;
use axum::routing::get;
use cognito_authz::testing::LocalIssuer;
use criterion::Criterion;
use tower::ServiceExt;

use crate::fixture::{POOL, auth, fixture, request};
use crate::paired::Paired;
use crate::support::served;

pub fn layer(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("layer");
    let base = Router::new().route("/me", get(|| async { "ok" }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let plain = served(base.clone());
    group.bench_function("axum_no_auth", |b| {
        b.to_async(&rt)
            .iter(|| async { plain.clone().oneshot(request(&f.token)).await.unwrap() })
    });
    let warm_auth = auth(&f, 0, 100_000);
    let warm = served(base.clone().layer(warm_auth.layer()));
    group.bench_function("cognito_authz_warm", |b| {
        b.to_async(&rt).iter(|| async {
            let r = warm.clone().oneshot(request(&f.token)).await.unwrap();
            assert_eq!(r.status(), 200);
        })
    });
    let cold_auth = auth(&f, 0, 0);
    let cold = served(base.clone().layer(cold_auth.layer()));
    group.bench_function("cognito_authz_no_cache", |b| {
        b.to_async(&rt).iter(|| async {
            let r = cold.clone().oneshot(request(&f.token)).await.unwrap();
            assert_eq!(r.status(), 200);
        })
    });

    let jwks = serde_json::json!({ "keys": [f.idp.current_key().jwk()] }).to_string();
    let peer = rt.block_on(async {
        use tower_oauth2_resource_server::{
            server::OAuth2ResourceServer, tenant::TenantConfiguration,
            validation::ClaimsValidationSpec,
        };
        let tenant = TenantConfiguration::static_builder(jwks)
            .claims_validation(
                ClaimsValidationSpec::new()
                    .iss(&LocalIssuer::issuer(POOL))
                    .exp(true),
            )
            .build()
            .unwrap();
        <OAuth2ResourceServer>::builder()
            .add_tenant(tenant)
            .build()
            .await
            .unwrap()
    });
    let peer_app = served(base.clone().layer(peer.into_layer()));
    group.bench_function("tower_oauth2_resource_server", |b| {
        b.to_async(&rt).iter(|| async {
            let r = peer_app.clone().oneshot(request(&f.token)).await.unwrap();
            assert_eq!(r.status(), 200);
        })
    });
    // The warm layer against the bare router, interleaved in chunks of 32 (see `paired`).
    let serve = |app: &Router| {
        let r = rt.block_on(app.clone().oneshot(request(&f.token))).unwrap();
        assert_eq!(r.status(), 200);
    };
    let warm_paired = Paired::default();
    group.bench_function("warm_paired_with_no_auth", |b| {
        b.iter_custom(|iters| {
            warm_paired.sample(iters, &mut || serve(&plain), &mut || serve(&warm))
        })
    });
    group.finish();
    warm_paired.report_as(
        "layer/warm_paired_with_no_auth",
        "axum router, no auth",
        "with the layer, warm token",
    );
}
