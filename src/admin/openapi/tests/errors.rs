//! The error answers: every [`AdminError`] code is in `ErrorCode`, each operation documents
//! exactly the codes it can answer (listed here per action from reading the handlers) under
//! their statuses with `Retry-After` and `WWW-Authenticate` where they are sent, the
//! authentication and authorization layers' codes appear on every route they guard, and the
//! descriptions state the rules that change what a route answers.

use std::collections::{BTreeMap, BTreeSet};

use http::StatusCode;
use serde_json::Value;

use super::{document, operation, resolve, routes, strings};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::router::SELF_SERVICE_ROUTES;
use crate::error::AuthError;

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
