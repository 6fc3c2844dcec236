//! A running service picks up the catalog without a restart: a tenant put in the catalog is
//! accepted once the service has seen it, also with the default caching when put before its first
//! request; a store failure is a 503 and is not cached.

use std::time::Duration;

use cognito_authz::catalog::DynamoDbCatalog;

use super::{
    access_token, cognito_pool, dynamodb, fresh_catalog, moto, moto_host, pool_entry, unique,
};
use crate::moto::Moto;
use crate::service::{Service, UNKNOWN_ISSUER, config, until_status};

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
