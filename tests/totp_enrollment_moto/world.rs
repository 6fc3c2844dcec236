//! The world of these tests: moto as Cognito with TOTP checking on, tenants `acme` (with an
//! enrollment client that has a secret), `globex` and `machines`, `examples/admin_service` serving
//! them over real HTTP, and the calls the tests make through it, each answer checked against the
//! OpenAPI document.

use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AuthFlowType, ExplicitAuthFlowsType, SchemaAttributeType,
    SoftwareTokenMfaConfigType, UserPoolMfaType,
};
use cognito_authz::AuthConfig;
use cognito_authz::testing::LocalIssuer;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{MACHINE_POOL, ROBOT, WINDOW, attr, enable_totp};
use crate::admin_service;
use crate::event_log;
use crate::moto;
use crate::moto::{Moto, PASSWORD, Pool};
use crate::openapi_contract;

pub(crate) struct World {
    _moto: Moto,
    _issuer: LocalIssuer,
    pub(crate) cognito: Client,
    pub(crate) a: Pool,
    pub(crate) b: Pool,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) robot: String,
    pub(crate) config: AuthConfig,
    pub(crate) enroll_client: String,
}

pub(crate) async fn sign_in(cognito: &Client, pool: &Pool, name: &str) -> Result<String, String> {
    let out = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", name)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    match out.authentication_result() {
        Some(result) => Ok(result.access_token().expect("access").to_owned()),
        None => Err(out.challenge_name().expect("challenge").as_str().to_owned()),
    }
}

impl World {
    /// Tenant `acme` (pool A, MFA optional with TOTP): `alice` (admin), `bob`, `dave`,
    /// `carol` (TOTP already); an enrollment client with a secret. Tenant `globex` (pool B):
    /// `boris` (admin), `only_b`; no enrollment client. Tenant `machines`: `robot`.
    pub(crate) async fn new(max_attempts: Option<u32>) -> World {
        let moto = Moto::start_checking_totp();
        let cognito = moto.client();
        let a = moto::pool_with_users(
            &cognito,
            "acme",
            &[
                ("alice", true),
                ("bob", false),
                ("dave", false),
                ("carol", false),
            ],
        )
        .await;
        let b =
            moto::pool_with_users(&cognito, "globex", &[("boris", true), ("only_b", false)]).await;
        for pool in [&a, &b] {
            cognito
                .add_custom_attributes()
                .user_pool_id(&pool.id)
                .custom_attributes(
                    SchemaAttributeType::builder()
                        .name("mfa_enroll_until")
                        .attribute_data_type(AttributeDataType::String)
                        .mutable(true)
                        .build(),
                )
                .send()
                .await
                .expect("AddCustomAttributes");
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
        let enroll = cognito
            .create_user_pool_client()
            .user_pool_id(&a.id)
            .client_name("acme-totp-enrollment")
            .generate_secret(true)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .send()
            .await
            .expect("CreateUserPoolClient")
            .user_pool_client
            .expect("client");
        let (enroll_id, enroll_secret) = (
            enroll.client_id().expect("id").to_owned(),
            enroll.client_secret().expect("secret").to_owned(),
        );
        let issuer = LocalIssuer::start().await.expect("issuer");
        let robot = issuer.mint(&issuer.machine_claims(MACHINE_POOL, ROBOT, &["jobs/run"]));
        let limit = max_attempts.map_or(String::new(), |max| {
            format!("max_password_attempts = {max}\n")
        });
        let config = format!(
            "[aws]\nendpoint_url = '{endpoint}'\nregion = 'us-east-1'\n\n\
             [triggers]\nmfa_enrollment_window_attribute = '{WINDOW}'\n\n\
             [[tenant]]\nid = 'acme'\nuser_pool_id = '{pa}'\nclient_ids = ['{ca}']\njwks_url = '{ja}'\n\n\
             [[tenant]]\nid = 'globex'\nuser_pool_id = '{pb}'\nclient_ids = ['{cb}']\njwks_url = '{jb}'\n\n\
             [[tenant]]\nid = 'machines'\nuser_pool_id = '{MACHINE_POOL}'\nclient_ids = ['app']\n\
             machine_client_ids = ['{ROBOT}']\njwks_url = '{jm}'\n\n\
             [admin]\n{limit}self_service_attributes = ['name', '{WINDOW}']\n\
             [admin.client_secrets]\n'{enroll_id}' = '{enroll_secret}'\n\
             [admin.totp_enrollment_clients]\nacme = '{enroll_id}'\n",
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
            config,
            enroll_client: enroll_id,
        }
    }

    /// One request; the answer must be as documented. `(status, JSON body)`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token);
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
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub(crate) async fn token(&self, pool: &Pool, name: &str) -> String {
        sign_in(&self.cognito, pool, name).await.expect("signed in")
    }

    pub(crate) async fn attributes(&self, pool: &Pool, name: &str) -> BTreeMap<String, String> {
        let out = self
            .cognito
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username(name)
            .send()
            .await
            .expect("AdminGetUser");
        out.user_attributes()
            .iter()
            .map(|a| {
                (
                    a.name().to_owned(),
                    a.value().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// The user's enabled MFA factors, read from Cognito.
    pub(crate) async fn mfa(&self, pool: &Pool, name: &str) -> Vec<String> {
        self.cognito
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username(name)
            .send()
            .await
            .expect("AdminGetUser")
            .user_mfa_setting_list()
            .to_vec()
    }

    pub(crate) async fn set_window(&self, pool: &Pool, name: &str, value: &str) {
        self.cognito
            .admin_update_user_attributes()
            .user_pool_id(&pool.id)
            .username(name)
            .user_attributes(attr(WINDOW, value))
            .send()
            .await
            .expect("AdminUpdateUserAttributes");
    }

    pub(crate) async fn open_window(&self, admin: &str, user: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/admin/users/{user}/mfa/enrollment"),
                admin,
                Some(json!({"minutes": 15})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub(crate) async fn start(
        &self,
        token: &str,
        password: &str,
        code: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut body = json!({"current_password": password});
        if let Some(code) = code {
            body["mfa_code"] = json!(code);
        }
        self.call(Method::POST, "/me/mfa/totp", token, Some(body))
            .await
    }

    pub(crate) async fn verify(&self, token: &str, code: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/me/mfa/totp/verify",
            token,
            Some(json!({"code": code})),
        )
        .await
    }
}
