//! `GET /tenants/{tenant}/client-config`, the console's public route in `examples/admin_service`
//! (`examples/support/console.rs`, built from a configuration file's text as its `main` does),
//! for tenants of the DynamoDB catalog, against moto (Cognito pools and the catalog table on
//! one server). The catalog is reached through `[aws]` and the standard credential chain, as
//! in production.

#![cfg(all(feature = "admin", feature = "dynamodb"))]

mod moto;

#[allow(dead_code)]
#[path = "../examples/support/console.rs"]
mod console;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use cognito_authz::AuthConfig;
use cognito_authz::catalog::{CatalogEntry, DynamoDbCatalog};
use http::{Request, StatusCode, header};
use moto::{Moto, Pool};
use serde_json::{Value, json};
use tower::ServiceExt;

struct World {
    moto: Moto,
    /// The file's tenant `acme`.
    acme: Pool,
    /// The catalog's tenant `globex`.
    globex: Pool,
    table: String,
    /// Writes to the table; allows one more JWKS host than the service does.
    writer: DynamoDbCatalog,
}

/// A JWKS host the writer allows and the service's configuration does not.
const OTHER_KEYS_HOST: &str = "127.0.0.2:9";

impl World {
    async fn new() -> World {
        let moto = Moto::start();
        let cognito = moto.client();
        let acme = moto::pool_with_users(&cognito, "acme", &[]).await;
        let globex = moto::pool_with_users(&cognito, "globex", &[]).await;
        let table = "tenants".to_owned();
        let writer = DynamoDbCatalog::new(moto.dynamodb(), &table)
            .allowed_jwks_hosts([moto_host(&moto), OTHER_KEYS_HOST.to_owned()]);
        writer.ensure_table().await.expect("ensure_table");
        writer
            .put(&entry(&moto, "globex", &globex.id, &globex.client_id))
            .await
            .expect("put globex");
        World {
            moto,
            acme,
            globex,
            table,
            writer,
        }
    }

    /// The console's routes from a configuration with tenant `acme` in the file and the catalog,
    /// `catalog_keys` added to `[catalog]`.
    fn routes(&self, catalog_keys: &str) -> Router {
        let text = format!(
            "[[tenant]]\nid = \"acme\"\nuser_pool_id = \"{}\"\nclient_ids = [\"{}\"]\n\n\
             [catalog]\ndynamodb_table = \"{}\"\nallowed_jwks_hosts = [\"{}\"]\n{catalog_keys}\n\
             [aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n",
            self.acme.id,
            self.acme.client_id,
            self.table,
            moto_host(&self.moto),
            self.moto.endpoint(),
        );
        let config = AuthConfig::from_toml(&text).expect("config");
        console::routes(&config, None).expect("routes")
    }
}

fn moto_host(moto: &Moto) -> String {
    moto.endpoint().trim_start_matches("http://").to_owned()
}

fn entry(moto: &Moto, tenant_id: &str, pool: &str, client: &str) -> CatalogEntry {
    CatalogEntry {
        client_ids: vec![client.to_owned()],
        jwks_url: Some(moto.jwks_url(pool)),
        ..CatalogEntry::new(tenant_id, pool)
    }
}

/// `GET /tenants/{tenant}/client-config`: status, `Retry-After`, body.
async fn client_config(routes: &Router, tenant: &str) -> (StatusCode, Option<String>, Value) {
    let request = Request::get(format!("/tenants/{tenant}/client-config"))
        .body(Body::empty())
        .expect("request");
    let response = routes.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        retry_after,
        serde_json::from_slice(&body).expect("JSON"),
    )
}

fn found(pool: &Pool) -> (StatusCode, Option<String>, Value) {
    let body = json!({
        "userPoolId": pool.id,
        "userPoolClientId": pool.client_id,
        "region": "us-east-1",
        "userPoolEndpoint": "/cognito-emulator",
    });
    (StatusCode::OK, None, body)
}

fn not_found() -> (StatusCode, Option<String>, Value) {
    let body = json!({"error": "tenant_not_found", "error_description": "no tenant with this id"});
    (StatusCode::NOT_FOUND, None, body)
}

fn over_budget() -> (StatusCode, Option<String>, Value) {
    let body = json!({
        "error": "temporarily_unavailable",
        "error_description": "too many tenant lookups; retry in a second",
    });
    (StatusCode::SERVICE_UNAVAILABLE, Some("1".to_owned()), body)
}

