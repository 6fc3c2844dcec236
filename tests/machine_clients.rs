//! Machine clients: client-credentials access tokens (`sub` = `client_id`, resource-server
//! scopes, no `username`, no groups) from a tenant's `machine_client_ids`, through an axum
//! router. Accepted only from listed clients and only with `sub` = `client_id`; the principal
//! says it is a machine, has the client's roles and none from groups, and is never treated as a
//! user (the self-service guard, `Policy::user`, the admin API's `/me/attributes`).

mod common;

use axum::Router;
use axum::routing::get;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{
    AuthError, AuthzLayer, CognitoAuth, Policy, Principal, Tenant, principal::PrincipalKind,
    verify::SELF_SERVICE_SCOPE, verify::SelfServiceGuard,
};
use common::*;
use http::StatusCode;
use serde_json::{Value, json};

const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;

/// A machine client with roles.
const SYNC: &str = "machine-orders-sync";
/// A machine client without roles.
const REPORTS: &str = "machine-reports";
/// A machine client with the admin role.
const ROBOT_ADMIN: &str = "machine-robot-admin";

/// What `Policy::user` answers a machine.
const USER_REQUIRED: &str = "a user is required: machine clients have no account of their own";

fn tenant(issuer: &LocalIssuer) -> Tenant {
    Tenant::builder(TENANT_A, POOL_A)
        .client_id(CLIENT_A)
        .machine_client_ids([SYNC, REPORTS, ROBOT_ADMIN])
        .client_roles(SYNC, ["orders-sync", "auditor", "orders-sync"])
        .client_roles(ROBOT_ADMIN, ["admin"])
        .jwks_url(issuer.jwks_url(POOL_A))
        .build()
        .expect("tenant with machine clients")
}

fn auth(issuer: &LocalIssuer, guard: Option<SelfServiceGuard>) -> CognitoAuth {
    let mut builder = CognitoAuth::builder()
        .tenant(tenant(issuer))
        .expect("tenant registers")
        .tenant(tenant_b(issuer))
        .expect("tenant b registers");
    if let Some(guard) = guard {
        builder = builder.self_service_guard(guard);
    }
    builder.build().expect("auth builds")
}

async fn ok() -> &'static str {
    "ok"
}

async fn me(principal: Principal) -> axum::Json<Principal> {
    axum::Json(principal)
}

async fn who(principal: Option<Principal>) -> String {
    match principal {
        None => "anonymous".to_owned(),
        Some(p) => match p.kind() {
            PrincipalKind::User => format!("user {}", p.username()),
            PrincipalKind::Machine => format!("machine {}", p.subject()),
        },
    }
}

fn app(auth: &CognitoAuth) -> Router {
    let required = Router::new()
        .route("/me", get(me))
        .route(
            "/orders",
            get(ok).layer(AuthzLayer::require_scope("orders/read")),
        )
        .route("/admin", get(ok).layer(AuthzLayer::require("admin")))
        .route(
            "/audit",
            get(ok).layer(AuthzLayer::require_any(["auditor", "admin"])),
        )
        .route(
            "/tenants/{tenant}/orders",
            get(ok).layer(AuthzLayer::policy(
                Policy::scope("orders/read").and(Policy::same_tenant_as("tenant")),
            )),
        )
        .route(
            "/jobs",
            get(ok).layer(AuthzLayer::policy(Policy::custom(
                "machines only",
                |p, _| p.is_machine(),
            ))),
        )
        .route(
            "/profile",
            get(ok).layer(AuthzLayer::policy(Policy::user())),
        )
        .layer(auth.layer());
    let optional = Router::new()
        .route("/who", get(who))
        .layer(auth.optional_layer());
    required.merge(optional)
}

fn machine(issuer: &LocalIssuer, client: &str, scopes: &[&str]) -> Value {
    issuer.machine_claims(POOL_A, client, scopes)
}

