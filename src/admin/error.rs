//! [`AdminError`]: what can go wrong in an admin operation, and its HTTP answer.

use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// Why an admin or self-service operation failed.
///
/// Each variant maps to one HTTP status ([`AdminError::status`]); the router answers with
/// `{"error": reason, "error_description": ...}` (the body every route of this crate answers
/// with) and `Cache-Control: no-store`, plus `Retry-After` on 503 and 429
/// ([`AdminError::retry_after`]).
/// Messages of server-side failures (5xx) are generic: the details (Cognito's error code and
/// message) go to the log, not to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The target user does not exist in the caller's tenant's pool (`UserNotFoundException`).
    /// A user of another tenant is, by construction, not found. 404.
    #[error("user not found")]
    UserNotFound,
    /// The group does not exist in the caller's tenant's pool. 404.
    #[error("group not found")]
    GroupNotFound,
    /// The request is malformed: bad JSON body, bad attribute or MFA settings, bad path or
    /// query parameter, or Cognito's `InvalidParameterException` (its message is passed on). 400.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The remembered device does not exist among the caller's devices
    /// (`ResourceNotFoundException` on a device call). 404.
    #[error("device not found")]
    DeviceNotFound,
    /// The request body exceeds the router's limit. 413.
    #[error("request body too large")]
    BodyTooLarge,
    /// A self-service request tried to change an admin-only attribute; nothing was changed. 403.
    #[error("attribute `{0}` can only be changed by an administrator")]
    ProtectedAttribute(String),
    /// The principal lacks the admin role needed for a [`TenantAdmin`](super::TenantAdmin). 403.
    #[error("role `{0}` required")]
    Forbidden(String),
    /// A machine client (client-credentials token) called an operation on "the caller's own
    /// account": it has none. 403.
    #[error("machine clients have no user account of their own")]
    NotAUser,
    /// The current password given to change one's password is wrong (Cognito refused the
    /// sign-in). Counts toward the attempt limit. 403.
    #[error("the current password is wrong")]
    WrongPassword,
    /// Cognito's password policy refused the new password (`InvalidPasswordException`; its
    /// message, which names the rule and never the password, is passed on). 400.
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    /// The account has MFA: the change needs the code of this challenge (`SOFTWARE_TOKEN_MFA`,
    /// `SMS_MFA`, `EMAIL_OTP`) in `mfa_code`. SMS and email users have just been sent one. 403,
    /// with the challenge in the body's `challenge` field.
    #[error("a multi-factor code is required ({0}); send it as `mfa_code`")]
    MfaCodeRequired(&'static str),
    /// Cognito refused the MFA code (wrong, expired or already used). Counts toward the
    /// attempt limit. 403.
    #[error("the multi-factor code was wrong or has expired")]
    WrongMfaCode,
    /// TOTP enrollment is not configured for the caller's tenant (`[triggers]
    /// mfa_enrollment_window_attribute` and an `[admin.totp_enrollment_clients]` entry). 403.
    #[error("TOTP enrollment is not enabled for this tenant")]
    TotpEnrollmentDisabled,
    /// No administrator-opened TOTP enrollment window is open for the user (never opened,
    /// closed, expired); nothing was changed and no one was signed in. 403.
    #[error("no TOTP enrollment window is open for this account; ask an administrator to open one")]
    EnrollmentWindowClosed,
    /// `POST /me/mfa/totp/verify` without a waiting enrollment of the caller's own (none
    /// started, already completed, or its 3 minutes passed): start again. 409.
    #[error("no TOTP enrollment is waiting for a code; start one with POST /me/mfa/totp")]
    NoPendingEnrollment,
    /// Too many failed password or code attempts for this user in this process; retry after
    /// the given number of seconds. 429 with `Retry-After`.
    #[error("too many failed attempts; retry in {retry_after} seconds")]
    TooManyAttempts {
        /// Seconds until the oldest counted failure leaves the window.
        retry_after: u32,
    },
    /// An administrator tried to lock themselves out (disable themselves, or leave a group
    /// that gives them the admin role). 409: allowed on anyone else, refused on oneself.
    #[error("{0}")]
    SelfLockout(&'static str),
    /// The change conflicts with another user (`AliasExistsException`: the email or phone
    /// number belongs to another account). 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Cognito throttled the request (`TooManyRequestsException`, `LimitExceededException`),
    /// after the SDK's own retries. 503 with `Retry-After`.
    #[error("Cognito is throttling requests; retry later")]
    Throttled,
    /// Cognito could not be reached or failed (timeout, connection error, 5xx,
    /// `InternalErrorException`), or a runtime tenant lookup failed. 503 with `Retry-After`.
    #[error("Cognito is temporarily unavailable; retry later")]
    Unavailable,
    /// The server is misconfigured: Cognito refused the server's own credentials
    /// (`NotAuthorizedException`, `AccessDeniedException`: a missing IAM permission), the
    /// tenant's pool does not exist, or messaging roles are wrong. `code` is Cognito's error
    /// code. 500: the fault is this service's deployment, not the client's request and not a
    /// malfunction of Cognito, and retrying will not help.
    #[error("server misconfiguration (Cognito answered {code})")]
    Misconfigured {
        /// Cognito's error code, or what failed locally.
        code: String,
    },
    /// The principal's tenant is not known to the admin operations: it came from a runtime
    /// [`TenantResolver`](crate::tenant::TenantResolver) and no
    /// [`TenantLookup`](super::TenantLookup) was configured, or the tenant found does not
    /// own the token's app client. 500.
    #[error("tenant is not available for admin operations")]
    UnknownTenant,
    /// Cognito's own action (sign-out, disable) was done, and this replica refuses the user's
    /// tokens, but the revocation could not be written to the shared store (feature `redis`):
    /// other replicas may still accept them. 503 with `Retry-After`; retrying is safe.
    #[error(
        "{0}, but the revocation was not shared with the other replicas (revocation store unavailable); retry"
    )]
    RevocationNotShared(&'static str),
    /// Cognito answered with an error this crate does not expect. `code` is Cognito's error
    /// code. 502.
    #[error("unexpected answer from Cognito ({code})")]
    Upstream {
        /// Cognito's error code, or the HTTP status.
        code: String,
    },
}

