//! `tenant create` and the TOTP enrollment client, end to end against moto: with
//! `[triggers] mfa_enrollment_window_attribute` set, the tool creates the server-only client
//! `<tenant>-totp-enrollment`, leaves it out of `client_ids`, never prints its secret, changes
//! nothing on a re-run, repairs a loosened client keeping its secret and other settings, and
//! `audit` is clean once the operator configured it. moto merges `UpdateUserPoolClient`
//! instead of resetting omitted fields, so the repair request itself is checked field by field
//! in `src/lifecycle/carry/enrollment/tests.rs`.

#![cfg(feature = "cli")]

mod cli;
mod moto;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};
use cli::*;

const WINDOW: &str = "[triggers]\nmfa_enrollment_window_attribute = \"custom:mfa_enroll_until\"\n";

async fn describe(c: &Client, pool: &str, id: &str) -> UserPoolClientType {
    c.describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(id)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
}

/// The enrollment client's id, found by its name.
async fn enrollment_id(c: &Client, pool: &str) -> String {
    let all = c
        .list_user_pool_clients()
        .user_pool_id(pool)
        .max_results(60)
        .send()
        .await
        .unwrap();
    let named: Vec<&str> = all
        .user_pool_clients()
        .iter()
        .filter(|d| d.client_name() == Some("acme-totp-enrollment"))
        .filter_map(|d| d.client_id())
        .collect();
    assert_eq!(named.len(), 1, "one enrollment client");
    named[0].to_owned()
}

#[track_caller]
fn assert_server_only(client: &UserPoolClientType, user_writes: &[String]) {
    assert!(client.client_secret().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        client.explicit_auth_flows(),
        [
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth
        ]
    );
    assert_ne!(client.allowed_o_auth_flows_user_pool_client, Some(true));
    assert!(client.allowed_o_auth_flows().is_empty());
    assert_eq!(client.enable_token_revocation, Some(true));
    assert_eq!(client.access_token_validity, Some(5));
    assert_eq!(
        client
            .token_validity_units()
            .and_then(TokenValidityUnitsType::access_token),
        Some(&TimeUnitsType::Minutes)
    );
    assert_eq!(client.write_attributes(), user_writes);
    assert!(
        !client
            .write_attributes()
            .iter()
            .any(|a| a.starts_with("custom:"))
    );
}

/// What the operator adds after `tenant create`: the client id and its secret.
fn configure(env: &Env, id: &str, secret: &str) {
    let text = format!(
        "{}\n[admin.client_secrets]\n\"{id}\" = \"{secret}\"\n\n\
         [admin.totp_enrollment_clients]\nacme = \"{id}\"\n",
        env.config_text()
    );
    std::fs::write(&env.config, text).unwrap();
}

#[tokio::test]
async fn create_makes_the_enrollment_client_once_and_audit_is_clean() {
    let env = env("enroll-create", WINDOW);
    let plan = env.create("acme", &["--dry-run"]);
    assert_ok(&plan);
    let text = stdout(&plan);
    assert!(
        text.contains("do: create TOTP enrollment client acme-totp-enrollment (secret;"),
        "{text}"
    );

    let created = env.create("acme", &[]);
    assert_ok(&created);
    let (pool, user_client) = registered(&env, "acme");
    let c = env.client();
    let id = enrollment_id(&c, &pool).await;
    let client = describe(&c, &pool, &id).await;
    let secret = client.client_secret().unwrap().to_owned();
    let (out, err) = (stdout(&created), stderr(&created));
    assert!(
        out.contains("done: create TOTP enrollment client acme-totp-enrollment")
            && out.contains(&format!(": {id}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("acme = \"{id}\"")) && out.contains("[admin.client_secrets]"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "describe-user-pool-client --region us-east-1 --user-pool-id {pool} --client-id {id}"
        )),
        "{out}"
    );
    assert!(
        !out.contains(&secret) && !err.contains(&secret),
        "secret shown"
    );
    let user_writes = describe(&c, &pool, &user_client)
        .await
        .write_attributes()
        .to_vec();
    assert!(!user_writes.is_empty());
    assert_server_only(&client, &user_writes);
    // Never a user client: only the users' client is registered.
    let config = cognito_authz::AuthConfig::from_file(&env.config).unwrap();
    assert_eq!(
        config.tenants[0].client_ids,
        std::slice::from_ref(&user_client)
    );

    // A re-run changes nothing.
    let again = env.create("acme", &[]);
    assert_ok(&again);
    let text = stdout(&again);
    assert!(!text.contains("done:"), "{text}");
    assert!(
        text.contains(&format!(
            "ok: TOTP enrollment client acme-totp-enrollment exists: {id}"
        )),
        "{text}"
    );
    assert_eq!(client_ids(&c, &pool).await.len(), 2);
    assert_eq!(describe(&c, &pool, &id).await, client);

    // Configured as told, the tool says so and the audit finds nothing.
    configure(&env, &id, &secret);
    let configured = env.create("acme", &[]);
    assert_ok(&configured);
    let text = stdout(&configured);
    assert!(text.contains("names TOTP enrollment client"), "{text}");
    assert!(!text.contains("todo:"), "{text}");
    assert!(!stdout(&configured).contains(&secret));
    assert_eq!(audit(&env), (0, vec![]));
}

