//! The Post Authentication MFA drift guard: event handling without AWS, and `AdminGetUser`
//! against moto (a user with TOTP enabled, then disabled).

#![cfg(feature = "lambda")]

mod moto;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, AuthFlowType, MessageActionType, SchemaAttributeType,
    SmsMfaSettingsType, SoftwareTokenMfaSettingsType,
};
use cognito_authz::AuthConfig;
use cognito_authz::aws::CognitoClient;
use cognito_authz::lambda::{DEFAULT_MFA_REQUIRED_ATTRIBUTE, PostAuthentication, TriggerError};
use moto::Moto;
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const PASSWORD: &str = "Correct-Horse-9-Battery";

fn fixture(name: &str) -> Value {
    let path = format!("{FIXTURES}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A client whose every call fails fast: proves that a decision was taken without AWS.
fn unreachable_client() -> CognitoClient {
    use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
    use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url("http://127.0.0.1:1")
        .build();
    CognitoClient::from_conf(config)
}

fn offline_guard() -> PostAuthentication {
    let config = AuthConfig::from_file(format!("{FIXTURES}/tenants.toml")).unwrap();
    PostAuthentication::with_client(&config, unreachable_client()).unwrap()
}

fn with_attribute(value: Option<&str>) -> Value {
    let mut event = fixture("post_auth.json");
    let attributes = event["request"]["userAttributes"].as_object_mut().unwrap();
    match value {
        Some(v) => attributes.insert(DEFAULT_MFA_REQUIRED_ATTRIBUTE.to_owned(), json!(v)),
        None => attributes.remove(DEFAULT_MFA_REQUIRED_ATTRIBUTE),
    };
    event
}

#[tokio::test]
async fn no_requirement_passes_without_calling_aws() {
    let guard = offline_guard();
    assert_eq!(guard.attribute(), "custom:mfa_required");
    for value in [None, Some("false"), Some("0"), Some(""), Some("FALSE")] {
        let event = with_attribute(value);
        let out = guard.handle_json(event.clone()).await.unwrap_or_else(|e| {
            panic!("{value:?}: {e:?}");
        });
        assert_eq!(out["response"], json!({}), "{value:?}");
        assert_eq!(out["userName"], event["userName"]);
        assert_eq!(
            out["request"]["userAttributes"],
            event["request"]["userAttributes"]
        );
    }
}

#[tokio::test]
async fn a_requirement_that_cannot_be_checked_fails_the_sign_in() {
    let guard = offline_guard();
    for value in ["true", "1", "TRUE", "yes please"] {
        let err = guard
            .handle_json(with_attribute(Some(value)))
            .await
            .unwrap_err();
        assert!(matches!(err, TriggerError::Cognito(_)), "{value}: {err:?}");
        assert_eq!(err.reason(), "CognitoError");
        assert!(!err.to_string().contains(value), "{err}");
    }
}

#[tokio::test]
async fn bad_events_are_errors_not_panics() {
    let guard = offline_guard();
    let good = with_attribute(None);
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut event = good.clone();
        f(&mut event);
        event
    };

    let err = guard
        .handle_json(edit(&|e| e["version"] = json!("9")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TriggerError::UnsupportedVersion { version, .. } if version == "9"),
        "{err:?}"
    );
    let err = guard
        .handle_json(edit(&|e| e["userPoolId"] = json!("us-east-1_Unknown9")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TriggerError::UnknownUserPool { .. }),
        "{err:?}"
    );
    let err = guard
        .handle_json(edit(&|e| {
            e.as_object_mut().unwrap().remove("userName");
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TriggerError::MissingField {
                field: "userName",
                ..
            }
        ),
        "{err:?}"
    );
    let err = guard
        .handle_json(edit(&|e| {
            e["request"]
                .as_object_mut()
                .unwrap()
                .remove("newDeviceUsed");
        }))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a valid PostAuthentication event: missing field `newDeviceUsed`"
    );
    let err = guard
        .handle_json(edit(&|e| {
            e["request"]["userAttributes"]["custom:pin"] = json!(987654321)
        }))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("987654321"), "{err}");

    // A Pre Token Generation event is not a Post Authentication event.
    let mut pre_token = fixture("pre_token_gen_v2_member.json");
    let err = guard.handle_json(pre_token.clone()).await.unwrap_err();
    assert!(
        matches!(err, TriggerError::UnsupportedVersion { .. }),
        "{err:?}"
    );
    pre_token["version"] = json!("1");
    let err = guard.handle_json(pre_token).await.unwrap_err();
    assert!(matches!(err, TriggerError::WrongTrigger { .. }), "{err:?}");

    for not_an_event in [json!(null), json!([1]), json!({})] {
        assert!(guard.handle_json(not_an_event).await.is_err());
    }
}