#[tokio::test]
async fn a_listed_machine_client_is_a_machine_principal() {
    let issuer = start_issuer().await;
    let auth = auth(&issuer, None);
    let app = app(&auth);
    let token = issuer.mint(&machine(&issuer, SYNC, &["orders/read", "orders/write"]));

    let reply = call(&app, "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["kind"], "machine");
    assert_eq!(json["tenant"], TENANT_A);
    assert_eq!(json["subject"], SYNC);
    assert_eq!(json["client_id"], SYNC);
    assert_eq!(json["username"], Value::Null);
    assert_eq!(json["token_use"], "access");
    assert_eq!(json["scopes"], json!(["orders/read", "orders/write"]));
    assert_eq!(json["roles"], json!(["auditor", "orders-sync"]));
    assert_eq!(json["groups"], json!([]));

    let p = auth.verify(&token).await.expect("machine token verifies");
    assert_eq!(p.kind(), PrincipalKind::Machine);
    assert!(p.is_machine());
    assert_eq!(
        (p.subject(), p.username(), p.username_if_user()),
        (SYNC, "", None)
    );
    assert!(p.has_role("orders-sync") && p.has_role("auditor") && !p.has_role("admin"));
    assert!(p.has_scope("orders/write") && !p.has_scope(SELF_SERVICE_SCOPE));

    // A machine client without `client_roles` has no roles at all.
    let bare = issuer.mint(&machine(&issuer, REPORTS, &["orders/read"]));
    let json = call(&app, "/me", Some(&bare)).await.json();
    assert_eq!(
        (json["kind"].as_str(), &json["roles"]),
        (Some("machine"), &json!([]))
    );

    // Users are unchanged, and say so.
    let user = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    let json = call(&app, "/me", Some(&user)).await.json();
    assert_eq!(json["kind"], "user");
    assert_eq!(json["username"], "alice");
}

#[tokio::test]
async fn the_second_request_of_a_machine_is_served_from_the_cache_as_a_machine() {
    let issuer = start_issuer().await;
    let auth = auth(&issuer, None);
    let app = app(&auth);
    let token = issuer.mint(&machine(&issuer, SYNC, &["orders/read"]));
    assert_eq!(
        call(&app, "/orders", Some(&token)).await.status,
        StatusCode::OK
    );
    // The verified-token cache (on by default) keeps the whole principal, kind included.
    let first = auth.verify(&token).await.expect("verified");
    let again = auth.verify(&token).await.expect("cached");
    assert_eq!(first, again);
    assert_eq!(again.kind(), PrincipalKind::Machine);
    assert_eq!(
        call(&app, "/who", Some(&token)).await.text(),
        format!("machine {SYNC}")
    );
}

#[tokio::test]
async fn a_machine_token_from_an_unlisted_client_is_refused_with_its_own_reason() {
    let issuer = start_issuer().await;
    let app = app(&auth(&issuer, None));

    // A client-credentials token of the tenant's user client (not a machine client).
    let token = issuer.mint(&issuer.machine_claims(POOL_A, CLIENT_A, &["orders/read"]));
    let reply = call(&app, "/orders", Some(&token)).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MachineClientNotAllowed);
    assert_eq!(
        AuthError::MachineClientNotAllowed.reason(),
        "machine_client_not_allowed"
    );

    // A client the tenant does not know at all stays a wrong client.
    let token = issuer.mint(&issuer.machine_claims(POOL_A, "stranger", &["orders/read"]));
    assert_error_reply(
        &call(&app, "/orders", Some(&token)).await,
        UNAUTHORIZED,
        &AuthError::WrongClient,
    );

    // Another tenant's machine client, signed by that tenant's pool, is that tenant's business:
    // tenant b lists none, so it is refused there too.
    let token = issuer.mint(&issuer.machine_claims(POOL_B, SYNC, &["orders/read"]));
    assert_error_reply(
        &call(&app, "/orders", Some(&token)).await,
        UNAUTHORIZED,
        &AuthError::WrongClient,
    );
}

