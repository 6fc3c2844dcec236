//! What `explain` decides, as the layers would: allowed requests list the permitting policies,
//! Cedar refusals name "no permit" or the forbid, schema action groups, HEAD and undecodable path
//! parameters are explained as the Cedar layer decides them, and without Cedar authentication
//! decides and the roles are listed.

use cognito_authz::testing::LocalIssuer;

use super::{ORDERS, POOL, env};

#[tokio::test(flavor = "multi_thread")]
async fn allowed_requests_list_the_permitting_policies() {
    let env = env("allow", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    let run = env.explain(Some(&token), "GET /tenants/acme/orders", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.verdict(), "allowed");
    for step in [
        "request",
        "token",
        "tenant",
        "key",
        "signature",
        "claims",
        "exp",
        "roles",
    ] {
        assert_eq!(run.step(step).0, "ok", "{step}: {}", run.stdout);
    }
    assert!(
        run.step("request")
            .1
            .contains("path parameters [tenant=acme]")
    );
    assert!(
        run.step("tenant")
            .1
            .starts_with(&format!("acme (issuer {})", LocalIssuer::issuer(POOL)))
    );
    assert!(run.step("username").1.contains("username alice"));
    assert_eq!(run.step("revocation").0, "skip");
    let (mark, detail) = run.step("decision");
    assert_eq!(mark, "ok");
    assert_eq!(
        detail,
        format!("allow \"{ORDERS}\": permitted by common/orders-read")
    );

    // An admin is permitted by its tenant's policy as well.
    let token = env.issuer.mint(&env.claims("root", &["admin"]));
    let run = env.explain(Some(&token), "GET /tenants/acme/orders", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let detail = run.step("decision").1;
    assert!(detail.contains("acme/admin-all"), "{detail}");
    assert!(detail.contains("common/orders-read"), "{detail}");
    assert!(
        run.step("roles")
            .1
            .contains("groups [admin] -> roles [admin]")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cedar_refusals_name_no_permit_or_the_forbid() {
    let env = env("deny", true).await;
    let token = env.issuer.mint(&env.claims("alice", &[]));
    // Another tenant's orders: the path parameter is not the caller's tenant.
    let run = env.explain(Some(&token), "GET /tenants/globex/orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let (mark, detail) = run.step("decision");
    assert_eq!(mark, "FAIL");
    assert!(detail.contains("no permit matched"), "{detail}");
    assert!(
        run.verdict()
            .starts_with("refused, 403 insufficient_scope (forbidden)"),
        "{}",
        run.stdout
    );
    // No route given: the path itself is the action, which no policy names.
    let run = env.explain(Some(&token), "DELETE /orders/7", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.step("decision")
            .1
            .contains("\"DELETE /orders/7\": no permit matched")
    );

    let intern = env.issuer.mint(&env.claims("ivan", &["intern", "admin"]));
    let run = env.explain(Some(&intern), "GET /tenants/acme/orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let detail = run.step("decision").1;
    assert!(
        detail.contains("forbidden by common/no-interns"),
        "{detail}"
    );
}

/// Schema action groups, HEAD and undecodable path parameters are explained as the Cedar layer
/// decides them (issue 18): the forbid on the group names itself, HEAD is the GET action, and
/// a parameter that does not decode is the layer's 400.
#[tokio::test(flavor = "multi_thread")]
async fn groups_head_and_undecodable_parameters_are_explained_as_decided() {
    let env = env("groups", true).await;
    std::fs::write(
        env.dir.join("policies/schema.cedarschema"),
        r#"namespace App {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  type Ctx = { roles: Set<String> };
  action "writes";
  action "POST /orders" in ["writes"] appliesTo { principal: User, resource: Application, context: Ctx };
  action "GET /orders" appliesTo { principal: User, resource: Application, context: Ctx };
}
"#,
    )
    .unwrap();
    std::fs::write(
        env.dir.join("policies/common.cedar"),
        format!(
            r#"@id("admin-all")
permit(principal in App::UserGroup::"{POOL}|admin", action, resource);
@id("readonly-writes")
forbid(principal, action in App::Action::"writes", resource) when {{ context.roles.contains("readonly") }};
@id("no-interns-read")
forbid(principal, action == App::Action::"GET /orders", resource) when {{ context.roles.contains("intern") }};
"#
        ),
    )
    .unwrap();
    std::fs::write(env.dir.join("policies/acme.cedar"), "// none\n").unwrap();
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str("schema = \"policies/schema.cedarschema\"\n");
    std::fs::write(&env.config, config).unwrap();

    let readonly = env.issuer.mint(&env.claims("rita", &["admin", "readonly"]));
    let run = env.explain(Some(&readonly), "POST /orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(
        run.step("decision").1,
        "forbidden: a Cedar policy forbids this request; deny \"POST /orders\": forbidden by \
         common/readonly-writes"
    );
    let admin = env.issuer.mint(&env.claims("adam", &["admin"]));
    let run = env.explain(Some(&admin), "POST /orders", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.step("decision")
            .1
            .contains("permitted by common/admin-all")
    );

    let intern = env.issuer.mint(&env.claims("ivan", &["admin", "intern"]));
    let run = env.explain(Some(&intern), "HEAD /orders", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.step("request")
            .1
            .starts_with("HEAD /orders; action \"GET /orders\""),
        "{}",
        run.stdout
    );
    assert!(
        run.step("decision")
            .1
            .contains("forbidden by common/no-interns-read"),
        "{}",
        run.stdout
    );

    let run = env.explain(
        Some(&admin),
        "GET /orders/%FF",
        &["--route", "/orders/{order}"],
    );
    assert_eq!(run.code, 1, "{}", run.all());
    let (mark, detail) = run.step("decision");
    assert_eq!(mark, "FAIL", "{}", run.stdout);
    assert!(
        detail.starts_with("invalid_path_parameter: "),
        "{}",
        run.stdout
    );
    assert!(
        run.verdict()
            .starts_with("refused, 400 invalid_request (invalid_path_parameter)"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_cedar_authentication_decides_and_roles_are_listed() {
    let env = env("no-cedar", false).await;
    let token = env.issuer.mint(&env.claims("alice", &["sales"]));
    let run = env.explain(Some(&token), "GET /anything", &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.step("roles").1.contains("roles [sales]"));
    assert!(
        run.step("decision")
            .1
            .contains("live in the service's code")
    );
}
