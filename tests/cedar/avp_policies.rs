//! AVP-style policies: a group permits an action, the principal is pool and sub as in AVP, tenant
//! isolation through path and tenant, a scope required through `context.token.scope`, `forbid` over
//! `permit`, one policy for several actions, and per-tenant files that do not leak (without a
//! common file, a tenant without a file is refused).

use cognito_authz::cedar::{CedarRequest, Outcome};
use http::{Method, StatusCode};

use crate::cedar_support::*;
use crate::common::*;

#[tokio::test]
async fn a_group_permits_an_action() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "acme.cedar",
        &format!(
            r#"permit(principal in App::UserGroup::"{POOL_A}|support",
                      action == App::Action::"GET /orders", resource);"#
        ),
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let support = fx.acme("alice", &["support"], "");
    assert_eq!(
        call(&app, "/orders", Some(&support)).await.status,
        StatusCode::OK
    );
    // Another action, another group, no group: refused.
    assert_eq!(
        status(&app, Method::POST, "/orders", &support).await,
        StatusCode::FORBIDDEN
    );
    let other = fx.acme("bob", &["billing"], "");
    assert_refused(&call(&app, "/orders", Some(&other)).await, NO_PERMIT);
    let none = fx.acme("carol", &[], "");
    assert_refused(&call(&app, "/orders", Some(&none)).await, NO_PERMIT);
    // The same group name in another pool is another group.
    let globex = fx.globex("dave", &["support"]);
    assert_refused(&call(&app, "/orders", Some(&globex)).await, NO_POLICIES);
}

#[tokio::test]
async fn the_principal_is_pool_and_sub_as_in_avp() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        &format!(
            r#"permit(principal == App::User::"{POOL_A}|sub-alice",
                      action == App::Action::"GET /reports", resource == App::Application::"App");"#
        ),
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/reports", Some(&alice)).await.status,
        StatusCode::OK
    );
    let bob = fx.acme("bob", &[], "");
    assert_refused(&call(&app, "/reports", Some(&bob)).await, NO_PERMIT);
}

#[tokio::test]
async fn tenant_isolation_through_path_and_tenant() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /tenants/{tenant}/orders", resource)
           when { context.path.tenant == context.tenant && context.roles.contains("member") };"#,
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let alice = fx.acme("alice", &["member"], "");
    assert_eq!(
        call(&app, "/tenants/acme/orders", Some(&alice))
            .await
            .status,
        StatusCode::OK
    );
    assert_refused(
        &call(&app, "/tenants/globex/orders", Some(&alice)).await,
        NO_PERMIT,
    );
    let dave = fx.globex("dave", &["member"]);
    assert_eq!(
        call(&app, "/tenants/globex/orders", Some(&dave))
            .await
            .status,
        StatusCode::OK
    );
    assert_refused(
        &call(&app, "/tenants/acme/orders", Some(&dave)).await,
        NO_PERMIT,
    );
}

#[tokio::test]
async fn a_scope_is_required_through_context_token_scope() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"POST /orders", resource)
           when { context.token.scope.contains("orders/write") && context.token.token_use == "access" };"#,
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let writer = fx.acme("alice", &[], "openid orders/write");
    assert_eq!(
        status(&app, Method::POST, "/orders", &writer).await,
        StatusCode::OK
    );
    let reader = fx.acme("bob", &[], "openid orders/read");
    assert_eq!(
        status(&app, Method::POST, "/orders", &reader).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn forbid_beats_permit() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"@id("members-read")
           permit(principal, action == App::Action::"GET /orders", resource)
           when { context.roles.contains("member") };
           @id("suspended")
           forbid(principal, action, resource) when { context.roles.contains("suspended") };"#,
    )]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let member = fx.acme("alice", &["member"], "");
    assert_eq!(
        call(&app, "/orders", Some(&member)).await.status,
        StatusCode::OK
    );
    let suspended = fx.acme("bob", &["member", "suspended"], "");
    assert_refused(&call(&app, "/orders", Some(&suspended)).await, FORBIDS);
    // The decision names the policies behind it.
    let principal = fx.auth.verify(&suspended).await.unwrap();
    let decision = cedar.decide(&principal, &CedarRequest::new("GET", "/orders"));
    assert_eq!(decision.outcome(), Outcome::Forbidden);
    assert_eq!(decision.policies(), ["common/suspended"]);
    let principal = fx.auth.verify(&member).await.unwrap();
    let decision = cedar.decide(&principal, &CedarRequest::new("GET", "/orders"));
    assert_eq!(decision.outcome(), Outcome::Allow);
    assert_eq!(decision.policies(), ["common/members-read"]);
}

#[tokio::test]
async fn a_policy_for_several_actions_applies_to_each() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action in [App::Action::"POST /orders", App::Action::"GET /reports", App::Action::"POST /orders"], resource);
           permit(principal, action, resource) when { context.token.scope.contains("all") };"#,
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        status(&app, Method::POST, "/orders", &alice).await,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "/reports", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/orders", Some(&alice)).await, NO_PERMIT);
    // A policy for any action applies to named and unnamed actions alike.
    let all = fx.acme("bob", &[], "all");
    assert_eq!(
        call(&app, "/orders", Some(&all)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "/reports", Some(&all)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_tenant_policy_does_not_leak_to_another_tenant() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[
        (
            "common.cedar",
            r#"permit(principal, action == App::Action::"GET /orders", resource);"#,
        ),
        (
            "globex.cedar",
            r#"permit(principal, action == App::Action::"GET /reports", resource);"#,
        ),
    ]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let dave = fx.globex("dave", &[]);
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/reports", Some(&dave)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/reports", Some(&alice)).await, NO_PERMIT);
    // acme has no file: the common policies alone apply.
    assert_eq!(
        call(&app, "/orders", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "/orders", Some(&dave)).await.status,
        StatusCode::OK
    );
    assert_eq!(cedar.tenants_with_policies(), ["globex"]);
}

#[tokio::test]
async fn without_common_a_tenant_without_a_file_is_refused() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[("globex.cedar", r#"permit(principal, action, resource);"#)]);
    let app = app(&fx.auth, &policies.cedar());
    let dave = fx.globex("dave", &[]);
    assert_eq!(
        call(&app, "/orders", Some(&dave)).await.status,
        StatusCode::OK
    );
    let alice = fx.acme("alice", &[], "");
    assert_refused(&call(&app, "/orders", Some(&alice)).await, NO_POLICIES);
}
