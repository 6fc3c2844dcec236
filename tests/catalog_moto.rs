//! The DynamoDB tenant catalog against moto (DynamoDB and Cognito on one server).
//!
//! Store tests drive `DynamoDbCatalog` directly and read the table back with raw DynamoDB
//! calls. End-to-end tests run a real service in its own process (this test binary, started
//! again with `--exact service_process`): it is configured by a TOML file with `[catalog]` and
//! reaches moto through `[aws]` and the standard credential chain (credentials from the child's
//! environment, as in production), serves HTTP on a 127.0.0.1 port and logs to a file. Tokens
//! are real moto access tokens; keys come from moto through the item's `jwks_url`.

#![cfg(feature = "dynamodb")]

mod moto;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};
use cognito_authz::catalog::{CatalogEntry, CatalogError, DynamoDbCatalog, ItemError};
use cognito_authz::{tenant::Issuer, tenant::TenantResolver};
use moto::{Moto, Pool};
use serde_json::Value;

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

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ensure_table_creates_an_on_demand_table_once() {
    let moto = moto();
    let raw = dynamodb(&moto);
    let catalog = DynamoDbCatalog::new(raw.clone(), unique("tenants"));
    assert!(
        raw.describe_table()
            .table_name(catalog.table())
            .send()
            .await
            .is_err(),
        "no table yet"
    );
    catalog.ensure_table().await.expect("creates");
    let table = raw
        .describe_table()
        .table_name(catalog.table())
        .send()
        .await
        .expect("DescribeTable")
        .table
        .expect("table");
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    assert_eq!(
        table.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let keys: Vec<_> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_owned(), k.key_type().clone()))
        .collect();
    assert_eq!(keys, [("user_pool_id".to_owned(), KeyType::Hash)]);

    let pool = pool_id();
    catalog.put(&entry("acme", &pool)).await.unwrap();
    catalog.ensure_table().await.expect("idempotent");
    assert_eq!(
        catalog.get_by_pool(&pool).await.unwrap(),
        Some(entry("acme", &pool)),
        "a second ensure_table keeps the items"
    );

    // A table that is not a catalog is refused, not used.
    let other = unique("not-a-catalog");
    raw.create_table()
        .table_name(&other)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");
    let err = DynamoDbCatalog::new(raw, &other)
        .ensure_table()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CatalogError::TableSchema { found, .. } if found == "id (HASH)"),
        "{err}"
    );
}

#[tokio::test]
async fn put_get_list_remove_round_trip() {
    let moto = moto();
    let catalog = fresh_catalog(&moto)
        .await
        .allowed_jwks_hosts(["127.0.0.1:9"]);
    let (pool_a, pool_b) = (pool_id(), pool_id());
    let acme = entry("acme", &pool_a);
    let globex = CatalogEntry {
        roles: [("admin".to_owned(), vec!["Administrators".to_owned()])].into(),
        jwks_url: Some("http://127.0.0.1:9/keys.json".into()),
        protected_attributes: Vec::new(),
        ..entry("globex", &pool_b)
    };
    catalog.put(&acme).await.unwrap();
    catalog.put(&globex).await.unwrap();

    assert_eq!(
        catalog.get_by_pool(&pool_a).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        catalog.get_by_tenant("globex").await.unwrap(),
        Some(globex.clone())
    );
    assert_eq!(catalog.get_by_pool(&pool_id()).await.unwrap(), None);
    assert_eq!(catalog.get_by_tenant("nobody").await.unwrap(), None);
    assert_eq!(
        catalog.list().await.unwrap(),
        [acme.clone(), globex.clone()]
    );
    assert_eq!(resolve(&catalog, &pool_b).await, Ok(Some("globex".into())));

    // The same tenant on the same pool: an update.
    let acme_v2 = CatalogEntry {
        client_ids: vec!["acme-client".into(), "acme-mobile".into()],
        ..acme.clone()
    };
    catalog.put(&acme_v2).await.unwrap();
    assert_eq!(catalog.get_by_pool(&pool_a).await.unwrap(), Some(acme_v2));

    assert!(catalog.remove("acme").await.unwrap());
    assert_eq!(catalog.get_by_pool(&pool_a).await.unwrap(), None);
    assert_eq!(catalog.get_by_tenant("acme").await.unwrap(), None);
    assert_eq!(resolve(&catalog, &pool_a).await, Ok(None));
    assert_eq!(catalog.list().await.unwrap(), [globex]);
    assert_eq!(
        raw_keys(&moto, catalog.table()).await,
        [
            "catalog#version".to_owned(),
            "tenant#globex".to_owned(),
            pool_b
        ],
        "both of acme's items are gone, globex's are untouched"
    );
    assert!(
        !catalog.remove("acme").await.unwrap(),
        "nothing left to remove"
    );
    // Its pool and id are free again, for anyone.
    catalog.put(&entry("acme", &pool_id())).await.unwrap();
    catalog.put(&entry("initech", &pool_a)).await.unwrap();
}

