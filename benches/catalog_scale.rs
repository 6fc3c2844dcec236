//! What a large tenant catalog costs one replica: the heap its issuer index holds (measured with
//! a counting global allocator), the DynamoDB requests it sends (counted by an SDK interceptor
//! on the service's client), and the read capacity they consume (from the items' sizes, by
//! DynamoDB's rules), for `CATALOG_TENANTS` tenants (default 100,000) in moto's DynamoDB.
//!
//! `MOTO_SERVER=.venv/bin/moto_server cargo bench --features dynamodb --bench catalog_scale`
//!
//! Prints, does not assert: benches measure, tests check behaviour.

#[path = "../tests/moto/mod.rs"]
mod moto;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use cognito_authz::catalog::{CatalogEntry, DEFAULT_REFRESH_INTERVAL, DynamoDbCatalog};
use cognito_authz::{AuthError, CognitoAuth, tenant::TenantResolver};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live =
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grown = new_size as isize - layout.size() as isize;
        let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Counts the requests the service's DynamoDB client transmits, by operation.
#[derive(Debug, Default, Clone)]
struct RequestCounter(
    Arc<std::sync::Mutex<HashMap<String, usize>>>,
    Arc<AtomicUsize>,
);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .trim_start_matches("DynamoDB_20120810.")
            .to_owned();
        *self.0.lock().unwrap().entry(target).or_default() += 1;
        self.1.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl RequestCounter {
    fn total(&self) -> usize {
        self.1.load(Ordering::Relaxed)
    }

    fn by_operation(&self) -> HashMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
}

/// An item's size by DynamoDB's rules: attribute names plus values (strings: their bytes;
/// numbers: about one byte per two digits plus one; lists and maps: 3 bytes plus one per
/// element plus the elements; map keys count like names).
fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Tenant `i`: one web client, an admin role of two groups, two protected attributes; every
/// tenth with a replica region. Production items: no JWKS URL override.
fn tenant_items(i: usize) -> [HashMap<String, AttributeValue>; 2] {
    let pool = format!("us-east-1_Bench{i:07}");
    let tenant = format!("tenant-{i:07}");
    let mut item = HashMap::from([
        ("user_pool_id".to_owned(), s(&pool)),
        ("tenant_id".to_owned(), s(&tenant)),
        ("region".to_owned(), s("us-east-1")),
        (
            "client_ids".to_owned(),
            AttributeValue::L(vec![s(format!("{i:026}"))]),
        ),
        (
            "roles".to_owned(),
            AttributeValue::M(HashMap::from([(
                "admin".to_owned(),
                AttributeValue::L(vec![s("admin"), s("Administrators")]),
            )])),
        ),
        (
            "protected_attributes".to_owned(),
            AttributeValue::L(vec![s("custom:mfa_required"), s("custom:plan")]),
        ),
    ]);
    if i.is_multiple_of(10) {
        item.insert(
            "replica_regions".to_owned(),
            AttributeValue::L(vec![s("eu-west-1")]),
        );
    }
    let guard = HashMap::from([
        ("user_pool_id".to_owned(), s(format!("tenant#{tenant}"))),
        ("owner_pool_id".to_owned(), s(&pool)),
    ]);
    [item, guard]
}

