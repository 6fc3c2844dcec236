//! TOTP enrollment end to end, over real HTTP: `examples/admin_service` built from a
//! configuration file with `[triggers] mfa_enrollment_window_attribute` and an enrollment app
//! client (with a secret), against moto as Cognito with real tokens and TOTP checking on.
//! Every answer is checked against `docs/admin-openapi.json`; every outcome is read back from
//! Cognito.
//!
//! moto never runs triggers and its tokens always keep the self-service scope, so here the
//! enrollment client's token authorizes `AssociateSoftwareToken` whatever the window; what the
//! trigger decides is tested in `tests/lambda_totp_enrollment.rs`. moto has no `RevokeToken`:
//! these runs take the documented fallback (`AdminUserGlobalSignOut`), seen here as the
//! user's earlier tokens being refused by Cognito afterwards. The `MFA_SETUP` session path and
//! `RevokeToken` itself are unit-tested in `src/admin/ops/totp/tests.rs`.

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
    AttributeDataType, AttributeType, AuthFlowType, ExplicitAuthFlowsType, SchemaAttributeType,
    SoftwareTokenMfaConfigType, SoftwareTokenMfaSettingsType, UserPoolMfaType,
};
use cognito_authz::AuthConfig;
use cognito_authz::testing::LocalIssuer;
use http::{Method, StatusCode};
use moto::{MOTO_TOTP_SECRET, Moto, PASSWORD, Pool, totp_code};
use serde_json::{Value, json};

const WINDOW: &str = "custom:mfa_enroll_until";
const MACHINE_POOL: &str = "us-east-1_Machines1";
const ROBOT: &str = "robot-client";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A TOTP code valid for the next few seconds (moto checks the current step only).
async fn fresh_code() -> String {
    if now() % 30 >= 26 {
        tokio::time::sleep(Duration::from_secs(30 - now() % 30)).await;
    }
    totp_code(MOTO_TOTP_SECRET)
}

/// A six-digit code that is not the current one.
async fn wrong_code() -> String {
    let right = fresh_code().await;
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("attribute")
}

struct World {
    _moto: Moto,
    _issuer: LocalIssuer,
    cognito: Client,
    a: Pool,
    b: Pool,
    base: String,
    http: reqwest::Client,
    robot: String,
    config: AuthConfig,
    enroll_client: String,
}

async fn sign_in(cognito: &Client, pool: &Pool, name: &str) -> Result<String, String> {
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
    async fn new(max_attempts: Option<u32>) -> World {
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
    async fn call(
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

    async fn token(&self, pool: &Pool, name: &str) -> String {
        sign_in(&self.cognito, pool, name).await.expect("signed in")
    }

    async fn attributes(&self, pool: &Pool, name: &str) -> BTreeMap<String, String> {
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
    async fn mfa(&self, pool: &Pool, name: &str) -> Vec<String> {
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

    async fn set_window(&self, pool: &Pool, name: &str, value: &str) {
        self.cognito
            .admin_update_user_attributes()
            .user_pool_id(&pool.id)
            .username(name)
            .user_attributes(attr(WINDOW, value))
            .send()
            .await
            .expect("AdminUpdateUserAttributes");
    }

    async fn open_window(&self, admin: &str, user: &str) -> Value {
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

    async fn start(&self, token: &str, password: &str, code: Option<&str>) -> (StatusCode, Value) {
        let mut body = json!({"current_password": password});
        if let Some(code) = code {
            body["mfa_code"] = json!(code);
        }
        self.call(Method::POST, "/me/mfa/totp", token, Some(body))
            .await
    }

    async fn verify(&self, token: &str, code: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/me/mfa/totp/verify",
            token,
            Some(json!({"code": code})),
        )
        .await
    }
}

/// Turns TOTP on for `name` with the user's own token (moto keeps the scope).
async fn enable_totp(cognito: &Client, pool: &Pool, name: &str) {
    let access = sign_in(cognito, pool, name).await.expect("signed in");
    cognito
        .associate_software_token()
        .access_token(&access)
        .send()
        .await
        .expect("AssociateSoftwareToken");
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

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_admin_opened_window_lets_a_user_enroll_once() {
    let w = World::new(None).await;
    let alice = w.token(&w.a, "alice").await;
    let bob = w.token(&w.a, "bob").await;
    let dave = w.token(&w.a, "dave").await;

    // No window: refused before any sign-in, nothing changed.
    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty());

    let opened = w.open_window(&alice, "bob").await;
    assert_eq!(opened["action"], "open_mfa_enrollment");
    let until = opened["open_until"].as_u64().expect("open_until");
    assert!((now() + 890..=now() + 900).contains(&until), "{until}");
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], until.to_string());

    // A wrong password is refused and enrolls nothing.
    let (status, body) = w.start(&bob, "Wr0ng!Passw0rd", None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_password")
    );

    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["secret"], MOTO_TOTP_SECRET);
    let uri = body["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/acme:bob?secret="), "{uri}");
    assert!(w.mfa(&w.a, "bob").await.is_empty(), "nothing enabled yet");

    // Another user of the same tenant, even with a window of their own, cannot complete
    // bob's enrollment: there is none of theirs.
    let (status, body) = w.verify(&dave, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    w.open_window(&alice, "dave").await;
    let (status, body) = w.verify(&dave, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::CONFLICT, "no_pending_enrollment")
    );
    assert!(w.mfa(&w.a, "dave").await.is_empty());

    // A wrong code: refused, and bob may try again.
    let (status, body) = w.verify(&bob, &wrong_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_mfa_code")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty());

    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.mfa(&w.a, "bob").await, ["SOFTWARE_TOKEN_MFA"]);
    // One shot: the window is closed, the enrollment spent.
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");
    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    // moto has no RevokeToken: the fallback signed bob out everywhere, so Cognito refuses
    // his earlier token, and his next sign-in asks for the new factor.
    let refused = w.cognito.get_user().access_token(&bob).send().await;
    assert!(refused.is_err(), "bob's sessions were ended");
    assert_eq!(
        sign_in(&w.cognito, &w.a, "bob").await,
        Err("SOFTWARE_TOKEN_MFA".to_owned())
    );
    // dave was never touched.
    w.cognito
        .get_user()
        .access_token(&dave)
        .send()
        .await
        .expect("dave's token still works");

    event_log::assert_never_logged(&[MOTO_TOTP_SECRET, PASSWORD, "Wr0ng!Passw0rd", bob.as_str()]);
}

