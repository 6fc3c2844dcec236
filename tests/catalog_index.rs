//! The catalog's in-memory issuer index, counted at the wire: a recording HTTP proxy on
//! 127.0.0.1 stands between the service's DynamoDB client and moto, and records every request
//! the SDK really sends (operation and body). The service is built from a configuration file's
//! text (`[catalog]`, `[aws] endpoint_url` = the proxy), as in production; keys come from a
//! local issuer on 127.0.0.1, allowed by `[catalog] allowed_jwks_hosts`.

#![cfg(all(feature = "dynamodb", feature = "test-util"))]

mod moto;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::catalog::{CatalogEntry, DynamoDbCatalog};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthConfig, AuthError, CognitoAuth};
use moto::Moto;
use rand::Rng;

/// Every DynamoDB request that went through the proxy: `X-Amz-Target` and body.
#[derive(Default)]
struct Recorder {
    requests: Mutex<Vec<(String, String)>>,
}

impl Recorder {
    fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The operations (`GetItem`, `Scan`) from request `from` on.
    fn operations_since(&self, from: usize) -> Vec<String> {
        self.requests()[from..]
            .iter()
            .map(|(target, _)| target.trim_start_matches("DynamoDB_20120810.").to_owned())
            .collect()
    }
}

/// A forwarding proxy to `upstream` on a free 127.0.0.1 port; returns its endpoint.
async fn recording_proxy(upstream: String) -> (String, Arc<Recorder>) {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::Response;

    let recorder = Arc::new(Recorder::default());
    let http = reqwest::Client::new();
    let seen = recorder.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let (http, seen, upstream) = (http.clone(), seen.clone(), upstream.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 16 << 20).await.expect("body");
            let target = parts
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            seen.requests
                .lock()
                .unwrap()
                .push((target, String::from_utf8_lossy(&body).into_owned()));
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut forwarded = http.request(parts.method, format!("{upstream}{path}"));
            for (name, value) in &parts.headers {
                if name != "host" && name != "content-length" {
                    forwarded = forwarded.header(name, value);
                }
            }
            let answer = forwarded.body(body).send().await.expect("moto answers");
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            response
                .body(Body::from(answer.bytes().await.expect("moto body")))
                .expect("response")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("proxy") });
    (endpoint, recorder)
}

/// The service's authenticator, from a configuration file's text: the catalog `table` behind
/// `proxy`, `catalog_keys` added to `[catalog]`, keys allowed from `idp`.
fn service(proxy: &str, table: &str, idp: &LocalIssuer, catalog_keys: &str) -> CognitoAuth {
    let text = format!(
        "[catalog]\ndynamodb_table = \"{table}\"\nallowed_jwks_hosts = [\"{}\"]\n{catalog_keys}\n\
         [aws]\nendpoint_url = \"{proxy}\"\nregion = \"us-east-1\"\n",
        idp.addr()
    );
    AuthConfig::from_toml(&text)
        .expect("config")
        .into_builder()
        .expect("builder")
        .build()
        .expect("auth")
}

/// The writer's catalog (the `cognito-authz` tool's `put`), straight to moto.
async fn writer(moto: &Moto, table: &str, idp: &LocalIssuer) -> DynamoDbCatalog {
    let catalog =
        DynamoDbCatalog::new(moto.dynamodb(), table).allowed_jwks_hosts([idp.addr().to_string()]);
    catalog.ensure_table().await.expect("ensure_table");
    catalog
}

fn entry(idp: &LocalIssuer, tenant: &str, pool: &str) -> CatalogEntry {
    CatalogEntry {
        client_ids: vec![format!("{tenant}-client")],
        jwks_url: Some(idp.jwks_url(pool)),
        ..CatalogEntry::new(tenant, pool)
    }
}

fn token(idp: &LocalIssuer, tenant: &str, pool: &str) -> String {
    idp.mint(&idp.access_claims(pool, &format!("{tenant}-client"), "alice", &[]))
}

/// `template` with its payload's `iss` replaced and its signature kept: what an attacker
/// sends costs them nothing to make.
fn forged(template: &str, iss: &str) -> String {
    let mut parts = template.split('.');
    let (header, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["iss"] = iss.into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{header}.{payload}.{signature}")
}

/// A well-formed random issuer: a random pool in a random region (either issuer form), or a
/// random region of the known pool `known` (the original form accepts any region).
fn random_issuer(rng: &mut impl Rng, known: &str, i: usize) -> String {
    let word = |rng: &mut dyn rand::RngCore, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect()
    };
    let region = format!(
        "{}-{}-{}",
        word(rng, 2),
        word(rng, 5),
        rng.random_range(1..10)
    );
    let pool: String = format!(
        "{region}_{}",
        (0..9)
            .map(|_| {
                let c = rng.random_range(0..36u8);
                char::from(if c < 10 { b'0' + c } else { b'A' + c - 10 })
            })
            .collect::<String>()
    );
    match i % 3 {
        0 => format!("https://cognito-idp.{region}.amazonaws.com/{pool}"),
        1 => format!("https://issuer-cognito-idp.{region}.amazonaws.com/{pool}"),
        _ => format!("https://cognito-idp.{region}.amazonaws.com/{known}"),
    }
}

