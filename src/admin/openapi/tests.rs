//! The document against the router's route table, the handlers' body types and every
//! [`AdminError`] each operation can answer.

use std::collections::{BTreeMap, BTreeSet};

use http::StatusCode;
use serde::de::{self, Deserialize, Visitor};
use serde_json::{Value, json};

use super::*;
use crate::admin::audit::Action;
use crate::admin::router::{
    ADMIN_ROUTES, AttributesBody, Done, GroupBody, RouteSpec, SELF_SERVICE_ROUTES,
};
// The public re-exports, wherever `ops` defines the types.
use crate::admin::{
    AdminError, Device, DeviceList, EnrollmentWindow, EnrollmentWindowRequest, GroupInfo,
    GroupList, MfaPreference, MfaSetting, MfaStatus, NewUser, OwnAttributes, OwnMfa,
    PasswordChange, TotpEnrollmentStart, TotpSecret, TotpVerification, User, UserGroups, UserPage,
};
use crate::error::AuthError;

fn document() -> Value {
    serde_json::from_str(OPENAPI_JSON).expect("the document is JSON")
}

/// Follows a local `$ref` (`#/components/...`) if `value` is one.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolved $ref {pointer}")),
        None => value,
    }
}

fn routes() -> impl Iterator<Item = &'static RouteSpec> {
    ADMIN_ROUTES.iter().chain(SELF_SERVICE_ROUTES.iter())
}

fn operation<'a>(doc: &'a Value, spec: &RouteSpec) -> &'a Value {
    &doc["paths"][spec.path][spec.method.as_str().to_ascii_lowercase()]
}

/// `set_mfa_preference` -> `setMfaPreference`.
fn camel_case(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

#[test]
fn the_document_has_exactly_the_routes_and_methods_of_the_router() {
    let doc = document();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let mut served: BTreeSet<(String, String)> = routes()
        .map(|spec| (spec.method.to_string(), spec.path.to_owned()))
        .collect();
    served.insert(("GET".to_owned(), OPENAPI_PATH.to_owned()));
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );
    for spec in routes() {
        let op = operation(&doc, spec);
        assert_eq!(
            op["operationId"],
            camel_case(spec.action.as_str()),
            "{} {}",
            spec.method,
            spec.path
        );
        // Token required: the document-wide security applies, not overridden.
        assert!(op.get("security").is_none(), "{}", spec.path);
        let mut params: Vec<String> = op["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect();
        params.sort();
        let mut in_template: Vec<String> = spec
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        in_template.sort();
        assert_eq!(params, in_template, "{}", spec.path);
    }
    assert_eq!(doc["paths"][OPENAPI_PATH]["get"]["security"], json!([]));
    assert_eq!(
        doc["security"],
        json!([{ "cognitoAccessToken": [] }]),
        "every other operation needs the access token"
    );
}

/// Records the field names a `Deserialize` type asks for (struct fields, enum variants),
/// so that documented schemas are compared with the real types, not with a copy.
struct FieldProbe(Option<&'static [&'static str]>);

#[derive(Debug)]
struct Probed;

impl std::fmt::Display for Probed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probed")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Probed
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldProbe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.0 = Some(fields);
        Err(Probed)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.0 = Some(variants);
        Err(Probed)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

fn names_of<'de, T: Deserialize<'de>>() -> BTreeSet<&'static str> {
    let mut probe = FieldProbe(None);
    let _ = T::deserialize(&mut probe);
    probe
        .0
        .expect("a struct or an enum")
        .iter()
        .copied()
        .collect()
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn strings(value: &Value) -> BTreeSet<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The request body type of each route's handler, by action (the handlers' `Json<T>`).
fn body_fields(action: Action) -> Option<BTreeSet<&'static str>> {
    match action {
        Action::SetMfaPreference => Some(names_of::<MfaPreference>()),
        Action::UpdateAttributes | Action::UpdateOwnAttributes => {
            Some(names_of::<AttributesBody>())
        }
        Action::AddToGroup => Some(names_of::<GroupBody>()),
        Action::ChangeOwnPassword => Some(names_of::<PasswordChange>()),
        Action::CreateUser => Some(names_of::<NewUser>()),
        Action::OpenMfaEnrollment => Some(names_of::<EnrollmentWindowRequest>()),
        Action::StartTotpEnrollment => Some(names_of::<TotpEnrollmentStart>()),
        Action::VerifyTotpEnrollment => Some(names_of::<TotpVerification>()),
        Action::CloseMfaEnrollment
        | Action::GetUser
        | Action::ListUsers
        | Action::RemoveFromGroup
        | Action::DisableUser
        | Action::EnableUser
        | Action::GlobalSignOut
        | Action::GetOwnAttributes
        | Action::GetOwnMfa
        | Action::SignOutSelf
        | Action::ListOwnDevices
        | Action::ForgetOwnDevice
        | Action::DeleteUser
        | Action::ResetPassword
        | Action::ListUserGroups
        | Action::ListGroups => None,
    }
}