fn main() {
    let tenants: usize = std::env::var("CATALOG_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = moto::Moto::start();
    let writer = moto.dynamodb();
    let table = "tenants";

    // The table, written in batches of 25 (not through the service's client).
    let started = Instant::now();
    let (item_bytes, items) = runtime.block_on(async {
        DynamoDbCatalog::new(writer.clone(), table)
            .ensure_table()
            .await
            .unwrap();
        let mut bytes = 0usize;
        let mut items = 0usize;
        let all: Vec<_> = (0..tenants).flat_map(tenant_items).collect();
        for item in &all {
            bytes += item_size(item);
            items += 1;
        }
        let batches: Vec<Vec<WriteRequest>> = all
            .chunks(25)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|item| {
                        WriteRequest::builder()
                            .put_request(
                                PutRequest::builder()
                                    .set_item(Some(item.clone()))
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                    })
                    .collect()
            })
            .collect();
        for group in batches.chunks(8) {
            let writes = group.iter().map(|batch| {
                writer
                    .batch_write_item()
                    .request_items(table, batch.clone())
                    .send()
            });
            for written in futures_util::future::join_all(writes).await {
                let out = written.unwrap();
                assert!(
                    out.unprocessed_items().is_none_or(|u| u.is_empty()),
                    "moto left items unprocessed"
                );
            }
        }
        DynamoDbCatalog::new(writer.clone(), table)
            .bump_version()
            .await
            .unwrap();
        (bytes, items)
    });
    eprintln!(
        "wrote {tenants} tenants ({items} items, {:.1} MiB by DynamoDB's size rules) in {:.1?}",
        mib(item_bytes as isize),
        started.elapsed()
    );

    // The service's client, counted.
    let counter = RequestCounter::default();
    let config = moto
        .dynamodb()
        .config()
        .to_builder()
        .interceptor(counter.clone())
        .build();
    // Checked every second here, to measure one check; the default is every 30 s.
    let catalog = DynamoDbCatalog::new(aws_sdk_dynamodb::Client::from_conf(config), table)
        .refresh_interval(Duration::from_secs(1));
    let probe = catalog.clone();
    let auth = CognitoAuth::builder().resolver(catalog).build().unwrap();
    let unknown = unknown_token();

    runtime.block_on(async {
        // The client's own first-use allocations (connector, credentials) are not the index's.
        probe.table_exists().await.unwrap();
        let warm = counter.total();
        let baseline = LIVE.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        let started = Instant::now();
        assert_eq!(
            auth.verify(&unknown).await.unwrap_err(),
            AuthError::UnknownIssuer
        );
        let load_time = started.elapsed();
        let retained = LIVE.load(Ordering::Relaxed) - baseline;
        let peak = PEAK.load(Ordering::Relaxed) - baseline;
        let load_requests = counter.total() - warm;
        let mut ops = counter.by_operation();
        ops.remove("DescribeTable");

        // Refused from the index.
        let before = counter.total();
        let started = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(
                auth.verify(&unknown).await.unwrap_err(),
                AuthError::UnknownIssuer
            );
        }
        let lookups = started.elapsed();
        let per_lookup = lookups / 10_000;

        let refused_requests = counter.total() - before;

        // One check with nothing changed.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = counter.by_operation();
        auth.verify(&unknown).await.unwrap_err();
        let check = diff(&counter.by_operation(), &before);

        // One check after a change (a tenant added by `put`, as `tenant create --catalog`
        // does): the version item, then the table again, in the background; timed until the
        // new tenant's issuer is in the index.
        DynamoDbCatalog::new(writer.clone(), table)
            .put(&CatalogEntry {
                client_ids: vec!["newcomer-client".into()],
                ..CatalogEntry::new("newcomer", "us-east-1_Newcomer1")
            })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = counter.by_operation();
        let started = Instant::now();
        let newcomer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Newcomer1";
        while !probe.may_resolve(newcomer).await.unwrap() {
            assert!(started.elapsed() < Duration::from_secs(1800), "never indexed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let reload_time = started.elapsed();
        let reload = diff(&counter.by_operation(), &before);
        let reload_scans = reload.get("Scan").copied().unwrap_or(0);

        // A consistent read: 1 RCU per 4 KB, summed over a Scan page (1 MB pages).
        let scan_rcu = item_bytes.div_ceil(4096);
        let polls_per_hour = 3600 / DEFAULT_REFRESH_INTERVAL.as_secs() as usize;
        println!("catalog index, {tenants} tenants ({items} items, {:.1} MiB):", mib(item_bytes as isize));
        println!(
            "  load: {load_requests} requests ({ops:?}), {:.1?} against moto",
            load_time
        );
        println!(
            "  heap: {:.2} MiB retained by the index ({:.1} bytes per tenant), {:.1} MiB peak while loading",
            mib(retained),
            retained as f64 / tenants as f64,
            mib(peak)
        );
        println!(
            "  unknown issuer refused from the index: {per_lookup:?} per token, {refused_requests} requests for 10,000 tokens"
        );
        println!("  a check, nothing changed: {check:?}");
        println!(
            "  a check after a change: {reload:?}, the new tenant indexed {reload_time:.1?} after the check began (against moto), about {scan_rcu} RCU"
        );
        println!(
            "  per hour at refresh_seconds = {}: idle {polls_per_hour} GetItem ({polls_per_hour} RCU); \
             each change adds one re-read ({reload_scans} Scan requests, about {scan_rcu} RCU); \
             worst case, a change every interval: about {} RCU",
            DEFAULT_REFRESH_INTERVAL.as_secs(),
            polls_per_hour * (1 + scan_rcu)
        );
    });
    drop(auth);
    std::thread::sleep(Duration::from_millis(10));
}

fn diff(after: &HashMap<String, usize>, before: &HashMap<String, usize>) -> HashMap<String, usize> {
    after
        .iter()
        .filter_map(|(op, n)| {
            let d = n - before.get(op).copied().unwrap_or(0);
            (d > 0).then(|| (op.clone(), d))
        })
        .collect()
}

/// An access token whose issuer is a well-formed pool the catalog does not have.
fn unknown_token() -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"alg": "RS256", "kid": "k"});
    let claims = serde_json::json!({
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_NotThere1",
        "token_use": "access", "client_id": "c", "username": "u", "sub": "s",
        "exp": now + 3600, "iat": now,
    });
    format!(
        "{}.{}.{}",
        b64(&header),
        b64(&claims),
        b64(&serde_json::json!("sig"))
    )
}