#[tokio::test]
async fn a_token_without_username_is_a_machine_only_if_sub_is_its_client_id() {
    let issuer = start_issuer().await;
    let app = app(&auth(&issuer, None));

    // A machine client's token whose `sub` is someone else.
    let mut claims = machine(&issuer, SYNC, &["orders/read"]);
    claims["sub"] = json!("sub-alice");
    let reply = call(&app, "/orders", Some(&issuer.mint(&claims))).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MachineSubjectMismatch);
    assert_eq!(
        AuthError::MachineSubjectMismatch.reason(),
        "machine_subject_mismatch"
    );

    // A user's token issued to a machine client, its `username` stripped: not a machine.
    let mut claims = issuer.access_claims(POOL_A, SYNC, "alice", &["admin"]);
    claims.as_object_mut().unwrap().remove("username");
    let reply = call(&app, "/orders", Some(&issuer.mint(&claims))).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MachineSubjectMismatch);

    // The same from the user client: still the missing user name it always was.
    let mut claims = access_a(&issuer, "alice", &["admin"]);
    claims.as_object_mut().unwrap().remove("username");
    let reply = call(&app, "/orders", Some(&issuer.mint(&claims))).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::MissingClaim("username"));

    // A token with a user name from a client listed only as a machine client: not a user
    // client of this tenant.
    let claims = issuer.access_claims(POOL_A, SYNC, "alice", &[]);
    let reply = call(&app, "/me", Some(&issuer.mint(&claims))).await;
    assert_error_reply(&reply, UNAUTHORIZED, &AuthError::WrongClient);

    // Machines have no id tokens: an id token for a machine client is a wrong client.
    let mut claims = issuer.id_claims(POOL_A, SYNC, "alice", &[]);
    claims["sub"] = json!(SYNC);
    claims.as_object_mut().unwrap().remove("cognito:username");
    let p = auth(&issuer, None)
        .verify_as(&issuer.mint(&claims), cognito_authz::TokenUses::ANY)
        .await;
    assert_eq!(p.err(), Some(AuthError::WrongClient));
}

#[tokio::test]
async fn groups_in_a_machine_token_give_no_roles() {
    let issuer = start_issuer().await;
    let app = app(&auth(&issuer, None));
    // Cognito never puts groups in a client-credentials token; one that has them (a V3 trigger)
    // must not turn a machine into an admin.
    let mut claims = machine(&issuer, REPORTS, &["orders/read"]);
    claims["cognito:groups"] = json!(["admin"]);
    let token = issuer.mint(&claims);
    assert_error_reply(
        &call(&app, "/admin", Some(&token)).await,
        FORBIDDEN,
        &AuthError::Forbidden("role `admin` required".into()),
    );
    let json = call(&app, "/me", Some(&token)).await.json();
    assert_eq!((&json["groups"], &json["roles"]), (&json!([]), &json!([])));
}

