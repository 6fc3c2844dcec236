//! The world of the end-to-end tests of `examples/admin_service` over real HTTP
//! (`self_service_moto`, `totp_enrollment_moto`): moto as Cognito with TOTP checking on, tenants
//! `acme` and `globex` (two moto pools) and `machines` (a machine client whose keys come from a
//! local issuer), the service built from a configuration file by its own `app` function as its
//! `main` does and served on a free 127.0.0.1 port, and the calls and Cognito reads the tests
//! make. Every answer is checked against `docs/admin-openapi.json`.
//!
//! Each test binary passes what its world has on top: the pools' users, extra app clients and
//! the configuration's extra lines ([`Sections`]). A binary that includes this module also
//! declares `moto`, `event_log`, `openapi_contract` and `admin_service` at its crate root.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, SoftwareTokenMfaConfigType, SoftwareTokenMfaSettingsType, UserPoolMfaType,
};
use cognito_authz::AuthConfig;
use cognito_authz::testing::LocalIssuer;
use http::{Method, StatusCode};
use serde_json::Value;

use crate::admin_service;
use crate::event_log;
use crate::moto::{self, MOTO_TOTP_SECRET, Moto, PASSWORD, Pool, totp_code};
use crate::openapi_contract;

/// The user pool of tenant `machines` (its tokens come from the local issuer, not moto).
pub const MACHINE_POOL: &str = "us-east-1_Machines1";
/// The machine client of tenant `machines`.
pub const ROBOT: &str = "robot-client";

/// moto (TOTP codes checked) with pool A (`acme`) and pool B (`globex`), before the service.
pub struct Pools {
    pub moto: Moto,
    pub cognito: Client,
    pub a: Pool,
    pub b: Pool,
}

impl Pools {
    /// Starts moto and creates the two pools with their users as [`moto::pool_with_users`] does.
    pub async fn start(users_a: &[(&str, bool)], users_b: &[(&str, bool)]) -> Pools {
        let moto = Moto::start_checking_totp();
        let cognito = moto.client();
        let a = moto::pool_with_users(&cognito, "acme", users_a).await;
        let b = moto::pool_with_users(&cognito, "globex", users_b).await;
        Pools {
            moto,
            cognito,
            a,
            b,
        }
    }

    /// Makes MFA optional with TOTP in pool A, and turns TOTP on for its user `name`.
    pub async fn totp_user_in_a(&self, name: &str) {
        self.cognito
            .set_user_pool_mfa_config()
            .user_pool_id(&self.a.id)
            .mfa_configuration(UserPoolMfaType::Optional)
            .software_token_mfa_configuration(
                SoftwareTokenMfaConfigType::builder().enabled(true).build(),
            )
            .send()
            .await
            .expect("SetUserPoolMfaConfig");
        enable_totp(&self.cognito, &self.a, name).await;
    }
}

/// What a world's configuration has beyond the three tenants, each a run of TOML lines.
#[derive(Default)]
pub struct Sections {
    /// Top-level keys, before `[aws]`.
    pub top: String,
    /// Sections between `[aws]` and the tenants (e.g. `[triggers]`).
    pub after_aws: String,
    /// App clients of tenant `acme` besides pool A's own.
    pub acme_clients: Vec<String>,
    /// Lines after tenant `acme`'s keys (e.g. `[tenant.roles]`).
    pub acme_extra: String,
    /// The body of `[admin]` (its keys and subsections).
    pub admin: String,
}

/// The service running over [`Pools`]: `base` is its `http://127.0.0.1:PORT`.
pub struct AdminWorld {
    _moto: Moto,
    _issuer: LocalIssuer,
    pub cognito: Client,
    pub a: Pool,
    pub b: Pool,
    pub base: String,
    pub http: reqwest::Client,
    /// An access token of the machine client [`ROBOT`] of tenant `machines`.
    pub robot: String,
    /// The configuration the service was built from (not every binary reads it).
    #[allow(dead_code)]
    pub config: AuthConfig,
}