#[tokio::test]
async fn closed_expired_forged_and_admin_closed_windows_change_nothing() {
    let w = World::new(None).await;
    let alice = w.token(&w.a, "alice").await;
    let bob = w.token(&w.a, "bob").await;

    // Expired, forged far into the future, not a number: all closed.
    for value in [
        (now() - 5).to_string(),
        (now() + 24 * 3600).to_string(),
        "soon".to_owned(),
        "0".to_owned(),
    ] {
        w.set_window(&w.a, "bob", &value).await;
        let (status, body) = w.start(&bob, PASSWORD, None).await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::FORBIDDEN, "enrollment_window_closed"),
            "{value}"
        );
    }
    assert!(w.mfa(&w.a, "bob").await.is_empty());

    // Opened, started, then closed by the admin: the code no longer completes anything.
    w.open_window(&alice, "bob").await;
    let (status, _) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w
        .call(
            Method::DELETE,
            "/admin/users/bob/mfa/enrollment",
            &alice,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["action"], "close_mfa_enrollment");
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");
    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty(), "no MFA was enabled");

    // The user cannot open their own window through /me/attributes, even when the tenant's
    // allowlist names the attribute: it is protected.
    let forged = (now() + 600).to_string();
    let (status, body) = w
        .call(
            Method::PATCH,
            "/me/attributes",
            &bob,
            Some(json!({"attributes": {WINDOW: forged}})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "protected_attribute")
    );
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");

    // The window route: admins only, 1 to 60 minutes, own tenant only, configured tenants only.
    let (status, body) = w
        .call(
            Method::POST,
            "/admin/users/dave/mfa/enrollment",
            &bob,
            Some(json!({"minutes": 15})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for minutes in [0, 61] {
        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/bob/mfa/enrollment",
                &alice,
                Some(json!({"minutes": minutes})),
            )
            .await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
    }
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");
    let (status, body) = w
        .call(
            Method::POST,
            "/admin/users/only_b/mfa/enrollment",
            &alice,
            Some(json!({"minutes": 15})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::NOT_FOUND, "user_not_found")
    );
    let boris = w.token(&w.b, "boris").await;
    let (status, body) = w
        .call(
            Method::POST,
            "/admin/users/only_b/mfa/enrollment",
            &boris,
            Some(json!({"minutes": 15})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "totp_enrollment_disabled")
    );
    assert!(!w.attributes(&w.b, "only_b").await.contains_key(WINDOW));
}

