//! Malformed items, written by hand past `put`'s checks, are refused: the store reports why and the
//! resolver answers unknown tenant; a service answers 401 for their tokens and logs the reason.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use cognito_authz::catalog::{CatalogError, DynamoDbCatalog, ItemError};

use super::{
    access_token, cognito_pool, dynamodb, fresh_catalog, moto, pool_id, raw_put, resolve, s, unique,
};
use crate::service::{Service, UNKNOWN_ISSUER, config, until_status};

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
