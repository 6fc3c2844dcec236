//! Cedar policies through an axum router, with real tokens from a local issuer: AVP-style
//! group, scope and tenant policies, `forbid` over `permit`, per-tenant files that do not leak,
//! fail-closed evaluation errors, schema validation naming file and line, reloads that keep
//! the last good set, an entity provider, and the `[cedar]` configuration section.

#![cfg(feature = "cedar")]

mod cedar_support;
mod common;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cedar_support::*;
use cognito_authz::cedar::cedar_policy::{Entity, EntityUid, RestrictedExpression};
use cognito_authz::cedar::{
    Cedar, CedarRequest, EntityProvider, Outcome, ProviderError, Resource, ResourceQuery,
};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthConfig, AuthError, CognitoAuth};
use common::*;
use futures_util::future::BoxFuture;
use http::{Method, StatusCode};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// AVP-style policies
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Fail closed
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_evaluation_error_refuses_even_when_a_permit_matches() {
    let fx = Fx::new().await;
    // Cedar skips a policy that errs: here the forbid, on a route without a `tenant` parameter,
    // which alone would let the permit through.
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action, resource);
           @id("other-tenant")
           forbid(principal, action, resource) when { context.path.tenant != context.tenant };"#,
    )]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let alice = fx.acme("alice", &[], "");
    assert_refused(&call(&app, "/orders", Some(&alice)).await, EVAL_ERROR);
    assert_eq!(
        call(&app, "/tenants/acme/orders", Some(&alice))
            .await
            .status,
        StatusCode::OK
    );
    assert_refused(
        &call(&app, "/tenants/globex/orders", Some(&alice)).await,
        FORBIDS,
    );
    let principal = fx.auth.verify(&alice).await.unwrap();
    let decision = cedar.decide(&principal, &CedarRequest::new("GET", "/orders"));
    assert_eq!(decision.outcome(), Outcome::EvaluationError);
    assert_eq!(decision.errors(), ["common/other-tenant"]);
}

#[tokio::test]
async fn without_authentication_the_layer_answers_401() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[("common.cedar", "permit(principal, action, resource);")]);
    let app: Router = Router::new()
        .route("/orders", get(ok))
        .layer(policies.cedar().layer());
    let token = fx.acme("alice", &[], "");
    let reply = call(&app, "/orders", Some(&token)).await;
    assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::MissingToken);
}

#[tokio::test]
async fn the_action_is_the_route_template_never_the_raw_path() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders/{order}", resource);
           permit(principal, action == App::Action::"GET /orders/42", resource);"#,
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/orders/7", Some(&alice)).await.status,
        StatusCode::OK
    );
    // A policy naming a raw path never matches anything: only the template is an action.
    let only_raw = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders/42", resource);"#,
    )]);
    let app = self::app(&fx.auth, &only_raw.cedar());
    assert_refused(&call(&app, "/orders/42", Some(&alice)).await, NO_PERMIT);
}

// ---------------------------------------------------------------------------------------------
// Loading: schema, files, reloads, configuration
// ---------------------------------------------------------------------------------------------

const SCHEMA: &str = r#"namespace App {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  type Token = { "sub": String, "username": String, "client_id": String, "scope": Set<String>,
                 "token_use": String, "exp": Long };
  type Ctx = { "token": Token, "tenant": String, "roles": Set<String> };
  action "GET /orders" appliesTo { principal: User, resource: Application, context: Ctx };
}
"#;

#[test]
fn schema_validation_failures_name_file_and_line() {
    let policies = Folder::new(&[
        ("schema.cedarschema", SCHEMA),
        (
            "common.cedar",
            r#"permit(principal, action == App::Action::"GET /orders", resource)
               when { context.roles.contains("member") };"#,
        ),
        (
            "acme.cedar",
            "// acme\npermit(principal, action == App::Action::\"GET /orders\", resource)\n  when { context.token.colour == \"red\" };\n",
        ),
    ]);
    let build = || {
        Cedar::builder("App")
            .policies(policies.path())
            .schema(policies.path().join("schema.cedarschema"))
            .build()
    };
    let err = build()
        .expect_err("acme.cedar does not validate")
        .to_string();
    let at = format!(
        "{}:3: policy `acme/policy0`",
        policies.path().join("acme.cedar").display()
    );
    assert!(err.contains(&at), "{err}");
    assert!(err.contains("cedar.policies"), "{err}");
    // An action the schema does not declare, on line 1 of another file.
    policies.write(
        "acme.cedar",
        r#"permit(principal, action == App::Action::"DELETE /orders", resource);"#,
    );
    let err = build().expect_err("unknown action").to_string();
    assert!(err.contains("acme.cedar:1:"), "{err}");
    // A syntax error names its line too.
    policies.write(
        "acme.cedar",
        "permit(principal, action, resource);\n\npermit(principal action, resource);\n",
    );
    let err = build().expect_err("syntax error").to_string();
    assert!(err.contains("acme.cedar:3:"), "{err}");
    // A bad schema names the schema.
    policies.write("acme.cedar", "");
    policies.write(
        "schema.cedarschema",
        "namespace App {\n  entity User in [Nope];\n  action x;\n",
    );
    let err = build().expect_err("bad schema").to_string();
    assert!(
        err.contains("cedar.schema") && err.contains("schema.cedarschema"),
        "{err}"
    );
    // Fixed: it loads.
    policies.write("schema.cedarschema", SCHEMA);
    build().expect("valid policies load");
}