#[tokio::test]
async fn the_self_service_scope_is_never_allowed_to_a_machine_under_the_guard() {
    let issuer = start_issuer().await;
    let guarded = app(&auth(&issuer, Some(SelfServiceGuard::default())));
    // Even with the role the guard lets keep the scope: a machine has no account to manage.
    let token = issuer.mint(&machine(&issuer, ROBOT_ADMIN, &[SELF_SERVICE_SCOPE]));
    assert_error_reply(
        &call(&guarded, "/me", Some(&token)).await,
        UNAUTHORIZED,
        &AuthError::SelfServiceScopeNotSuppressed,
    );
    // Its ordinary tokens pass the guard.
    let token = issuer.mint(&machine(&issuer, ROBOT_ADMIN, &["orders/read"]));
    assert_eq!(
        call(&guarded, "/admin", Some(&token)).await.status,
        StatusCode::OK
    );
    // And a user admin still keeps the scope.
    let user = issuer.mint(&access_a(&issuer, "root", &["admin"]));
    assert_eq!(
        call(&guarded, "/me", Some(&user)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn policies_work_for_machines_as_for_users() {
    let issuer = start_issuer().await;
    let app = app(&auth(&issuer, None));
    let reader = issuer.mint(&machine(&issuer, SYNC, &["orders/read"]));
    let writer = issuer.mint(&machine(&issuer, SYNC, &["orders/write"]));
    let robot = issuer.mint(&machine(&issuer, ROBOT_ADMIN, &[]));

    // require_scope
    assert_eq!(
        call(&app, "/orders", Some(&reader)).await.status,
        StatusCode::OK
    );
    assert_error_reply(
        &call(&app, "/orders", Some(&writer)).await,
        FORBIDDEN,
        &AuthError::Forbidden("scope `orders/read` required".into()),
    );
    // roles from client_roles
    assert_eq!(
        call(&app, "/audit", Some(&reader)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "/admin", Some(&robot)).await.status,
        StatusCode::OK
    );
    assert_error_reply(
        &call(&app, "/admin", Some(&reader)).await,
        FORBIDDEN,
        &AuthError::Forbidden("role `admin` required".into()),
    );
    // same_tenant_as
    assert_eq!(
        call(&app, "/tenants/acme/orders", Some(&reader))
            .await
            .status,
        StatusCode::OK
    );
    assert_error_reply(
        &call(&app, "/tenants/globex/orders", Some(&reader)).await,
        FORBIDDEN,
        &AuthError::Forbidden("tenant in the path is not the caller's tenant".into()),
    );
    // custom policies see the kind
    assert_eq!(
        call(&app, "/jobs", Some(&reader)).await.status,
        StatusCode::OK
    );
    let user = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    assert_error_reply(
        &call(&app, "/jobs", Some(&user)).await,
        FORBIDDEN,
        &AuthError::Forbidden("policy `machines only` refused the request".into()),
    );
    // Policy::user refuses machines, whatever their roles, with a fixed description.
    assert_eq!(
        call(&app, "/profile", Some(&user)).await.status,
        StatusCode::OK
    );
    for token in [&reader, &robot] {
        assert_error_reply(
            &call(&app, "/profile", Some(token)).await,
            FORBIDDEN,
            &AuthError::Forbidden(USER_REQUIRED.into()),
        );
    }
}

#[tokio::test]
async fn optional_handlers_tell_users_and_machines_apart() {
    let issuer = start_issuer().await;
    let app = app(&auth(&issuer, None));
    let user = issuer.mint(&access_a(&issuer, "alice", &[]));
    let robot = issuer.mint(&machine(&issuer, REPORTS, &[]));
    assert_eq!(call(&app, "/who", None).await.text(), "anonymous");
    assert_eq!(call(&app, "/who", Some(&user)).await.text(), "user alice");
    assert_eq!(
        call(&app, "/who", Some(&robot)).await.text(),
        format!("machine {REPORTS}")
    );
}

#[cfg(feature = "admin")]
mod admin {
    use super::*;
    use cognito_authz::admin::{AdminApi, AdminError};
    use cognito_authz::aws::CognitoClient;

    /// A client that is never called: every refusal here happens before Cognito.
    fn unused_client() -> CognitoClient {
        use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("unused", "unused", None, None, "test"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        CognitoClient::from_conf(config)
    }

    #[tokio::test]
    async fn me_attributes_refuses_machines_before_any_cognito_call() {
        let issuer = start_issuer().await;
        let api = AdminApi::new(auth(&issuer, None), unused_client());
        let app = api.router();
        for client in [SYNC, ROBOT_ADMIN] {
            let token = issuer.mint(&machine(&issuer, client, &["orders/read"]));
            let reply = send_raw(
                &app,
                http::Method::PATCH,
                "/me/attributes",
                &[&format!("Bearer {token}")],
            )
            .await;
            // Refused by the operation, which has no account to act on (the `/me` routes
            // answer `not_a_user`, as issue 21 states), nothing called.
            assert_eq!(reply.status, FORBIDDEN);
            assert_eq!(reply.json()["error"], "not_a_user");
            assert!(reply.headers.get(http::header::WWW_AUTHENTICATE).is_none());
        }
    }

    #[tokio::test]
    async fn the_admin_api_binds_a_machine_only_as_an_admin_with_the_role() {
        let issuer = start_issuer().await;
        let auth = auth(&issuer, None);
        let api = AdminApi::new(auth.clone(), unused_client());
        let robot = auth
            .verify(&issuer.mint(&machine(&issuer, ROBOT_ADMIN, &[])))
            .await
            .expect("machine verifies");
        let sync = auth
            .verify(&issuer.mint(&machine(&issuer, SYNC, &[])))
            .await
            .expect("machine verifies");

        // Never its own user.
        assert_eq!(
            api.self_service(&robot).await.err(),
            Some(AdminError::NotAUser)
        );
        assert_eq!(AdminError::NotAUser.status(), FORBIDDEN);
        // Admin operations on other users with the role (the tenant owns the machine client)...
        let admin = api
            .tenant_admin(&robot)
            .await
            .expect("machine with the admin role");
        assert_eq!(admin.tenant().id(), TENANT_A);
        assert!(admin.actor().is_machine());
        // ... and not without it.
        assert_eq!(
            api.tenant_admin(&sync).await.err(),
            Some(AdminError::Forbidden("admin".to_owned()))
        );
        let app = api.admin_router();
        let token = issuer.mint(&machine(&issuer, SYNC, &[]));
        assert_error_reply(
            &call(&app, "/admin/users/alice", Some(&token)).await,
            FORBIDDEN,
            &AuthError::Forbidden("role `admin` required".into()),
        );
    }
}
