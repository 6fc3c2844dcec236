//! `tenant create` and `tenant remove` against moto with a configuration file: a dry run changes
//! nothing, then create is clean and idempotent; a re-run finishes a half-made tenant; create
//! refuses before changing anything; `--jwks-url` goes into the file's registration; remove takes
//! the registration and the pool only when confirmed.

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PreTokenGenerationLambdaVersionType, UserPoolMfaType,
};

use super::tables;
use crate::cli::*;

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
