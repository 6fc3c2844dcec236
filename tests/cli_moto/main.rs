//! The `cognito-authz` binary end to end against moto: `tenant create` (dry run, create,
//! re-run, finishing a half-made tenant), `audit` on a created pool and on pools broken on
//! purpose one way at a time, the exit codes, and `tenant list` / `tenant remove`; the same
//! with `--catalog dynamodb:TABLE` (moto's DynamoDB), up to a running service accepting a
//! tenant created in the catalog without a restart.
//!
//! Each test starts its own moto server and writes its own configuration file pointing at it
//! (`[aws] endpoint_url`), then runs the real binary.

#![cfg(feature = "cli")]

#[path = "../cli/mod.rs"]
mod cli;
#[path = "../moto/mod.rs"]
mod moto;

mod audit;
mod dynamodb_catalog;
mod tenant_commands;

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::MessageActionType;
use cli::*;
use cognito_authz::catalog::DynamoDbCatalog;
use serde_json::Value;

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
