//! End to end, over real HTTP: the `/me` routes and the admin console routes of
//! `examples/admin_service` (its own `app` function, built from a configuration file as its
//! `main` does, served on a 127.0.0.1 port), against moto as Cognito with real tokens. Every
//! answer is checked against `docs/admin-openapi.json`, and every outcome is read back from
//! Cognito, not only from the status.
//!
//! moto runs with TOTP checking on (`MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP`), so MFA step-up
//! is tested with real right and wrong codes. moto has no `AdminListDevices` /
//! `AdminForgetDevice`: those are unit-tested on SDK values (`src/admin/ops/me.rs`); here only
//! what happens before Cognito is called.

#![cfg(feature = "admin")]

mod event_log;
mod moto;
mod openapi_contract;

#[allow(dead_code, unused_imports)]
#[path = "../examples/admin_service.rs"]
mod admin_service;

mod admin_world;

use std::ops::Deref;

use admin_world::{AdminWorld, Pools, Sections, fresh_code, sign_in_with, sign_in_with_totp};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};
use event_log::assert_never_logged;
use http::{Method, StatusCode};
use moto::{PASSWORD, Pool, attr};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The world: two moto pools, a machine tenant, the service on a real port
// ---------------------------------------------------------------------------------------------

struct World {
    world: AdminWorld,
    /// A second app client of pool A, with a secret (in `[admin.client_secrets]`).
    secret_client: (String, String),
}

/// The shared world's pools, service, client and calls.
impl Deref for World {
    type Target = AdminWorld;

    fn deref(&self) -> &AdminWorld {
        &self.world
    }
}

async fn group(cognito: &Client, pool: &Pool, name: &str) {
    cognito
        .create_group()
        .user_pool_id(&pool.id)
        .group_name(name)
        .send()
        .await
        .expect("CreateGroup");
}

async fn user(cognito: &Client, pool: &Pool, name: &str, email: bool) {
    let attributes = if email {
        vec![
            attr("email", &format!("{name}@example.com")),
            attr("email_verified", "true"),
        ]
    } else {
        Vec::new()
    };
    moto::create_user(cognito, pool, name, attributes, &[]).await;
}

async fn token(w: &World, pool: &Pool, name: &str) -> String {
    sign_in_with(&w.cognito, pool, &pool.client_id, name, PASSWORD)
        .await
        .expect("signed in")
}

impl World {
    /// Tenant `acme` (pool A): `alice` (admin), `bob`, `carol` (TOTP), `dave`, `frank` (with a
    /// verified email), groups `admin` (role admin), `editors` (role editor), `staff` (no role).
    /// Tenant `globex` (pool B): `boris` (admin), `bob`, `only_b`. Tenant `machines`: the
    /// machine client `robot` (keys from a local issuer).
    /// `[admin] max_password_attempts` and `password_attempt_window_seconds`, if given.
    async fn new(limit: Option<(u32, u64)>) -> World {
        let pools = Pools::start(
            &[("alice", true), ("bob", false)],
            &[("boris", true), ("bob", false), ("only_b", false)],
        )
        .await;
        let (cognito, a) = (&pools.cognito, &pools.a);
        for g in ["editors", "staff"] {
            group(cognito, a, g).await;
        }
        for (name, email) in [("carol", false), ("dave", false), ("frank", true)] {
            user(cognito, a, name, email).await;
        }
        pools.totp_user_in_a("carol").await;
        let secret_client = cognito
            .create_user_pool_client()
            .user_pool_id(&a.id)
            .client_name("with-secret")
            .generate_secret(true)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .send()
            .await
            .expect("CreateUserPoolClient")
            .user_pool_client()
            .map(|c| {
                (
                    c.client_id().expect("id").to_owned(),
                    c.client_secret().expect("secret").to_owned(),
                )
            })
            .expect("client");
        let limit = limit.map_or(String::new(), |(max, window)| {
            format!("max_password_attempts = {max}\npassword_attempt_window_seconds = {window}\n")
        });
        let sections = Sections {
            top: "revocations = true\n\n".into(),
            acme_clients: vec![secret_client.0.clone()],
            acme_extra: "[tenant.roles]\nadmin = ['admin']\neditor = ['editors']\n".into(),
            admin: format!(
                "{limit}[admin.client_secrets]\n'{cs}' = '{secret}'\n",
                cs = secret_client.0,
                secret = secret_client.1,
            ),
            ..Sections::default()
        };
        World {
            world: AdminWorld::serve(pools, sections).await,
            secret_client,
        }
    }

    async fn status_of(&self, pool: &Pool, name: &str) -> Option<String> {
        let out = self.user(pool, name).await?;
        out.user_status().map(|s| s.as_str().to_owned())
    }

    async fn groups_of(&self, pool: &Pool, name: &str) -> Vec<String> {
        moto::groups_of(&self.cognito, pool, name).await
    }
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

const ME_ROUTES: [(Method, &str); 7] = [
    (Method::GET, "/me/attributes"),
    (Method::PATCH, "/me/attributes"),
    (Method::GET, "/me/mfa"),
    (Method::POST, "/me/password"),
    (Method::POST, "/me/signout"),
    (Method::GET, "/me/devices"),
    (Method::DELETE, "/me/devices/us-east-1_0a1b2c3d-1111"),
];

fn me_body(path: &str) -> Option<Value> {
    match path {
        "/me/password" => {
            Some(json!({"current_password": PASSWORD, "new_password": "N3w-Passw0rd!"}))
        }
        "/me/attributes" => Some(json!({"attributes": {"name": "x"}})),
        _ => None,
    }
}

#[path = "self_service_moto/me.rs"]
mod me;

#[path = "self_service_moto/console.rs"]
mod console;
