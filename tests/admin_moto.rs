//! End-to-end tests of the admin feature against moto, a real Cognito emulator: two tenants
//! (two user pools with app clients, custom attributes and an `admin` group), users created and
//! signed in through the Cognito API for real tokens, the admin and self-service routes served
//! with `oneshot`, and every outcome read back from Cognito, not only the HTTP status.
//!
//! One moto server is shared by the tests that run at the same time and stopped when the last
//! of them ends. Each test creates its own pools, so tests are independent.

#![cfg(feature = "admin")]

mod moto;
mod openapi_contract;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, AuthFlowType, ExplicitAuthFlowsType, MessageActionType,
    SchemaAttributeType,
};
use axum::Router;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::admin::{AdminApi, AdminError, TenantAdmin, TenantLookup, TenantLookupFuture};
use cognito_authz::tenant::ResolveFuture;
use cognito_authz::{
    AuthError, CognitoAuth, Revocations, Tenant, tenant::Issuer, tenant::ResolveError,
    tenant::TenantResolver,
};
use http::{Method, Request, StatusCode, header};
use moto::Moto;
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer};

const PASSWORD: &str = "Passw0rd!Passw0rd";
const PROTECTED: [&str; 2] = ["custom:mfa_required", "custom:plan"];

// ---------------------------------------------------------------------------------------------
// Shared moto, captured logs
// ---------------------------------------------------------------------------------------------

static MOTO: Mutex<Weak<Moto>> = Mutex::new(Weak::new());

/// The running moto, started if no test holds one (a static `Moto` would never be dropped, so
/// its process would outlive the test binary).
fn moto() -> Arc<Moto> {
    let mut shared = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(moto) = shared.upgrade() {
        return moto;
    }
    let moto = Arc::new(Moto::start());
    *shared = Arc::downgrade(&moto);
    moto
}

/// One captured `tracing` event of this crate: its target and fields, formatted.
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    fields: BTreeMap<String, String>,
}

impl Captured {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Captured>>>);

struct Visitor<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Visitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Log {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Visitor(&mut fields));
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
}

impl Log {
    fn events(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }

    fn audit(&self) -> Vec<Captured> {
        self.events()
            .into_iter()
            .filter(|e| e.target == "cognito_authz::audit")
            .collect()
    }

    /// The audit events of `action` on `target`.
    fn audit_of(&self, action: &str, target: &str) -> Vec<Captured> {
        self.audit()
            .into_iter()
            .filter(|e| e.get("action") == Some(action) && e.get("target") == Some(target))
            .collect()
    }

    /// Panics if any captured field of any event contains `secret`.
    fn assert_never_logged(&self, secret: &str) {
        for event in self.events() {
            for (name, value) in &event.fields {
                assert!(
                    !value.contains(secret),
                    "{name} of a {} event contains a secret: {value}",
                    event.target
                );
            }
        }
    }
}

/// Runs a test body with this crate's events captured. The subscriber follows the test's
/// future, and the routes run inside it (`oneshot`), so it works on a multi-thread runtime
/// and keeps concurrent tests' events apart.
async fn captured<F, Fut>(body: F)
where
    F: FnOnce(Log) -> Fut,
    Fut: Future<Output = ()>,
{
    let log = Log::default();
    let subscriber = tracing_subscriber::registry().with(
        log.clone()
            .with_filter(EnvFilter::new("cognito_authz=trace")),
    );
    body(log).with_subscriber(subscriber).await;
}

// ---------------------------------------------------------------------------------------------
// Cognito setup through the API
// ---------------------------------------------------------------------------------------------

static NEXT: AtomicU32 = AtomicU32::new(0);

struct Pool {
    id: String,
    client_id: String,
}

struct Tokens {
    access: String,
    id: String,
}

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("attribute")
}

async fn create_pool(cognito: &Client, name: &str) -> Pool {
    let custom = |name: &str| {
        SchemaAttributeType::builder()
            .name(name)
            .attribute_data_type(AttributeDataType::String)
            .mutable(true)
            .build()
    };
    let pool = cognito
        .create_user_pool()
        .pool_name(name)
        .schema(custom("mfa_required"))
        .schema(custom("plan"))
        .send()
        .await
        .expect("CreateUserPool");
    let id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&id)
        .client_name(format!("{name}-app"))
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("CreateUserPoolClient");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_owned();
    cognito
        .create_group()
        .user_pool_id(&id)
        .group_name("admin")
        .send()
        .await
        .expect("CreateGroup");
    Pool { id, client_id }
}