/// Deserializes `example` into the handler's body type.
fn accepts(action: Action, example: &Value) -> Result<(), serde_json::Error> {
    match action {
        Action::SetMfaPreference => MfaPreference::deserialize(example).map(drop),
        Action::AddToGroup => GroupBody::deserialize(example).map(drop),
        Action::ChangeOwnPassword => PasswordChange::deserialize(example).map(drop),
        Action::CreateUser => NewUser::deserialize(example).map(drop),
        Action::OpenMfaEnrollment => EnrollmentWindowRequest::deserialize(example).map(drop),
        Action::StartTotpEnrollment => TotpEnrollmentStart::deserialize(example).map(drop),
        Action::VerifyTotpEnrollment => TotpVerification::deserialize(example).map(drop),
        _ => AttributesBody::deserialize(example).map(drop),
    }
}

#[test]
fn request_bodies_are_the_handlers_types() {
    let doc = document();
    for spec in routes() {
        let op = operation(&doc, spec);
        let Some(fields) = body_fields(spec.action) else {
            assert!(op.get("requestBody").is_none(), "{}", spec.path);
            continue;
        };
        let content = &op["requestBody"]["content"]["application/json"];
        let schema = resolve(&doc, &content["schema"]);
        assert_eq!(keys(&schema["properties"]), fields, "{}", spec.path);
        assert_eq!(schema["additionalProperties"], false, "deny_unknown_fields");
        // Required fields are really required; optional ones really optional.
        for field in &fields {
            let mut example = content["example"].clone();
            example.as_object_mut().expect("object").remove(*field);
            let required = strings(&schema["required"]).contains(field);
            let refused = accepts(spec.action, &example).is_err();
            assert_eq!(refused, required, "{} without {field}", spec.path);
        }
        accepts(spec.action, &content["example"]).expect("the example is accepted");
        let mut unknown = content["example"].clone();
        unknown["user_pool_id"] = json!("us-east-1_Other");
        assert!(accepts(spec.action, &unknown).is_err(), "{}", spec.path);
    }
    let setting = &document()["components"]["schemas"]["MfaSetting"];
    assert_eq!(strings(&setting["enum"]), names_of::<MfaSetting>());
}

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

/// One of each variant. The match has no wildcard: a new variant does not compile until
/// it is listed here, and then it must be documented.
fn every_admin_error() -> Vec<AdminError> {
    let all = vec![
        AdminError::UserNotFound,
        AdminError::GroupNotFound,
        AdminError::DeviceNotFound,
        AdminError::InvalidRequest("x".into()),
        AdminError::WrongPassword,
        AdminError::InvalidPassword("x".into()),
        AdminError::MfaCodeRequired("SMS_MFA"),
        AdminError::WrongMfaCode,
        AdminError::TooManyAttempts { retry_after: 1 },
        AdminError::BodyTooLarge,
        AdminError::ProtectedAttribute("x".into()),
        AdminError::Forbidden("admin".into()),
        AdminError::NotAUser,
        AdminError::SelfLockout("x"),
        AdminError::Conflict("x".into()),
        AdminError::Throttled,
        AdminError::Unavailable,
        AdminError::RevocationNotShared("x"),
        AdminError::Misconfigured { code: "x".into() },
        AdminError::UnknownTenant,
        AdminError::Upstream { code: "x".into() },
        AdminError::TotpEnrollmentDisabled,
        AdminError::EnrollmentWindowClosed,
        AdminError::NoPendingEnrollment,
    ];
    for err in &all {
        match err {
            AdminError::UserNotFound
            | AdminError::GroupNotFound
            | AdminError::DeviceNotFound
            | AdminError::InvalidRequest(_)
            | AdminError::WrongPassword
            | AdminError::InvalidPassword(_)
            | AdminError::MfaCodeRequired(_)
            | AdminError::WrongMfaCode
            | AdminError::TooManyAttempts { .. }
            | AdminError::BodyTooLarge
            | AdminError::ProtectedAttribute(_)
            | AdminError::Forbidden(_)
            | AdminError::NotAUser
            | AdminError::SelfLockout(_)
            | AdminError::Conflict(_)
            | AdminError::Throttled
            | AdminError::Unavailable
            | AdminError::RevocationNotShared(_)
            | AdminError::Misconfigured { .. }
            | AdminError::UnknownTenant
            | AdminError::Upstream { .. }
            | AdminError::TotpEnrollmentDisabled
            | AdminError::EnrollmentWindowClosed
            | AdminError::NoPendingEnrollment => {}
        }
    }
    all
}

