//! Loading policies: schema validation failures name the file and line, a failed reload keeps the
//! last good set, policies reload on the interval, and the `[cedar]` section is read relative to
//! the configuration file.

use std::time::Duration;

use cognito_authz::AuthConfig;
use cognito_authz::cedar::Cedar;
use http::StatusCode;

use crate::cedar_support::*;
use crate::common::*;

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
