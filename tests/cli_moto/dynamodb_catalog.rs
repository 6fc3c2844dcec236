//! `--catalog dynamodb:TABLE` (moto's DynamoDB): registration creates the table and is idempotent,
//! a tenant id already configured in the file is refused with nothing changed, a running service
//! accepts a tenant created in the catalog without a restart, and an unreachable catalog fails
//! naming the table and the cause.

use std::time::Duration;

use super::{catalog, catalog_service, me, tables, user_token, with_catalog};
use crate::cli::*;

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