#[tokio::test]
async fn a_failed_reload_keeps_the_last_good_set() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders", resource);"#,
    )]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/orders", Some(&alice)).await.status,
        StatusCode::OK
    );

    // Broken file: the reload fails, names the line, and the old set stays in force.
    policies.write(
        "common.cedar",
        "permit(principal, action == App::Action::\"GET /reports\", resource);\nforbid(principal,\n",
    );
    let err = cedar.reload().expect_err("broken file");
    assert_eq!(err.path(), policies.path().join("common.cedar"));
    assert!(err.line().is_some(), "{err}");
    assert_eq!(cedar.last_reload_error(), Some(err));
    assert_eq!(
        call(&app, "/orders", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/reports", Some(&alice)).await, NO_PERMIT);

    // Fixed: the new set replaces the old one whole.
    policies.write(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /reports", resource);"#,
    );
    cedar.reload().expect("valid file");
    assert_eq!(cedar.last_reload_error(), None);
    assert_eq!(
        call(&app, "/reports", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/orders", Some(&alice)).await, NO_PERMIT);
}

#[tokio::test]
async fn policies_reload_on_the_interval() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders", resource);"#,
    )]);
    let cedar = Cedar::builder("App")
        .policies(policies.path())
        .reload_every(Duration::from_millis(50))
        .build()
        .unwrap();
    let app = app(&fx.auth, &cedar);
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/reports", Some(&alice)).await.status,
        StatusCode::FORBIDDEN
    );
    policies.write("broken.cedar", "permit(");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        cedar.last_reload_error().is_some(),
        "the interval reload ran and failed"
    );
    assert_eq!(
        call(&app, "/orders", Some(&alice)).await.status,
        StatusCode::OK
    );
    std::fs::remove_file(policies.path().join("broken.cedar")).unwrap();
    policies.write(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /reports", resource);"#,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cedar.last_reload_error(), None);
    assert_eq!(
        call(&app, "/reports", Some(&alice)).await.status,
        StatusCode::OK
    );
}