async fn create_user(cognito: &Client, pool: &Pool, username: &str, groups: &[&str]) {
    cognito
        .admin_create_user()
        .user_pool_id(&pool.id)
        .username(username)
        .user_attributes(attr("name", &format!("{username} original")))
        .user_attributes(attr("custom:plan", "basic"))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("AdminCreateUser");
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool.id)
        .username(username)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
    for group in groups {
        cognito
            .admin_add_user_to_group()
            .user_pool_id(&pool.id)
            .username(username)
            .group_name(*group)
            .send()
            .await
            .expect("AdminAddUserToGroup");
    }
}

async fn sign_in(cognito: &Client, pool: &Pool, username: &str) -> Tokens {
    let out = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("AdminInitiateAuth");
    let result = out.authentication_result().expect("tokens");
    Tokens {
        access: result.access_token().expect("access token").to_owned(),
        id: result.id_token().expect("id token").to_owned(),
    }
}

/// A `CognitoAuth` for `(tenant id, pool, map the admin role explicitly)` triples, keys from
/// moto, custom attributes protected.
fn build_auth(moto: &Moto, tenants: &[(&str, &Pool, bool)]) -> CognitoAuth {
    build_auth_with(moto, tenants, None)
}

/// [`build_auth`] with an optional revocation list.
fn build_auth_with(
    moto: &Moto,
    tenants: &[(&str, &Pool, bool)],
    revocations: Option<Revocations>,
) -> CognitoAuth {
    let mut builder = CognitoAuth::builder();
    if let Some(revocations) = revocations {
        builder = builder.revocations(revocations);
    }
    for (id, pool, mapped_roles) in tenants {
        let mut tenant = Tenant::builder(*id, &pool.id)
            .client_id(&pool.client_id)
            .jwks_url(moto.jwks_url(&pool.id))
            .protected_attributes(PROTECTED);
        if *mapped_roles {
            tenant = tenant.role("admin", ["admin"]);
        }
        builder = builder
            .tenant(tenant.build().expect("tenant"))
            .expect("unique tenant");
    }
    builder.build().expect("auth")
}

/// Two tenants. A: `alice` (admin), `carol` (admin), `bob`, `shared`; its groups are roles.
/// B: `boris` (admin), `shared`, `only_b`; role `admin` mapped explicitly from group `admin`.
struct World {
    moto: Arc<Moto>,
    cognito: Client,
    a: Pool,
    b: Pool,
    tenant_a: String,
    tenant_b: String,
    auth: CognitoAuth,
    app: Router,
}

impl World {
    async fn new() -> World {
        let moto = moto();
        let cognito = moto.client();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let (tenant_a, tenant_b) = (format!("acme-{n}"), format!("globex-{n}"));
        let a = create_pool(&cognito, &tenant_a).await;
        let b = create_pool(&cognito, &tenant_b).await;
        create_user(&cognito, &a, "alice", &["admin"]).await;
        create_user(&cognito, &a, "carol", &["admin"]).await;
        create_user(&cognito, &a, "bob", &[]).await;
        create_user(&cognito, &a, "shared", &[]).await;
        create_user(&cognito, &b, "boris", &["admin"]).await;
        create_user(&cognito, &b, "shared", &[]).await;
        create_user(&cognito, &b, "only_b", &[]).await;
        let auth = build_auth(&moto, &[(&tenant_a, &a, false), (&tenant_b, &b, true)]);
        let app = AdminApi::new(auth.clone(), cognito.clone()).router();
        World {
            moto,
            cognito,
            a,
            b,
            tenant_a,
            tenant_b,
            auth,
            app,
        }
    }

    /// Tenant B only: tenant A removed from the configuration.
    fn auth_without_a(&self) -> CognitoAuth {
        build_auth(&self.moto, &[(&self.tenant_b, &self.b, true)])
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(&self.app, method, path, token, body).await
    }

