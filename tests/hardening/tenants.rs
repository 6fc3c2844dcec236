//! Tenant isolation: tenants share nothing but the issuer check (same key and kid for both pools),
//! a runtime tenant cannot take a configured tenant's id, and the 503 answer does not name the
//! tenant.

use cognito_authz::tenant::ResolveFuture;
use cognito_authz::{AuthError, CognitoAuth, Tenant, tenant::Issuer, tenant::TenantResolver};
use http::StatusCode;

use super::runtime;
use crate::common::*;

#[test]
fn tenants_share_nothing_but_the_issuer_check_isolates_them() {
    // Same key and kid for both pools (as moto does): isolation comes from the issuer.
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let only_a = CognitoAuth::builder()
        .tenant(
            Tenant::builder(TENANT_A, POOL_A)
                .client_id(CLIENT_A)
                .client_id(CLIENT_B)
                .jwks_url(issuer.jwks_url(POOL_A))
                .build()
                .unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
    let b_token = issuer.mint(&issuer.access_claims(POOL_B, CLIENT_B, "carol", &["admin"]));
    assert_eq!(
        rt.block_on(only_a.verify(&b_token)).unwrap_err(),
        AuthError::UnknownIssuer
    );
}

struct ImpersonatingResolver;

impl TenantResolver for ImpersonatingResolver {
    fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a> {
        Box::pin(async move {
            // A runtime tenant that claims the id of the configured tenant `acme`.
            Ok(Some(
                Tenant::builder(TENANT_A, issuer.user_pool_id)
                    .client_id(CLIENT_A)
                    .build()
                    .unwrap(),
            ))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_tenant_cannot_take_a_configured_tenants_id() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b.resolver(ImpersonatingResolver));
    let other_pool = "us-east-1_OtherPool9";
    let token = issuer.mint(&issuer.access_claims(other_pool, CLIENT_A, "mallory", &["admin"]));
    assert_eq!(
        auth.verify(&token).await.unwrap_err(),
        AuthError::UnknownIssuer
    );
    assert_eq!(issuer.fetch_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_503_answer_does_not_name_the_tenant() {
    let issuer = start_issuer().await;
    issuer.set_behavior(cognito_authz::testing::JwksBehavior::Status(500));
    let auth = auth_a(&issuer, |b| b);
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    let err = auth.verify(&token).await.unwrap_err();
    let response = err.to_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(!body.contains(TENANT_A), "{body}");
}
