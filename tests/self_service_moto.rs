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

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ExplicitAuthFlowsType, MessageActionType,
    SoftwareTokenMfaConfigType, SoftwareTokenMfaSettingsType, UserPoolMfaType,
};
use cognito_authz::AuthConfig;
use cognito_authz::testing::LocalIssuer;
use event_log::assert_never_logged;
use http::{Method, StatusCode};
use moto::{MOTO_TOTP_SECRET, Moto, PASSWORD, Pool, totp_code};
use serde_json::{Value, json};

const MACHINE_POOL: &str = "us-east-1_Machines1";
const ROBOT: &str = "robot-client";

// ---------------------------------------------------------------------------------------------
// The world: two moto pools, a machine tenant, the service on a real port
// ---------------------------------------------------------------------------------------------

struct World {
    _moto: Moto,
    _issuer: LocalIssuer,
    cognito: Client,
    a: Pool,
    b: Pool,
    base: String,
    http: reqwest::Client,
    robot: String,
    /// A second app client of pool A, with a secret (in `[admin.client_secrets]`).
    secret_client: (String, String),
}

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("attribute")
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
    let mut create = cognito
        .admin_create_user()
        .user_pool_id(&pool.id)
        .username(name)
        .message_action(MessageActionType::Suppress);
    if email {
        create = create
            .user_attributes(attr("email", &format!("{name}@example.com")))
            .user_attributes(attr("email_verified", "true"));
    }
    create.send().await.expect("AdminCreateUser");
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool.id)
        .username(name)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
}

/// A TOTP code that stays valid for the next few seconds (moto checks the current step only).
async fn fresh_code() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now % 30 >= 26 {
        tokio::time::sleep(Duration::from_secs(30 - now % 30)).await;
    }
    totp_code(MOTO_TOTP_SECRET)
}

/// Signs `name` in with `password`: the access token, or the challenge name.
async fn sign_in_with(
    cognito: &Client,
    pool: &Pool,
    client_id: &str,
    name: &str,
    password: &str,
) -> Result<String, String> {
    let out = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool.id)
        .client_id(client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", name)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    match out.authentication_result() {
        Some(result) => Ok(result.access_token().expect("access").to_owned()),
        None => Err(out.challenge_name().expect("challenge").as_str().to_owned()),
    }
}

async fn token(w: &World, pool: &Pool, name: &str) -> String {
    sign_in_with(&w.cognito, pool, &pool.client_id, name, PASSWORD)
        .await
        .expect("signed in")
}

/// Turns TOTP on for `name` (moto: associate, verify with a real code, prefer it).
async fn enable_totp(cognito: &Client, pool: &Pool, name: &str) {
    let access = sign_in_with(cognito, pool, &pool.client_id, name, PASSWORD)
        .await
        .expect("signed in before MFA");
    let secret = cognito
        .associate_software_token()
        .access_token(&access)
        .send()
        .await
        .expect("AssociateSoftwareToken");
    assert_eq!(secret.secret_code(), Some(MOTO_TOTP_SECRET));
    cognito
        .verify_software_token()
        .access_token(&access)
        .user_code(fresh_code().await)
        .send()
        .await
        .expect("VerifySoftwareToken");
    cognito
        .set_user_mfa_preference()
        .access_token(&access)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .expect("SetUserMFAPreference");
}