/// A catalog tenant can declare what a `[[tenant]]` can: machine clients with their roles and
/// replica regions; a running resolver honours them.
#[cfg(feature = "test-util")]
#[tokio::test]
async fn catalog_tenants_declare_machine_clients_and_replica_regions() {
    use cognito_authz::testing::LocalIssuer;
    use cognito_authz::{AuthError, CognitoAuth, principal::PrincipalKind};

    let moto = moto();
    let idp = LocalIssuer::start().await.unwrap();
    let catalog = fresh_catalog(&moto)
        .await
        .allowed_jwks_hosts([idp.addr().to_string()]);
    let pool = pool_id();
    let entry = CatalogEntry {
        jwks_url: Some(idp.jwks_url(&pool)),
        machine_client_ids: vec!["orders-sync".into()],
        client_roles: [("orders-sync".to_owned(), vec!["sync".to_owned()])].into(),
        replica_regions: vec!["eu-west-1".into()],
        replica_jwks_urls: [("eu-west-1".to_owned(), idp.jwks_url(&pool))].into(),
        ..entry("acme", &pool)
    };
    catalog.put(&entry).await.unwrap();
    assert_eq!(catalog.get_by_pool(&pool).await.unwrap(), Some(entry));

    let auth = CognitoAuth::builder().resolver(catalog).build().unwrap();
    let machine = idp.mint(&idp.machine_claims(&pool, "orders-sync", &["orders/read"]));
    let principal = auth.verify(&machine).await.unwrap();
    assert_eq!(principal.kind(), PrincipalKind::Machine);
    assert!(principal.has_role("sync"));

    let mut claims = idp.access_claims(&pool, "acme-client", "alice", &[]);
    claims["iss"] = format!("https://cognito-idp.eu-west-1.amazonaws.com/{pool}").into();
    assert_eq!(
        auth.verify(&idp.mint(&claims)).await.unwrap().username(),
        "alice"
    );
    claims["iss"] = format!("https://cognito-idp.ap-south-1.amazonaws.com/{pool}").into();
    assert_eq!(
        auth.verify(&idp.mint(&claims)).await.unwrap_err(),
        AuthError::UnknownIssuer
    );
}

#[tokio::test]
async fn list_reads_every_page() {
    let moto = moto();
    let catalog = fresh_catalog(&moto).await.scan_page_size(2);
    let mut expected = Vec::new();
    for i in 0..5 {
        let e = entry(&format!("tenant{i}"), &pool_id());
        catalog.put(&e).await.unwrap();
        expected.push(e);
    }
    // Ten items (five tenants, five guards) in pages of two.
    assert_eq!(catalog.list().await.unwrap(), expected);
}

