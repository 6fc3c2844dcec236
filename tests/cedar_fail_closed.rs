//! Cedar fails closed where it used to fail open (issue 18, item 1), each through the real
//! router with tokens from a local issuer:
//! - a forbid on a schema action group applies to every action of the group (as AVP does), and
//!   without a schema a policy naming a group, which no request's action can be, fails the load;
//! - HEAD is decided as GET, so a forbid on `GET /r` holds for `HEAD /r`;
//! - a path parameter that does not decode to UTF-8 is refused with 400 before any policy (it
//!   used to vanish from `context.path`, and `has` guards in forbids stopped firing);
//! - a reload that finds the folder incomplete (a file of the set in force missing or emptied)
//!   keeps the last good set.

#![cfg(feature = "cedar")]

mod cedar_support;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use cedar_support::*;
use cognito_authz::cedar::{Cedar, CedarRequest, Outcome, PolicyErrorKind};
use common::*;
use http::{Method, StatusCode, header};

/// Validates every policy below (strict mode). `all` holds `writes` (which holds
/// `POST /orders`) and `GET /reports`; `GET /orders` is in no group.
const GROUPS_SCHEMA: &str = r#"namespace App {
  entity UserGroup;
  entity User in [UserGroup] { kind: String };
  entity Application;
  type Ctx = { roles: Set<String>, tenant: String, path: {} };
  action "all";
  action "writes" in ["all"];
  action "POST /orders" in ["writes"] appliesTo { principal: User, resource: Application, context: Ctx };
  action "GET /reports" in ["all"] appliesTo { principal: User, resource: Application, context: Ctx };
  action "GET /orders" appliesTo { principal: User, resource: Application, context: Ctx };
}
"#;

fn group_policies() -> String {
    format!(
        r#"@id("admins")
           permit(principal in App::UserGroup::"{POOL_A}|admin", action, resource);
           @id("readonly-writes")
           forbid(principal, action in App::Action::"writes", resource)
             when {{ context.roles.contains("readonly") }};
           @id("frozen")
           forbid(principal, action in [App::Action::"all"], resource)
             when {{ context.roles.contains("frozen") }};"#
    )
}

#[tokio::test]
async fn a_forbid_on_a_schema_action_group_applies_to_every_action_in_it() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[
        ("schema.cedarschema", GROUPS_SCHEMA),
        ("common.cedar", &group_policies()),
    ]);
    let cedar = Cedar::builder("App")
        .policies(policies.path())
        .schema(policies.path().join("schema.cedarschema"))
        .build()
        .expect("the policies validate");
    let app = app(&fx.auth, &cedar);

    // The issue's case: an admin who is also readonly may not POST /orders.
    let readonly_admin = fx.acme("alice", &["admin", "readonly"], "");
    assert_eq!(
        status(&app, Method::POST, "/orders", &readonly_admin).await,
        StatusCode::FORBIDDEN
    );
    let principal = fx.auth.verify(&readonly_admin).await.unwrap();
    let decision = cedar.decide(&principal, &CedarRequest::new("POST", "/orders"));
    assert_eq!(decision.outcome(), Outcome::Forbidden);
    assert_eq!(decision.policies(), ["common/readonly-writes"]);
    // The group holds writes only: reading is still permitted.
    assert_eq!(
        call(&app, "/orders", Some(&readonly_admin)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "/reports", Some(&readonly_admin)).await.status,
        StatusCode::OK
    );
    // A plain admin writes.
    let admin = fx.acme("bob", &["admin"], "");
    assert_eq!(
        status(&app, Method::POST, "/orders", &admin).await,
        StatusCode::OK
    );
    // Groups of groups: `all` holds `writes`, which holds POST /orders, and GET /reports.
    let frozen = fx.acme("carol", &["admin", "frozen"], "");
    assert_eq!(
        status(&app, Method::POST, "/orders", &frozen).await,
        StatusCode::FORBIDDEN
    );
    assert_refused(&call(&app, "/reports", Some(&frozen)).await, FORBIDS);
    assert_eq!(
        call(&app, "/orders", Some(&frozen)).await.status,
        StatusCode::OK
    );
    let principal = fx.auth.verify(&frozen).await.unwrap();
    let decision = cedar.decide(&principal, &CedarRequest::new("POST", "/orders"));
    assert_eq!(decision.policies(), ["common/frozen"]);
}

