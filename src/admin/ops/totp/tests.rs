//! What moto cannot show: the `MFA_SETUP` session path, `RevokeToken` and its fallback, a
//! scope-less enrollment token. A local HTTP server answers each Cognito operation with the
//! JSON shape the API reference documents and records every request the SDK sends.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::*;
use crate::admin::ops::attributes::SelfServiceRules;
use crate::admin::ops::password_guard::PasswordGuard;
use crate::admin::ops::totp_bodies::otpauth_uri;
use crate::admin::ops::totp_state::TotpEnrollment;
use crate::config::ClientSecret;
use crate::tenant::Tenant;

const WINDOW: &str = "custom:mfa_enroll_until";
const ENROLL_CLIENT: &str = "enroll-client";
const ENROLL_SECRET: &str = "enroll-secret-value";

type Answers = Arc<Mutex<BTreeMap<String, VecDeque<(u16, Value)>>>>;
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

struct FakeCognito {
    endpoint: String,
    answers: Answers,
    calls: Calls,
}

async fn answer(
    State((answers, calls)): State<(Answers, Calls)>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    calls.lock().unwrap().push((target.clone(), body));
    let (status, reply) = answers
        .lock()
        .unwrap()
        .get_mut(&target)
        .and_then(VecDeque::pop_front)
        .unwrap_or((400, json!({"__type": "UnexpectedCall", "message": target})));
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/x-amz-json-1.1")],
        reply.to_string(),
    )
}