#[tokio::test]
async fn conflicting_writes_are_refused_and_change_nothing() {
    let moto = moto();
    let catalog = fresh_catalog(&moto).await;
    let (pool_a, pool_b) = (pool_id(), pool_id());
    catalog.put(&entry("acme", &pool_a)).await.unwrap();
    let before = raw_keys(&moto, catalog.table()).await;

    // Another tenant claiming acme's pool.
    let err = catalog.put(&entry("intruder", &pool_a)).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::PoolTaken { user_pool_id, owner, .. }
            if *user_pool_id == pool_a && owner.as_deref() == Some("acme")),
        "{err}"
    );
    // acme's id on a second pool.
    let err = catalog.put(&entry("acme", &pool_b)).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::TenantIdTaken { tenant_id, owner, .. }
            if tenant_id == "acme" && owner.as_deref() == Some(pool_a.as_str())),
        "{err}"
    );
    // Invalid entries and configured tenants' ids are never written.
    let mut no_clients = entry("empty", &pool_b);
    no_clients.client_ids.clear();
    assert!(matches!(
        catalog.put(&no_clients).await,
        Err(CatalogError::InvalidEntry(_))
    ));
    let wrong_region = CatalogEntry {
        region: "eu-west-1".into(),
        ..entry("elsewhere", &pool_b)
    };
    assert!(matches!(
        catalog.put(&wrong_region).await,
        Err(CatalogError::InvalidEntry(_))
    ));
    let reserving = catalog.clone().reserved_tenant_ids(["configured"]);
    assert!(matches!(
        reserving.put(&entry("configured", &pool_b)).await,
        Err(CatalogError::InvalidEntry(_))
    ));
    assert_eq!(
        raw_keys(&moto, catalog.table()).await,
        before,
        "nothing written"
    );
    assert_eq!(
        catalog.get_by_pool(&pool_a).await.unwrap(),
        Some(entry("acme", &pool_a))
    );

    // A second tenant claiming a pool another tenant just took: refused, and its guard is not
    // left behind. Run one after the other: moto rolls a failed transaction back by restoring
    // the table as it was when that transaction started, which under concurrency also undoes
    // the other writer's committed transaction (real DynamoDB isolates them), so a concurrent
    // version of this test measures the emulator, not the crate.
    let pool_c = pool_id();
    let (winner, loser) = ("racer1", "racer2");
    catalog.put(&entry(winner, &pool_c)).await.unwrap();
    assert!(
        matches!(
            catalog.put(&entry(loser, &pool_c)).await,
            Err(CatalogError::PoolTaken { .. })
        ),
        "a pool another tenant holds is refused"
    );
    assert_eq!(
        resolve(&catalog, &pool_c).await,
        Ok(Some(winner.to_owned()))
    );
    assert_eq!(catalog.get_by_tenant(loser).await.unwrap(), None);
    assert!(
        !raw_keys(&moto, catalog.table())
            .await
            .contains(&format!("tenant#{loser}"))
    );
}

