//! The example's policies (`examples/cedar.toml` and `examples/policies`) validate and decide as
//! documented.

use std::path::Path;

use cognito_authz::cedar::{Cedar, CedarRequest, Outcome};
use cognito_authz::{AuthConfig, CognitoAuth};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn the_example_policies_validate_and_decide_as_documented() {
    let issuer = start_issuer().await;
    let config =
        AuthConfig::from_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cedar.toml"))
            .unwrap();
    let cedar = Cedar::from_config(&config).unwrap().expect("[cedar]");
    // The example's pools, with keys served locally.
    let acme_pool = "us-east-1_AbCdEf123";
    let globex_pool = "eu-west-1_GlObEx456";
    let (acme_client, globex_client) = ("3n4b5urk1ft4fl3mg5e62d9ado", "5ugefk2b6b4s0vn5j3h0pq1t6g");
    let tenant = |id: &str, pool: &str, client: &str| {
        cognito_authz::Tenant::builder(id, pool)
            .client_id(client)
            .jwks_url(issuer.jwks_url(pool))
            .role("admin", ["admin", "Administrators"])
            .role("suspended", ["suspended"])
            .build()
            .unwrap()
    };
    let auth = CognitoAuth::builder()
        .tenant(tenant("acme", acme_pool, acme_client))
        .unwrap()
        .tenant(tenant("globex", globex_pool, globex_client))
        .unwrap()
        .build()
        .unwrap();
    let principal = |pool: &str, client: &str, groups: &[&str], scope: &str| {
        let mut claims = issuer.access_claims(pool, client, "user", groups);
        claims["scope"] = json!(scope);
        let token = issuer.mint(&claims);
        let auth = auth.clone();
        async move { auth.verify(&token).await.unwrap() }
    };
    let ping = CedarRequest::new("GET", "/admin/ping");
    let tenant_admin =
        |t: &str| CedarRequest::new("GET", "/tenants/{tenant}/admin").param("tenant", t);

    let acme_admin = principal(acme_pool, acme_client, &["admin"], "").await;
    let decision = cedar.decide(&acme_admin, &ping);
    assert_eq!(decision.policies(), ["acme/admins-ping"]);
    assert!(
        cedar
            .decide(&acme_admin, &tenant_admin("acme"))
            .is_allowed()
    );
    assert_eq!(
        cedar.decide(&acme_admin, &tenant_admin("globex")).outcome(),
        Outcome::NoPermit
    );

    let support = principal(globex_pool, globex_client, &["support"], "support/ping").await;
    assert_eq!(
        cedar.decide(&support, &ping).policies(),
        ["globex/support-ping"]
    );
    let no_scope = principal(globex_pool, globex_client, &["support"], "").await;
    assert_eq!(cedar.decide(&no_scope, &ping).outcome(), Outcome::NoPermit);
    let acme_support = principal(acme_pool, acme_client, &["support"], "support/ping").await;
    assert_eq!(
        cedar.decide(&acme_support, &ping).outcome(),
        Outcome::NoPermit
    );

    // The schema's action group `admin` holds both admin routes: acme's forbid on the group
    // refuses its read-only admins each of them.
    let readonly = principal(acme_pool, acme_client, &["admin", "readonly"], "").await;
    for request in [&ping, &tenant_admin("acme")] {
        let decision = cedar.decide(&readonly, request);
        assert_eq!(decision.outcome(), Outcome::Forbidden, "{request:?}");
        assert_eq!(decision.policies(), ["acme/readonly-no-admin"]);
    }
    let me = CedarRequest::new("GET", "/me");
    assert!(cedar.decide(&readonly, &me).is_allowed());

    let suspended = principal(acme_pool, acme_client, &["admin", "suspended"], "").await;
    let decision = cedar.decide(&suspended, &ping);
    assert_eq!(decision.outcome(), Outcome::Forbidden);
    assert_eq!(decision.policies(), ["common/suspended"]);
}