/// The scenarios run one after the other in this binary's one test: the catalog reaches
/// DynamoDB through the standard credential chain, which reads the environment set here.
#[tokio::test(flavor = "multi_thread")]
async fn client_config_of_catalog_tenants() {
    // SAFETY: this binary has this one test, and nothing else runs or reads the environment
    // yet: the variables are set before the first AWS client is built.
    unsafe {
        // moto ignores signatures, but the SDK signs every request; with credentials in the
        // environment the chain never asks the instance metadata service.
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_PROFILE");
        std::env::remove_var("AWS_ENDPOINT_URL");
    }
    let w = World::new().await;
    file_and_catalog_tenants_are_answered_and_unknown_ones_are_404(&w).await;
    items_the_service_refuses_are_404(&w).await;
    answers_follow_the_catalog_within_refresh_seconds(&w).await;
    made_up_ids_cost_at_most_lookups_per_second_reads(&w).await;
}

async fn file_and_catalog_tenants_are_answered_and_unknown_ones_are_404(w: &World) {
    let routes = w.routes("");
    assert_eq!(client_config(&routes, "acme").await, found(&w.acme));
    assert_eq!(client_config(&routes, "globex").await, found(&w.globex));
    for unknown in ["initech", "GLOBEX", "globex%20", "tenant%23globex"] {
        assert_eq!(
            client_config(&routes, unknown).await,
            not_found(),
            "{unknown}"
        );
    }
}

/// The route reads the catalog with the service's rules (`AuthConfig::catalog`): an item the
/// service's resolver would refuse gives no client configuration either.
async fn items_the_service_refuses_are_404(w: &World) {
    // Keys on a host the service's `allowed_jwks_hosts` does not name.
    let mut elsewhere = entry(&w.moto, "umbrella", &w.globex.id, &w.globex.client_id);
    elsewhere.user_pool_id = "us-east-1_0123456789abcdef0123456789abcdef".to_owned();
    elsewhere.jwks_url = Some(format!("http://{OTHER_KEYS_HOST}/jwks.json"));
    w.writer.put(&elsewhere).await.expect("put umbrella");
    // The file tenant's pool under another tenant id.
    let reused = entry(&w.moto, "acme-copy", &w.acme.id, &w.acme.client_id);
    w.writer.put(&reused).await.expect("put acme-copy");
    let routes = w.routes("");
    for refused in ["umbrella", "acme-copy"] {
        assert_eq!(
            client_config(&routes, refused).await,
            not_found(),
            "{refused}"
        );
    }
    // Both are in the table: the writer, without the service's rules, reads them.
    assert!(
        w.writer
            .get_by_tenant("umbrella")
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        w.writer
            .get_by_tenant("acme-copy")
            .await
            .expect("read")
            .is_some()
    );
}

/// Answers, found or not, are kept for `refresh_seconds`, then read again.
async fn answers_follow_the_catalog_within_refresh_seconds(w: &World) {
    let routes = w.routes("refresh_seconds = 1\n");
    let cognito = w.moto.client();
    let hooli = moto::pool_with_users(&cognito, "hooli", &[]).await;
    assert_eq!(client_config(&routes, "hooli").await, not_found());
    w.writer
        .put(&entry(&w.moto, "hooli", &hooli.id, &hooli.client_id))
        .await
        .expect("put hooli");
    // Kept: the "not found" answer stands until it is a second old.
    assert_eq!(client_config(&routes, "hooli").await, not_found());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(client_config(&routes, "hooli").await, found(&hooli));

    assert!(w.writer.remove("hooli").await.expect("remove"));
    assert_eq!(client_config(&routes, "hooli").await, found(&hooli));
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(client_config(&routes, "hooli").await, not_found());
}

/// The route is public: made-up ids are read at most `lookups_per_second` times a second, an
/// id asked again within `refresh_seconds` is not read again, and an id longer than a key is
/// never read.
async fn made_up_ids_cost_at_most_lookups_per_second_reads(w: &World) {
    let routes = w.routes("lookups_per_second = 1\n");
    // A fresh window, so the three requests below fall in one second.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(client_config(&routes, "made-up-1").await, not_found());
    // Kept: no read, so not over the budget.
    assert_eq!(client_config(&routes, "made-up-1").await, not_found());
    assert_eq!(
        client_config(&routes, &"x".repeat(3_000)).await,
        not_found()
    );
    // A second read within the second: refused, nothing read.
    assert_eq!(client_config(&routes, "made-up-2").await, over_budget());
    // The file's tenants never need the catalog.
    assert_eq!(client_config(&routes, "acme").await, found(&w.acme));
    // The refusal was not kept: the next second reads it.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(client_config(&routes, "made-up-2").await, not_found());
    assert_eq!(client_config(&routes, "globex").await, over_budget());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(client_config(&routes, "globex").await, found(&w.globex));
}
