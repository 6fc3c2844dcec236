//! The DynamoDB tenant catalog against moto (DynamoDB and Cognito on one server).
//!
//! Store tests drive `DynamoDbCatalog` directly and read the table back with raw DynamoDB
//! calls. End-to-end tests run a real service in its own process (this test binary, started
//! again with `--exact service_process`): it is configured by a TOML file with `[catalog]` and
//! reaches moto through `[aws]` and the standard credential chain (credentials from the child's
//! environment, as in production), serves HTTP on a 127.0.0.1 port and logs to a file. Tokens
//! are real moto access tokens; keys come from moto through the item's `jwks_url`.

#![cfg(feature = "dynamodb")]

#[path = "../moto/mod.rs"]
mod moto;

mod hostile_items;
mod malformed_items;
mod pickup;
mod service;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use cognito_authz::catalog::{CatalogEntry, DynamoDbCatalog};
use cognito_authz::{tenant::Issuer, tenant::TenantResolver};
use moto::{Moto, Pool};

// ---------------------------------------------------------------------------------------------
// moto, tables, pools
// ---------------------------------------------------------------------------------------------

static MOTO: Mutex<Weak<Moto>> = Mutex::new(Weak::new());

/// The shared moto, started if no running test holds one.
fn moto() -> Arc<Moto> {
    let mut shared = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(moto) = shared.upgrade() {
        return moto;
    }
    let moto = Arc::new(Moto::start());
    *shared = Arc::downgrade(&moto);
    moto
}

fn dynamodb(moto: &Moto) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(moto.endpoint())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `host:port` of moto, for `allowed_jwks_hosts`: items of these tests name moto's key URLs.
fn moto_host(moto: &Moto) -> String {
    moto.endpoint().trim_start_matches("http://").to_owned()
}

/// A catalog on a fresh, created table, allowing moto's key URLs in items.
async fn fresh_catalog(moto: &Moto) -> DynamoDbCatalog {
    let catalog = DynamoDbCatalog::new(dynamodb(moto), unique("tenants"))
        .allowed_jwks_hosts([moto_host(moto)]);
    catalog.ensure_table().await.expect("ensure_table");
    catalog
}

fn entry(tenant_id: &str, user_pool_id: &str) -> CatalogEntry {
    CatalogEntry {
        tenant_id: tenant_id.into(),
        user_pool_id: user_pool_id.into(),
        region: "us-east-1".into(),
        client_ids: vec![format!("{tenant_id}-client")],
        roles: BTreeMap::new(),
        protected_attributes: vec!["custom:plan".into()],
        ..CatalogEntry::new(tenant_id, user_pool_id)
    }
}

/// Made-up pool ids for store tests (the store does not ask Cognito).
fn pool_id() -> String {
    format!("us-east-1_Pool{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Writes an item as an operator would by hand, bypassing `put`'s checks.
async fn raw_put(moto: &Moto, table: &str, item: &[(&str, AttributeValue)]) {
    dynamodb(moto)
        .put_item()
        .table_name(table)
        .set_item(Some(
            item.iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ))
        .send()
        .await
        .expect("PutItem");
}

async fn raw_keys(moto: &Moto, table: &str) -> Vec<String> {
    let out = dynamodb(moto)
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("Scan");
    let mut keys: Vec<String> = out
        .items()
        .iter()
        .filter_map(|item| match item.get("user_pool_id") {
            Some(AttributeValue::S(key)) => Some(key.clone()),
            _ => None,
        })
        .collect();
    keys.sort();
    keys
}

fn issuer(pool: &str) -> String {
    format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}")
}

async fn resolve(catalog: &DynamoDbCatalog, pool: &str) -> Result<Option<String>, String> {
    let iss = issuer(pool);
    catalog
        .resolve(Issuer::parse(&iss).expect("issuer"))
        .await
        .map(|tenant| tenant.map(|t| t.id().to_owned()))
        .map_err(|e| e.to_string())
}

/// A Cognito pool with an app client, an `admin` group, and users `boss` (admin) and `worker`.
async fn cognito_pool(moto: &Moto, name: &str) -> Pool {
    moto::pool_with_users(&moto.client(), name, &[("boss", true), ("worker", false)]).await
}

/// A real access token from moto.
async fn access_token(moto: &Moto, pool: &Pool, user: &str) -> String {
    moto::access_token(&moto.client(), pool, user).await
}

/// The catalog entry for a moto pool: keys from moto, `admin` role from group `admin`.
fn pool_entry(moto: &Moto, tenant_id: &str, pool: &Pool) -> CatalogEntry {
    CatalogEntry {
        tenant_id: tenant_id.into(),
        user_pool_id: pool.id.clone(),
        region: "us-east-1".into(),
        client_ids: vec![pool.client_id.clone()],
        roles: [("admin".to_owned(), vec!["admin".to_owned()])].into(),
        protected_attributes: vec!["custom:plan".into()],
        jwks_url: Some(moto.jwks_url(&pool.id)),
        ..CatalogEntry::new(tenant_id, &pool.id)
    }
}

/// The service of the end-to-end tests: run by them in a process of its own, not a test.
#[test]
#[ignore = "the service process of the end-to-end tests; they start it"]
fn service_process() {
    let config_path = std::env::var_os("CATALOG_SERVICE_CONFIG")
        .expect("run by the end-to-end tests of this file, which set CATALOG_SERVICE_CONFIG");
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("cognito_authz=info"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(serve(config_path.into()));
}

async fn serve(config_path: PathBuf) {
    use axum::routing::get;
    use axum::{Json, Router};
    use cognito_authz::{AuthConfig, AuthzLayer, Policy, Principal};

    let config = AuthConfig::from_file(&config_path).expect("config");
    let auth = config.to_builder().expect("builder").build().expect("auth");
    let app = Router::new()
        .route("/me", get(|p: Principal| async move { Json(p) }))
        .route(
            "/tenants/{tenant}/admin",
            get(|| async { "tenant admin" }).layer(AuthzLayer::policy(
                Policy::role("admin").and(Policy::same_tenant_as("tenant")),
            )),
        )
        .layer(auth.layer());
    #[cfg(feature = "admin")]
    let app = {
        let client = cognito_authz::aws::cognito_client(&config.aws).await;
        app.merge(
            cognito_authz::admin::AdminApi::new(auth.clone(), client)
                .apply_config(&config)
                .admin_router(),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("LISTENING {}", listener.local_addr().expect("address"));
    axum::serve(listener, app).await.expect("serve");
}
