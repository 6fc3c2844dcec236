//! `DynamoDbCatalog` driven directly, the table read back with raw DynamoDB calls: the table is
//! created once, on demand; entries round-trip through put, get, list and remove; list reads every
//! page; conflicting writes are refused and change nothing; catalog tenants declare machine clients
//! and replica regions as a `[[tenant]]` can.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use cognito_authz::catalog::{CatalogEntry, CatalogError, DynamoDbCatalog};

use super::{dynamodb, entry, fresh_catalog, moto, pool_id, raw_keys, resolve, unique};

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