impl AdminError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::UserNotFound | AdminError::GroupNotFound | AdminError::DeviceNotFound => {
                StatusCode::NOT_FOUND
            }
            AdminError::InvalidRequest(_) | AdminError::InvalidPassword(_) => {
                StatusCode::BAD_REQUEST
            }
            AdminError::WrongPassword
            | AdminError::MfaCodeRequired(_)
            | AdminError::WrongMfaCode
            | AdminError::TotpEnrollmentDisabled
            | AdminError::EnrollmentWindowClosed => StatusCode::FORBIDDEN,
            AdminError::NoPendingEnrollment => StatusCode::CONFLICT,
            AdminError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AdminError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::ProtectedAttribute(_) | AdminError::Forbidden(_) | AdminError::NotAUser => {
                StatusCode::FORBIDDEN
            }
            AdminError::SelfLockout(_) | AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Throttled
            | AdminError::Unavailable
            | AdminError::RevocationNotShared(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Misconfigured { .. } | AdminError::UnknownTenant => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AdminError::Upstream { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// A short stable identifier of the variant (`user_not_found`, `protected_attribute`, ...),
    /// the `error` field of the JSON answer and the `reason` of audit events.
    pub fn reason(&self) -> &'static str {
        match self {
            AdminError::UserNotFound => "user_not_found",
            AdminError::GroupNotFound => "group_not_found",
            AdminError::DeviceNotFound => "device_not_found",
            AdminError::InvalidRequest(_) => "invalid_request",
            AdminError::WrongPassword => "wrong_password",
            AdminError::InvalidPassword(_) => "invalid_password",
            AdminError::MfaCodeRequired(_) => "mfa_code_required",
            AdminError::WrongMfaCode => "wrong_mfa_code",
            AdminError::TooManyAttempts { .. } => "too_many_attempts",
            AdminError::TotpEnrollmentDisabled => "totp_enrollment_disabled",
            AdminError::EnrollmentWindowClosed => "enrollment_window_closed",
            AdminError::NoPendingEnrollment => "no_pending_enrollment",
            AdminError::BodyTooLarge => "body_too_large",
            AdminError::ProtectedAttribute(_) => "protected_attribute",
            AdminError::Forbidden(_) => "forbidden",
            AdminError::NotAUser => "not_a_user",
            AdminError::SelfLockout(_) => "self_lockout",
            AdminError::Conflict(_) => "conflict",
            AdminError::Throttled => "throttled",
            AdminError::Unavailable => "temporarily_unavailable",
            AdminError::RevocationNotShared(_) => "revocation_not_shared",
            AdminError::Misconfigured { .. } => "server_misconfigured",
            AdminError::UnknownTenant => "unknown_tenant",
            AdminError::Upstream { .. } => "upstream_error",
        }
    }

    /// Seconds to put in `Retry-After`: `Some` exactly for the 503 and 429 answers.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            AdminError::Throttled => Some(5),
            AdminError::Unavailable => Some(10),
            AdminError::RevocationNotShared(_) => Some(5),
            AdminError::TooManyAttempts { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The `error_description` sent to the client: the error's text for client errors, a
    /// generic text for server errors (whose details are only logged).
    pub fn public_message(&self) -> String {
        match self {
            AdminError::Misconfigured { .. } | AdminError::UnknownTenant => {
                "the server is misconfigured for this operation".to_owned()
            }
            AdminError::Upstream { .. } => "unexpected answer from Cognito".to_owned(),
            other => other.to_string(),
        }
    }
}

/// `{"error": reason, "error_description": public_message}` (plus `challenge` for
/// [`AdminError::MfaCodeRequired`]), `Cache-Control: no-store`, and `Retry-After` when
/// [`AdminError::retry_after`] says so.
impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({
            "error": self.reason(),
            "error_description": self.public_message(),
        });
        if let AdminError::MfaCodeRequired(challenge) = &self {
            body["challenge"] = serde_json::Value::from(*challenge);
        }
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// What a failed call was about, to tell a missing group from a missing pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// The call names a group: `ResourceNotFoundException` is the group.
    Group,
    /// The call names a remembered device: `ResourceNotFoundException` is the device.
    Device,
    /// Any other call: `ResourceNotFoundException` can only be the pool itself.
    Other,
}

