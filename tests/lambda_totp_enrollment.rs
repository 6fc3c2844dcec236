//! TOTP enrollment in the triggers, on events in the shape AWS documents (moto never runs
//! triggers): the Pre Token Generation trigger keeps the self-service scope only for a sign-in
//! on the tenant's enrollment client while the user's window is open, and the Post
//! Authentication drift guard lets a user without their required MFA in only while it is open.

#![cfg(feature = "lambda")]

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreTokenGenV2;
use cognito_authz::AuthConfig;
use cognito_authz::aws::{CognitoClient, unix_now};
use cognito_authz::lambda::{PostAuthentication, PreTokenGeneration, TriggerError};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const WINDOW: &str = "custom:mfa_enroll_until";
const ENROLLMENT_CLIENT: &str = "5enr0llment0client0acme000";
const USER_CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";

fn fixture(name: &str) -> Value {
    let path = format!("{FIXTURES}/{name}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The shared trigger configuration with enrollment on for tenant `acme`.
fn config_text() -> String {
    std::fs::read_to_string(format!("{FIXTURES}/tenants.toml"))
        .unwrap()
        .replace(
            "[triggers]\n",
            &format!("[triggers]\nmfa_enrollment_window_attribute = \"{WINDOW}\"\n"),
        )
        + &format!(
            "\n[admin.client_secrets]\n\"{ENROLLMENT_CLIENT}\" = \"enrollment-secret\"\n\
             [admin.totp_enrollment_clients]\nacme = \"{ENROLLMENT_CLIENT}\"\n"
        )
}

fn enrolling_trigger() -> PreTokenGeneration {
    PreTokenGeneration::from_config(&AuthConfig::from_toml(&config_text()).unwrap()).unwrap()
}

/// A member's sign-in event (no self-manage role) on `client`, from `source`, with the
/// window attribute set to `window`.
fn member_event(client: &str, source: &str, window: Option<&str>) -> Value {
    let mut event = fixture("pre_token_gen_v2_member.json");
    event["callerContext"]["clientId"] = json!(client);
    event["triggerSource"] = json!(source);
    if let Some(window) = window {
        event["request"]["userAttributes"][WINDOW] = json!(window);
    }
    event
}

/// The scopes the token keeps: whether the self-service scope is suppressed.
fn keeps_scope(trigger: &PreTokenGeneration, event: Value) -> bool {
    let out = trigger.handle_json(event.clone()).expect("event handled");
    let typed: CognitoEventUserPoolsPreTokenGenV2 = serde_json::from_value(event).unwrap();
    assert_eq!(
        serde_json::to_value(trigger.handle(typed).unwrap()).unwrap(),
        out,
        "the raw and the typed handler agree"
    );
    let suppressed = &out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["scopesToSuppress"];
    match out["response"]["claimsAndScopeOverrideDetails"] {
        Value::Null => true,
        _ => !suppressed
            .as_array()
            .is_some_and(|s| s.contains(&json!("aws.cognito.signin.user.admin"))),
    }
}

fn in_minutes(minutes: i64) -> String {
    (unix_now() as i64 + minutes * 60).to_string()
}

const SIGN_IN: &str = "TokenGeneration_Authentication";

#[test]
fn the_enrollment_client_keeps_the_scope_only_inside_the_window() {
    let trigger = enrolling_trigger();
    let open = in_minutes(15);
    assert!(
        keeps_scope(
            &trigger,
            member_event(ENROLLMENT_CLIENT, SIGN_IN, Some(&open))
        ),
        "enrollment client, sign-in, open window"
    );
    // The same user on the user-facing client, during the same window: suppressed.
    assert!(!keeps_scope(
        &trigger,
        member_event(USER_CLIENT, SIGN_IN, Some(&open))
    ));
    // The enrollment client after the window, without one, or on a refresh.
    for window in [Some(in_minutes(-1)), Some(unix_now().to_string()), None] {
        assert!(
            !keeps_scope(
                &trigger,
                member_event(ENROLLMENT_CLIENT, SIGN_IN, window.as_deref())
            ),
            "{window:?}"
        );
    }
    assert!(!keeps_scope(
        &trigger,
        member_event(
            ENROLLMENT_CLIENT,
            "TokenGeneration_RefreshTokens",
            Some(&open)
        )
    ));
    for source in [
        "TokenGeneration_HostedAuth",
        "TokenGeneration_NewPasswordChallenge",
        "TokenGeneration_AuthenticateDevice",
    ] {
        assert!(
            !keeps_scope(
                &trigger,
                member_event(ENROLLMENT_CLIENT, source, Some(&open))
            ),
            "{source}"
        );
    }
}

#[test]
fn forged_and_malformed_windows_are_closed() {
    let trigger = enrolling_trigger();
    // A value the window route never writes: further than an hour ahead (an admin's
    // PATCH /admin/users/{u}/attributes, say), not a number, signed, spaced.
    let forged = in_minutes(24 * 60);
    let beyond = in_minutes(62);
    for value in [
        forged.as_str(),
        beyond.as_str(),
        "9999999999",
        "true",
        "",
        "+1900000000",
        "1.9e9",
        " 1900000000",
    ] {
        assert!(
            !keeps_scope(
                &trigger,
                member_event(ENROLLMENT_CLIENT, SIGN_IN, Some(value))
            ),
            "{value:?}"
        );
    }
}

#[test]
fn another_tenants_enrollment_client_and_configs_without_enrollment_keep_suppressing() {
    // globex has no enrollment client: acme's client id in a globex event changes nothing.
    let trigger = enrolling_trigger();
    let mut event = member_event(ENROLLMENT_CLIENT, SIGN_IN, Some(&in_minutes(10)));
    event["userPoolId"] = json!("eu-west-1_Globex42");
    assert!(!keeps_scope(&trigger, event));
    // Without the window attribute setting, the trigger is exactly as before.
    let plain = PreTokenGeneration::from_config(
        &AuthConfig::from_file(format!("{FIXTURES}/tenants.toml")).unwrap(),
    )
    .unwrap();
    assert!(!keeps_scope(
        &plain,
        member_event(ENROLLMENT_CLIENT, SIGN_IN, Some(&in_minutes(10)))
    ));
    // An admin keeps the scope on any client, window or not (unchanged).
    let mut admin = fixture("pre_token_gen_v2_admin.json");
    admin["callerContext"]["clientId"] = json!(USER_CLIENT);
    assert!(keeps_scope(&trigger, admin));
}

#[test]
fn enrollment_settings_are_checked_at_load() {
    let base = config_text();
    let cases = [
        (
            base.replace(
                &format!("\"{ENROLLMENT_CLIENT}\" = \"enrollment-secret\"\n"),
                "",
            ),
            "must have a secret",
        ),
        (
            base.replace(
                &format!("mfa_enrollment_window_attribute = \"{WINDOW}\"\n"),
                "",
            ),
            "needs [triggers] mfa_enrollment_window_attribute",
        ),
        (
            base.replace(
                &format!("mfa_enrollment_window_attribute = \"{WINDOW}\""),
                "mfa_enrollment_window_attribute = \"custom:mfa_required\"",
            ),
            "must differ",
        ),
        (
            base.replace(
                &format!("mfa_enrollment_window_attribute = \"{WINDOW}\""),
                "mfa_enrollment_window_attribute = \" \"",
            ),
            "must name a user attribute",
        ),
    ];
    for (text, expected) in cases {
        let err = AuthConfig::from_toml(&text)
            .map_err(|e| e.to_string())
            .and_then(|c| PreTokenGeneration::from_config(&c).map_err(|e| e.to_string()))
            .expect_err("refused");
        assert!(err.contains(expected), "{err}");
    }
    // The enrollment client may not be one of the tenant's own clients.
    let text = config_text()
        .replace(
            &format!("acme = \"{ENROLLMENT_CLIENT}\""),
            &format!("acme = \"{USER_CLIENT}\""),
        )
        .replace(
            "[admin.totp_enrollment_clients]",
            &format!("\"{USER_CLIENT}\" = \"y\"\n[admin.totp_enrollment_clients]"),
        );
    let err = PreTokenGeneration::from_config(&AuthConfig::from_toml(&text).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("must not be a tenant's client_ids"), "{err}");
}

/// A client whose every call fails fast: a decision taken without it was taken without AWS.
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

fn post_auth_event(required: &str, window: Option<&str>) -> Value {
    let mut event = fixture("post_auth.json");
    event["request"]["userAttributes"]["custom:mfa_required"] = json!(required);
    if let Some(window) = window {
        event["request"]["userAttributes"][WINDOW] = json!(window);
    }
    event
}

#[tokio::test]
async fn the_drift_guard_lets_a_user_in_only_while_the_window_is_open() {
    let config = AuthConfig::from_toml(&config_text()).unwrap();
    let guard = PostAuthentication::with_client(&config, unreachable_client()).unwrap();
    // MFA required, none enabled (AWS is unreachable, so any check of it would fail): the
    // open window lets the user in without asking AWS.
    let open = in_minutes(15);
    let out = guard
        .handle_json(post_auth_event("true", Some(&open)))
        .await
        .expect("let in during the window");
    assert_eq!(out["response"], json!({}));
    // Outside the window the guard is unchanged: it asks AWS (here: fails closed).
    let expired = in_minutes(-1);
    let forged = in_minutes(3 * 60);
    for window in [
        None,
        Some(expired.as_str()),
        Some(forged.as_str()),
        Some("soon"),
        Some(""),
    ] {
        let err = guard
            .handle_json(post_auth_event("true", window))
            .await
            .expect_err("checked against AWS");
        assert!(
            matches!(err, TriggerError::Cognito(_)),
            "{window:?}: {err:?}"
        );
    }
    // No requirement: passes without AWS, window or not (unchanged).
    guard
        .handle_json(post_auth_event("false", None))
        .await
        .expect("no requirement");

    // Without the setting, an attribute of that name opens nothing.
    let plain = AuthConfig::from_file(format!("{FIXTURES}/tenants.toml")).unwrap();
    let plain = PostAuthentication::with_client(&plain, unreachable_client()).unwrap();
    let err = plain
        .handle_json(post_auth_event("true", Some(&open)))
        .await
        .expect_err("no window without the setting");
    assert!(matches!(err, TriggerError::Cognito(_)), "{err:?}");
}
