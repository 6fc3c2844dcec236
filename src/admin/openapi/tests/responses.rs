//! The response bodies against the serialized types: each documented schema lists every
//! property a fully populated value serializes and requires those a minimal one still has
//! (including both error bodies), and each route documents its one 2xx status with the body
//! its handler answers (none for 204).

use std::collections::{BTreeMap, BTreeSet};

use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{document, keys, operation, resolve, routes, strings};
use crate::admin::audit::Action;
use crate::admin::router::Done;
use crate::admin::{
    AdminError, Device, DeviceList, EnrollmentWindow, GroupInfo, GroupList, MfaStatus,
    OwnAttributes, OwnMfa, TotpSecret, User, UserGroups, UserPage,
};
use crate::error::AuthError;

/// The properties a schema documents, and those it says are always present.
fn documented_object<'a>(doc: &'a Value, schema: &str) -> (BTreeSet<&'a str>, BTreeSet<&'a str>) {
    let schema = &doc["components"]["schemas"][schema];
    assert_eq!(schema["additionalProperties"], false);
    (keys(&schema["properties"]), strings(&schema["required"]))
}

fn assert_serializes_as(doc: &Value, schema: &str, full: Value, minimal: Value) {
    let (properties, required) = documented_object(doc, schema);
    assert_eq!(keys(&full), properties, "{schema}: every property");
    assert_eq!(keys(&minimal), required, "{schema}: always present");
}

