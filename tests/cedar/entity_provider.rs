//! An entity provider: it loads the order and its owner for the request, and with a provider the
//! principal keeps its groups and attributes (the hierarchy reaches the principal only through the
//! groups it carries as parents).

use cognito_authz::cedar::cedar_policy::{Entity, EntityUid, RestrictedExpression};
use cognito_authz::cedar::{Cedar, EntityProvider, ProviderError, Resource, ResourceQuery};
use futures_util::future::BoxFuture;
use http::StatusCode;

use crate::cedar_support::*;
use crate::common::*;

/// Orders `1` (owned by alice) and `2` (owned by bob); `fail` fails every lookup.
struct Orders {
    fail: bool,
}

impl EntityProvider for Orders {
    fn resource<'a>(
        &'a self,
        query: &'a ResourceQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<Resource>, ProviderError>> {
        Box::pin(async move {
            tokio::task::yield_now().await; // a real lookup awaits
            if self.fail {
                return Err("database unavailable".into());
            }
            let Some(order) = query.param("order") else {
                return Ok(None);
            };
            let owner = match order {
                "1" => "sub-alice",
                "2" => "sub-bob",
                _ => return Ok(None),
            };
            let pool = query.principal().user_pool_id();
            let owner: EntityUid = format!(r#"App::User::"{pool}|{owner}""#).parse()?;
            let uid: EntityUid = format!(r#"App::Order::"{order}""#).parse()?;
            let attrs = [(
                "owner".to_owned(),
                RestrictedExpression::new_entity_uid(owner),
            )];
            let order = Entity::new(uid.clone(), attrs.into(), Default::default())?;
            Ok(Some(Resource::new(uid, [order])))
        })
    }
}

#[tokio::test]
async fn an_entity_provider_loads_the_order_and_its_owner() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders/{order}", resource is App::Order)
           when { resource.owner == principal };"#,
    )]);
    let cedar = Cedar::builder("App")
        .policies(policies.path())
        .entity_provider(Orders { fail: false })
        .build()
        .unwrap();
    let app = app(&fx.auth, &cedar);
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/orders/1", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_refused(&call(&app, "/orders/2", Some(&alice)).await, NO_PERMIT);
    // Unknown order: the default resource, which the policy does not permit.
    assert_refused(&call(&app, "/orders/3", Some(&alice)).await, NO_PERMIT);
    let failing = Cedar::builder("App")
        .policies(policies.path())
        .entity_provider(Orders { fail: true })
        .build()
        .unwrap();
    let app = self::app(&fx.auth, &failing);
    assert_refused(&call(&app, "/orders/1", Some(&alice)).await, INVALID);
}

/// The order, plus the `support` group as a member of organisation `acme`: the hierarchy
/// reaches the principal only through the groups it carries as parents.
struct OrdersInOrg;

impl EntityProvider for OrdersInOrg {
    fn resource<'a>(
        &'a self,
        query: &'a ResourceQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<Resource>, ProviderError>> {
        Box::pin(async move {
            let pool = query.principal().user_pool_id();
            let org: EntityUid = r#"App::Org::"acme""#.parse()?;
            let group: EntityUid = format!(r#"App::UserGroup::"{pool}|support""#).parse()?;
            let group = Entity::new_no_attrs(group, [org].into());
            let uid: EntityUid = r#"App::Order::"1""#.parse()?;
            let order = Entity::new_no_attrs(uid.clone(), Default::default());
            Ok(Some(Resource::new(uid, [order, group])))
        })
    }
}

#[tokio::test]
async fn with_a_provider_the_principal_keeps_its_groups_and_attributes() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal in App::Org::"acme", action == App::Action::"GET /orders/{order}", resource)
           when { principal.kind == "user" };"#,
    )]);
    let cedar = Cedar::builder("App")
        .policies(policies.path())
        .entity_provider(OrdersInOrg)
        .build()
        .unwrap();
    let app = app(&fx.auth, &cedar);
    let support = fx.acme("alice", &["support"], "");
    // Twice: the principal's entity is built on the first request and kept for the second.
    for _ in 0..2 {
        assert_eq!(
            call(&app, "/orders/1", Some(&support)).await.status,
            StatusCode::OK
        );
    }
    let other = fx.acme("bob", &["sales"], "");
    assert_refused(&call(&app, "/orders/1", Some(&other)).await, NO_PERMIT);
}
