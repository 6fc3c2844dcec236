//! Items of someone with write access to the table cannot widen what the service trusts: an item
//! naming keys on a host not allowed is refused (before, the writer's own keys signed tokens the
//! service accepted), and an item on a configured tenant's pool cannot claim that pool's
//! replica-region issuers; the configured tenant is unaffected.

use aws_sdk_dynamodb::types::AttributeValue;
use cognito_authz::catalog::{CatalogEntry, CatalogError};

use super::{entry, fresh_catalog, moto, pool_id, raw_keys, s};
use crate::service::{Service, UNKNOWN_ISSUER, config, raw_tenant, refusal_of};

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