impl World {
    /// Tenant `acme` (pool A): `alice` (admin), `bob`, `carol` (TOTP), `dave`, `frank` (with a
    /// verified email), groups `admin` (role admin), `editors` (role editor), `staff` (no role).
    /// Tenant `globex` (pool B): `boris` (admin), `bob`, `only_b`. Tenant `machines`: the
    /// machine client `robot` (keys from a local issuer).
    /// `[admin] max_password_attempts` and `password_attempt_window_seconds`, if given.
    async fn new(limit: Option<(u32, u64)>) -> World {
        let moto = Moto::start_checking_totp();
        let cognito = moto.client();
        let a = moto::pool_with_users(&cognito, "acme", &[("alice", true), ("bob", false)]).await;
        let b = moto::pool_with_users(
            &cognito,
            "globex",
            &[("boris", true), ("bob", false), ("only_b", false)],
        )
        .await;
        for g in ["editors", "staff"] {
            group(&cognito, &a, g).await;
        }
        for (name, email) in [("carol", false), ("dave", false), ("frank", true)] {
            user(&cognito, &a, name, email).await;
        }
        cognito
            .set_user_pool_mfa_config()
            .user_pool_id(&a.id)
            .mfa_configuration(UserPoolMfaType::Optional)
            .software_token_mfa_configuration(
                SoftwareTokenMfaConfigType::builder().enabled(true).build(),
            )
            .send()
            .await
            .expect("SetUserPoolMfaConfig");
        enable_totp(&cognito, &a, "carol").await;
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

        let issuer = LocalIssuer::start().await.expect("issuer");
        let robot = issuer.mint(&issuer.machine_claims(MACHINE_POOL, ROBOT, &["jobs/run"]));
        let config = format!(
            "revocations = true\n\n[aws]\nendpoint_url = '{endpoint}'\nregion = 'us-east-1'\n\n\
             [[tenant]]\nid = 'acme'\nuser_pool_id = '{pa}'\nclient_ids = ['{ca}', '{cs}']\njwks_url = '{ja}'\n\
             [tenant.roles]\nadmin = ['admin']\neditor = ['editors']\n\n\
             [[tenant]]\nid = 'globex'\nuser_pool_id = '{pb}'\nclient_ids = ['{cb}']\njwks_url = '{jb}'\n\n\
             [[tenant]]\nid = 'machines'\nuser_pool_id = '{MACHINE_POOL}'\nclient_ids = ['app']\n\
             machine_client_ids = ['{ROBOT}']\njwks_url = '{jm}'\n\n\
             [admin]\n{limit}[admin.client_secrets]\n'{cs}' = '{secret}'\n",
            cs = secret_client.0,
            secret = secret_client.1,
            endpoint = moto.endpoint(),
            pa = a.id,
            ca = a.client_id,
            ja = moto.jwks_url(&a.id),
            pb = b.id,
            cb = b.client_id,
            jb = moto.jwks_url(&b.id),
            jm = issuer.jwks_url(MACHINE_POOL),
        );
        let config = AuthConfig::from_toml(&config).expect("config");
        event_log::install();
        let app = admin_service::app(&config, cognito.clone())
            .await
            .expect("the service builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        World {
            _moto: moto,
            _issuer: issuer,
            cognito,
            a,
            b,
            base,
            http: reqwest::Client::new(),
            robot,
            secret_client,
        }
    }

    /// One request; the answer must be as documented. `(status, Retry-After, JSON body)`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the service answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        openapi_contract::assert_documented(&method, path, status, &headers, &bytes);
        let retry_after = headers
            .get("retry-after")
            .map(|v| v.to_str().expect("ascii").to_owned());
        (
            status,
            retry_after,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn attributes(&self, pool: &Pool, name: &str) -> Option<BTreeMap<String, String>> {
        let out = self
            .cognito
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username(name)
            .send()
            .await
            .ok()?;
        Some(
            out.user_attributes()
                .iter()
                .map(|a| {
                    (
                        a.name().to_owned(),
                        a.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        )
    }

    async fn status_of(&self, pool: &Pool, name: &str) -> Option<String> {
        let out = self
            .cognito
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username(name)
            .send()
            .await
            .ok()?;
        out.user_status().map(|s| s.as_str().to_owned())
    }

    async fn groups_of(&self, pool: &Pool, name: &str) -> Vec<String> {
        self.cognito
            .admin_list_groups_for_user()
            .user_pool_id(&pool.id)
            .username(name)
            .send()
            .await
            .expect("AdminListGroupsForUser")
            .groups()
            .iter()
            .filter_map(|g| g.group_name().map(str::to_owned))
            .collect()
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