#[test]
fn response_bodies_are_the_serialized_types() {
    let doc = document();
    let user = |mfa| User {
        username: "ann".into(),
        enabled: true,
        status: None,
        attributes: BTreeMap::new(),
        mfa,
        created_at: None,
        modified_at: None,
    };
    let mfa = MfaStatus {
        enabled: vec![],
        preferred: None,
    };
    assert_serializes_as(
        &doc,
        "User",
        serde_json::to_value(user(Some(mfa.clone()))).unwrap(),
        serde_json::to_value(user(None)).unwrap(),
    );
    let mfa = serde_json::to_value(mfa).unwrap();
    assert_serializes_as(&doc, "MfaStatus", mfa.clone(), mfa);
    let page = serde_json::to_value(UserPage {
        users: vec![],
        pagination_token: None,
    })
    .unwrap();
    assert_serializes_as(&doc, "UserPage", page.clone(), page);
    let done = serde_json::to_value(Done {
        username: "ann",
        action: "get_user",
    })
    .unwrap();
    assert_serializes_as(&doc, "Done", done.clone(), done);
    assert_serializes_as(
        &doc,
        "AdminError",
        admin_error_body(&AdminError::MfaCodeRequired("SOFTWARE_TOKEN_MFA")),
        admin_error_body(&AdminError::UserNotFound),
    );
    let challenge = &doc["components"]["schemas"]["AdminError"]["properties"]["challenge"];
    for name in ["SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP"] {
        let body = admin_error_body(&AdminError::MfaCodeRequired(name));
        assert_eq!(body["challenge"], name);
        assert!(strings(&challenge["enum"]).contains(name), "{name}");
    }
    let own = serde_json::to_value(OwnAttributes {
        username: "ann".into(),
        attributes: BTreeMap::new(),
    })
    .unwrap();
    assert_serializes_as(&doc, "OwnAttributes", own.clone(), own);
    let mfa = serde_json::to_value(OwnMfa {
        enabled: vec![],
        preferred: None,
    })
    .unwrap();
    assert_serializes_as(&doc, "OwnMfa", mfa.clone(), mfa);
    let device = serde_json::to_value(Device {
        device_key: "k".into(),
        name: None,
        last_ip: None,
        created_at: None,
        last_authenticated_at: None,
        last_modified_at: None,
    })
    .unwrap();
    assert_serializes_as(&doc, "Device", device.clone(), device);
    let devices = serde_json::to_value(DeviceList { devices: vec![] }).unwrap();
    assert_serializes_as(&doc, "DeviceList", devices.clone(), devices);
    let groups = serde_json::to_value(UserGroups { groups: vec![] }).unwrap();
    assert_serializes_as(&doc, "UserGroups", groups.clone(), groups);
    let group = serde_json::to_value(GroupInfo {
        name: "g".into(),
        description: None,
        roles: vec![],
    })
    .unwrap();
    assert_serializes_as(&doc, "GroupInfo", group.clone(), group);
    let groups = serde_json::to_value(GroupList { groups: vec![] }).unwrap();
    assert_serializes_as(&doc, "GroupList", groups.clone(), groups);
    let window = serde_json::to_value(EnrollmentWindow {
        username: "ann".into(),
        action: "open_mfa_enrollment",
        open_until: 1_800_000_900,
    })
    .unwrap();
    assert_serializes_as(&doc, "EnrollmentWindow", window.clone(), window);
    let secret = serde_json::to_value(TotpSecret {
        secret: "JBSWY3DPEHPK3PXP".into(),
        otpauth_uri: "otpauth://totp/acme:ann?secret=JBSWY3DPEHPK3PXP&issuer=acme".into(),
    })
    .unwrap();
    assert_serializes_as(&doc, "TotpSecret", secret.clone(), secret);
    let auth: Value = serde_json::from_slice(AuthError::MissingToken.to_response().body()).unwrap();
    assert_serializes_as(&doc, "AuthError", auth.clone(), auth);

    // What each route answers on success: its one 2xx status, and the body (none for 204).
    for spec in routes() {
        let responses = &operation(&doc, spec)["responses"];
        let schema = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
        let (status, expected) = match spec.action {
            Action::ListUsers => ("200", Some(schema("UserPage"))),
            Action::GetUser => ("200", Some(schema("User"))),
            Action::CreateUser => ("201", Some(schema("User"))),
            Action::GetOwnAttributes => ("200", Some(schema("OwnAttributes"))),
            Action::GetOwnMfa => ("200", Some(schema("OwnMfa"))),
            Action::ListOwnDevices => ("200", Some(schema("DeviceList"))),
            Action::ListUserGroups => ("200", Some(schema("UserGroups"))),
            Action::ListGroups => ("200", Some(schema("GroupList"))),
            Action::OpenMfaEnrollment => ("200", Some(schema("EnrollmentWindow"))),
            Action::StartTotpEnrollment => ("200", Some(schema("TotpSecret"))),
            Action::ChangeOwnPassword
            | Action::VerifyTotpEnrollment
            | Action::SignOutSelf
            | Action::ForgetOwnDevice
            | Action::DeleteUser
            | Action::ResetPassword => ("204", None),
            action => (
                "200",
                Some(json!({ "allOf": [
                    { "$ref": "#/components/schemas/Done" },
                    { "type": "object", "properties": { "action": { "const": action.as_str() } } },
                ] })),
            ),
        };
        let successes: Vec<&String> = responses
            .as_object()
            .expect("responses")
            .keys()
            .filter(|s| s.starts_with('2'))
            .collect();
        assert_eq!(successes, [status], "{} {}", spec.method, spec.path);
        let ok = resolve(&doc, &responses[status]);
        match expected {
            Some(expected) => {
                assert_eq!(
                    ok["content"]["application/json"]["schema"], expected,
                    "{}",
                    spec.path
                )
            }
            None => assert!(ok.get("content").is_none(), "{}", spec.path),
        }
    }
}

/// The JSON body the router answers for `err`.
fn admin_error_body(err: &AdminError) -> Value {
    let body = err.clone().into_response().into_body();
    let bytes = futures_util::FutureExt::now_or_never(axum::body::to_bytes(body, 1 << 16))
        .expect("a body held in memory")
        .expect("bytes");
    serde_json::from_slice(&bytes).expect("JSON")
}