/// The [`AdminError`] codes each operation can answer, from reading the handler and the
/// operation: the session (role or user, tenant), the body, the Cognito calls it makes and
/// what `from_code` maps their errors to, and the operation's own checks.
fn expected_admin_codes(action: Action) -> BTreeSet<&'static str> {
    // Every route: bad path or query, the session (`forbidden` or `not_a_user`, unknown
    // tenant, lookup failure; invitations and the group routes also answer `forbidden` for a
    // group mapping to a role the caller lacks), and any Cognito call (throttling, outage, credentials
    // refused, unexpected errors, `InvalidParameterException`).
    let mut codes: BTreeSet<&str> = [
        "invalid_request",
        "unknown_tenant",
        "temporarily_unavailable",
        "throttled",
        "server_misconfigured",
        "upstream_error",
    ]
    .into();
    let extra: &[&str] = match action {
        Action::ListUsers => &["forbidden"],
        Action::GetUser | Action::EnableUser => &["forbidden", "user_not_found"],
        Action::SetMfaPreference => &["forbidden", "user_not_found", "body_too_large"],
        Action::UpdateAttributes => &["forbidden", "user_not_found", "body_too_large", "conflict"],
        Action::AddToGroup => &[
            "forbidden",
            "user_not_found",
            "group_not_found",
            "body_too_large",
        ],
        Action::RemoveFromGroup => &[
            "forbidden",
            "user_not_found",
            "group_not_found",
            "self_lockout",
            "revocation_not_shared",
        ],
        Action::DisableUser => &[
            "forbidden",
            "user_not_found",
            "self_lockout",
            "revocation_not_shared",
        ],
        Action::GlobalSignOut => &["forbidden", "user_not_found", "revocation_not_shared"],
        Action::GetOwnAttributes | Action::GetOwnMfa | Action::ListOwnDevices => {
            &["not_a_user", "user_not_found"]
        }
        Action::SignOutSelf => &["not_a_user", "user_not_found", "revocation_not_shared"],
        Action::ForgetOwnDevice => &["not_a_user", "user_not_found", "device_not_found"],
        Action::ChangeOwnPassword => &[
            "not_a_user",
            "user_not_found",
            "body_too_large",
            "wrong_password",
            "invalid_password",
            "mfa_code_required",
            "wrong_mfa_code",
            "too_many_attempts",
        ],
        Action::CreateUser => &["forbidden", "group_not_found", "conflict", "body_too_large"],
        Action::DeleteUser => &[
            "forbidden",
            "user_not_found",
            "self_lockout",
            "revocation_not_shared",
        ],
        Action::ResetPassword | Action::ListUserGroups => &["forbidden", "user_not_found"],
        Action::ListGroups => &["forbidden"],
        Action::OpenMfaEnrollment => &[
            "forbidden",
            "user_not_found",
            "body_too_large",
            "totp_enrollment_disabled",
        ],
        Action::CloseMfaEnrollment => &["forbidden", "user_not_found", "totp_enrollment_disabled"],
        Action::StartTotpEnrollment => &[
            "not_a_user",
            "user_not_found",
            "body_too_large",
            "totp_enrollment_disabled",
            "enrollment_window_closed",
            "wrong_password",
            "mfa_code_required",
            "wrong_mfa_code",
            "too_many_attempts",
        ],
        Action::VerifyTotpEnrollment => &[
            "not_a_user",
            "user_not_found",
            "body_too_large",
            "totp_enrollment_disabled",
            "enrollment_window_closed",
            "wrong_mfa_code",
            "no_pending_enrollment",
            "too_many_attempts",
        ],
        Action::UpdateOwnAttributes => &[
            "not_a_user",
            "protected_attribute",
            "user_not_found",
            "body_too_large",
            "conflict",
        ],
    };
    codes.extend(extra);
    codes
}

/// The `error` codes a response documents, split by body shape: `(admin, auth)`.
fn documented_codes<'a>(doc: &'a Value, response: &'a Value) -> (Vec<&'a str>, Vec<&'a str>) {
    let schema = &resolve(doc, response)["content"]["application/json"]["schema"];
    let variants = match schema.get("anyOf") {
        Some(variants) => variants.as_array().expect("anyOf").iter().collect(),
        None => vec![schema],
    };
    let (mut admin, mut auth) = (Vec::new(), Vec::new());
    for variant in variants {
        let parts = variant["allOf"]
            .as_array()
            .expect("allOf of a base and its codes");
        let codes = strings(&parts[1]["properties"]["error"]["enum"]);
        match parts[0]["$ref"].as_str() {
            Some("#/components/schemas/AdminError") => admin.extend(codes),
            Some("#/components/schemas/AuthError") => auth.extend(codes),
            other => panic!("unexpected error body {other:?}"),
        }
    }
    (admin, auth)
}

