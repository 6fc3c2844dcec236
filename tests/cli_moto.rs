//! The `cognito-authz` binary end to end against moto: `tenant create` (dry run, create,
//! re-run, finishing a half-made tenant), `audit` on a created pool and on pools broken on
//! purpose one way at a time, the exit codes, and `tenant list` / `tenant remove`; the same
//! with `--catalog dynamodb:TABLE` (moto's DynamoDB), up to a running service accepting a
//! tenant created in the catalog without a restart.
//!
//! Each test starts its own moto server and writes its own configuration file pointing at it
//! (`[aws] endpoint_url`), then runs the real binary.

#![cfg(feature = "cli")]

mod cli;
mod moto;

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, LambdaConfigType, MessageActionType,
    PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType, SchemaAttributeType,
    TimeUnitsType, TokenValidityUnitsType, UserPoolMfaType,
};
use cli::*;
use cognito_authz::catalog::DynamoDbCatalog;
use moto::Moto;
use serde_json::Value;

#[tokio::test]
async fn create_dry_run_changes_nothing_then_create_is_clean_and_idempotent() {
    let env = env("create", "");
    let before = env.config_text();
    let admin = ["--admin", "alice", "--admin-email", "alice@example.com"];
    let plan = env.create(
        "acme",
        &[
            &admin[..],
            &["--protected-attribute", "custom:plan", "--dry-run"],
        ]
        .concat(),
    );
    assert_ok(&plan);
    let text = stdout(&plan);
    assert!(
        text.contains("do: create user pool cognito-authz-acme"),
        "{text}"
    );
    assert!(text.contains("do: register the tenant"), "{text}");
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert_eq!(pools(&env.client()).await, [], "dry run created a pool");
    assert_eq!(env.config_text(), before, "dry run changed the file");

    let created = env.create(
        "acme",
        &[&admin[..], &["--protected-attribute", "custom:plan"]].concat(),
    );
    assert_ok(&created);
    let text = stdout(&created);
    assert!(
        !text.contains("TemporaryPassword") && !text.contains("password:"),
        "{text}"
    );
    let after = env.config_text();
    assert!(
        after.starts_with(before.trim_end()),
        "comments or layout lost:\n{after}"
    );
    let (pool, client_id) = registered(&env, "acme");

    // What Cognito now holds.
    let c = env.client();
    assert_eq!(
        pools(&c).await,
        [("cognito-authz-acme".to_owned(), pool.clone())]
    );
    let described = c
        .describe_user_pool()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap();
    let described = described.user_pool().unwrap();
    let schema: Vec<&str> = described
        .schema_attributes()
        .iter()
        .filter_map(|a| a.name())
        .collect();
    assert!(schema.contains(&"custom:mfa_required") && schema.contains(&"custom:plan"));
    let lambda = described.lambda_config().unwrap();
    let pre = lambda.pre_token_generation_config().unwrap();
    assert_eq!(
        (pre.lambda_version(), pre.lambda_arn()),
        (&PreTokenGenerationLambdaVersionType::V20, PRE)
    );
    assert_eq!(lambda.post_authentication(), Some(POST));
    let mfa = c
        .get_user_pool_mfa_config()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap();
    assert_eq!(mfa.mfa_configuration(), Some(&UserPoolMfaType::Optional));
    assert!(mfa.software_token_mfa_configuration().unwrap().enabled());
    let app = c
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .unwrap();
    let app = app.user_pool_client().unwrap();
    let writes = app.write_attributes();
    assert!(writes.contains(&"name".to_owned()), "{writes:?}");
    for protected in ["custom:mfa_required", "custom:plan", "email_verified"] {
        assert!(!writes.iter().any(|w| w == protected), "{writes:?}");
    }
    assert_eq!(app.enable_token_revocation(), Some(true));
    // SRP and refresh for Amplify, and the admin password flow POST /me/password signs in
    // with (IAM-only); never the public password flow.
    assert_eq!(
        app.explicit_auth_flows(),
        [
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
        ]
    );
    assert!(app.client_secret().is_none());
    let groups = c
        .admin_list_groups_for_user()
        .user_pool_id(&pool)
        .username("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.groups()[0].group_name(), Some("admin"));

    let (exit, findings) = audit(&env);
    assert_eq!((exit, findings), (0, vec![]), "a created pool audits clean");

    // A re-run changes nothing and makes no second pool or client.
    let again = env.create(
        "acme",
        &[&admin[..], &["--protected-attribute", "custom:plan"]].concat(),
    );
    assert_ok(&again);
    let text = stdout(&again);
    assert!(!text.contains("done:"), "{text}");
    assert!(text.contains("ok: tenant already registered"), "{text}");
    assert_eq!(pools(&c).await.len(), 1);
    assert_eq!(
        client_ids(&c, &pool).await,
        std::slice::from_ref(&client_id)
    );
    assert_eq!(env.config_text(), after);

    let listed = env.cli(&["tenant", "list"]);
    assert_ok(&listed);
    let text = stdout(&listed);
    assert!(
        text.lines()
            .any(|l| l.starts_with("acme ") && l.contains(&pool) && l.contains(&client_id)),
        "{text}"
    );
}

#[tokio::test]
async fn a_rerun_finishes_a_half_made_tenant() {
    let env = env("finish", "");
    let c = env.client();
    // A first run that died right after CreateUserPool: no attributes, groups or client.
    let pool = c
        .create_user_pool()
        .pool_name("cognito-authz-beta")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let output = env.create("beta", &[]);
    assert_ok(&output);
    let text = stdout(&output);
    assert!(
        text.contains(&format!("ok: user pool cognito-authz-beta exists: {pool}")),
        "{text}"
    );
    assert!(
        text.contains("done: add custom attributes custom:mfa_required"),
        "{text}"
    );
    assert!(text.contains("done: attach triggers"), "{text}");
    assert!(text.contains("done: create group admin"), "{text}");
    assert_eq!(pools(&c).await.len(), 1, "a second pool was made");
    assert_eq!(registered(&env, "beta").0, pool);
    assert_eq!(audit(&env), (0, vec![]));
}

#[tokio::test]
async fn audit_finds_each_break_with_its_check_id() {
    let env = env("breaks", "");
    assert_ok(&env.create("acme", &[]));
    let (pool, client_id) = registered(&env, "acme");
    let c = env.client();
    assert_eq!(audit(&env), (0, vec![]));
    let good_writes = vec!["name".to_owned(), "locale".to_owned()];
    let set_client = |writes: Vec<String>, revocation: bool, validity: i32| {
        c.update_user_pool_client()
            .user_pool_id(&pool)
            .client_id(&client_id)
            .set_write_attributes(Some(writes))
            .enable_token_revocation(revocation)
            .access_token_validity(validity)
            .token_validity_units(
                TokenValidityUnitsType::builder()
                    .access_token(TimeUnitsType::Minutes)
                    .build(),
            )
            .send()
    };
    let set_lambda = |lambda: LambdaConfigType| {
        c.update_user_pool()
            .user_pool_id(&pool)
            .lambda_config(lambda)
            .send()
    };
    let v2 = PreTokenGenerationVersionConfigType::builder()
        .lambda_version(PreTokenGenerationLambdaVersionType::V20)
        .lambda_arn(PRE)
        .build()
        .unwrap();
    let good_lambda = LambdaConfigType::builder()
        .pre_token_generation_config(v2.clone())
        .post_authentication(POST)
        .build();

    // An app client that lets users clear their own MFA requirement.
    let mut writes = good_writes.clone();
    writes.push("custom:mfa_required".into());
    set_client(writes, true, 60).await.unwrap();
    expect_only(
        &env,
        "client-writes-protected-attribute",
        "high",
        &client_id,
        1,
    );
    set_client(good_writes.clone(), true, 60).await.unwrap();

    // Token revocation off.
    set_client(good_writes.clone(), false, 60).await.unwrap();
    expect_only(&env, "token-revocation-disabled", "medium", &client_id, 0);
    // Access tokens for two hours.
    set_client(good_writes.clone(), true, 120).await.unwrap();
    expect_only(&env, "access-token-validity-long", "low", &client_id, 0);
    set_client(good_writes.clone(), true, 60).await.unwrap();

    // A second app client with no write list.
    let bare = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("amplify-default")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    expect_only(&env, "client-write-attributes-default", "medium", &bare, 0);
    c.delete_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&bare)
        .send()
        .await
        .unwrap();

    // The configuration names a client the pool does not have.
    let good_config = env.config_text();
    std::fs::write(
        &env.config,
        good_config.replace(
            &format!("client_ids = [\"{client_id}\"]"),
            &format!("client_ids = [\"{client_id}\", \"deleted-client\"]"),
        ),
    )
    .unwrap();
    expect_only(&env, "unknown-client", "high", "deleted-client", 1);
    std::fs::write(&env.config, &good_config).unwrap();

    // No Pre Token Generation trigger: high, since [self_service_guard] is configured.
    set_lambda(
        LambdaConfigType::builder()
            .post_authentication(POST)
            .build(),
    )
    .await
    .unwrap();
    expect_only(&env, "pre-token-trigger-missing", "high", &pool, 1);
    // A version 1 trigger cannot remove scopes.
    set_lambda(
        LambdaConfigType::builder()
            .pre_token_generation(PRE)
            .post_authentication(POST)
            .build(),
    )
    .await
    .unwrap();
    expect_only(&env, "pre-token-trigger-v1", "high", &pool, 1);
    // No Post Authentication trigger while the drift attribute exists.
    set_lambda(
        LambdaConfigType::builder()
            .pre_token_generation_config(v2.clone())
            .build(),
    )
    .await
    .unwrap();
    expect_only(&env, "post-auth-trigger-missing", "medium", &pool, 0);
    set_lambda(good_lambda.clone()).await.unwrap();

    // The admin group is gone.
    c.delete_group()
        .user_pool_id(&pool)
        .group_name("admin")
        .send()
        .await
        .unwrap();
    expect_only(&env, "admin-group-missing", "medium", &pool, 0);
    c.create_group()
        .user_pool_id(&pool)
        .group_name("admin")
        .send()
        .await
        .unwrap();

    // The drift guard reads an attribute the pool does not have (Cognito cannot remove a
    // custom attribute, so the configuration names another one).
    std::fs::write(
        &env.config,
        good_config.replace(
            "[aws]",
            "[triggers]\nmfa_required_attribute = \"custom:must_mfa\"\n\n[aws]",
        ),
    )
    .unwrap();
    expect_only(&env, "mfa-required-attribute-missing", "medium", &pool, 0);
    std::fs::write(&env.config, &good_config).unwrap();

    // POST /me/password served ([admin] present, even empty): the client tenant create made
    // allows the admin password flow, so the pool is still clean.
    let with_admin = good_config.replace("[aws]", "[admin]\n\n[aws]");
    std::fs::write(&env.config, &with_admin).unwrap();
    assert_eq!(audit(&env), (0, vec![]));
    // An operator narrows the client's flows to SRP and refresh (moto stores them).
    let set_flows = |flows: &[ExplicitAuthFlowsType]| {
        c.update_user_pool_client()
            .user_pool_id(&pool)
            .client_id(&client_id)
            .set_explicit_auth_flows(Some(flows.to_vec()))
            .send()
    };
    set_flows(&[
        ExplicitAuthFlowsType::AllowUserSrpAuth,
        ExplicitAuthFlowsType::AllowRefreshTokenAuth,
    ])
    .await
    .unwrap();
    expect_only(&env, "admin-password-auth-missing", "medium", &client_id, 0);
    // Without [admin] no /me/password is served: nothing to find.
    std::fs::write(&env.config, &good_config).unwrap();
    assert_eq!(audit(&env), (0, vec![]));
    // tenant create repairs the client: the flow is added, the operator's kept.
    std::fs::write(&env.config, &with_admin).unwrap();
    let repaired = env.create("acme", &[]);
    assert_ok(&repaired);
    assert!(
        stdout(&repaired).contains("done: update app client cognito-authz-acme"),
        "{}",
        stdout(&repaired)
    );
    assert_eq!(audit(&env), (0, vec![]));
    std::fs::write(&env.config, &good_config).unwrap();

    // Everything restored: clean again, and the text format says so.
    let output = env.cli(&["audit"]);
    assert_ok(&output);
    assert!(
        stdout(&output).contains("no findings"),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn audit_exits_2_naming_the_cause_when_it_cannot_audit() {
    let env = env("cannot", "");
    assert_ok(&env.create("acme", &[]));
    let good = env.config_text();

    std::fs::write(
        &env.config,
        good.replace("[aws]", "[aws]\nendpoint = \"x\""),
    )
    .unwrap();
    let output = env.cli(&["audit"]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.contains("invalid configuration") && err.contains("endpoint"),
        "{err}"
    );
    assert!(stdout(&output).is_empty());

    std::fs::write(&env.config, &good).unwrap();
    let output = env.cli(&["audit", "--tenant", "nobody"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("\"nobody\" is not in"),
        "{}",
        stderr(&output)
    );

    // A pool that does not exist.
    let (pool, _) = registered(&env, "acme");
    std::fs::write(&env.config, good.replace(&pool, "us-east-1_Gone0000")).unwrap();
    let output = env.cli(&["audit", "--format", "json"]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.contains("us-east-1_Gone0000") && err.contains("DescribeUserPool"),
        "{err}"
    );

    // Nothing listening at the endpoint.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    std::fs::write(
        &env.config,
        good.replace(&env.moto.endpoint(), &format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    let output = env.cli(&["audit"]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.contains("DescribeUserPool failed") && err.contains("dispatch failure"),
        "{err}"
    );
}

#[tokio::test]
async fn remove_takes_the_registration_and_the_pool_only_when_confirmed() {
    let globex = "\n[[tenant]] # kept by hand\nid = \"globex\"\nuser_pool_id = \"us-east-1_Globex1\"\n\
                  client_ids = [\"g1\"]\n";
    let env = env("remove", globex);
    assert_ok(&env.create("acme", &[]));
    let (pool, _) = registered(&env, "acme");
    let listed = stdout(&env.cli(&["tenant", "list"]));
    assert!(
        listed.contains("globex") && listed.contains("acme"),
        "{listed}"
    );

    // --delete-pool without --yes refuses and changes nothing.
    let before = env.config_text();
    let output = env.cli(&["tenant", "remove", "--id", "acme", "--delete-pool"]);
    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("--yes"), "{}", stderr(&output));
    assert_eq!(env.config_text(), before);
    assert_eq!(pools(&env.client()).await.len(), 1);

    // Without --delete-pool: the registration goes, the pool stays.
    assert_ok(&env.cli(&["tenant", "remove", "--id", "globex"]));
    let text = env.config_text();
    assert!(
        !text.contains("globex") && text.contains("id = \"acme\""),
        "{text}"
    );
    assert!(text.starts_with(HEADER), "{text}");

    assert_ok(&env.cli(&["tenant", "remove", "--id", "acme", "--delete-pool", "--yes"]));
    assert_eq!(pools(&env.client()).await, [], "pool {pool} not deleted");
    assert!(!env.config_text().contains("acme"));
    let output = env.cli(&["tenant", "remove", "--id", "acme"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("not registered"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn create_refuses_before_changing_anything() {
    let env = env(
        "refuse",
        "\n[[tenant]]\nid = \"acme\"\nuser_pool_id = \"us-east-1_Other1\"\nclient_ids = [\"o1\"]\n",
    );
    let before = env.config_text();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "acme",
            &[],
            "already registered with user pool us-east-1_Other1",
        ),
        ("acme corp", &[], "invalid tenant id"),
        (
            "newco",
            &["--admin", "bob", "--admin-email", "not-an-email"],
            "--admin-email",
        ),
    ];
    for (id, extra, message) in cases {
        let output = env.create(id, extra);
        assert_eq!(code(&output), 1, "{id} {extra:?}");
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
        assert_eq!(
            pools(&env.client()).await,
            [],
            "{id} {extra:?} created a pool"
        );
        assert_eq!(env.config_text(), before);
    }
    let output = env.create("newco", &["--catalog", "redis:tenants"]);
    assert_eq!(code(&output), 2, "clap refuses a bad catalog");
    assert!(
        stderr(&output).contains("dynamodb:TABLE"),
        "{}",
        stderr(&output)
    );
    // Reading a catalog whose table does not exist finds nothing and creates nothing.
    let output = env.cli(&["tenant", "list", "--catalog", "dynamodb:tenants"]);
    assert_ok(&output);
    assert!(
        stdout(&output).contains("no tenant in DynamoDB catalog table tenants"),
        "{}",
        stdout(&output)
    );
    let output = env.cli(&[
        "tenant",
        "remove",
        "--catalog",
        "dynamodb:tenants",
        "--id",
        "newco",
    ]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("not registered in DynamoDB catalog table tenants"),
        "{}",
        stderr(&output)
    );
    assert_eq!(tables(&env.moto).await, Vec::<String>::new());
}

/// Keeps the schema helper honest: moto reports custom attributes with their prefix, which
/// is what the audit compares against.
#[tokio::test]
async fn moto_reports_custom_attributes_with_their_prefix() {
    let moto = Moto::start();
    let c = moto.client();
    let pool = c
        .create_user_pool()
        .pool_name("schema")
        .schema(
            SchemaAttributeType::builder()
                .name("mfa_required")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    assert!(
        pool.schema_attributes()
            .iter()
            .any(|a| a.name() == Some("custom:mfa_required"))
    );
}

// ---------------------------------------------------------------------------------------------
// --catalog dynamodb:TABLE
// ---------------------------------------------------------------------------------------------

/// `host:port` of moto: catalog items of these tests name moto's key URLs (`--jwks-url`),
/// which a catalog accepts only from an allowed host.
fn moto_host(moto: &moto::Moto) -> String {
    moto.endpoint().trim_start_matches("http://").to_owned()
}

/// The catalog `table` on moto, as a service configured for these tests reads it.
fn catalog(moto: &moto::Moto, table: &str) -> DynamoDbCatalog {
    DynamoDbCatalog::new(moto.dynamodb(), table).allowed_jwks_hosts([moto_host(moto)])
}

/// Adds `[catalog]` for `table` to the environment's configuration, allowing moto's key URLs
/// in items (`allowed_jwks_hosts`): the tool applies the rules the service would.
fn with_catalog(env: &Env, table: &str) {
    let text = format!(
        "{}\n[catalog]\ndynamodb_table = \"{table}\"\nallowed_jwks_hosts = [\"{}\"]\n",
        env.config_text(),
        moto_host(&env.moto)
    );
    std::fs::write(&env.config, text).unwrap();
}

/// A service resolving tenants through the catalog `table` only (no configured tenant), on
/// 127.0.0.1, checking the table's version item every `refresh`. Returns its base URL; it runs
/// until the test ends.
async fn catalog_service(moto: &moto::Moto, table: &str, refresh: Duration) -> String {
    use axum::routing::get;
    use axum::{Json, Router};
    use cognito_authz::{CognitoAuth, Principal};

    let auth = CognitoAuth::builder()
        .resolver(catalog(moto, table).refresh_interval(refresh))
        .build()
        .expect("auth");
    let app = Router::new()
        .route("/me", get(|p: Principal| async move { Json(p) }))
        .layer(auth.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    base
}

/// `GET /me` with `token`: status, `WWW-Authenticate`, JSON body.
async fn me(base: &str, token: &str) -> (u16, String, Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.expect("body");
    (
        status,
        challenge,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// A user in `pool` and a real moto access token for them through app client `client_id`.
async fn user_token(client: &Client, pool: &str, client_id: &str, user: &str) -> String {
    client
        .admin_create_user()
        .user_pool_id(pool)
        .username(user)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("AdminCreateUser");
    client
        .admin_set_user_password()
        .user_pool_id(pool)
        .username(user)
        .password(moto::PASSWORD)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
    let pool = moto::Pool {
        id: pool.to_owned(),
        client_id: client_id.to_owned(),
    };
    moto::access_token(client, &pool, user).await
}

async fn tables(moto: &moto::Moto) -> Vec<String> {
    moto.dynamodb()
        .list_tables()
        .send()
        .await
        .expect("ListTables")
        .table_names()
        .to_vec()
}

#[tokio::test]
async fn catalog_registration_creates_the_table_and_is_idempotent() {
    let env = env("catalog", "");
    with_catalog(&env, "tenants");
    let before = env.config_text();
    let jwks = format!("{}/<pool>/.well-known/jwks.json", env.moto.endpoint());
    let create = |extra: &[&str]| {
        let mut args = vec![
            "tenant",
            "create",
            "--id",
            "newco",
            "--region",
            "us-east-1",
            "--catalog",
            "dynamodb:tenants",
            "--jwks-url",
            &jwks,
        ];
        args.extend_from_slice(extra);
        env.cli(&args)
    };

    let plan = create(&["--dry-run"]);
    assert_ok(&plan);
    let text = stdout(&plan);
    assert!(
        text.contains("do: register the tenant in DynamoDB catalog table tenants"),
        "{text}"
    );
    assert!(
        text.contains("item in DynamoDB table tenants (created on demand if missing)")
            && text.contains("  tenant_id = \"newco\""),
        "{text}"
    );
    assert_eq!(
        tables(&env.moto).await,
        Vec::<String>::new(),
        "dry run made a table"
    );
    assert_eq!(pools(&env.client()).await, [], "dry run made a pool");

    let created = create(&[]);
    assert_ok(&created);
    assert!(
        stdout(&created)
            .contains("done: registered tenant newco in DynamoDB catalog table tenants"),
        "{}",
        stdout(&created)
    );
    assert_eq!(env.config_text(), before, "the catalog run edited the file");
    let [(_, pool)] = &pools(&env.client()).await[..] else {
        panic!("expected one pool");
    };
    let catalog = catalog(&env.moto, "tenants");
    let entry = catalog
        .get_by_tenant("newco")
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(entry.user_pool_id, *pool);
    assert_eq!(entry.region, "us-east-1");
    assert_eq!(entry.client_ids, client_ids(&env.client(), pool).await);
    assert_eq!(entry.jwks_url, Some(env.moto.jwks_url(pool)));
    assert_eq!(
        catalog.get_by_pool(pool).await.unwrap(),
        Some(entry.clone())
    );

    let again = create(&[]);
    assert_ok(&again);
    assert!(
        stdout(&again).contains("ok: tenant already registered in DynamoDB catalog table tenants"),
        "{}",
        stdout(&again)
    );
    assert!(!stderr(&again).contains("warning"), "{}", stderr(&again));
    assert_eq!(catalog.list().await.unwrap(), std::slice::from_ref(&entry));
    assert_eq!(pools(&env.client()).await.len(), 1, "a second pool");

    let listed = env.cli(&["tenant", "list", "--catalog", "dynamodb:tenants"]);
    assert_ok(&listed);
    let text = stdout(&listed);
    assert!(
        text.lines()
            .any(|l| l.starts_with("newco") && l.contains(pool.as_str())),
        "{text}"
    );

    let removed = env.cli(&[
        "tenant",
        "remove",
        "--catalog",
        "dynamodb:tenants",
        "--id",
        "newco",
    ]);
    assert_ok(&removed);
    assert!(
        stdout(&removed).contains("done: removed tenant newco"),
        "{}",
        stdout(&removed)
    );
    assert_eq!(catalog.get_by_tenant("newco").await.unwrap(), None);
    assert_eq!(catalog.get_by_pool(pool).await.unwrap(), None);
    assert_eq!(catalog.list().await.unwrap(), []);
    assert_eq!(pools(&env.client()).await.len(), 1, "the pool is kept");
    let listed = stdout(&env.cli(&["tenant", "list", "--catalog", "dynamodb:tenants"]));
    assert!(
        listed.contains("no tenant in DynamoDB catalog table tenants"),
        "{listed}"
    );

    // The id registered with another pool: refused before anything changes.
    let mut other = entry.clone();
    other.user_pool_id = "us-east-1_Other1".into();
    other.jwks_url = None;
    catalog.put(&other).await.unwrap();
    let refused = create(&[]);
    assert_eq!(code(&refused), 1, "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains(
            "tenant \"newco\" is already registered with user pool us-east-1_Other1; refusing"
        ),
        "{}",
        stderr(&refused)
    );
    assert_eq!(catalog.list().await.unwrap(), [other]);
    assert_eq!(env.config_text(), before);
}

#[tokio::test]
async fn catalog_create_refuses_a_configured_tenant_id_and_changes_nothing() {
    let acme =
        "\n[[tenant]]\nid = \"acme\"\nuser_pool_id = \"us-east-1_Acme1\"\nclient_ids = [\"a1\"]\n";
    let env = env("catalog-reserved", acme);
    let output = env.cli(&[
        "tenant",
        "create",
        "--id",
        "acme",
        "--region",
        "us-east-1",
        "--catalog",
        "dynamodb:tenants",
    ]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    assert!(
        stderr(&output).contains("tenant \"acme\" is a [[tenant]] of")
            && stderr(&output).contains("nothing was changed"),
        "{}",
        stderr(&output)
    );
    assert_eq!(pools(&env.client()).await, []);
    assert_eq!(tables(&env.moto).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_tenant_created_in_the_catalog_is_accepted_by_a_running_service() {
    let env = env("catalog-e2e", "");
    with_catalog(&env, "tenants");
    let jwks = format!("{}/<pool>/.well-known/jwks.json", env.moto.endpoint());
    let catalog_args = ["--catalog", "dynamodb:tenants", "--jwks-url", jwks.as_str()];
    let create = || {
        env.cli(
            &[
                &["tenant", "create", "--id", "newco", "--region", "us-east-1"][..],
                &catalog_args[..],
            ]
            .concat(),
        )
    };
    // A pool made by `tenant create`, then unregistered (the pool stays): a user of it can
    // sign in, but no service knows the tenant.
    assert_ok(&create());
    assert_ok(&env.cli(&[
        "tenant",
        "remove",
        "--catalog",
        "dynamodb:tenants",
        "--id",
        "newco",
    ]));
    let [(_, pool)] = &pools(&env.client()).await[..] else {
        panic!("expected one pool");
    };
    let client_id = client_ids(&env.client(), pool).await.remove(0);
    let token = user_token(&env.client(), pool, &client_id, "carol").await;

    let service = catalog_service(&env.moto, "tenants", Duration::from_secs(1)).await;
    let (status, challenge, _) = me(&service, &token).await;
    assert_eq!(
        (status, challenge.as_str()),
        (
            401,
            "Bearer error=\"invalid_token\", error_description=\"token issuer is not a known tenant\""
        ),
        "not registered yet"
    );

    let created = create();
    assert_ok(&created);
    assert!(
        stdout(&created).contains("done: registered tenant newco"),
        "{}",
        stdout(&created)
    );
    // Accepted at the service's next check of the catalog's version item (within 1 s).
    let created_at = std::time::Instant::now();
    let (status, _, body) = loop {
        let answer = me(&service, &token).await;
        if answer.0 == 200 || created_at.elapsed() > Duration::from_secs(5) {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert!(created_at.elapsed() < Duration::from_millis(1500));
    assert_eq!(body["tenant"], "newco");
    assert_eq!(body["username"], "carol");
}

#[tokio::test]
async fn jwks_url_goes_into_a_config_file_registration() {
    let env = env("jwks-url", "");
    let jwks = format!("{}/<pool>/.well-known/jwks.json", env.moto.endpoint());
    assert_ok(&env.cli(&[
        "tenant",
        "create",
        "--id",
        "acme",
        "--region",
        "us-east-1",
        "--jwks-url",
        &jwks,
    ]));
    let (pool, _) = registered(&env, "acme");
    let config = cognito_authz::AuthConfig::from_file(&env.config).unwrap();
    assert_eq!(
        config.tenants[0].jwks_url,
        Some(env.moto.jwks_url(&pool)),
        "{}",
        env.config_text()
    );
}

#[tokio::test]
async fn an_unreachable_catalog_fails_naming_the_table_and_the_cause() {
    let env = env("catalog-down", "");
    // A port nothing listens on: the DynamoDB endpoint is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let down = env.dir.join("down.toml");
    std::fs::write(
        &down,
        env.config_text()
            .replace(&env.moto.endpoint(), &format!("http://127.0.0.1:{closed}")),
    )
    .unwrap();
    let output = cli_with(&down, &["tenant", "list", "--catalog", "dynamodb:tenants"]);
    assert_eq!(code(&output), 1, "{}", stdout(&output));
    let message = stderr(&output);
    assert!(
        message
            .starts_with("error: tenant catalog: DynamoDB DescribeTable on table tenants failed: ")
            && message.contains("dispatch failure"),
        "{message}"
    );
}
