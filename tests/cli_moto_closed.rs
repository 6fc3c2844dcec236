//! The `cognito-authz` binary fails closed, against moto: `audit` covers the `[catalog]`
//! tenants and the machine clients, and `tenant remove --delete-pool` deletes only a pool
//! tagged for the tenant.

#![cfg(feature = "cli")]

mod cli;
mod moto;

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::Client;
use cli::*;
use cognito_authz::catalog::DynamoDbCatalog;
use cognito_authz::lifecycle::TENANT_TAG;
use serde_json::Value;

const CATALOG: &str = "\n[catalog]\ndynamodb_table = \"tenants\"\n";

/// Runs `audit --format json` with `extra` arguments: (exit code, [(tenant, check, severity,
/// subject)], tenant ids audited).
fn audit_json(env: &Env, extra: &[&str]) -> (i32, Vec<[String; 4]>, Vec<String>) {
    let mut args = vec!["audit", "--format", "json"];
    args.extend_from_slice(extra);
    let output = env.cli(&args);
    assert!(
        code(&output) == 0 || code(&output) == 1,
        "stdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let tenants = json["tenants"].as_array().unwrap();
    let ids = tenants
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let findings = tenants
        .iter()
        .flat_map(|t| {
            let id = t["id"].as_str().unwrap().to_owned();
            t["findings"].as_array().unwrap().iter().map(move |f| {
                [
                    id.clone(),
                    f["check"].as_str().unwrap().to_owned(),
                    f["severity"].as_str().unwrap().to_owned(),
                    f["subject"].as_str().unwrap().to_owned(),
                ]
            })
        })
        .collect();
    (code(&output), findings, ids)
}

fn finding(tenant: &str, check: &str, severity: &str, subject: &str) -> [String; 4] {
    [tenant, check, severity, subject].map(str::to_owned)
}

#[tokio::test]
async fn audit_covers_catalog_tenants_and_machine_clients() {
    let env = env("audit-catalog", CATALOG);
    assert_ok(&env.create("acme", &[]));
    assert_ok(&env.create("newco", &["--catalog", "dynamodb:tenants"]));
    let (acme_pool, _) = registered(&env, "acme");
    let catalog = DynamoDbCatalog::new(env.moto.dynamodb(), "tenants");
    let newco = catalog.get_by_tenant("newco").await.unwrap().unwrap();
    assert_ne!(newco.user_pool_id, acme_pool);

    // Both kinds are audited, the file's first.
    let (exit, findings, ids) = audit_json(&env, &[]);
    assert_eq!((exit, findings), (0, vec![]));
    assert_eq!(ids, ["acme", "newco"]);

    // The catalog tenant's app client lets users clear their own MFA requirement.
    env.client()
        .update_user_pool_client()
        .user_pool_id(&newco.user_pool_id)
        .client_id(&newco.client_ids[0])
        .write_attributes("name")
        .write_attributes("custom:mfa_required")
        .send()
        .await
        .unwrap();
    let expected = finding(
        "newco",
        "client-writes-protected-attribute",
        "high",
        &newco.client_ids[0],
    );
    let (exit, findings, _) = audit_json(&env, &[]);
    assert_eq!((exit, findings), (1, vec![expected.clone()]));

    // --tenant finds either kind.
    let (exit, findings, ids) = audit_json(&env, &["--tenant", "newco"]);
    assert_eq!(
        (exit, findings, ids),
        (1, vec![expected], vec!["newco".to_owned()])
    );
    let (exit, findings, ids) = audit_json(&env, &["--tenant", "acme"]);
    assert_eq!((exit, findings, ids), (0, vec![], vec!["acme".to_owned()]));
    let output = env.cli(&["audit", "--tenant", "nobody"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("\"nobody\" is not in")
            && stderr(&output).contains("DynamoDB catalog table tenants"),
        "{}",
        stderr(&output)
    );

    // A machine client id that is no app client of the pool (here: one of another pool).
    let acme_client = client_ids(&env.client(), &acme_pool).await.remove(0);
    let mut entry = newco.clone();
    entry.machine_client_ids = vec![acme_client.clone()];
    catalog.put(&entry).await.unwrap();
    let (exit, findings, _) = audit_json(&env, &["--tenant", "newco"]);
    assert_eq!(exit, 1);
    assert!(
        findings.contains(&finding(
            "newco",
            "machine-client-unknown",
            "high",
            &acme_client
        )),
        "{findings:?}"
    );
}

#[tokio::test]
async fn audit_of_a_catalog_it_cannot_read_exits_2_naming_the_table() {
    // The table was never created: the service would answer 503, the audit cannot pass.
    let env = env("audit-no-table", CATALOG);
    assert_ok(&env.create("acme", &[]));
    let output = env.cli(&["audit"]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    assert!(
        stderr(&output).contains("could not audit") && stderr(&output).contains("tenants"),
        "{}",
        stderr(&output)
    );
}

/// A pool made outside `tenant create`, with `tags`.
async fn pool_with_tags(client: &Client, name: &str, tags: &[(&str, &str)]) -> String {
    let tags: HashMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    client
        .create_user_pool()
        .pool_name(name)
        .set_user_pool_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap()
}

async fn pool_exists(client: &Client, pool: &str) -> bool {
    client
        .describe_user_pool()
        .user_pool_id(pool)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn remove_deletes_only_a_pool_tagged_for_the_tenant() {
    let moto_env = env("remove-tag", "");
    let c = moto_env.client();
    let globex_pool = pool_with_tags(&c, "globex-prod", &[(TENANT_TAG, "globex")]).await;
    let bare_pool = pool_with_tags(&c, "hand-made", &[("team", "ops")]).await;
    // Registrations that name pools `tenant create` did not make for them.
    let tenants = format!(
        "\n[[tenant]]\nid = \"acme\"\nuser_pool_id = \"{globex_pool}\"\nclient_ids = [\"a1\"]\n\
         \n[[tenant]]\nid = \"beta\"\nuser_pool_id = \"{bare_pool}\"\nclient_ids = [\"b1\"]\n"
    );
    let text = moto_env.config_text() + &tenants;
    std::fs::write(&moto_env.config, &text).unwrap();

    for (id, pool, names) in [
        (
            "acme",
            &globex_pool,
            "its tag cognito-authz:tenant is \"globex\"",
        ),
        ("beta", &bare_pool, "it has no cognito-authz:tenant tag"),
    ] {
        let output = moto_env.cli(&["tenant", "remove", "--id", id, "--delete-pool", "--yes"]);
        assert_eq!(code(&output), 1, "{id}: {}", stdout(&output));
        let err = stderr(&output);
        assert!(
            err.contains(names) && err.contains(pool.as_str()) && err.contains("--force"),
            "{id}: {err}"
        );
        assert!(pool_exists(&c, pool).await, "{id}: pool {pool} was deleted");
        assert_eq!(moto_env.config_text(), text, "{id}: registration changed");
    }

    // --force is the operator's explicit override.
    assert_ok(&moto_env.cli(&[
        "tenant",
        "remove",
        "--id",
        "beta",
        "--delete-pool",
        "--yes",
        "--force",
    ]));
    assert!(!pool_exists(&c, &bare_pool).await);
    assert!(!moto_env.config_text().contains("id = \"beta\""));
    assert!(pool_exists(&c, &globex_pool).await);

    // A pool `tenant create` made (and tagged) for the tenant goes without --force.
    assert_ok(&moto_env.create("gamma", &[]));
    let (gamma_pool, _) = registered(&moto_env, "gamma");
    assert_ok(&moto_env.cli(&[
        "tenant",
        "remove",
        "--id",
        "gamma",
        "--delete-pool",
        "--yes",
    ]));
    assert!(!pool_exists(&c, &gamma_pool).await);
}

/// The repair request (every field of the client sent back) is one Cognito's API accepts,
/// fixes what the crate manages and keeps the operator's settings. moto merges updates, so the
/// field-by-field check of the request lives in the unit tests (`lifecycle::carry`).
#[tokio::test]
async fn a_repair_fixes_the_client_and_keeps_the_operators_settings() {
    use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, OAuthFlowType};

    let env = env("repair", "");
    assert_ok(&env.create("acme", &[]));
    let (pool, client_id) = registered(&env, "acme");
    let c = env.client();
    // The operator sets up hosted sign-in; someone also widens the write list.
    c.update_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .client_name("cognito-authz-acme")
        .write_attributes("name")
        .write_attributes("custom:mfa_required")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
        .callback_urls("https://app.acme.example/callback")
        .logout_urls("https://app.acme.example/bye")
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_flows_user_pool_client(true)
        .supported_identity_providers("COGNITO")
        .refresh_token_validity(12)
        .enable_token_revocation(true)
        .send()
        .await
        .unwrap();

    let output = env.create("acme", &[]);
    assert_ok(&output);
    assert!(
        stdout(&output).contains("done: update app client cognito-authz-acme"),
        "{}",
        stdout(&output)
    );
    let after = c
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    assert!(
        !after
            .write_attributes()
            .contains(&"custom:mfa_required".to_owned())
    );
    assert_eq!(
        after.explicit_auth_flows(),
        [
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowCustomAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
        ]
    );
    assert_eq!(after.callback_urls(), ["https://app.acme.example/callback"]);
    assert_eq!(after.allowed_o_auth_scopes(), ["openid"]);
    assert_eq!(after.refresh_token_validity, 12);
    // A second run finds nothing to repair.
    let again = env.create("acme", &[]);
    assert_ok(&again);
    assert!(
        !stdout(&again).contains("done: update app client"),
        "{}",
        stdout(&again)
    );
}