#[test]
fn without_a_schema_a_policy_naming_a_group_fails_the_load() {
    let policies = Folder::new(&[("common.cedar", &group_policies())]);
    let err = Cedar::builder("App")
        .policies(policies.path())
        .build()
        .expect_err("no action is in `writes` without a schema")
        .to_string();
    let at = format!(
        "{}: policy `common/readonly-writes`",
        policies.path().join("common.cedar").display()
    );
    assert!(err.contains("cedar.policies") && err.contains(&at), "{err}");
    assert!(err.contains("never applies"), "{err}");

    // With the schema, naming a group with `==` (never a request's action) fails too, and so
    // does a group with no request action under it (Cedar's validator refuses both first).
    let schema = GROUPS_SCHEMA.replace(r#"action "all";"#, "action \"all\";\n  action \"none\";");
    for policy in [
        r#"forbid(principal, action == App::Action::"writes", resource);"#,
        r#"forbid(principal, action in App::Action::"none", resource);"#,
    ] {
        let folder = Folder::new(&[("schema.cedarschema", &schema), ("common.cedar", policy)]);
        let err = Cedar::builder("App")
            .policies(folder.path())
            .schema(folder.path().join("schema.cedarschema"))
            .build()
            .expect_err(policy)
            .to_string();
        assert!(
            err.contains("cedar.policies") && err.contains("common/policy0"),
            "{policy}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HEAD
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn head_is_decided_as_get() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"@id("everyone")
           permit(principal, action, resource);
           @id("no-interns-read")
           forbid(principal, action == App::Action::"GET /orders", resource)
             when { context.roles.contains("intern") };"#,
    )]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let intern = fx.acme("ivan", &["intern"], "");
    // axum answers HEAD with the GET handler: the forbid on GET must hold.
    let reply = send_raw(
        &app,
        Method::HEAD,
        "/orders",
        &[&format!("Bearer {intern}")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let challenge = reply.header(header::WWW_AUTHENTICATE).unwrap_or_default();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains(FORBIDS),
        "{challenge}"
    );
    assert_refused(&call(&app, "/orders", Some(&intern)).await, FORBIDS);
    let principal = fx.auth.verify(&intern).await.unwrap();
    let decision = cedar.decide(&principal, &CedarRequest::new("HEAD", "/orders"));
    assert_eq!(decision.action(), "GET /orders");
    assert_eq!(decision.policies(), ["common/no-interns-read"]);
    // Others still get HEAD.
    let alice = fx.acme("alice", &[], "");
    let reply = send_raw(&app, Method::HEAD, "/orders", &[&format!("Bearer {alice}")]).await;
    assert_eq!(reply.status, StatusCode::OK);

    // A policy for "HEAD /r" would never apply: it fails the load, naming GET.
    let head = Folder::new(&[(
        "common.cedar",
        r#"forbid(principal, action == App::Action::"HEAD /orders", resource);"#,
    )]);
    let err = Cedar::builder("App")
        .policies(head.path())
        .build()
        .expect_err("HEAD is no action")
        .to_string();
    assert!(err.contains(r#"App::Action::"GET /orders""#), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Path parameters that do not decode
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_undecodable_path_parameter_is_refused_with_400_before_any_policy() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action, resource);
           @id("own-tenant")
           forbid(principal, action, resource)
             when { context.path has tenant && context.path.tenant != context.tenant };"#,
    )]);
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let app: Router = Router::new()
        .route(
            "/tenants/{tenant}/orders",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { "orders" }
            }),
        )
        .layer(policies.cedar().layer())
        .layer(fx.auth.layer());
    let alice = fx.acme("alice", &[], "");
    for uri in [
        "/tenants/%FF/orders",
        "/tenants/%C3%28/orders",
        "/tenants/acme%FF/orders",
    ] {
        let reply = call(&app, uri, Some(&alice)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        let json = reply.json();
        assert_eq!(json["error"], "invalid_request", "{uri}");
        assert_eq!(
            json["error_description"],
            "a path parameter is not valid UTF-8 once percent-decoded"
        );
        assert_eq!(reply.header(header::CACHE_CONTROL), Some("no-store"));
        let challenge = reply.header(header::WWW_AUTHENTICATE).unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
    }
    assert_eq!(served.load(Ordering::SeqCst), 0, "the handler never ran");
    // Decodable parameters are decided as before: the forbid fires on another tenant.
    assert_refused(
        &call(&app, "/tenants/globex/orders", Some(&alice)).await,
        FORBIDS,
    );
    assert_eq!(
        call(&app, "/tenants/%61cme/orders", Some(&alice))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(served.load(Ordering::SeqCst), 1);
    // Authentication still comes first.
    assert_eq!(
        call(&app, "/tenants/%FF/orders", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---------------------------------------------------------------------------------------------
// Reloads mid-deploy
// ---------------------------------------------------------------------------------------------

const COMMON: &str = r#"@id("everyone")
permit(principal, action == App::Action::"GET /orders", resource);
@id("suspended")
forbid(principal, action, resource) when { context.roles.contains("suspended") };
"#;

#[tokio::test]
async fn a_reload_that_finds_the_folder_incomplete_keeps_the_last_good_set() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[
        ("common.cedar", COMMON),
        (
            "acme.cedar",
            r#"permit(principal, action == App::Action::"GET /reports", resource);"#,
        ),
    ]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let suspended = fx.acme("sam", &["suspended"], "");
    let alice = fx.acme("alice", &[], "");
    assert_refused(&call(&app, "/reports", Some(&suspended)).await, FORBIDS);

    // A deploy removes common.cedar for a moment: the common forbid must stay in force.
    let common = policies.path().join("common.cedar");
    std::fs::remove_file(&common).unwrap();
    let err = cedar.reload().expect_err("common.cedar is missing");
    assert_eq!(err.kind(), PolicyErrorKind::Incomplete);
    assert_eq!(err.path(), common);
    assert_eq!(cedar.last_reload_error(), Some(err));
    assert_refused(&call(&app, "/reports", Some(&suspended)).await, FORBIDS);
    assert_refused(&call(&app, "/orders", Some(&suspended)).await, FORBIDS);
    assert_eq!(
        call(&app, "/orders", Some(&alice)).await.status,
        StatusCode::OK
    );

    // Truncated while being written (`cp` over it): incomplete too, empty or whitespace.
    for text in ["", "\n  \n"] {
        policies.write("common.cedar", text);
        let err = cedar.reload().expect_err("common.cedar is being written");
        assert_eq!(err.kind(), PolicyErrorKind::Incomplete, "{text:?}");
        assert_refused(&call(&app, "/reports", Some(&suspended)).await, FORBIDS);
    }

    // The same for a tenant's file.
    policies.write("common.cedar", COMMON);
    std::fs::remove_file(policies.path().join("acme.cedar")).unwrap();
    let err = cedar.reload().expect_err("acme.cedar is missing");
    assert_eq!(err.kind(), PolicyErrorKind::Incomplete);
    assert_eq!(
        call(&app, "/reports", Some(&alice)).await.status,
        StatusCode::OK
    );

    // Back, plus a new file: complete, loaded.
    policies.write(
        "acme.cedar",
        r#"permit(principal, action == App::Action::"GET /reports", resource);"#,
    );
    policies.write("globex.cedar", "// nothing yet\n");
    cedar.reload().expect("complete again");
    assert_eq!(cedar.last_reload_error(), None);

    // Retiring a file's policies while running: leave a comment in it.
    policies.write("acme.cedar", "// retired\n");
    cedar
        .reload()
        .expect("a comment is a file with no policies");
    assert_refused(&call(&app, "/reports", Some(&alice)).await, NO_PERMIT);

    // The whole folder moved away by a deploy: incomplete as well.
    let moved = policies.path().with_extension("moved");
    std::fs::rename(policies.path(), &moved).unwrap();
    let err = cedar.reload().expect_err("the folder is missing");
    std::fs::rename(&moved, policies.path()).unwrap();
    assert_eq!(err.kind(), PolicyErrorKind::Incomplete);
    assert_eq!(err.path(), policies.path());

    // A broken file is still an invalid load, not an incomplete one.
    policies.write("acme.cedar", "permit(");
    let err = cedar.reload().expect_err("syntax error");
    assert_eq!(err.kind(), PolicyErrorKind::Invalid);
}

#[test]
fn a_reload_without_its_schema_keeps_the_last_good_set() {
    let policies = Folder::new(&[
        ("schema.cedarschema", GROUPS_SCHEMA),
        ("common.cedar", &group_policies()),
    ]);
    let schema = policies.path().join("schema.cedarschema");
    let cedar = Cedar::builder("App")
        .policies(policies.path())
        .schema(&schema)
        .build()
        .unwrap();
    std::fs::remove_file(&schema).unwrap();
    let err = cedar.reload().expect_err("the schema is missing");
    assert_eq!(err.kind(), PolicyErrorKind::Incomplete);
    assert_eq!(err.path(), schema);
}

/// `cognito_authz_cedar_reloads_total{outcome}` tells a deploy in progress from broken policies.
#[cfg(feature = "metrics")]
#[test]
fn reloads_are_counted_by_outcome() {
    use std::collections::BTreeMap;

    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let policies = Folder::new(&[("common.cedar", COMMON)]);
    let cedar = policies.cedar();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        cedar.reload().expect("unchanged");
        std::fs::remove_file(policies.path().join("common.cedar")).unwrap();
        cedar.reload().expect_err("incomplete");
        policies.write("common.cedar", "permit(");
        cedar.reload().expect_err("invalid");
    });
    let counts: BTreeMap<String, u64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "cognito_authz_cedar_reloads_total")
        .map(|(key, _, _, value)| {
            let outcome = key.key().labels().find(|l| l.key() == "outcome");
            let DebugValue::Counter(n) = value else {
                panic!("a counter")
            };
            (outcome.expect("an outcome label").value().to_owned(), n)
        })
        .collect();
    let expected: BTreeMap<String, u64> = [("failed", 1), ("incomplete", 1), ("ok", 1)]
        .map(|(k, v)| (k.to_owned(), v))
        .into();
    assert_eq!(counts, expected);
}
