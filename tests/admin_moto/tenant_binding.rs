//! An admin acts only inside the tenant their token was issued by: users of another tenant's pool
//! are unreachable, tenant B's admin changes only pool B, operations go to the region of the
//! tenant's pool, and tenants resolved at runtime need a tenant lookup for the admin routes.

use std::sync::Arc;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use cognito_authz::admin::{AdminApi, AdminError, TenantAdmin, TenantLookup, TenantLookupFuture};
use cognito_authz::tenant::ResolveFuture;
use cognito_authz::{
    CognitoAuth, Tenant, tenant::Issuer, tenant::ResolveError, tenant::TenantResolver,
};
use http::{Method, StatusCode};
use serde_json::json;

use super::{PROTECTED, World, call, sign_in};
use crate::logs::captured;

#[tokio::test(flavor = "multi_thread")]
async fn admin_cannot_reach_users_of_another_tenant() {
    captured(|_log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let only_b_before = w.user(&w.b, "only_b").await;

        // `only_b` exists only in tenant B's pool: from tenant A it is not found.
        let attempts = [
            (
                Method::PUT,
                "/admin/users/only_b/mfa",
                Some(json!({"sms": "preferred"})),
            ),
            (
                Method::PATCH,
                "/admin/users/only_b/attributes",
                Some(json!({"attributes": {"custom:plan": "free"}})),
            ),
            (Method::GET, "/admin/users/only_b", None),
            (Method::POST, "/admin/users/only_b/disable", None),
            (Method::POST, "/admin/users/only_b/enable", None),
            (Method::POST, "/admin/users/only_b/signout", None),
            (
                Method::POST,
                "/admin/users/only_b/groups",
                Some(json!({"group": "admin"})),
            ),
            (Method::DELETE, "/admin/users/only_b/groups/admin", None),
        ];
        for (method, path, body) in attempts {
            let (status, body) = w.call(method, path, Some(&alice.access), body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert_eq!(body["error"], "user_not_found", "{path}");
        }
        assert_eq!(w.user(&w.b, "only_b").await, only_b_before);
        assert!(w.groups(&w.b, "only_b").await.is_empty());

        // The list shows tenant A's users only.
        let (status, body) = w
            .call(Method::GET, "/admin/users", Some(&alice.access), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut names: Vec<&str> = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["alice", "bob", "carol", "shared"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_of_tenant_b_only_changes_pool_b() {
    captured(|_log| async move {
        let w = World::new().await;
        let boris = sign_in(&w.cognito, &w.b, "boris").await;
        let shared_a = w.user(&w.a, "shared").await;

        // `shared` exists in both pools; every change lands in pool B.
        let (status, body) = w
            .call(
                Method::PATCH,
                "/admin/users/shared/attributes",
                Some(&boris.access),
                Some(json!({"attributes": {"name": "changed by boris", "custom:plan": "gold"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = w
            .call(
                Method::PUT,
                "/admin/users/shared/mfa",
                Some(&boris.access),
                Some(json!({"sms": "preferred"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/shared/groups",
                Some(&boris.access),
                Some(json!({"group": "admin"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/shared/disable",
                Some(&boris.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let shared_b = w.user(&w.b, "shared").await;
        assert_eq!(shared_b.attr("name"), Some("changed by boris"));
        assert_eq!(shared_b.attr("custom:plan"), Some("gold"));
        assert_eq!(shared_b.mfa, ["SMS_MFA"]);
        assert!(!shared_b.enabled);
        assert_eq!(w.groups(&w.b, "shared").await, ["admin"]);
        assert_eq!(
            w.user(&w.a, "shared").await,
            shared_a,
            "pool A must be untouched"
        );
        assert!(w.groups(&w.a, "shared").await.is_empty());

        // Nothing in the request can name another pool: unknown body fields and query
        // parameters are refused, headers are ignored.
        let (status, _) = w
            .call(
                Method::PATCH,
                "/admin/users/shared/attributes",
                Some(&boris.access),
                Some(json!({"attributes": {"name": "x"}, "user_pool_id": w.a.id})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = w
            .call(
                Method::GET,
                &format!("/admin/users?user_pool_id={}", w.a.id),
                Some(&boris.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = w
            .call(
                Method::GET,
                "/admin/users?limit=10",
                Some(&boris.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["users"].as_array().unwrap().len(), 3, "{body}");
        assert_eq!(w.user(&w.a, "shared").await, shared_a);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_use_the_region_of_the_tenant_pool() {
    captured(|_log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        // A client whose default region is not the pools' (us-east-1).
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .endpoint_url(w.moto.endpoint())
            .build();
        let eu_client = Client::from_conf(config);
        let direct = eu_client
            .admin_get_user()
            .user_pool_id(&w.a.id)
            .username("bob")
            .send()
            .await;
        assert!(direct.is_err(), "the pool does not exist in eu-west-1");

        let app = AdminApi::new(w.auth.clone(), eu_client.clone()).router();
        let (status, body) = call(
            &app,
            Method::PUT,
            "/admin/users/bob/mfa",
            Some(&alice.access),
            Some(json!({"sms": "enabled"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(w.user(&w.a, "bob").await.mfa, ["SMS_MFA"]);

        // The same through the library API.
        let principal = w.auth.verify(&alice.access).await.expect("verified");
        let admin = TenantAdmin::for_principal(&w.auth, eu_client.clone(), &principal)
            .expect("alice is an admin of a configured tenant");
        assert_eq!(admin.tenant().user_pool_id(), w.a.id);
        let bob = admin.get_user("bob").await.expect("AdminGetUser");
        assert_eq!(
            bob.attributes.get("name").map(String::as_str),
            Some("bob original")
        );
        assert_eq!(
            admin.get_user("only_b").await.unwrap_err(),
            AdminError::UserNotFound
        );

        let bob_principal = w
            .auth
            .verify(&sign_in(&w.cognito, &w.a, "bob").await.access)
            .await
            .expect("verified");
        assert_eq!(
            TenantAdmin::for_principal(&w.auth, eu_client.clone(), &bob_principal).unwrap_err(),
            AdminError::Forbidden("admin".into())
        );
        assert_eq!(
            TenantAdmin::for_principal(&w.auth_without_a(), eu_client, &principal).unwrap_err(),
            AdminError::UnknownTenant
        );
    })
    .await;
}

/// Tenant A's pool, found at runtime.
struct RuntimeTenantA {
    tenant: Arc<Tenant>,
}

impl TenantResolver for RuntimeTenantA {
    fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a> {
        Box::pin(async move {
            if issuer.user_pool_id != self.tenant.user_pool_id() {
                return Ok(None);
            }
            let t = &self.tenant;
            Tenant::builder(t.id(), t.user_pool_id())
                .client_ids(t.client_ids().iter().cloned())
                .jwks_url(t.jwks_url())
                .protected_attributes(t.protected_attributes().iter().cloned())
                .build()
                .map(Some)
                .map_err(ResolveError::new)
        })
    }
}

impl TenantLookup for RuntimeTenantA {
    fn tenant<'a>(&'a self, id: &'a str) -> TenantLookupFuture<'a> {
        Box::pin(async move { Ok((id == self.tenant.id()).then(|| self.tenant.clone())) })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_tenants_need_a_tenant_lookup() {
    captured(|_log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let tenant_a = Arc::new(
            Tenant::builder(&w.tenant_a, &w.a.id)
                .client_id(&w.a.client_id)
                .jwks_url(w.moto.jwks_url(&w.a.id))
                .protected_attributes(PROTECTED)
                .build()
                .expect("tenant"),
        );
        // Tenant B configured, tenant A only known to a resolver.
        let resolver = || RuntimeTenantA {
            tenant: tenant_a.clone(),
        };
        let auth = CognitoAuth::builder()
            .tenant(
                Tenant::builder(&w.tenant_b, &w.b.id)
                    .client_id(&w.b.client_id)
                    .jwks_url(w.moto.jwks_url(&w.b.id))
                    .build()
                    .expect("tenant"),
            )
            .expect("tenant b")
            .resolver(resolver())
            .build()
            .expect("auth");
        let mfa = Some(json!({"sms": "enabled"}));

        // Without a lookup the admin routes cannot find the runtime tenant: 500, nothing done.
        let app = AdminApi::new(auth.clone(), w.cognito.clone()).router();
        let (status, body) = call(
            &app,
            Method::PUT,
            "/admin/users/bob/mfa",
            Some(&alice.access),
            mfa.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["error"], "unknown_tenant");
        assert!(w.user(&w.a, "bob").await.mfa.is_empty());

        // With one, they work, protected attributes included.
        let app = AdminApi::new(auth, w.cognito.clone())
            .tenant_lookup(resolver())
            .router();
        let (status, body) = call(
            &app,
            Method::PUT,
            "/admin/users/bob/mfa",
            Some(&alice.access),
            mfa,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(w.user(&w.a, "bob").await.mfa, ["SMS_MFA"]);
        let (status, _) = call(
            &app,
            Method::PATCH,
            "/me/attributes",
            Some(&bob.access),
            Some(json!({"attributes": {"custom:plan": "gold"}})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(w.user(&w.a, "bob").await.attr("custom:plan"), Some("basic"));
    })
    .await;
}