/// Maps an SDK failure to an [`AdminError`], logging what the client will not see.
pub(crate) fn from_sdk<E>(err: SdkError<E>, operation: &'static str, kind: CallKind) -> AdminError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mapped = match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            from_code(service.err().code(), service.err().message(), status, kind)
        }
        SdkError::DispatchFailure(failure) if failure.is_user() => AdminError::Misconfigured {
            code: "request could not be sent".to_owned(),
        },
        SdkError::ConstructionFailure(_) => AdminError::Misconfigured {
            code: "request could not be built".to_owned(),
        },
        // Timeouts, connection failures, unparseable answers, and credential providers that
        // could not answer (they fail at dispatch too): all transient from here.
        _ => AdminError::Unavailable,
    };
    if mapped.status().is_server_error() {
        // Cognito's messages for these codes name roles and resources, never attribute
        // values, so they are safe to log; they are not sent to the client.
        tracing::error!(
            target: "cognito_authz::admin",
            operation,
            code = err.code(),
            error = %aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&err),
            "Cognito call failed",
        );
    }
    mapped
}

/// The mapping by Cognito error code (and HTTP status for codes not listed).
pub(crate) fn from_code(
    code: Option<&str>,
    message: Option<&str>,
    status: u16,
    kind: CallKind,
) -> AdminError {
    let message = || message.unwrap_or("rejected by Cognito").to_owned();
    match code {
        Some("UserNotFoundException") => AdminError::UserNotFound,
        Some("ResourceNotFoundException") if kind == CallKind::Group => AdminError::GroupNotFound,
        Some("ResourceNotFoundException") if kind == CallKind::Device => AdminError::DeviceNotFound,
        Some("InvalidParameterException" | "FeatureUnavailableInTierException") => {
            AdminError::InvalidRequest(message())
        }
        Some("InvalidPasswordException") => AdminError::InvalidPassword(message()),
        Some("CodeMismatchException" | "ExpiredCodeException") => AdminError::WrongMfaCode,
        Some("AliasExistsException" | "UsernameExistsException") => AdminError::Conflict(message()),
        Some("TooManyRequestsException" | "LimitExceededException" | "ThrottlingException") => {
            AdminError::Throttled
        }
        Some("InternalErrorException" | "ServiceUnavailable" | "InternalFailure") => {
            AdminError::Unavailable
        }
        Some(
            code @ ("NotAuthorizedException"
            | "AccessDeniedException"
            | "AccessDenied"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "ExpiredTokenException"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "MissingAuthenticationToken"
            | "IncompleteSignature"
            | "ResourceNotFoundException"
            | "CodeDeliveryFailureException"
            | "InvalidSmsRoleAccessPolicyException"
            | "InvalidSmsRoleTrustRelationshipException"
            | "InvalidEmailRoleAccessPolicyException"
            | "InvalidLambdaResponseException"
            | "UnexpectedLambdaException"
            | "UserLambdaValidationException"),
        ) => AdminError::Misconfigured {
            code: code.to_owned(),
        },
        _ if status >= 500 => AdminError::Unavailable,
        Some(code) => AdminError::Upstream {
            code: code.to_owned(),
        },
        None => AdminError::Upstream {
            code: format!("HTTP {status}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(code: &str, status: u16) -> AdminError {
        from_code(Some(code), Some("detail"), status, CallKind::Other)
    }

    #[test]
    fn cognito_codes_map_to_the_documented_statuses() {
        let cases = [
            ("UserNotFoundException", 400, 404),
            ("InvalidParameterException", 400, 400),
            ("AliasExistsException", 400, 409),
            ("TooManyRequestsException", 400, 503),
            ("InternalErrorException", 500, 503),
            ("NotAuthorizedException", 400, 500),
            ("AccessDeniedException", 400, 500),
            ("ResourceNotFoundException", 400, 500),
            ("SomethingNew", 400, 502),
            ("SomethingNew", 503, 503),
        ];
        for (code, status, expected) in cases {
            assert_eq!(map(code, status).status().as_u16(), expected, "{code}");
        }
        assert_eq!(
            from_code(
                Some("ResourceNotFoundException"),
                None,
                400,
                CallKind::Group
            ),
            AdminError::GroupNotFound
        );
        assert_eq!(
            map("InvalidParameterException", 400),
            AdminError::InvalidRequest("detail".into())
        );
        assert_eq!(from_code(None, None, 418, CallKind::Other).status(), 502);
        assert_eq!(
            map("AliasExistsException", 400).reason(),
            "conflict",
            "the variant id"
        );
        assert_eq!(
            from_code(
                Some("ResourceNotFoundException"),
                None,
                400,
                CallKind::Device
            ),
            AdminError::DeviceNotFound
        );
        assert_eq!(
            map("InvalidPasswordException", 400),
            AdminError::InvalidPassword("detail".into())
        );
        assert_eq!(map("CodeMismatchException", 400), AdminError::WrongMfaCode);
        assert_eq!(map("UsernameExistsException", 400).status(), 409);
        let limited = AdminError::TooManyAttempts { retry_after: 42 };
        assert_eq!(
            (limited.status().as_u16(), limited.retry_after()),
            (429, Some(42))
        );
    }

    #[test]
    fn error_answers_carry_status_body_and_headers() {
        let response = AdminError::Throttled.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let response = AdminError::UserNotFound.into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }

    #[tokio::test]
    async fn the_body_is_error_and_error_description() {
        let response = AdminError::MfaCodeRequired("SMS_MFA").into_response();
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "error": "mfa_code_required",
                "error_description": AdminError::MfaCodeRequired("SMS_MFA").to_string(),
                "challenge": "SMS_MFA",
            })
        );
        let response = AdminError::Misconfigured {
            code: "AccessDeniedException".into(),
        }
        .into_response();
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"], "server_misconfigured");
        assert!(!body.to_string().contains("AccessDenied"), "{body}");
    }

    #[test]
    fn server_errors_hide_details_and_503_has_retry_after() {
        let err = map("NotAuthorizedException", 400);
        assert!(!err.public_message().contains("NotAuthorized"));
        assert!(err.to_string().contains("NotAuthorizedException"));
        assert_eq!(AdminError::Throttled.retry_after(), Some(5));
        assert_eq!(AdminError::Unavailable.retry_after(), Some(10));
        assert_eq!(AdminError::UserNotFound.retry_after(), None);
        let not_shared = AdminError::RevocationNotShared("Cognito signed the user out");
        assert_eq!(not_shared.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(not_shared.retry_after(), Some(5));
        assert_eq!(
            not_shared.public_message(),
            "Cognito signed the user out, but the revocation was not shared with the other \
             replicas (revocation store unavailable); retry"
        );
    }
}