    async fn user(&self, pool: &Pool, username: &str) -> CognitoUser {
        let out = self
            .cognito
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username(username)
            .send()
            .await
            .expect("AdminGetUser");
        CognitoUser {
            enabled: out.enabled(),
            attributes: out
                .user_attributes()
                .iter()
                .map(|a| {
                    (
                        a.name().to_owned(),
                        a.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            mfa: out.user_mfa_setting_list().to_vec(),
            preferred: out.preferred_mfa_setting().unwrap_or_default().to_owned(),
        }
    }

    async fn groups(&self, pool: &Pool, username: &str) -> Vec<String> {
        let out = self
            .cognito
            .admin_list_groups_for_user()
            .user_pool_id(&pool.id)
            .username(username)
            .send()
            .await
            .expect("AdminListGroupsForUser");
        out.groups()
            .iter()
            .filter_map(|g| g.group_name().map(str::to_owned))
            .collect()
    }
}

/// What Cognito holds for a user, read back with `AdminGetUser`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CognitoUser {
    enabled: bool,
    attributes: BTreeMap<String, String>,
    mfa: Vec<String>,
    preferred: String,
}

impl CognitoUser {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }
}

async fn call(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method.clone()).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    // Every answer of a real Cognito must be one the OpenAPI document promises.
    openapi_contract::assert_documented(&method, path, status, &headers, &bytes);
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn admin_sets_mfa_of_a_user_of_their_tenant() {
    captured(|log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        assert!(w.user(&w.a, "bob").await.mfa.is_empty());

        let (status, body) = w
            .call(
                Method::PUT,
                "/admin/users/bob/mfa",
                Some(&alice.access),
                Some(json!({"sms": "preferred"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({"username": "bob", "action": "set_mfa_preference"})
        );
        let bob = w.user(&w.a, "bob").await;
        assert_eq!(bob.mfa, ["SMS_MFA"]);
        assert_eq!(bob.preferred, "SMS_MFA");

        // The same settings through the read route.
        let (status, body) = w
            .call(Method::GET, "/admin/users/bob", Some(&alice.access), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["mfa"],
            json!({"enabled": ["SMS_MFA"], "preferred": "SMS_MFA"})
        );
        assert_eq!(body["attributes"]["name"], "bob original");

        // Cognito refuses TOTP for a user without a verified software token: 400 with its
        // message, nothing changed.
        let (status, body) = w
            .call(
                Method::PUT,
                "/admin/users/bob/mfa",
                Some(&alice.access),
                Some(json!({"totp": "preferred", "sms": "enabled"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("software token"),
            "{body}"
        );
        assert_eq!(w.user(&w.a, "bob").await.preferred, "SMS_MFA");

        // Bodies refused before Cognito is called.
        for bad in [
            json!({"sms": "on"}),
            json!({}),
            json!({"sms": "preferred", "email": "preferred"}),
            json!({"sms": "off", "user_pool_id": w.b.id}),
            json!(["sms"]),
        ] {
            let (status, body) = w
                .call(
                    Method::PUT,
                    "/admin/users/bob/mfa",
                    Some(&alice.access),
                    Some(bad.clone()),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{body}"
            );
        }
        assert_eq!(w.user(&w.a, "bob").await.mfa, ["SMS_MFA"]);

        // Turning it off.
        let (status, _) = w
            .call(
                Method::PUT,
                "/admin/users/bob/mfa",
                Some(&alice.access),
                Some(json!({"sms": "off"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let bob = w.user(&w.a, "bob").await;
        assert!(bob.mfa.is_empty() && bob.preferred.is_empty(), "{bob:?}");

        // Audit: one event per attempt, with actor, tenant, target, action and outcome.
        let events = log.audit_of("set_mfa_preference", "bob");
        assert_eq!(events.len(), 8, "{events:#?}");
        let first = &events[0];
        assert_eq!(first.get("actor"), Some("alice"));
        assert_eq!(first.get("tenant"), Some(w.tenant_a.as_str()));
        assert_eq!(first.get("outcome"), Some("success"));
        assert_eq!(events[1].get("outcome"), Some("rejected"));
        assert_eq!(events[1].get("reason"), Some("invalid_request"));
        log.assert_never_logged(&alice.access);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn non_admin_is_refused_and_nothing_changes() {
    captured(|log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let before = w.user(&w.a, "shared").await;

        let attempts = [
            (
                Method::PUT,
                "/admin/users/shared/mfa",
                Some(json!({"sms": "preferred"})),
            ),
            (
                Method::PATCH,
                "/admin/users/shared/attributes",
                Some(json!({"attributes": {"name": "hijacked"}})),
            ),
            (Method::POST, "/admin/users/shared/disable", None),
            (
                Method::POST,
                "/admin/users/bob/groups",
                Some(json!({"group": "admin"})),
            ),
            (Method::GET, "/admin/users", None),
        ];
        for (method, path, body) in attempts {
            let (status, _) = w.call(method, path, Some(&bob.access), body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(w.user(&w.a, "shared").await, before);
        assert!(w.groups(&w.a, "bob").await.is_empty());

        let denied = log.audit_of("set_mfa_preference", "shared");
        assert_eq!(denied.len(), 1, "{denied:#?}");
        assert_eq!(denied[0].get("actor"), Some("bob"));
        assert_eq!(denied[0].get("outcome"), Some("denied"));
        assert_eq!(denied[0].get("reason"), Some("policy"));
        assert_eq!(denied[0].get("status"), Some("403"));
    })
    .await;
}

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
async fn unacceptable_tokens_are_401() {
    captured(|log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let before = w.user(&w.a, "bob").await;
        let mfa = Some(json!({"sms": "preferred"}));

        // Tampered: bob's access token claiming the admin group, signature unchanged.
        let parts: Vec<&str> = bob.access.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["cognito:groups"] = json!(["admin"]);
        let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);

        for (what, token) in [
            ("id token", Some(alice.id.as_str())),
            ("tampered", Some(tampered.as_str())),
            ("garbage", Some("not-a-jwt")),
            ("none", None),
        ] {
            let (status, body) = w
                .call(Method::PUT, "/admin/users/bob/mfa", token, mfa.clone())
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
            assert_eq!(body["error"], "invalid_token", "{what}");
        }
        let (status, _) = w
            .call(
                Method::PATCH,
                "/me/attributes",
                Some(&bob.id),
                Some(json!({"attributes": {"name": "via id token"}})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Tenant A removed from the configuration: its admin's valid token is refused.
        let without_a = AdminApi::new(w.auth_without_a(), w.cognito.clone()).router();
        let (status, _) = call(
            &without_a,
            Method::PUT,
            "/admin/users/bob/mfa",
            Some(&alice.access),
            mfa.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // ... while the same token still works where tenant A is configured.
        assert!(w.auth.verify(&alice.access).await.is_ok());

        assert_eq!(
            w.user(&w.a, "bob").await,
            before,
            "nothing may have changed"
        );
        let events = log.audit_of("set_mfa_preference", "bob");
        assert_eq!(events.len(), 5, "{events:#?}");
        for event in &events {
            assert_eq!(event.get("outcome"), Some("unauthenticated"));
            assert_eq!(event.get("actor"), None);
        }
        log.assert_never_logged(&alice.id);
        log.assert_never_logged(&tampered);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn self_service_changes_only_unprotected_attributes() {
    captured(|log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;

        let (status, body) = w
            .call(
                Method::PATCH,
                "/me/attributes",
                Some(&bob.access),
                Some(json!({"attributes": {"name": "Bob Builder"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["username"], "bob");
        assert_eq!(w.user(&w.a, "bob").await.attr("name"), Some("Bob Builder"));

        // A protected attribute, alone or with an unprotected one, in any case: 403, and
        // nothing changed at all.
        for attributes in [
            json!({"custom:plan": "platinum-secret-value"}),
            json!({"name": "Sneaky", "custom:mfa_required": "false"}),
            json!({"CUSTOM:PLAN": "platinum-secret-value"}),
            json!({"email_verified": "true"}),
        ] {
            let (status, body) = w
                .call(
                    Method::PATCH,
                    "/me/attributes",
                    Some(&bob.access),
                    Some(json!({ "attributes": attributes })),
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{attributes}: {body}");
            assert_eq!(body["error"], "protected_attribute");
        }
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("name"), Some("Bob Builder"));
        assert_eq!(after.attr("custom:plan"), Some("basic"));
        assert_eq!(after.attr("custom:mfa_required"), None);

        // Only the caller's own account: there is no way to name another user.
        let (status, _) = w
            .call(
                Method::PATCH,
                "/me/attributes",
                Some(&bob.access),
                Some(json!({"attributes": {"name": "x"}, "username": "alice"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            w.user(&w.a, "alice").await.attr("name"),
            Some("alice original")
        );

        // An administrator may set protected attributes through the admin route.
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let (status, body) = w
            .call(
                Method::PATCH,
                "/admin/users/bob/attributes",
                Some(&alice.access),
                Some(json!({"attributes": {
                    "custom:plan": "platinum-secret-value",
                    "custom:mfa_required": "true"
                }})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("custom:plan"), Some("platinum-secret-value"));
        assert_eq!(after.attr("custom:mfa_required"), Some("true"));

        // Audit: attribute names, never values.
        let refused = log.audit_of("update_own_attributes", "bob");
        assert_eq!(refused.len(), 6, "{refused:#?}");
        assert_eq!(refused[1].get("outcome"), Some("denied"));
        assert_eq!(refused[1].get("attributes"), Some("custom:plan"));
        let admin = log.audit_of("update_attributes", "bob");
        assert_eq!(
            admin[0].get("attributes"),
            Some("custom:mfa_required,custom:plan")
        );
        log.assert_never_logged("platinum-secret-value");
        log.assert_never_logged("Bob Builder");
    })
    .await;
}

/// `PATCH /me/attributes` as `token`'s user on `app`: the status and the error code.
async fn patch_me(app: &Router, token: &str, attributes: Value) -> (StatusCode, Value) {
    let (status, body) = call(
        app,
        Method::PATCH,
        "/me/attributes",
        Some(token),
        Some(json!({ "attributes": attributes })),
    )
    .await;
    (status, body["error"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn self_service_is_limited_to_allowlisted_attributes() {
    captured(|log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        // Tenant A with no `protected_attributes` at all: the allowlist alone decides.
        let unprotected = CognitoAuth::builder()
            .tenant(
                Tenant::builder(&w.tenant_a, &w.a.id)
                    .client_id(&w.a.client_id)
                    .jwks_url(w.moto.jwks_url(&w.a.id))
                    .build()
                    .expect("tenant"),
            )
            .expect("tenant a")
            .build()
            .expect("auth");
        let forbidden = (StatusCode::FORBIDDEN, json!("protected_attribute"));

        // The default allowlist: standard profile attributes only.
        let app = AdminApi::new(unprotected.clone(), w.cognito.clone()).router();
        for attributes in [
            json!({"custom:plan": "gold"}),
            json!({"name": "Sneaky", "custom:plan": "gold"}),
            json!({"custom:mfa_required": "false"}),
            json!({"dev:custom:x": "1"}),
            json!({"email": "bob@example.com"}),
            json!({"NAME": "Other case"}),
        ] {
            assert_eq!(
                patch_me(&app, &bob.access, attributes.clone()).await,
                forbidden,
                "{attributes}"
            );
        }
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("custom:plan"), Some("basic"));
        assert_eq!(after.attr("name"), Some("bob original"));
        assert_eq!(after.attr("email"), None);
        let (status, error) = patch_me(&app, &bob.access, json!({"name": "Bob Allowed"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");
        assert_eq!(w.user(&w.a, "bob").await.attr("name"), Some("Bob Allowed"));

        // An allowlisted custom attribute may be changed; the MFA requirement attribute and
        // developer-only attributes never, even when listed; the list replaces the default.
        let app = AdminApi::new(unprotected.clone(), w.cognito.clone())
            .self_service_attributes(["name", "custom:plan", "custom:mfa_required", "dev:custom:x"])
            .router();
        let (status, error) = patch_me(&app, &bob.access, json!({"custom:plan": "gold"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");
        assert_eq!(w.user(&w.a, "bob").await.attr("custom:plan"), Some("gold"));
        for attributes in [
            json!({"custom:mfa_required": "false"}),
            json!({"dev:custom:x": "1"}),
            json!({"given_name": "Bob"}),
        ] {
            assert_eq!(
                patch_me(&app, &bob.access, attributes.clone()).await,
                forbidden,
                "{attributes}"
            );
        }

        // A tenant's protected attribute stays refused even when allowlisted.
        let app = AdminApi::new(w.auth.clone(), w.cognito.clone())
            .self_service_attributes(["custom:plan"])
            .router();
        assert_eq!(
            patch_me(&app, &bob.access, json!({"custom:plan": "free"})).await,
            forbidden
        );

        // The MFA requirement attribute named by the configuration file is protected.
        let config = cognito_authz::AuthConfig::from_toml(
            "[triggers]\nmfa_required_attribute = \"custom:plan\"\n",
        )
        .expect("config");
        let app = AdminApi::new(unprotected, w.cognito.clone())
            .self_service_attributes(["custom:plan", "custom:mfa_required"])
            .apply_config(&config)
            .router();
        assert_eq!(
            patch_me(&app, &bob.access, json!({"custom:plan": "free"})).await,
            forbidden
        );
        let (status, error) =
            patch_me(&app, &bob.access, json!({"custom:mfa_required": "x"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");

        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("custom:plan"), Some("gold"));
        assert_eq!(after.attr("name"), Some("Bob Allowed"));
        assert_eq!(after.attr("given_name"), None);
        let refused: Vec<_> = log
            .audit_of("update_own_attributes", "bob")
            .into_iter()
            .filter(|e| e.get("outcome") == Some("denied"))
            .collect();
        assert_eq!(refused.len(), 11, "{refused:#?}");
        assert!(
            refused
                .iter()
                .all(|e| e.get("reason") == Some("protected_attribute"))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_self_service_allowlist_comes_from_the_config_file() {
    captured(|_log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let config = cognito_authz::AuthConfig::from_toml(
            "[admin]\nself_service_attributes = [\"given_name\"]\n",
        )
        .expect("config");
        let app = AdminApi::new(w.auth.clone(), w.cognito.clone())
            .apply_config(&config)
            .router();
        let (status, error) = patch_me(&app, &bob.access, json!({"given_name": "Robert"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");
        // `name` is in the default list, but the file's list replaces it.
        assert_eq!(
            patch_me(&app, &bob.access, json!({"name": "Bobby"})).await,
            (StatusCode::FORBIDDEN, json!("protected_attribute"))
        );
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("given_name"), Some("Robert"));
        assert_ne!(after.attr("name"), Some("Bobby"));
    })
    .await;
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
        let revocations = Revocations::new();
        let auth = build_auth_with(
            &w.moto,
            &[(&w.tenant_a, &w.a, false), (&w.tenant_b, &w.b, true)],
            Some(revocations.clone()),
        );
        let app = AdminApi::new(auth.clone(), w.cognito.clone()).router();
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
        let revocations = Revocations::new();
        let auth = build_auth_with(
            &w.moto,
            &[(&w.tenant_a, &w.a, false), (&w.tenant_b, &w.b, true)],
            Some(revocations.clone()),
        );
        let app = AdminApi::new(auth.clone(), w.cognito.clone()).router();
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

#[tokio::test(flavor = "multi_thread")]
async fn admin_cannot_lock_themselves_out() {
    captured(|log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let boris = sign_in(&w.cognito, &w.b, "boris").await;

        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/alice/disable",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"], "self_lockout");
        assert!(w.user(&w.a, "alice").await.enabled);

        let (status, body) = w
            .call(
                Method::DELETE,
                "/admin/users/alice/groups/admin",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(w.groups(&w.a, "alice").await, ["admin"]);
        // Tenant B maps the role explicitly; same rule.
        let (status, _) = w
            .call(
                Method::DELETE,
                "/admin/users/boris/groups/admin",
                Some(&boris.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(w.groups(&w.b, "boris").await, ["admin"]);

        // The same operations on someone else work.
        let (status, _) = w
            .call(
                Method::DELETE,
                "/admin/users/carol/groups/admin",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(w.groups(&w.a, "carol").await.is_empty());
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/carol/disable",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(!w.user(&w.a, "carol").await.enabled);
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/carol/enable",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(w.user(&w.a, "carol").await.enabled);
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/bob/groups",
                Some(&alice.access),
                Some(json!({"group": "admin"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(w.groups(&w.a, "bob").await, ["admin"]);
        // Tenant A maps no roles, so every group is a role of its own name: alice lacks
        // `no-such-group`, refused (403) before Cognito is asked whether it exists. In tenant
        // B, which maps only `admin`, an unknown group grants nothing and Cognito says 404.
        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/bob/groups",
                Some(&alice.access),
                Some(json!({"group": "no-such-group"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/shared/groups",
                Some(&boris.access),
                Some(json!({"group": "no-such-group"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"], "group_not_found");

        let events = log.audit_of("disable_user", "alice");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].get("outcome"), Some("denied"));
        assert_eq!(events[0].get("reason"), Some("self_lockout"));
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
