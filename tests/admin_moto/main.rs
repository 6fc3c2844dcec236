//! End-to-end tests of the admin feature against moto, a real Cognito emulator: two tenants
//! (two user pools with app clients, custom attributes and an `admin` group), users created and
//! signed in through the Cognito API for real tokens, the admin and self-service routes served
//! with `oneshot`, and every outcome read back from Cognito, not only the HTTP status.
//!
//! One moto server is shared by the tests that run at the same time and stopped when the last
//! of them ends. Each test creates its own pools, so tests are independent.

#![cfg(feature = "admin")]

#[path = "../moto/mod.rs"]
mod moto;
#[path = "../openapi_contract/mod.rs"]
mod openapi_contract;

mod admin_routes;
mod logs;
mod self_service;
mod sign_out;
mod tenant_binding;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType,
};
use axum::Router;
use axum::body::Body;
use cognito_authz::admin::AdminApi;
use cognito_authz::{CognitoAuth, Revocations, Tenant};
use http::{Method, Request, StatusCode, header};
use moto::{Moto, Pool, attr};
use serde_json::Value;
use tower::ServiceExt;

const PROTECTED: [&str; 2] = ["custom:mfa_required", "custom:plan"];

// ---------------------------------------------------------------------------------------------
// Shared moto
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

// ---------------------------------------------------------------------------------------------
// Cognito setup through the API
// ---------------------------------------------------------------------------------------------

static NEXT: AtomicU32 = AtomicU32::new(0);

struct Tokens {
    access: String,
    id: String,
}

/// A pool with the custom attributes `mfa_required` and `plan`, an app client allowed the
/// admin, user and refresh flows, and a group `admin`.
async fn create_pool(cognito: &Client, name: &str) -> Pool {
    let custom = |name: &str| {
        SchemaAttributeType::builder()
            .name(name)
            .attribute_data_type(AttributeDataType::String)
            .mutable(true)
            .build()
    };
    moto::pool_with_client(
        cognito,
        name,
        &[custom("mfa_required"), custom("plan")],
        &[
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
            ExplicitAuthFlowsType::AllowUserPasswordAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        ],
    )
    .await
}

async fn create_user(cognito: &Client, pool: &Pool, username: &str, groups: &[&str]) {
    let attributes = vec![
        attr("name", &format!("{username} original")),
        attr("custom:plan", "basic"),
    ];
    moto::create_user(cognito, pool, username, attributes, groups).await;
}

async fn sign_in(cognito: &Client, pool: &Pool, username: &str) -> Tokens {
    let result = moto::sign_in(cognito, pool, username).await;
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
        moto::groups_of(&self.cognito, pool, username).await
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