#[tokio::test]
async fn a_loosened_enrollment_client_is_repaired_keeping_its_secret_and_settings() {
    let env = env("enroll-repair", WINDOW);
    assert_ok(&env.create("acme", &[]));
    let (pool, user_client) = registered(&env, "acme");
    let c = env.client();
    let id = enrollment_id(&c, &pool).await;
    let secret = describe(&c, &pool, &id)
        .await
        .client_secret()
        .unwrap()
        .to_owned();
    configure(&env, &id, &secret);
    assert_eq!(audit(&env), (0, vec![]));

    // Someone loosens it: a user sign-in flow, the window attribute writable, a long token;
    // and sets a logout URL of their own, which the repair must keep.
    c.update_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&id)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .write_attributes("name")
        .write_attributes("custom:mfa_enroll_until")
        .access_token_validity(60)
        .logout_urls("https://ops.acme.example/bye")
        .send()
        .await
        .unwrap();
    let (exit, findings) = audit(&env);
    assert_eq!(exit, 1);
    let checks: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
    assert!(checks.contains(&"enrollment-client-unsafe"), "{findings:?}");
    assert!(
        checks.contains(&"client-writes-protected-attribute"),
        "{findings:?}"
    );

    let repaired = env.create("acme", &[]);
    assert_ok(&repaired);
    let text = stdout(&repaired);
    assert!(
        text.contains("done: update TOTP enrollment client acme-totp-enrollment"),
        "{text}"
    );
    assert!(!text.contains(&secret) && !stderr(&repaired).contains(&secret));
    let after = describe(&c, &pool, &id).await;
    let user_writes = describe(&c, &pool, &user_client)
        .await
        .write_attributes()
        .to_vec();
    assert_server_only(&after, &user_writes);
    assert_eq!(after.client_secret(), Some(secret.as_str()), "secret kept");
    assert_eq!(after.logout_urls(), ["https://ops.acme.example/bye"]);
    assert_eq!(after.client_name(), Some("acme-totp-enrollment"));
    assert_eq!(audit(&env), (0, vec![]));

    // Repaired means right: the next run changes nothing.
    let again = env.create("acme", &[]);
    assert_ok(&again);
    assert!(!stdout(&again).contains("done:"), "{}", stdout(&again));
}

#[tokio::test]
async fn without_the_window_attribute_no_enrollment_client_is_made() {
    let env = env("enroll-off", "");
    let created = env.create("acme", &[]);
    assert_ok(&created);
    assert!(
        !stdout(&created).contains("enrollment"),
        "{}",
        stdout(&created)
    );
    let (pool, user_client) = registered(&env, "acme");
    assert_eq!(client_ids(&env.client(), &pool).await, [user_client]);
}

#[tokio::test]
async fn a_client_of_that_name_without_a_secret_is_refused_before_any_change() {
    let env = env("enroll-nosecret", "");
    assert_ok(&env.create("acme", &[]));
    let (pool, _) = registered(&env, "acme");
    let c = env.client();
    // Someone made it by hand, without a secret (which no update can add).
    let made = c
        .create_user_pool_client()
        .user_pool_id(&pool)
        .client_name("acme-totp-enrollment")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let id = made.client_id().unwrap().to_owned();
    let before_client = describe(&c, &pool, &id).await;
    let before_pool = c
        .describe_user_pool()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap()
        .user_pool;
    std::fs::write(&env.config, format!("{}\n{WINDOW}", env.config_text())).unwrap();
    let before_file = env.config_text();

    let refused = env.create("acme", &[]);
    assert_eq!(code(&refused), 1, "{}", stdout(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains(&format!(
            "error: TOTP enrollment client acme-totp-enrollment ({id}) has no secret"
        )) && err.contains("nothing was changed"),
        "{err}"
    );
    // Nothing changed: not the client, not the pool (the window attribute is not added), not
    // the file, and no second client.
    assert_eq!(describe(&c, &pool, &id).await, before_client);
    let after_pool = c
        .describe_user_pool()
        .user_pool_id(&pool)
        .send()
        .await
        .unwrap()
        .user_pool;
    assert_eq!(after_pool, before_pool);
    assert_eq!(env.config_text(), before_file);
    assert_eq!(client_ids(&c, &pool).await.len(), 2);
}

#[tokio::test]
async fn a_catalog_tenant_gets_the_enrollment_client_outside_its_client_ids() {
    let env = env("enroll-catalog", WINDOW);
    let text = format!(
        "{}\n[catalog]\ndynamodb_table = \"tenants\"\nallowed_jwks_hosts = [\"{}\"]\n",
        env.config_text(),
        env.moto.endpoint().trim_start_matches("http://")
    );
    std::fs::write(&env.config, text).unwrap();
    let jwks = format!("{}/<pool>/.well-known/jwks.json", env.moto.endpoint());
    let created = env.create(
        "acme",
        &["--catalog", "dynamodb:tenants", "--jwks-url", &jwks],
    );
    assert_ok(&created);
    let c = env.client();
    let pool = pools(&c).await[0].1.clone();
    let id = enrollment_id(&c, &pool).await;
    assert!(stdout(&created).contains(&format!("acme = \"{id}\"")));
    // The catalog item lists the users' client only.
    let listed = env.cli(&["tenant", "list", "--catalog", "dynamodb:tenants"]);
    assert_ok(&listed);
    let row = stdout(&listed)
        .lines()
        .find(|l| l.starts_with("acme "))
        .unwrap()
        .to_owned();
    let ids: Vec<&str> = row.split_whitespace().last().unwrap().split(',').collect();
    assert_eq!(ids.len(), 1, "{row}");
    assert_ne!(ids[0], id, "{row}");

    let secret = describe(&c, &pool, &id)
        .await
        .client_secret()
        .unwrap()
        .to_owned();
    configure(&env, &id, &secret);
    assert_eq!(audit(&env), (0, vec![]));
    let report: serde_json::Value =
        serde_json::from_slice(&env.cli(&["audit", "--format", "json"]).stdout).unwrap();
    assert!(
        report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.to_string().contains("acme")),
        "the catalog tenant was audited: {report}"
    );
}