#[test]
fn an_empty_attribute_name_is_refused() {
    let text = std::fs::read_to_string(format!("{FIXTURES}/tenants.toml"))
        .unwrap()
        .replace(
            "mfa_required_attribute = \"custom:mfa_required\"",
            "mfa_required_attribute = \" \"",
        );
    let err = PostAuthentication::with_client(
        &AuthConfig::from_toml(&text).unwrap(),
        unreachable_client(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("triggers.mfa_required_attribute"),
        "{err}"
    );
}

/// A user pool with the admin-only attribute, an app client and a signed-in user.
struct Pool {
    id: String,
    client_id: String,
}

async fn create_pool(client: &Client) -> Pool {
    let pool = client
        .create_user_pool()
        .pool_name("drift")
        .schema(
            SchemaAttributeType::builder()
                .name("mfa_required")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let id = pool.id.unwrap();
    let app = client
        .create_user_pool_client()
        .user_pool_id(&id)
        .client_name("web")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    Pool {
        id,
        client_id: app.client_id.unwrap(),
    }
}

/// Creates a confirmed user and returns an access token of theirs.
async fn create_user(client: &Client, pool: &Pool, username: &str) -> String {
    client
        .admin_create_user()
        .user_pool_id(&pool.id)
        .username(username)
        .message_action(MessageActionType::Suppress)
        .user_attributes(
            AttributeType::builder()
                .name("custom:mfa_required")
                .value("true")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .admin_set_user_password()
        .user_pool_id(&pool.id)
        .username(username)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .unwrap();
    let auth = client
        .admin_initiate_auth()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .unwrap();
    auth.authentication_result
        .and_then(|r| r.access_token)
        .expect("access token")
}

async fn set_totp(client: &Client, pool: &Pool, username: &str, enabled: bool) {
    client
        .admin_set_user_mfa_preference()
        .user_pool_id(&pool.id)
        .username(username)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(enabled)
                .preferred_mfa(enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn event(pool: &Pool, username: &str, required: Option<&str>) -> Value {
    let mut event = with_attribute(required);
    event["userPoolId"] = json!(pool.id);
    event["userName"] = json!(username);
    event["callerContext"]["clientId"] = json!(pool.client_id);
    event
}

#[tokio::test]
async fn drift_guard_against_moto() {
    let moto = Moto::start();
    let client = moto.client();
    let pool = create_pool(&client).await;
    let token = create_user(&client, &pool, "alice").await;
    create_user(&client, &pool, "bob").await;

    // TOTP as a user sets it up: associate, verify, then the admin (or the user) enables it.
    client
        .associate_software_token()
        .access_token(&token)
        .send()
        .await
        .unwrap();
    client
        .verify_software_token()
        .access_token(&token)
        .user_code("123456")
        .send()
        .await
        .unwrap();
    set_totp(&client, &pool, "alice", true).await;
    let user = client
        .admin_get_user()
        .user_pool_id(&pool.id)
        .username("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(user.user_mfa_setting_list(), ["SOFTWARE_TOKEN_MFA"]);

    let config = AuthConfig::from_toml(&format!(
        r#"
[aws]
endpoint_url = "{endpoint}"
region = "us-east-1"

[[tenant]]
id = "drift"
user_pool_id = "{pool}"
client_ids = ["{client}"]
protected_attributes = ["custom:mfa_required"]
"#,
        endpoint = moto.endpoint(),
        pool = pool.id,
        client = pool.client_id,
    ))
    .unwrap();
    let guard = PostAuthentication::with_client(&config, client.clone()).unwrap();

    // Required and enabled: the sign-in proceeds, the event comes back unchanged.
    let allowed = event(&pool, "alice", Some("true"));
    let out = guard.handle_json(allowed.clone()).await.unwrap();
    assert_eq!(out["response"], json!({}));
    assert_eq!(out["userName"], "alice");
    guard
        .handle_json(event(&pool, "alice", Some("1")))
        .await
        .unwrap();

    // The user turns TOTP off (drift): the next sign-in fails with a clear message.
    set_totp(&client, &pool, "alice", false).await;
    let err = guard
        .handle_json(event(&pool, "alice", Some("true")))
        .await
        .unwrap_err();
    assert!(matches!(err, TriggerError::MfaRequired), "{err:?}");
    assert_eq!(err.reason(), "MfaRequired");
    assert!(
        err.to_string()
            .starts_with("multi-factor authentication is required for this account"),
        "{err}"
    );
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "MfaRequired");

    // Without the attribute there is no requirement.
    guard
        .handle_json(event(&pool, "alice", None))
        .await
        .unwrap();
    guard
        .handle_json(event(&pool, "alice", Some("false")))
        .await
        .unwrap();

    // Any enabled method counts: SMS for bob, who never set up TOTP.
    let err = guard
        .handle_json(event(&pool, "bob", Some("true")))
        .await
        .unwrap_err();
    assert!(matches!(err, TriggerError::MfaRequired), "{err:?}");
    client
        .admin_set_user_mfa_preference()
        .user_pool_id(&pool.id)
        .username("bob")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).build())
        .send()
        .await
        .unwrap();
    guard
        .handle_json(event(&pool, "bob", Some("true")))
        .await
        .unwrap();

    // A user Cognito does not know: the check fails, so the sign-in fails.
    let err = guard
        .handle_json(event(&pool, "mallory", Some("true")))
        .await
        .unwrap_err();
    assert!(matches!(err, TriggerError::Cognito(_)), "{err:?}");

    // A pool that is no tenant is refused before any call.
    let mut other = event(&pool, "alice", Some("true"));
    other["userPoolId"] = json!("us-east-1_NotATenant");
    let err = guard.handle_json(other).await.unwrap_err();
    assert!(
        matches!(err, TriggerError::UnknownUserPool { .. }),
        "{err:?}"
    );

    // The typed handler gives the same answers.
    let typed = serde_json::from_value(event(&pool, "alice", Some("true"))).unwrap();
    assert!(matches!(
        guard.handle(typed).await,
        Err(TriggerError::MfaRequired)
    ));

    // A client built for another region: `AdminGetUser` still goes to the pool's region
    // (us-east-1), where moto keeps the pool.
    let eu_client = {
        use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .endpoint_url(moto.endpoint())
            .build();
        CognitoClient::from_conf(config)
    };
    assert!(
        eu_client
            .admin_get_user()
            .user_pool_id(&pool.id)
            .username("bob")
            .send()
            .await
            .is_err(),
        "the pool does not exist in eu-west-1"
    );
    let eu_guard = PostAuthentication::with_client(&config, eu_client).unwrap();
    eu_guard
        .handle_json(event(&pool, "bob", Some("true")))
        .await
        .unwrap();
    let err = eu_guard
        .handle_json(event(&pool, "alice", Some("true")))
        .await
        .unwrap_err();
    assert!(matches!(err, TriggerError::MfaRequired), "{err:?}");
}
