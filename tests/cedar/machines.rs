//! Machines, and what is kept on a principal between requests: the principal's kind tells machines
//! from users, a machine is pool and client id as in AVP, two engines never share a principal's
//! entities, a repeated request is decided again after a reload, and path parameters are never
//! taken from the previous request.

use cognito_authz::CognitoAuth;
use cognito_authz::cedar::{Cedar, CedarRequest, Outcome};
use cognito_authz::testing::LocalIssuer;
use http::StatusCode;

use crate::cedar_support::*;
use crate::common::*;

const ROBOT: &str = "robot-client";

/// Tenant acme with a machine client, and an access token of each kind.
async fn users_and_machines() -> (LocalIssuer, CognitoAuth, String, String) {
    let issuer = start_issuer().await;
    let tenant = cognito_authz::Tenant::builder(TENANT_A, POOL_A)
        .client_id(CLIENT_A)
        .machine_client_ids([ROBOT])
        .jwks_url(issuer.jwks_url(POOL_A))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .build()
        .unwrap();
    let user = issuer.mint(&access_a(&issuer, "alice", &[]));
    let machine = issuer.mint(&issuer.machine_claims(POOL_A, ROBOT, &["orders/read"]));
    (issuer, auth, user, machine)
}

#[tokio::test]
async fn principal_kind_tells_machines_from_users() {
    let (_issuer, auth, user, machine) = users_and_machines().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"@id("machines-only")
           permit(principal, action == App::Action::"GET /reports", resource)
             when { principal.kind == "machine" };
           @id("everyone")
           permit(principal, action == App::Action::"GET /orders", resource);
           @id("no-machines")
           forbid(principal, action == App::Action::"GET /orders", resource)
             when { principal.kind == "machine" };"#,
    )]);
    let app = app(&auth, &policies.cedar());
    assert_eq!(
        call(&app, "/reports", Some(&machine)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/orders", Some(&machine)).await, FORBIDS);
    assert_eq!(
        call(&app, "/orders", Some(&user)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/reports", Some(&user)).await, NO_PERMIT);
}

#[tokio::test]
async fn a_machine_is_pool_and_client_id_as_in_avp() {
    let (_issuer, auth, user, machine) = users_and_machines().await;
    let policies = Folder::new(&[(
        "common.cedar",
        &format!(
            r#"permit(principal == App::User::"{POOL_A}|{ROBOT}",
                      action == App::Action::"GET /reports", resource)
                 when {{ principal.kind == "machine" && context.token.client_id == "{ROBOT}"
                         && context.token.scope.contains("orders/read") }};"#
        ),
    )]);
    let cedar = policies.cedar();
    let robot = auth.verify(&machine).await.unwrap();
    let decision = cedar.decide(&robot, &CedarRequest::new("GET", "/reports"));
    assert!(decision.is_allowed(), "{decision:?}");
    let alice = auth.verify(&user).await.unwrap();
    let decision = cedar.decide(&alice, &CedarRequest::new("GET", "/reports"));
    assert_eq!(decision.outcome(), Outcome::NoPermit);
}

#[tokio::test]
async fn two_engines_never_share_a_principals_entities() {
    let fx = Fx::new().await;
    let app_policies = Folder::new(&[(
        "common.cedar",
        &format!(
            r#"permit(principal == App::User::"{POOL_A}|sub-alice",
                      action == App::Action::"GET /reports", resource == App::Application::"App");"#
        ),
    )]);
    let shop_policies = Folder::new(&[(
        "common.cedar",
        &format!(
            r#"permit(principal == Shop::User::"{POOL_A}|sub-alice",
                      action == Shop::Action::"GET /reports", resource == Shop::Application::"Shop");"#
        ),
    )]);
    let app_cedar = app_policies.cedar();
    let shop_cedar = Cedar::builder("Shop")
        .policies(shop_policies.path())
        .build()
        .unwrap();
    let alice = fx.auth.verify(&fx.acme("alice", &[], "")).await.unwrap();
    let reports = CedarRequest::new("GET", "/reports");
    // In turn, twice: the second engine must not get the first one's principal entity.
    for _ in 0..2 {
        assert!(app_cedar.decide(&alice, &reports).is_allowed());
        assert!(shop_cedar.decide(&alice, &reports).is_allowed());
    }
}

#[tokio::test]
async fn a_repeated_request_is_decided_again_after_a_reload() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders", resource);"#,
    )]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let alice = fx.acme("alice", &[], "");
    for _ in 0..2 {
        assert_eq!(
            call(&app, "/orders", Some(&alice)).await.status,
            StatusCode::OK
        );
    }
    policies.write(
        "common.cedar",
        r#"forbid(principal, action == App::Action::"GET /orders", resource);"#,
    );
    cedar.reload().expect("valid file");
    assert_refused(&call(&app, "/orders", Some(&alice)).await, FORBIDS);
}

#[tokio::test]
async fn path_parameters_are_never_taken_from_the_previous_request() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders/{order}", resource)
           when { context.path.order == "7" };"#,
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/orders/7", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/orders/8", Some(&alice)).await, NO_PERMIT);
    assert_eq!(
        call(&app, "/orders/7", Some(&alice)).await.status,
        StatusCode::OK
    );
}
