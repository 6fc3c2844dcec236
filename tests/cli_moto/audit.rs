//! `audit` on a created pool and on pools broken on purpose one way at a time: each break is found
//! with its check id, and the exit code is 2, naming the cause, when the pool cannot be audited.
//! Also keeps the schema helper honest (moto reports custom attributes with their prefix).

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, LambdaConfigType,
    PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType, SchemaAttributeType,
    TimeUnitsType, TokenValidityUnitsType,
};

use crate::cli::*;
use crate::moto::Moto;

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