/// The scenarios run one after the other in this binary's one test: the service reaches
/// DynamoDB through the standard credential chain, which reads the environment set here.
#[tokio::test]
async fn the_catalog_index() {
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
    ten_thousand_unknown_issuers_cost_at_most_ten_catalog_requests().await;
    a_tenant_put_while_running_is_accepted_within_refresh_seconds().await;
    resolver_ttl_seconds_from_the_file_bounds_how_long_a_removed_tenant_is_served().await;
    lookups_over_the_budget_get_503_and_read_nothing().await;
}

async fn ten_thousand_unknown_issuers_cost_at_most_ten_catalog_requests() {
    let moto = Moto::start();
    let idp = LocalIssuer::start().await.unwrap();
    let (proxy, recorder) = recording_proxy(moto.endpoint()).await;
    let pool = "us-east-1_Known1";
    writer(&moto, "tenants", &idp)
        .await
        .put(&entry(&idp, "acme", pool))
        .await
        .unwrap();
    let auth = service(&proxy, "tenants", &idp, "");
    let known = token(&idp, "acme", pool);
    let mut rng = rand::rng();
    let tokens: Vec<String> = (0..10_000)
        .map(|i| forged(&known, &random_issuer(&mut rng, pool, i)))
        .collect();

    // A burst before the index exists: one load serves them all.
    let burst = futures_util::future::join_all(tokens[..1000].iter().map(|t| auth.verify(t))).await;
    for outcome in burst {
        assert_eq!(outcome.unwrap_err(), AuthError::UnknownIssuer);
    }
    let operations = recorder.operations_since(0);
    assert!(
        operations == ["GetItem", "Scan"],
        "expected the version item, then the table; got {} requests: {:?}...",
        operations.len(),
        &operations[..operations.len().min(12)]
    );
    // The real tenant is looked up by its pool: the proxy sees real requests.
    assert_eq!(auth.verify(&known).await.unwrap().tenant(), "acme");
    assert_eq!(recorder.operations_since(2), ["GetItem", "GetItem"]);
    for t in &tokens[1000..] {
        assert_eq!(auth.verify(t).await.unwrap_err(), AuthError::UnknownIssuer);
    }
    assert_eq!(auth.verify(&known).await.unwrap().tenant(), "acme");
    let requests = recorder.requests();
    assert!(
        requests.len() <= 10,
        "{} catalog requests for 10,000 unknown issuers: {:?}...",
        requests.len(),
        &requests[..12]
    );
    assert_eq!(requests.len(), 4, "{requests:?}");
}