#[test]
fn the_cedar_section_is_read_relative_to_the_config_file() {
    let folder = Folder::new(&[]);
    std::fs::create_dir(folder.path().join("policies")).unwrap();
    folder.write(
        "policies/common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders", resource);"#,
    );
    folder.write("policies/schema.cedarschema", SCHEMA);
    let tenant = format!(
        "[[tenant]]\nid = 'acme'\nuser_pool_id = '{POOL_A}'\nclient_ids = ['{CLIENT_A}']\n"
    );
    let write_config = |cedar: &str| {
        folder.write("tenants.toml", &format!("{tenant}\n[cedar]\n{cedar}"));
        AuthConfig::from_file(folder.path().join("tenants.toml")).expect("config parses")
    };
    let config = write_config(
        "namespace = 'App'\npolicies = 'policies'\nschema = 'policies/schema.cedarschema'\n",
    );
    let cedar = Cedar::from_config(&config)
        .unwrap()
        .expect("a [cedar] section");
    assert!(cedar.tenants_with_policies().is_empty());
    // No section: no engine. Bad values: named.
    let plain = AuthConfig::from_toml(&tenant).unwrap();
    assert!(Cedar::from_config(&plain).unwrap().is_none());
    let err = Cedar::from_config(&write_config(
        "namespace = 'not a namespace'\npolicies = 'policies'\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("cedar.namespace"), "{err}");
    let err = Cedar::from_config(&write_config("namespace = 'App'\npolicies = 'missing'\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cedar.policies") && err.contains("missing"),
        "{err}"
    );
    let err = Cedar::from_config(&write_config(
        "namespace = 'App'\npolicies = 'policies'\nreload_seconds = 0\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("cedar.reload_seconds"), "{err}");
    let err = AuthConfig::from_toml(&format!(
        "{tenant}\n[cedar]\nnamespace = 'App'\npolicies = 'p'\nreload = 1\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("reload"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Entity provider
// ---------------------------------------------------------------------------------------------

/// Orders `1` (owned by alice) and `2` (owned by bob); `fail` fails every lookup.
struct Orders {
    fail: bool,
}

impl EntityProvider for Orders {
    fn resource<'a>(
        &'a self,
        query: &'a ResourceQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<Resource>, ProviderError>> {
        Box::pin(async move {
            tokio::task::yield_now().await; // a real lookup awaits
            if self.fail {
                return Err("database unavailable".into());
            }
            let Some(order) = query.param("order") else {
                return Ok(None);
            };
            let owner = match order {
                "1" => "sub-alice",
                "2" => "sub-bob",
                _ => return Ok(None),
            };
            let pool = query.principal().user_pool_id();
            let owner: EntityUid = format!(r#"App::User::"{pool}|{owner}""#).parse()?;
            let uid: EntityUid = format!(r#"App::Order::"{order}""#).parse()?;
            let attrs = [(
                "owner".to_owned(),
                RestrictedExpression::new_entity_uid(owner),
            )];
            let order = Entity::new(uid.clone(), attrs.into(), Default::default())?;
            Ok(Some(Resource::new(uid, [order])))
        })
    }
}

#[tokio::test]
async fn an_entity_provider_loads_the_order_and_its_owner() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders/{order}", resource is App::Order)
           when { resource.owner == principal };"#,
    )]);
    let cedar = Cedar::builder("App")
        .policies(policies.path())
        .entity_provider(Orders { fail: false })
        .build()
        .unwrap();
    let app = app(&fx.auth, &cedar);
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/orders/1", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/orders/2", Some(&alice)).await, NO_PERMIT);
    // Unknown order: the default resource, which the policy does not permit.
    assert_refused(&call(&app, "/orders/3", Some(&alice)).await, NO_PERMIT);
    let failing = Cedar::builder("App")
        .policies(policies.path())
        .entity_provider(Orders { fail: true })
        .build()
        .unwrap();
    let app = self::app(&fx.auth, &failing);
    assert_refused(&call(&app, "/orders/1", Some(&alice)).await, INVALID);
}

/// The order, plus the `support` group as a member of organisation `acme`: the hierarchy
/// reaches the principal only through the groups it carries as parents.
struct OrdersInOrg;

impl EntityProvider for OrdersInOrg {
    fn resource<'a>(
        &'a self,
        query: &'a ResourceQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<Resource>, ProviderError>> {
        Box::pin(async move {
            let pool = query.principal().user_pool_id();
            let org: EntityUid = r#"App::Org::"acme""#.parse()?;
            let group: EntityUid = format!(r#"App::UserGroup::"{pool}|support""#).parse()?;
            let group = Entity::new_no_attrs(group, [org].into());
            let uid: EntityUid = r#"App::Order::"1""#.parse()?;
            let order = Entity::new_no_attrs(uid.clone(), Default::default());
            Ok(Some(Resource::new(uid, [order, group])))
        })
    }
}

#[tokio::test]
async fn with_a_provider_the_principal_keeps_its_groups_and_attributes() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal in App::Org::"acme", action == App::Action::"GET /orders/{order}", resource)
           when { principal.kind == "user" };"#,
    )]);
    let cedar = Cedar::builder("App")
        .policies(policies.path())
        .entity_provider(OrdersInOrg)
        .build()
        .unwrap();
    let app = app(&fx.auth, &cedar);
    let support = fx.acme("alice", &["support"], "");
    // Twice: the principal's entity is built on the first request and kept for the second.
    for _ in 0..2 {
        assert_eq!(
            call(&app, "/orders/1", Some(&support)).await.status,
            StatusCode::OK
        );
    }
    let other = fx.acme("bob", &["sales"], "");
    assert_refused(&call(&app, "/orders/1", Some(&other)).await, NO_PERMIT);
}

// ---------------------------------------------------------------------------------------------
// The example's policies (examples/cedar.toml and examples/policies)
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Machines, and what is kept on a principal between requests
// ---------------------------------------------------------------------------------------------

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