impl AdminWorld {
    /// Builds the configuration file, the service from it with `admin_service::app`, and serves
    /// it on a free port.
    pub async fn serve(pools: Pools, sections: Sections) -> AdminWorld {
        let Pools {
            moto,
            cognito,
            a,
            b,
        } = pools;
        let issuer = LocalIssuer::start().await.expect("issuer");
        let robot = issuer.mint(&issuer.machine_claims(MACHINE_POOL, ROBOT, &["jobs/run"]));
        let acme_clients = std::iter::once(&a.client_id)
            .chain(&sections.acme_clients)
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let config = format!(
            "{top}[aws]\nendpoint_url = '{endpoint}'\nregion = 'us-east-1'\n\n{after_aws}\
             [[tenant]]\nid = 'acme'\nuser_pool_id = '{pa}'\nclient_ids = [{acme_clients}]\njwks_url = '{ja}'\n\
             {acme_extra}\n\
             [[tenant]]\nid = 'globex'\nuser_pool_id = '{pb}'\nclient_ids = ['{cb}']\njwks_url = '{jb}'\n\n\
             [[tenant]]\nid = 'machines'\nuser_pool_id = '{MACHINE_POOL}'\nclient_ids = ['app']\n\
             machine_client_ids = ['{ROBOT}']\njwks_url = '{jm}'\n\n\
             [admin]\n{admin}",
            top = sections.top,
            after_aws = sections.after_aws,
            acme_extra = sections.acme_extra,
            admin = sections.admin,
            endpoint = moto.endpoint(),
            pa = a.id,
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
        AdminWorld {
            _moto: moto,
            _issuer: issuer,
            cognito,
            a,
            b,
            base,
            http: reqwest::Client::new(),
            robot,
            config,
        }
    }

    /// One request; the answer must be as documented. `(status, Retry-After, JSON body)`.
    pub async fn call(
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

    /// What Cognito holds for the user (`AdminGetUser`); `None` if Cognito does not find them.
    pub async fn user(&self, pool: &Pool, name: &str) -> Option<AdminGetUserOutput> {
        self.cognito
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username(name)
            .send()
            .await
            .ok()
    }

    /// The user's attributes read from Cognito; `None` if Cognito does not find the user.
    pub async fn attributes(&self, pool: &Pool, name: &str) -> Option<BTreeMap<String, String>> {
        let out = self.user(pool, name).await?;
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
}

/// A TOTP code that stays valid for the next few seconds (moto checks the current step only).
pub async fn fresh_code() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now % 30 >= 26 {
        tokio::time::sleep(Duration::from_secs(30 - now % 30)).await;
    }
    totp_code(MOTO_TOTP_SECRET)
}

/// Signs `name` in with `password` through app client `client_id`: the access token, or the
/// challenge name.
pub async fn sign_in_with(
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

/// [`sign_in_with`] the pool's own app client and [`PASSWORD`].
pub async fn sign_in(cognito: &Client, pool: &Pool, name: &str) -> Result<String, String> {
    sign_in_with(cognito, pool, &pool.client_id, name, PASSWORD).await
}

/// The access token of `name`, who has TOTP, through the challenge answered with a real code.
pub async fn sign_in_with_totp(cognito: &Client, pool: &Pool, name: &str) -> String {
    let out = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", name)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("AdminInitiateAuth");
    let done = cognito
        .admin_respond_to_auth_challenge()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .challenge_name(out.challenge_name().expect("challenge").clone())
        .session(out.session().expect("session"))
        .challenge_responses("USERNAME", name)
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", fresh_code().await)
        .send()
        .await
        .expect("AdminRespondToAuthChallenge");
    done.authentication_result()
        .and_then(|r| r.access_token())
        .expect("access token")
        .to_owned()
}

/// Turns TOTP on for `name` with the user's own token (moto: associate, verify with a real
/// code, prefer it; moto keeps the scope).
pub async fn enable_totp(cognito: &Client, pool: &Pool, name: &str) {
    let access = sign_in(cognito, pool, name)
        .await
        .expect("signed in before MFA");
    let secret = cognito
        .associate_software_token()
        .access_token(&access)
        .send()
        .await
        .expect("AssociateSoftwareToken");
    // The codes of these tests are computed from moto's fixed secret.
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