impl FakeCognito {
    async fn start() -> Self {
        let answers: Answers = Arc::default();
        let calls: Calls = Arc::default();
        let app = axum::Router::new()
            .fallback(answer)
            .with_state((answers.clone(), calls.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeCognito {
            endpoint,
            answers,
            calls,
        }
    }

    fn on(&self, operation: &str, status: u16, reply: Value) {
        self.answers
            .lock()
            .unwrap()
            .entry(operation.to_owned())
            .or_default()
            .push_back((status, reply));
    }

    fn operations(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(o, _)| o.clone())
            .collect()
    }

    fn request(&self, operation: &str) -> Value {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .find(|(o, _)| o == operation)
            .map(|(_, body)| body.clone())
            .unwrap_or_else(|| panic!("{operation} was not called"))
    }

    fn me(&self) -> SelfService {
        use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
        use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(&self.endpoint)
            .build();
        let tenant = Tenant::builder("acme", "us-east-1_Fake")
            .client_id("client")
            .build()
            .unwrap();
        let actor = crate::principal::tests::principal(&tenant, &["members"], "openid");
        let mut secrets = BTreeMap::new();
        secrets.insert(ENROLL_CLIENT.to_owned(), ClientSecret::new(ENROLL_SECRET));
        let mut clients = BTreeMap::new();
        clients.insert("acme".to_owned(), ENROLL_CLIENT.to_owned());
        SelfService::new(
            crate::admin::CognitoClient::from_conf(config),
            Arc::new(tenant),
            actor,
            SelfServiceRules::default(),
            PasswordGuard::new(5, std::time::Duration::from_secs(900), secrets),
            None,
            TotpEnrollment::new(Some(WINDOW.to_owned()), clients),
        )
    }
}

fn user_with_window(end: u64) -> Value {
    json!({
        "Username": "alice",
        "UserAttributes": [
            {"Name": "sub", "Value": "sub-1"},
            {"Name": WINDOW, "Value": end.to_string()}
        ],
        "UserMFASettingList": []
    })
}

fn start() -> TotpEnrollmentStart {
    TotpEnrollmentStart {
        current_password: "Correct-Horse-9".to_owned(),
        mfa_code: None,
    }
}

fn code(code: &str) -> TotpVerification {
    TotpVerification {
        code: code.to_owned(),
    }
}

#[tokio::test]
async fn mfa_setup_session_path_then_revoke_token() {
    let cognito = FakeCognito::start().await;
    let open = unix_now() + 600;
    cognito.on("AdminGetUser", 200, user_with_window(open));
    cognito.on("AdminGetUser", 200, user_with_window(open));
    cognito.on(
        "AdminInitiateAuth",
        200,
        json!({"ChallengeName": "MFA_SETUP", "Session": "setup-session-1",
               "ChallengeParameters": {"MFAS_CAN_SETUP": "[\"SOFTWARE_TOKEN_MFA\"]"}}),
    );
    cognito.on(
        "AssociateSoftwareToken",
        200,
        json!({"SecretCode": "JBSWY3DPEHPK3PXP", "Session": "setup-session-2"}),
    );
    cognito.on(
        "VerifySoftwareToken",
        200,
        json!({"Status": "SUCCESS", "Session": "setup-session-3"}),
    );
    cognito.on(
        "AdminRespondToAuthChallenge",
        200,
        json!({"ChallengeParameters": {}, "AuthenticationResult": {
            "AccessToken": "scopeless-access", "IdToken": "id", "RefreshToken": "refresh-1",
            "ExpiresIn": 300, "TokenType": "Bearer"}}),
    );
    cognito.on("AdminSetUserMFAPreference", 200, json!({}));
    cognito.on("AdminUpdateUserAttributes", 200, json!({}));
    cognito.on("RevokeToken", 200, json!({}));
    let me = cognito.me();

    let secret = me.start_totp_enrollment(&start()).await.expect("started");
    assert_eq!(secret.secret, "JBSWY3DPEHPK3PXP");
    assert_eq!(
        secret.otpauth_uri,
        "otpauth://totp/acme:alice?secret=JBSWY3DPEHPK3PXP&issuer=acme&algorithm=SHA1&digits=6&period=30"
    );
    let sign_in = cognito.request("AdminInitiateAuth");
    assert_eq!(sign_in["ClientId"], ENROLL_CLIENT);
    assert_eq!(sign_in["AuthFlow"], "ADMIN_USER_PASSWORD_AUTH");
    assert_eq!(sign_in["AuthParameters"]["USERNAME"], "alice");
    assert!(sign_in["AuthParameters"]["SECRET_HASH"].is_string());
    // The challenge's session authorizes the association: no access token is involved.
    assert_eq!(
        cognito.request("AssociateSoftwareToken"),
        json!({"Session": "setup-session-1"})
    );

    me.verify_totp_enrollment(&code("123456"))
        .await
        .expect("verified");
    let verify = cognito.request("VerifySoftwareToken");
    assert_eq!(verify["Session"], "setup-session-2");
    assert_eq!(verify["UserCode"], "123456");
    assert!(verify.get("AccessToken").is_none());
    let respond = cognito.request("AdminRespondToAuthChallenge");
    assert_eq!(respond["ChallengeName"], "MFA_SETUP");
    assert_eq!(respond["Session"], "setup-session-3");
    assert_eq!(respond["ClientId"], ENROLL_CLIENT);
    assert!(respond["ChallengeResponses"]["SECRET_HASH"].is_string());
    assert_eq!(
        cognito.request("AdminSetUserMFAPreference")["SoftwareTokenMfaSettings"],
        json!({"Enabled": true, "PreferredMfa": true})
    );
    assert_eq!(
        cognito.request("AdminUpdateUserAttributes")["UserAttributes"],
        json!([{"Name": WINDOW, "Value": "0"}]),
        "one shot: the window is closed"
    );
    assert_eq!(
        cognito.request("RevokeToken"),
        json!({"Token": "refresh-1", "ClientId": ENROLL_CLIENT, "ClientSecret": ENROLL_SECRET})
    );
    assert!(
        !cognito
            .operations()
            .contains(&"AdminUserGlobalSignOut".to_owned()),
        "RevokeToken worked: no global sign-out"
    );
    // One shot: the window is closed and nothing is left to verify.
    cognito.on("AdminGetUser", 200, user_with_window(0));
    assert_eq!(
        me.verify_totp_enrollment(&code("123456")).await,
        Err(AdminError::EnrollmentWindowClosed)
    );
    cognito.on("AdminGetUser", 200, user_with_window(open));
    assert_eq!(
        me.verify_totp_enrollment(&code("123456")).await,
        Err(AdminError::NoPendingEnrollment)
    );
}

#[tokio::test]
async fn token_path_falls_back_to_global_sign_out_when_revoke_token_fails() {
    let cognito = FakeCognito::start().await;
    let open = unix_now() + 600;
    cognito.on("AdminGetUser", 200, user_with_window(open));
    cognito.on("AdminGetUser", 200, user_with_window(open));
    cognito.on(
        "AdminInitiateAuth",
        200,
        json!({"ChallengeParameters": {}, "AuthenticationResult": {
            "AccessToken": "scoped-access", "IdToken": "id", "RefreshToken": "refresh-2",
            "ExpiresIn": 300, "TokenType": "Bearer"}}),
    );
    cognito.on("AssociateSoftwareToken", 200, json!({"SecretCode": "ABC"}));
    // A wrong code first: counted, and the enrollment stays for another try.
    cognito.on(
        "VerifySoftwareToken",
        400,
        json!({"__type": "EnableSoftwareTokenMFAException", "message": "Code mismatch"}),
    );
    cognito.on("VerifySoftwareToken", 200, json!({"Status": "SUCCESS"}));
    cognito.on("AdminSetUserMFAPreference", 200, json!({}));
    cognito.on("AdminUpdateUserAttributes", 200, json!({}));
    cognito.on(
        "RevokeToken",
        400,
        json!({"__type": "UnsupportedOperationException", "message": "not enabled"}),
    );
    cognito.on("AdminUserGlobalSignOut", 200, json!({}));
    cognito.on("AdminGetUser", 200, user_with_window(open));
    let me = cognito.me();

    me.start_totp_enrollment(&start()).await.expect("started");
    assert_eq!(
        cognito.request("AssociateSoftwareToken"),
        json!({"AccessToken": "scoped-access"})
    );
    assert_eq!(
        me.verify_totp_enrollment(&code("000000")).await,
        Err(AdminError::WrongMfaCode)
    );
    me.verify_totp_enrollment(&code("123456"))
        .await
        .expect("the second code is right");
    assert_eq!(
        cognito.request("VerifySoftwareToken")["AccessToken"],
        "scoped-access"
    );
    assert_eq!(cognito.request("RevokeToken")["Token"], "refresh-2");
    assert_eq!(
        cognito.request("AdminUserGlobalSignOut"),
        json!({"UserPoolId": "us-east-1_Fake", "Username": "alice"})
    );
}

#[tokio::test]
async fn a_closed_window_signs_no_one_in() {
    for end in [unix_now() - 1, unix_now() + 24 * 3600, 0] {
        let cognito = FakeCognito::start().await;
        cognito.on("AdminGetUser", 200, user_with_window(end));
        assert_eq!(
            cognito.me().start_totp_enrollment(&start()).await,
            Err(AdminError::EnrollmentWindowClosed),
            "{end}"
        );
        assert_eq!(cognito.operations(), ["AdminGetUser"], "{end}");
    }
}

#[tokio::test]
async fn a_scopeless_enrollment_token_is_a_deployment_fault_and_its_session_is_ended() {
    let cognito = FakeCognito::start().await;
    cognito.on("AdminGetUser", 200, user_with_window(unix_now() + 600));
    cognito.on(
        "AdminInitiateAuth",
        200,
        json!({"ChallengeParameters": {}, "AuthenticationResult": {
            "AccessToken": "scopeless", "RefreshToken": "refresh-3",
            "ExpiresIn": 300, "TokenType": "Bearer"}}),
    );
    cognito.on(
        "AssociateSoftwareToken",
        400,
        json!({"__type": "NotAuthorizedException",
               "message": "Access Token does not have required scopes"}),
    );
    cognito.on("RevokeToken", 200, json!({}));
    let err = cognito
        .me()
        .start_totp_enrollment(&start())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 500, "{err:?}");
    assert_eq!(cognito.request("RevokeToken")["Token"], "refresh-3");
}