#[tokio::test]
async fn malformed_items_are_refused_and_resolve_as_unknown() {
    let moto = moto();
    let catalog = fresh_catalog(&moto).await;
    let table = catalog.table().to_owned();
    let valid = |pool: &str, tenant: &str| {
        vec![
            ("user_pool_id", s(pool)),
            ("tenant_id", s(tenant)),
            ("region", s("us-east-1")),
            ("client_ids", AttributeValue::L(vec![s("client")])),
        ]
    };
    let guard = |tenant: &str, pool: &str| {
        vec![
            ("user_pool_id", s(&format!("tenant#{tenant}"))),
            ("owner_pool_id", s(pool)),
        ]
    };
    // A hand-written item that is right, guard included, is accepted.
    let good = pool_id();
    raw_put(&moto, &table, &valid(&good, "handmade")).await;
    raw_put(&moto, &table, &guard("handmade", &good)).await;
    assert_eq!(resolve(&catalog, &good).await, Ok(Some("handmade".into())));

    let mut cases: Vec<(String, ItemError)> = Vec::new();
    // Missing client list.
    let pool = pool_id();
    let mut item = valid(&pool, "noclients");
    item.retain(|(k, _)| *k != "client_ids");
    raw_put(&moto, &table, &item).await;
    raw_put(&moto, &table, &guard("noclients", &pool)).await;
    cases.push((pool, ItemError::Missing("client_ids")));
    // Wrong type.
    let pool = pool_id();
    let mut item = valid(&pool, "numbered");
    item[1] = ("tenant_id", AttributeValue::N("42".into()));
    raw_put(&moto, &table, &item).await;
    cases.push((
        pool,
        ItemError::WrongType {
            attribute: "tenant_id".into(),
            expected: "S",
            found: "N",
        },
    ));
    // Empty client list.
    let pool = pool_id();
    let mut item = valid(&pool, "emptyclients");
    item[3] = ("client_ids", AttributeValue::L(Vec::new()));
    raw_put(&moto, &table, &item).await;
    raw_put(&moto, &table, &guard("emptyclients", &pool)).await;
    cases.push((
        pool,
        ItemError::Invalid {
            attribute: "client_ids".into(),
            message: "must list at least one app client id".into(),
        },
    ));
    // No guard item: nothing reserves its tenant id.
    let pool = pool_id();
    raw_put(&moto, &table, &valid(&pool, "unguarded")).await;
    cases.push((
        pool,
        ItemError::Unclaimed {
            tenant_id: "unguarded".into(),
            owner: None,
        },
    ));
    // The attack: a second pool written by hand under an existing tenant's id.
    let pool = pool_id();
    raw_put(&moto, &table, &valid(&pool, "handmade")).await;
    cases.push((
        pool,
        ItemError::Unclaimed {
            tenant_id: "handmade".into(),
            owner: Some(good.clone()),
        },
    ));

    for (pool, expected) in &cases {
        match catalog.get_by_pool(pool).await {
            Err(CatalogError::Malformed {
                user_pool_id,
                reason,
                table: t,
            }) => {
                assert_eq!((&user_pool_id, &t), (pool, &table));
                assert_eq!(&reason, expected);
            }
            other => panic!("{pool}: {other:?}"),
        }
        assert_eq!(
            resolve(&catalog, pool).await,
            Ok(None),
            "{pool}: unknown, not an error"
        );
    }
    assert_eq!(resolve(&catalog, &good).await, Ok(Some("handmade".into())));
    assert!(matches!(
        catalog.list().await,
        Err(CatalogError::Malformed { .. })
    ));
    // A configured tenant's id, through a catalog that knows the configuration.
    let reserving = catalog.clone().reserved_tenant_ids(["handmade"]);
    assert!(matches!(
        reserving.get_by_pool(&good).await,
        Err(CatalogError::Malformed {
            reason: ItemError::ConfiguredTenantId(_),
            ..
        })
    ));
    assert_eq!(resolve(&reserving, &good).await, Ok(None));

    // The store failing is an error (503 upstream), not "unknown".
    let missing = DynamoDbCatalog::new(dynamodb(&moto), unique("missing"));
    let err = resolve(&missing, &good).await.unwrap_err();
    assert!(err.contains("GetItem") && err.contains("missing"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// End to end: a service process configured with [catalog]
// ---------------------------------------------------------------------------------------------

/// A service process; killed when dropped.
struct Service {
    child: Child,
    base: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl Service {
    /// Starts this test binary's `service_process` with `config`.
    fn start(config: &str) -> Service {
        let dir = std::env::temp_dir().join(unique(&format!("catalog-e2e-{}", std::process::id())));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config_path = dir.join("service.toml");
        std::fs::write(&config_path, config).expect("write config");
        let log = dir.join("service.log");
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "service_process", "--ignored", "--nocapture"])
            .env("CATALOG_SERVICE_CONFIG", &config_path)
            // What a deployment would give it; moto accepts any.
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_PROFILE")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn the service");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the service did not start; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Service {
            child,
            base: format!("http://{addr}"),
            log,
            http: reqwest::Client::new(),
        }
    }

    /// `GET path` with a bearer token: status, `WWW-Authenticate`, body.
    async fn get(&self, path: &str, token: &str) -> (u16, String, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
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
        let retry_after = response.headers().contains_key("retry-after");
        let body = response.text().await.expect("body");
        let mut json: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        if retry_after {
            json["retry_after"] = Value::Bool(true);
        }
        (status, challenge, json)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log once it has a line with every one of `parts` (the index is re-read in the
    /// background), or after 5 s.
    async fn log_with(&self, parts: &[&str]) -> String {
        let started = std::time::Instant::now();
        loop {
            let log = self.log();
            if log.lines().any(|l| parts.iter().all(|p| l.contains(p)))
                || started.elapsed() > Duration::from_secs(5)
            {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service configuration: `tenants` (TOML), the catalog `table` on `moto`, checked every
/// `refresh_seconds` (absent: the default), items allowed to name keys on moto and `more_hosts`.
fn config(
    moto: &Moto,
    table: &str,
    tenants: &str,
    refresh_seconds: Option<u64>,
    more_hosts: &[String],
) -> String {
    let refresh = refresh_seconds.map_or(String::new(), |s| format!("refresh_seconds = {s}\n"));
    let hosts: Vec<String> = std::iter::once(moto_host(moto))
        .chain(more_hosts.iter().cloned())
        .map(|h| format!("{h:?}"))
        .collect();
    format!(
        "{tenants}\n[catalog]\ndynamodb_table = \"{table}\"\n{refresh}allowed_jwks_hosts = [{}]\n\n\
         [aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n",
        hosts.join(", "),
        moto.endpoint()
    )
}

/// `GET path` with `token` until the answer's status is `want`, for at most `limit`; returns
/// the last answer and how long it took.
async fn until_status(
    service: &Service,
    path: &str,
    token: &str,
    want: u16,
    limit: Duration,
) -> ((u16, String, Value), Duration) {
    let started = std::time::Instant::now();
    loop {
        let answer = service.get(path, token).await;
        if answer.0 == want || started.elapsed() > limit {
            return (answer, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const UNKNOWN_ISSUER: &str =
    "Bearer error=\"invalid_token\", error_description=\"token issuer is not a known tenant\"";

#[tokio::test]
async fn a_tenant_put_in_the_catalog_is_accepted_without_a_restart() {
    let moto = moto();
    let catalog = fresh_catalog(&moto).await;
    let tenant = unique("newco");
    let pool = cognito_pool(&moto, &tenant).await;
    let boss = access_token(&moto, &pool, "boss").await;
    let worker = access_token(&moto, &pool, "worker").await;
    // No [[tenant]] at all: every tenant comes from the catalog.
    let service = Service::start(&config(&moto, catalog.table(), "", Some(1), &[]));

    let (status, challenge, _) = service.get("/me", &boss).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, UNKNOWN_ISSUER),
        "not yet in the catalog"
    );

    catalog
        .put(&pool_entry(&moto, &tenant, &pool))
        .await
        .unwrap();
    // Seen at the next check of the version item, a second later at most.
    let ((status, _, me), waited) =
        until_status(&service, "/me", &boss, 200, Duration::from_secs(5)).await;
    assert_eq!(status, 200, "{me}");
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
    assert_eq!(me["tenant"], tenant.as_str());
    assert_eq!(me["username"], "boss");
    assert_eq!(me["roles"], serde_json::json!(["admin"]));
    let (status, _, _) = service
        .get(&format!("/tenants/{tenant}/admin"), &boss)
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = service.get("/tenants/someone-else/admin", &boss).await;
    assert_eq!(status, 403);
    let (status, _, _) = service
        .get(&format!("/tenants/{tenant}/admin"), &worker)
        .await;
    assert_eq!(status, 403, "worker is not mapped to admin");

    // The admin routes find the catalog tenant by id and act on its pool only.
    #[cfg(feature = "admin")]
    {
        let (status, _, page) = service.get("/admin/users", &boss).await;
        assert_eq!(status, 200, "{page}");
        let mut users: Vec<&str> = page["users"]
            .as_array()
            .expect("users")
            .iter()
            .filter_map(|u| u["username"].as_str())
            .collect();
        users.sort();
        assert_eq!(users, ["boss", "worker"]);
        let (status, _, _) = service.get("/admin/users", &worker).await;
        assert_eq!(status, 403);
    }
}

#[tokio::test]
async fn a_tenant_put_before_its_first_request_is_accepted_with_default_caching() {
    let moto = moto();
    let catalog = fresh_catalog(&moto).await;
    let tenant = unique("early");
    let pool = cognito_pool(&moto, &tenant).await;
    let service = Service::start(&config(&moto, catalog.table(), "", None, &[]));
    catalog
        .put(&pool_entry(&moto, &tenant, &pool))
        .await
        .unwrap();
    let (status, _, me) = service
        .get("/me", &access_token(&moto, &pool, "worker").await)
        .await;
    assert_eq!(
        (status, me["tenant"].as_str()),
        (200, Some(tenant.as_str())),
        "{me}"
    );
}

#[tokio::test]
async fn a_malformed_item_gets_401_and_a_logged_reason() {
    let moto = moto();
    let catalog = fresh_catalog(&moto).await;
    let table = catalog.table().to_owned();
    let configured = cognito_pool(&moto, &unique("configured")).await;
    let broken = cognito_pool(&moto, &unique("broken")).await;
    let impostor = cognito_pool(&moto, &unique("impostor")).await;
    let tenants = format!(
        "[[tenant]]\nid = \"configured\"\nuser_pool_id = \"{}\"\nclient_ids = [\"{}\"]\njwks_url = \"{}\"\n",
        configured.id,
        configured.client_id,
        moto.jwks_url(&configured.id)
    );
    let service = Service::start(&config(&moto, &table, &tenants, Some(1), &[]));

    // An item whose client list is empty: no half-configured tenant accepting any client.
    let mut item: HashMap<&str, AttributeValue> = [
        ("user_pool_id", s(&broken.id)),
        ("tenant_id", s("broken")),
        ("region", s("us-east-1")),
        ("client_ids", AttributeValue::L(Vec::new())),
        ("jwks_url", s(&moto.jwks_url(&broken.id))),
    ]
    .into();
    raw_put(&moto, &table, &item.clone().into_iter().collect::<Vec<_>>()).await;
    raw_put(
        &moto,
        &table,
        &[
            ("user_pool_id", s("tenant#broken")),
            ("owner_pool_id", s(&broken.id)),
        ],
    )
    .await;
    let token = access_token(&moto, &broken, "boss").await;
    let (status, challenge, _) = service.get("/me", &token).await;
    assert_eq!((status, challenge.as_str()), (401, UNKNOWN_ISSUER));
    let log = service.log();
    let refusal = log
        .lines()
        .find(|l| l.contains("catalog item refused") && l.contains(&broken.id))
        .unwrap_or_else(|| panic!("no refusal logged:\n{log}"));
    assert!(refusal.contains("WARN"), "{refusal}");
    assert!(refusal.contains(&table), "{refusal}");
    assert!(
        refusal.contains("client_ids") && refusal.contains("at least one app client id"),
        "{refusal}"
    );
    assert!(!log.contains(&token), "the token is never logged");

    // A catalog item taking the configured tenant's id, with its guard: refused too.
    raw_put(
        &moto,
        &table,
        &[
            ("user_pool_id", s(&impostor.id)),
            ("tenant_id", s("configured")),
            ("region", s("us-east-1")),
            (
                "client_ids",
                AttributeValue::L(vec![s(&impostor.client_id)]),
            ),
            ("jwks_url", s(&moto.jwks_url(&impostor.id))),
        ],
    )
    .await;
    raw_put(
        &moto,
        &table,
        &[
            ("user_pool_id", s("tenant#configured")),
            ("owner_pool_id", s(&impostor.id)),
        ],
    )
    .await;
    // Written by hand: services learn of it from the version item.
    catalog.bump_version().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, challenge, _) = service
        .get(
            "/tenants/configured/admin",
            &access_token(&moto, &impostor, "boss").await,
        )
        .await;
    assert_eq!((status, challenge.as_str()), (401, UNKNOWN_ISSUER));
    let log = service
        .log_with(&[
            &impostor.id,
            "belongs to a tenant of the configuration file",
        ])
        .await;
    assert!(
        log.lines().any(|l| l.contains(&impostor.id)
            && l.contains("belongs to a tenant of the configuration file")),
        "{log}"
    );
    // The configured tenant itself is unaffected.
    let (status, _, me) = service
        .get("/me", &access_token(&moto, &configured, "worker").await)
        .await;
    assert_eq!((status, me["tenant"].as_str()), (200, Some("configured")));

    // Fixed, the item is picked up at the next check of the version item: no restart.
    item.insert("client_ids", AttributeValue::L(vec![s(&broken.client_id)]));
    raw_put(&moto, &table, &item.into_iter().collect::<Vec<_>>()).await;
    catalog.bump_version().await.unwrap();
    let ((status, _, me), _) =
        until_status(&service, "/me", &token, 200, Duration::from_secs(5)).await;
    assert_eq!(
        (status, me["tenant"].as_str()),
        (200, Some("broken")),
        "{me}"
    );
}

#[tokio::test]
async fn a_store_failure_is_503_and_not_cached() {
    let cognito = moto();
    // The catalog's own DynamoDB, to be stopped.
    let store = Moto::start();
    let catalog = DynamoDbCatalog::new(dynamodb(&store), unique("tenants"))
        .allowed_jwks_hosts([moto_host(&cognito)]);
    let pool = cognito_pool(&cognito, &unique("patient")).await;
    let token = access_token(&cognito, &pool, "worker").await;
    // The default negative TTL (60 s): were the failure cached as "unknown", the retry below
    // would be 401.
    let service = Service::start(&config(
        &store,
        catalog.table(),
        "",
        Some(1),
        &[moto_host(&cognito)],
    ));

    let (status, challenge, body) = service.get("/me", &token).await;
    assert_eq!(status, 503, "the table does not exist yet: {body}");
    assert!(challenge.is_empty(), "a 503 is no credentials challenge");
    assert_eq!(body["retry_after"], true);
    assert!(
        service.log().contains("tenant resolver failed"),
        "{}",
        service.log()
    );

    catalog.ensure_table().await.unwrap();
    catalog
        .put(&pool_entry(&cognito, "patient", &pool))
        .await
        .unwrap();
    // Without an index, the load is tried again a refresh interval (here 1 s) later; between
    // the two, 503 at once.
    let ((status, _, me), _) =
        until_status(&service, "/me", &token, 200, Duration::from_secs(5)).await;
    assert_eq!(
        (status, me["tenant"].as_str()),
        (200, Some("patient")),
        "{me}"
    );

    // The store goes away. The last good index is kept: a pool that is not in it is unknown
    // (401, no request needed), and the tenant found before stays cached and served.
    let other = cognito_pool(&cognito, &unique("later")).await;
    let other_token = access_token(&cognito, &other, "worker").await;
    drop(store);
    tokio::time::sleep(Duration::from_millis(1100)).await; // the next check is due, and fails
    let (status, challenge, _) = service.get("/me", &other_token).await;
    assert_eq!((status, challenge.as_str()), (401, UNKNOWN_ISSUER));
    let (status, _, _) = service.get("/me", &token).await;
    assert_eq!(status, 200);
    let log = service
        .log_with(&["catalog index refresh failed; keeping the last good index"])
        .await;
    assert!(
        log.contains("catalog index refresh failed; keeping the last good index"),
        "{log}"
    );
}

/// Writes a tenant item and its guard by hand (bypassing `put`'s rules, as an attacker with
/// write access to the table would) and tells services through the version item.
async fn raw_tenant(
    moto: &Moto,
    catalog: &DynamoDbCatalog,
    item: &[(&str, AttributeValue)],
    tenant_id: &str,
    pool: &str,
) {
    raw_put(moto, catalog.table(), item).await;
    raw_put(
        moto,
        catalog.table(),
        &[
            ("user_pool_id", s(&format!("tenant#{tenant_id}"))),
            ("owner_pool_id", s(pool)),
        ],
    )
    .await;
    catalog.bump_version().await.unwrap();
}

/// The line of the service's log that refuses `pool`'s item, with its table and reason.
async fn refusal_of(service: &Service, table: &str, pool: &str) -> String {
    let log = service.log_with(&["catalog item refused", pool]).await;
    log.lines()
        .find(|l| l.contains("catalog item refused") && l.contains(pool))
        .map(|l| {
            assert!(l.contains("WARN") && l.contains(table), "{l}");
            l.to_owned()
        })
        .unwrap_or_else(|| panic!("no refusal of {pool} logged:\n{log}"))
}

/// An item may name Cognito's key URLs for its own pool only; a key server of the writer's
/// choosing is refused unless the service allows its host. Before, the attacker's own keys
/// signed tokens the service accepted.
#[cfg(feature = "test-util")]
#[tokio::test]
async fn an_item_naming_keys_on_a_host_not_allowed_is_refused() {
    use cognito_authz::testing::LocalIssuer;

    let moto = moto();
    let catalog = fresh_catalog(&moto).await;
    let table = catalog.table().to_owned();
    // The attacker's key server, on a host the service does not allow.
    let attacker = LocalIssuer::start().await.unwrap();
    // `127.0.0.1:9` is allowed but nothing listens there: a primary whose fetch fails, so
    // that keys come from the replica URL.
    let service = Service::start(&config(
        &moto,
        &table,
        "",
        Some(1),
        &["127.0.0.1:9".to_owned()],
    ));
    let primary = pool_id();
    let replica = pool_id();
    let tenant_item = |pool: &str, tenant: &str| {
        vec![
            ("user_pool_id", s(pool)),
            ("tenant_id", s(tenant)),
            ("region", s("us-east-1")),
            (
                "client_ids",
                AttributeValue::L(vec![s(&format!("{tenant}-client"))]),
            ),
        ]
    };
    let mut item = tenant_item(&primary, "keyless");
    item.push(("jwks_url", s(&attacker.jwks_url(&primary))));
    raw_tenant(&moto, &catalog, &item, "keyless", &primary).await;
    let mut item = tenant_item(&replica, "replicated");
    item.extend([
        ("jwks_url", s("http://127.0.0.1:9/keys.json")),
        ("replica_regions", AttributeValue::L(vec![s("eu-west-1")])),
        (
            "replica_jwks_urls",
            AttributeValue::M([("eu-west-1".to_owned(), s(&attacker.jwks_url(&replica)))].into()),
        ),
    ]);
    raw_tenant(&moto, &catalog, &item, "replicated", &replica).await;

    let forged = attacker.mint(&attacker.access_claims(&primary, "keyless-client", "mallory", &[]));
    let (status, challenge, _) = service.get("/me", &forged).await;
    assert_eq!((status, challenge.as_str()), (401, UNKNOWN_ISSUER));
    let mut claims = attacker.access_claims(&replica, "replicated-client", "mallory", &[]);
    claims["iss"] = format!("https://cognito-idp.eu-west-1.amazonaws.com/{replica}").into();
    let (status, challenge, _) = service.get("/me", &attacker.mint(&claims)).await;
    assert_eq!((status, challenge.as_str()), (401, UNKNOWN_ISSUER));
    assert_eq!(
        attacker.fetch_count(),
        0,
        "the service never asked the attacker's server"
    );
    let refusal = refusal_of(&service, &table, &primary).await;
    assert!(
        refusal.contains("`jwks_url`") && refusal.contains("allowed_jwks_hosts"),
        "{refusal}"
    );
    let refusal = refusal_of(&service, &table, &replica).await;
    assert!(
        refusal.contains("`replica_jwks_urls.eu-west-1`") && refusal.contains("allowed_jwks_hosts"),
        "{refusal}"
    );

    // `put` refuses to write such an item, and writes nothing.
    let before = raw_keys(&moto, &table).await;
    let fresh = pool_id();
    let err = catalog
        .put(&CatalogEntry {
            jwks_url: Some(attacker.jwks_url(&fresh)),
            ..entry("keyless2", &fresh)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CatalogError::InvalidEntry(e) if e.to_string().contains("item.jwks_url")),
        "{err}"
    );
    assert_eq!(raw_keys(&moto, &table).await, before);
}

/// An item keyed by a configured tenant's pool could claim that pool's replica-region issuers
/// under a tenant id of its own; it is refused like a malformed item, and the configured
/// tenant is unaffected.
#[cfg(feature = "test-util")]
#[tokio::test]
async fn an_item_on_a_configured_pool_cannot_claim_its_replica_issuers() {
    use cognito_authz::testing::LocalIssuer;

    let moto = moto();
    let idp = LocalIssuer::start().await.unwrap();
    let catalog = fresh_catalog(&moto)
        .await
        .allowed_jwks_hosts([idp.addr().to_string()]);
    let table = catalog.table().to_owned();
    let pool = pool_id();
    let tenants = format!(
        "[[tenant]]\nid = \"acme\"\nuser_pool_id = \"{pool}\"\nclient_ids = [\"acme-client\"]\njwks_url = \"{}\"\n",
        idp.jwks_url(&pool)
    );
    // The key host allowed too: only the pool rule stands between the item and the tokens.
    let service = Service::start(&config(
        &moto,
        &table,
        &tenants,
        Some(1),
        &[idp.addr().to_string()],
    ));
    raw_tenant(
        &moto,
        &catalog,
        &[
            ("user_pool_id", s(&pool)),
            ("tenant_id", s("squatter")),
            ("region", s("us-east-1")),
            ("client_ids", AttributeValue::L(vec![s("acme-client")])),
            ("jwks_url", s(&idp.jwks_url(&pool))),
            ("replica_regions", AttributeValue::L(vec![s("eu-west-1")])),
        ],
        "squatter",
        &pool,
    )
    .await;

    let mut claims = idp.access_claims(&pool, "acme-client", "alice", &[]);
    claims["iss"] = format!("https://cognito-idp.eu-west-1.amazonaws.com/{pool}").into();
    let (status, challenge, body) = service.get("/me", &idp.mint(&claims)).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, UNKNOWN_ISSUER),
        "{body}"
    );
    let refusal = refusal_of(&service, &table, &pool).await;
    assert!(
        refusal.contains("belongs to a tenant of the configuration file"),
        "{refusal}"
    );
    // The configured tenant keeps its own issuer.
    let own = idp.mint(&idp.access_claims(&pool, "acme-client", "alice", &[]));
    let (status, _, me) = service.get("/me", &own).await;
    assert_eq!((status, me["tenant"].as_str()), (200, Some("acme")), "{me}");

    // A catalog that knows the configured pools refuses to write such an item.
    let before = raw_keys(&moto, &table).await;
    let reserving = catalog.clone().reserved_user_pool_ids([pool.clone()]);
    let err = reserving.put(&entry("squatter2", &pool)).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::InvalidEntry(e) if e.to_string().contains("item.user_pool_id")),
        "{err}"
    );
    assert_eq!(raw_keys(&moto, &table).await, before);
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