#[test]
fn every_error_answer_is_documented_with_its_status_and_headers() {
    let doc = document();
    let errors = every_admin_error();
    let all_codes: BTreeSet<&str> = errors.iter().map(AdminError::reason).collect();
    assert_eq!(
        strings(&doc["components"]["schemas"]["ErrorCode"]["enum"]),
        all_codes
    );
    let by_code: BTreeMap<&str, &AdminError> = errors.iter().map(|e| (e.reason(), e)).collect();
    for spec in routes() {
        let op = operation(&doc, spec);
        let self_service = SELF_SERVICE_ROUTES.iter().any(|s| s.action == spec.action);
        let mut admin_codes = BTreeSet::new();
        let mut auth_codes = BTreeSet::new();
        for (status, response) in op["responses"].as_object().expect("responses") {
            let status: u16 = status.parse().expect("a status code");
            let headers = &resolve(&doc, response)["headers"];
            let header_required = |name: &str| resolve(&doc, &headers[name])["required"].as_bool();
            if (200..300).contains(&status) {
                continue;
            }
            let (admin, auth) = documented_codes(&doc, response);
            for code in &admin {
                let err = by_code
                    .get(code)
                    .unwrap_or_else(|| panic!("unknown {code}"));
                assert_eq!(err.status().as_u16(), status, "{code} on {}", spec.path);
                if err.retry_after().is_some() {
                    assert_eq!(header_required("Retry-After"), Some(true), "{code}");
                }
                assert!(admin_codes.insert(*code), "{code} twice on {}", spec.path);
            }
            for code in &auth {
                let expected = match *code {
                    "invalid_token" => StatusCode::UNAUTHORIZED,
                    "insufficient_scope" => StatusCode::FORBIDDEN,
                    _ => StatusCode::SERVICE_UNAVAILABLE,
                };
                assert_eq!(expected.as_u16(), status, "{code}");
                auth_codes.insert(*code);
            }
            match status {
                401 => assert_eq!(header_required("WWW-Authenticate"), Some(true)),
                // The policy layer's refusal carries the challenge; `/me` routes have none.
                403 => assert_eq!(
                    headers.get("WWW-Authenticate").is_some(),
                    !self_service,
                    "{}",
                    spec.path
                ),
                429 | 503 => assert_eq!(header_required("Retry-After"), Some(true)),
                _ => assert!(headers.get("Retry-After").is_none(), "{status}"),
            }
        }
        assert_eq!(
            admin_codes,
            expected_admin_codes(spec.action),
            "{} {}",
            spec.method,
            spec.path
        );
        // `/me` routes have no policy layer: a machine is refused by the operation.
        let mut layers = BTreeSet::from(["invalid_token", "temporarily_unavailable"]);
        if !self_service {
            layers.insert("insufficient_scope");
        }
        assert_eq!(
            auth_codes, layers,
            "the authentication and authorization layers guard {}",
            spec.path
        );
    }
    // The layers' answers, with the statuses and codes documented above.
    for (err, status, code) in [
        (AuthError::Expired, 401, "invalid_token"),
        (AuthError::Forbidden("x".into()), 403, "insufficient_scope"),
        (
            AuthError::RevocationsUnavailable,
            503,
            "temporarily_unavailable",
        ),
    ] {
        assert_eq!((err.status().as_u16(), err.error_code()), (status, code));
    }
    // Every variant is answered by at least one route.
    let answered: BTreeSet<&str> = routes()
        .flat_map(|spec| expected_admin_codes(spec.action))
        .collect();
    assert_eq!(answered, all_codes);
}

/// The rules that change what a route answers are stated where a client reads them: the
/// routes that change group membership say a group of a role the caller lacks is 403
/// `forbidden`, and `POST /me/password` and its 429 say a started MFA challenge counts.
#[test]
fn the_role_rule_and_the_challenge_count_are_documented() {
    let doc = document();
    let description = |action: Action| {
        let spec = routes().find(|spec| spec.action == action).expect("routed");
        operation(&doc, spec)["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for action in [
        Action::CreateUser,
        Action::AddToGroup,
        Action::RemoveFromGroup,
    ] {
        let text = description(action);
        assert!(
            text.contains("role") && text.contains("403 `forbidden`"),
            "{action:?}: {text}"
        );
    }
    assert!(
        description(Action::ChangeOwnPassword).contains("every challenge started counts"),
        "/me/password"
    );
    let limit = doc["components"]["responses"]["TooManyAttempts"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(limit.contains("challenge started"), "{limit}");
}