#[tokio::test]
async fn machines_are_refused_and_mfa_users_step_up() {
    let w = World::new(None).await;
    for path in ["/me/mfa/totp", "/me/mfa/totp/verify"] {
        let body = if path.ends_with("verify") {
            json!({"code": "123456"})
        } else {
            json!({"current_password": PASSWORD})
        };
        let (status, body) = w.call(Method::POST, path, &w.robot, Some(body)).await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::FORBIDDEN, "not_a_user"),
            "{path}"
        );
    }

    // carol has TOTP: re-enrolling needs her current code first.
    let alice = w.token(&w.a, "alice").await;
    let carol_token = {
        let out = w
            .cognito
            .admin_initiate_auth()
            .user_pool_id(&w.a.id)
            .client_id(&w.a.client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", "carol")
            .auth_parameters("PASSWORD", PASSWORD)
            .send()
            .await
            .expect("challenge");
        let done = w
            .cognito
            .admin_respond_to_auth_challenge()
            .user_pool_id(&w.a.id)
            .client_id(&w.a.client_id)
            .challenge_name(out.challenge_name().expect("challenge").clone())
            .session(out.session().expect("session"))
            .challenge_responses("USERNAME", "carol")
            .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", fresh_code().await)
            .send()
            .await
            .expect("signed in with TOTP");
        done.authentication_result()
            .and_then(|r| r.access_token())
            .expect("access")
            .to_owned()
    };
    w.open_window(&alice, "carol").await;
    let (status, body) = w.start(&carol_token, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "mfa_code_required")
    );
    assert_eq!(body["challenge"], "SOFTWARE_TOKEN_MFA");
    let (status, body) = w
        .start(&carol_token, PASSWORD, Some(&wrong_code().await))
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_mfa_code")
    );
    let (status, body) = w
        .start(&carol_token, PASSWORD, Some(&fresh_code().await))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = w.verify(&carol_token, &fresh_code().await).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.mfa(&w.a, "carol").await, ["SOFTWARE_TOKEN_MFA"]);
    assert_eq!(w.attributes(&w.a, "carol").await[WINDOW], "0");
}

#[tokio::test]
async fn wrong_passwords_and_codes_share_the_password_attempt_limit() {
    let w = World::new(Some(3)).await;
    let alice = w.token(&w.a, "alice").await;
    let bob = w.token(&w.a, "bob").await;
    w.open_window(&alice, "bob").await;
    for _ in 0..2 {
        let (status, body) = w.start(&bob, "Wr0ng!Passw0rd", None).await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::FORBIDDEN, "wrong_password")
        );
    }
    let (status, _) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK, "a right password is not counted");
    let (status, body) = w.verify(&bob, &wrong_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_mfa_code")
    );
    // Three counted failures: now even the right code is refused, Cognito not asked.
    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    // The same budget as /me/password.
    let (status, body) = w
        .call(
            Method::POST,
            "/me/password",
            &bob,
            Some(json!({"current_password": PASSWORD, "new_password": "N3w-Passw0rd!"})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty());
}

/// `cognito-authz audit` on the moto pool: the server-only enrollment client passes; a user
/// flow on it, or the window attribute on a client's write list, is a high finding.
#[cfg(feature = "cli")]
#[tokio::test]
async fn audit_finds_an_unsafe_enrollment_client_and_a_writable_window() {
    use cognito_authz::lifecycle::pool_audit::{AuditPolicy, PoolSnapshot, check_pool};
    let w = World::new(None).await;
    let policy = AuditPolicy::for_tenant(&w.config, &w.config.tenants[0], false);
    let checks = |snapshot: &PoolSnapshot| -> Vec<(String, String)> {
        check_pool(&policy, snapshot)
            .into_iter()
            .filter(|f| f.severity == cognito_authz::lifecycle::pool_audit::Severity::High)
            .map(|f| (f.check.id().to_owned(), f.subject))
            .collect()
    };
    let before = PoolSnapshot::read(&w.cognito, &w.a.id)
        .await
        .expect("audit");
    assert_eq!(checks(&before), [], "the enrollment client is server-only");

    w.cognito
        .update_user_pool_client()
        .user_pool_id(&w.a.id)
        .client_id(&w.enroll_client)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .send()
        .await
        .expect("UpdateUserPoolClient");
    w.cognito
        .update_user_pool_client()
        .user_pool_id(&w.a.id)
        .client_id(&w.a.client_id)
        .write_attributes("name")
        .write_attributes(WINDOW)
        .send()
        .await
        .expect("UpdateUserPoolClient");
    let after = PoolSnapshot::read(&w.cognito, &w.a.id)
        .await
        .expect("audit");
    let mut found = checks(&after);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "client-writes-protected-attribute".to_owned(),
                w.a.client_id.clone()
            ),
            (
                "enrollment-client-unsafe".to_owned(),
                w.enroll_client.clone()
            ),
        ]
    );
}
