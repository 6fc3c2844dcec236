//! Sign-out, disable and demotion: a global sign-out stops Cognito's refresh but not local
//! verification, unless a revocation list is configured, in which case sign-out and disable also
//! stop local verification; a demotion refuses the user's earlier tokens at once.

use axum::Router;
use cognito_authz::admin::AdminApi;
use cognito_authz::{AuthError, CognitoAuth, Revocations};
use http::{Method, StatusCode};
use serde_json::json;

use super::{World, build_auth_with, call, sign_in};
use crate::logs::captured;

/// The world's two tenants with a revocation list: the list, the auth and the admin router.
fn with_revocations(w: &World) -> (Revocations, CognitoAuth, Router) {
    let revocations = Revocations::new();
    let auth = build_auth_with(
        &w.moto,
        &[(&w.tenant_a, &w.a, false), (&w.tenant_b, &w.b, true)],
        Some(revocations.clone()),
    );
    let app = AdminApi::new(auth.clone(), w.cognito.clone()).router();
    (revocations, auth, app)
}

#[tokio::test(flavor = "multi_thread")]
async fn global_sign_out_stops_cognito_but_not_local_verification() {
    captured(|_log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        w.cognito
            .get_user()
            .access_token(&bob.access)
            .send()
            .await
            .expect("GetUser works before sign-out");

        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/bob/signout",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // Cognito's own APIs refuse the token now ...
        let err = w
            .cognito
            .get_user()
            .access_token(&bob.access)
            .send()
            .await
            .expect_err("GetUser must fail after global sign-out");
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_not_authorized_exception()),
            "{err:?}"
        );
        // ... but without a revocation list local verification cannot see it: the token stays
        // valid here until it expires (moto: 3600 s). See README, "Security model", and the
        // test with a `Revocations` list below.
        let principal = w
            .auth
            .verify(&bob.access)
            .await
            .expect("still verifies locally");
        assert_eq!(principal.username(), "bob");
        let (status, _) = w
            .call(
                Method::PATCH,
                "/me/attributes",
                Some(&bob.access),
                Some(json!({"attributes": {"name": "after sign-out"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        // A fresh sign-in works again.
        let again = sign_in(&w.cognito, &w.a, "bob").await;
        w.cognito
            .get_user()
            .access_token(&again.access)
            .send()
            .await
            .expect("GetUser with a new session");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_revocation_list_sign_out_and_disable_also_stop_local_verification() {
    captured(|_log| async move {
        let w = World::new().await;
        let (revocations, auth, app) = with_revocations(&w);
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let shared_a = sign_in(&w.cognito, &w.a, "shared").await;
        let shared_b = sign_in(&w.cognito, &w.b, "shared").await;
        // Cached before the sign-out: the cache must not keep them alive.
        for token in [&bob.access, &shared_a.access, &shared_b.access] {
            auth.verify(token).await.expect("valid before");
        }

        let (status, body) = call(
            &app,
            Method::POST,
            "/admin/users/bob/signout",
            Some(&alice.access),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            auth.verify(&bob.access).await.unwrap_err(),
            AuthError::TokenRevoked
        );
        let (status, body) = call(
            &app,
            Method::PATCH,
            "/me/attributes",
            Some(&bob.access),
            Some(json!({"attributes": {"name": "after sign-out"}})),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_token");

        let (status, body) = call(
            &app,
            Method::POST,
            "/admin/users/shared/disable",
            Some(&alice.access),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            auth.verify(&shared_a.access).await.unwrap_err(),
            AuthError::TokenRevoked
        );
        // Same user name in tenant B's pool: another user, untouched; so is the admin.
        auth.verify(&shared_b.access)
            .await
            .expect("tenant B's shared");
        auth.verify(&alice.access).await.expect("the admin");
        assert_eq!(revocations.len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_demotion_refuses_the_users_earlier_tokens_at_once() {
    captured(|_log| async move {
        let w = World::new().await;
        let (revocations, auth, app) = with_revocations(&w);
        // Tenant B maps only group `admin` to a role: `staff` grants nothing there.
        w.cognito
            .create_group()
            .user_pool_id(&w.b.id)
            .group_name("staff")
            .send()
            .await
            .expect("CreateGroup");
        w.cognito
            .admin_add_user_to_group()
            .user_pool_id(&w.b.id)
            .username("shared")
            .group_name("staff")
            .send()
            .await
            .expect("AdminAddUserToGroup");
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let boris = sign_in(&w.cognito, &w.b, "boris").await;
        let carol = sign_in(&w.cognito, &w.a, "carol").await;
        let shared_b = sign_in(&w.cognito, &w.b, "shared").await;
        let before = auth.verify(&carol.access).await.expect("valid before");
        assert!(before.has_role("admin"));

        let (status, body) = call(
            &app,
            Method::DELETE,
            "/admin/users/carol/groups/admin",
            Some(&alice.access),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(w.groups(&w.a, "carol").await.is_empty());
        // The token that still says `admin` is refused at once, on every route.
        assert_eq!(
            auth.verify(&carol.access).await.unwrap_err(),
            AuthError::TokenRevoked
        );
        let (status, body) =
            call(&app, Method::GET, "/admin/users", Some(&carol.access), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(revocations.len(), 1);

        // Her next sign-in (a later second: `iat` is in seconds) carries the new groups.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let again = sign_in(&w.cognito, &w.a, "carol").await;
        let after = auth.verify(&again.access).await.expect("new sign-in");
        assert!(!after.has_role("admin"));

        // A group that maps to no role changes nothing the tokens grant: nothing revoked.
        let (status, body) = call(
            &app,
            Method::DELETE,
            "/admin/users/shared/groups/staff",
            Some(&boris.access),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        auth.verify(&shared_b.access).await.expect("not revoked");
        assert_eq!(revocations.len(), 1);
    })
    .await;
}