async fn a_tenant_put_while_running_is_accepted_within_refresh_seconds() {
    let moto = Moto::start();
    let idp = LocalIssuer::start().await.unwrap();
    let (proxy, recorder) = recording_proxy(moto.endpoint()).await;
    let writer = writer(&moto, "tenants", &idp).await;
    // The default negative TTL (60 s) stays: an index miss is not a cached answer.
    let auth = service(&proxy, "tenants", &idp, "refresh_seconds = 1");
    let pool = "us-east-1_Newco1";
    let newco = token(&idp, "newco", pool);
    assert_eq!(
        auth.verify(&newco).await.unwrap_err(),
        AuthError::UnknownIssuer,
        "not in the catalog yet"
    );

    writer.put(&entry(&idp, "newco", pool)).await.unwrap();
    let written = Instant::now();
    let accepted = loop {
        match auth.verify(&newco).await {
            Ok(principal) => break principal,
            Err(err) => {
                assert_eq!(err, AuthError::UnknownIssuer);
                assert!(written.elapsed() < Duration::from_secs(5), "never accepted");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(accepted.tenant(), "newco");
    assert!(
        written.elapsed() <= Duration::from_millis(1300),
        "accepted after {:?}, refresh_seconds = 1",
        written.elapsed()
    );

    // A half-written item (the tenant item without its guard, as the first of two hand-written
    // put-items leaves it) is left out of the index: refused, and its pool never read.
    let half = "us-east-1_Half1";
    let mut item = std::collections::HashMap::from([
        ("user_pool_id".to_owned(), AttributeValue::S(half.into())),
        ("tenant_id".to_owned(), AttributeValue::S("half".into())),
        ("region".to_owned(), AttributeValue::S("us-east-1".into())),
        (
            "client_ids".to_owned(),
            AttributeValue::L(vec![AttributeValue::S("half-client".into())]),
        ),
    ]);
    item.insert("jwks_url".to_owned(), AttributeValue::S(idp.jwks_url(half)));
    moto.dynamodb()
        .put_item()
        .table_name("tenants")
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    writer.bump_version().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let half_token = token(&idp, "half", half);
    let before = recorder.count();
    for _ in 0..100 {
        assert_eq!(
            auth.verify(&half_token).await.unwrap_err(),
            AuthError::UnknownIssuer
        );
    }
    let after = recorder.requests();
    assert!(
        after[before..].iter().all(|(_, body)| !body.contains(half)),
        "the half-written pool was read: {:?}",
        &after[before..]
    );
    assert!(after.len() - before <= 2, "{:?}", &after[before..]);
    // Its guard written, it is accepted at the next check.
    moto.dynamodb()
        .put_item()
        .item("user_pool_id", AttributeValue::S("tenant#half".into()))
        .item("owner_pool_id", AttributeValue::S(half.into()))
        .table_name("tenants")
        .send()
        .await
        .unwrap();
    writer.bump_version().await.unwrap();
    let bumped = Instant::now();
    let accepted = loop {
        match auth.verify(&half_token).await {
            Ok(principal) => break principal,
            Err(err) => {
                assert_eq!(err, AuthError::UnknownIssuer);
                assert!(bumped.elapsed() < Duration::from_secs(5), "never accepted");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(accepted.tenant(), "half");
    assert!(bumped.elapsed() <= Duration::from_millis(1300));
}

async fn resolver_ttl_seconds_from_the_file_bounds_how_long_a_removed_tenant_is_served() {
    let moto = Moto::start();
    let idp = LocalIssuer::start().await.unwrap();
    let (proxy, _) = recording_proxy(moto.endpoint()).await;
    let writer = writer(&moto, "tenants", &idp).await;
    let pool = "us-east-1_Leaving1";
    writer.put(&entry(&idp, "leaving", pool)).await.unwrap();
    // An index that is not checked again during the test: only the found answer's TTL ends
    // the tenant.
    let auth = service(
        &proxy,
        "tenants",
        &idp,
        "refresh_seconds = 3600\nresolver_ttl_seconds = 1",
    );
    let leaving = token(&idp, "leaving", pool);
    assert_eq!(auth.verify(&leaving).await.unwrap().tenant(), "leaving");
    assert_eq!(auth.cached_tokens(), 1);

    assert!(writer.remove("leaving").await.unwrap());
    assert_eq!(
        auth.verify(&leaving).await.unwrap().tenant(),
        "leaving",
        "served from the cache within the TTL"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        auth.verify(&leaving).await.unwrap_err(),
        AuthError::UnknownIssuer,
        "after resolver_ttl_seconds, the item is read again and is gone"
    );
}

/// Defence in depth behind the index: an attacker who knows many real pools (their ids are in
/// every token) could cycle through more issuers than the resolver cache holds; the lookups are
/// capped at `lookups_per_second` whatever the traffic.
async fn lookups_over_the_budget_get_503_and_read_nothing() {
    let moto = Moto::start();
    let idp = LocalIssuer::start().await.unwrap();
    let (proxy, recorder) = recording_proxy(moto.endpoint()).await;
    let writer = writer(&moto, "tenants", &idp).await;
    let tenants: Vec<(String, String)> = (0..30)
        .map(|i| (format!("t{i}"), format!("us-east-1_Budget{i}")))
        .collect();
    for (tenant, pool) in &tenants {
        writer.put(&entry(&idp, tenant, pool)).await.unwrap();
    }
    let auth = service(&proxy, "tenants", &idp, "lookups_per_second = 5");
    let unknown = forged(
        &token(&idp, "t0", "us-east-1_Budget0"),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_NotThere1",
    );
    assert_eq!(
        auth.verify(&unknown).await.unwrap_err(),
        AuthError::UnknownIssuer
    );
    let before = recorder.count();
    let tokens: Vec<String> = tenants
        .iter()
        .map(|(tenant, pool)| token(&idp, tenant, pool))
        .collect();
    let outcomes = futures_util::future::join_all(tokens.iter().map(|t| auth.verify(t))).await;
    let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!((5..=6).contains(&accepted), "{accepted} accepted");
    assert!(
        refused
            .iter()
            .all(|e| **e == AuthError::ResolverUnavailable),
        "{refused:?}"
    );
    let reads = recorder.operations_since(before);
    assert_eq!(reads.len(), 2 * accepted, "{reads:?}");
    assert!(reads.iter().all(|op| op == "GetItem"), "{reads:?}");
    // The budget refills: a second later, about five more.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let again = futures_util::future::join_all(tokens.iter().map(|t| auth.verify(t))).await;
    let accepted_again = again.iter().filter(|o| o.is_ok()).count();
    assert!(
        (accepted + 5..=accepted + 6).contains(&accepted_again),
        "{accepted_again} accepted after a second"
    );
}