#[test]
fn bodies_are_checked_and_never_shown() {
    let body: TotpEnrollmentStart =
        serde_json::from_str(r#"{"current_password":"Secret-1!","mfa_code":"654321"}"#).unwrap();
    let shown = format!("{body:?}");
    assert!(
        !shown.contains("Secret-1!") && !shown.contains("654321"),
        "{shown}"
    );
    assert!(
        serde_json::from_str::<TotpEnrollmentStart>(r#"{"current_password":"x","user":"bob"}"#)
            .is_err()
    );
    for bad in ["12345", "1234567", "12a456", "", "１２３４５６"] {
        assert!(code(bad).validate().is_err(), "{bad:?}");
    }
    code("012345").validate().expect("six digits");
    assert!(!format!("{:?}", code("012345")).contains("012345"));
    let secret = TotpSecret {
        secret: "JBSWY3DPEHPK3PXP".to_owned(),
        otpauth_uri: otpauth_uri("acme", "a b", "JBSWY3DPEHPK3PXP"),
    };
    assert!(!format!("{secret:?}").contains("JBSWY3"));
    assert!(
        secret
            .otpauth_uri
            .starts_with("otpauth://totp/acme:a%20b?secret=JBSWY3DPEHPK3PXP&issuer=acme")
    );
    assert_eq!(
        otpauth_uri("a&b", "ann@x.io", "S"),
        "otpauth://totp/a%26b:ann%40x.io?secret=S&issuer=a%26b&algorithm=SHA1&digits=6&period=30"
    );
}
