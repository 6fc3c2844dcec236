//! The world of these tests: moto as Cognito with TOTP checking on, tenants `acme` (with an
//! enrollment client that has a secret), `globex` and `machines`, `examples/admin_service` serving
//! them over real HTTP, and the calls the tests make through it, each answer checked against the
//! OpenAPI document.

use std::collections::BTreeMap;
use std::ops::Deref;

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType,
};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::WINDOW;
pub(crate) use crate::admin_world::sign_in;
use crate::admin_world::{AdminWorld, Pools, Sections};
use crate::moto::{Pool, attr};

pub(crate) struct World {
    world: AdminWorld,
    pub(crate) enroll_client: String,
}

/// The shared world's pools, service, client and configuration.
impl Deref for World {
    type Target = AdminWorld;

    fn deref(&self) -> &AdminWorld {
        &self.world
    }
}

impl World {
    /// Tenant `acme` (pool A, MFA optional with TOTP): `alice` (admin), `bob`, `dave`,
    /// `carol` (TOTP already); an enrollment client with a secret. Tenant `globex` (pool B):
    /// `boris` (admin), `only_b`; no enrollment client. Tenant `machines`: `robot`.
    pub(crate) async fn new(max_attempts: Option<u32>) -> World {
        let pools = Pools::start(
            &[
                ("alice", true),
                ("bob", false),
                ("dave", false),
                ("carol", false),
            ],
            &[("boris", true), ("only_b", false)],
        )
        .await;
        let (cognito, a) = (&pools.cognito, &pools.a);
        for pool in [a, &pools.b] {
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
        pools.totp_user_in_a("carol").await;
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
        let limit = max_attempts.map_or(String::new(), |max| {
            format!("max_password_attempts = {max}\n")
        });
        let sections = Sections {
            after_aws: format!("[triggers]\nmfa_enrollment_window_attribute = '{WINDOW}'\n\n"),
            admin: format!(
                "{limit}self_service_attributes = ['name', '{WINDOW}']\n\
                 [admin.client_secrets]\n'{enroll_id}' = '{enroll_secret}'\n\
                 [admin.totp_enrollment_clients]\nacme = '{enroll_id}'\n"
            ),
            ..Sections::default()
        };
        World {
            world: AdminWorld::serve(pools, sections).await,
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
        let (status, _, body) = self.world.call(method, path, Some(token), body).await;
        (status, body)
    }

    pub(crate) async fn token(&self, pool: &Pool, name: &str) -> String {
        sign_in(&self.cognito, pool, name).await.expect("signed in")
    }

    pub(crate) async fn attributes(&self, pool: &Pool, name: &str) -> BTreeMap<String, String> {
        self.world
            .attributes(pool, name)
            .await
            .expect("AdminGetUser")
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
