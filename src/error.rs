//! The error taxonomy and its HTTP contract.
//!
//! Every rejection is an [`AuthError`]. Each variant says exactly what failed, in the spirit of
//! aws-jwt-verify's error classes, and maps to one HTTP answer:
//!
//! | class | status | `WWW-Authenticate` |
//! |---|---|---|
//! | missing or bad credentials ([`AuthError::is_invalid_token`]) | 401 | `Bearer error="invalid_token", error_description="…"` |
//! | valid user, policy says no ([`AuthError::Forbidden`]) | 403 | `Bearer error="insufficient_scope", error_description="…"` |
//! | the tenant's keys cannot be obtained at all | 503 | none; `Retry-After` is set ([`AuthError::retry_after`]) |
//!
//! The body is the one every route of this crate answers with, admin routes included:
//! `{"error": ..., "error_description": ...}` (RFC 6750's names). `error` is
//! [`AuthError::error_code`]; [`AuthError::reason`] names the variant for logs and metrics.
//! With feature `axum`, `AuthError` is an `IntoResponse`, so a handler can return
//! `Result<_, AuthError>` and use `?` on [`CognitoAuth::verify`](crate::CognitoAuth::verify).
//!
//! Descriptions are fixed strings chosen by this crate: they never echo token contents, so they
//! are safe to log and to send to the client.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::claims::TokenUse;

/// Why a request was not authenticated or not authorized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request has no `Authorization` header (or, at an authorization layer, no verified
    /// principal because no authentication layer ran before it).
    #[error("missing bearer token")]
    MissingToken,
    /// The `Authorization` header is not `Bearer <token>`.
    #[error("authorization header is not a bearer token")]
    InvalidAuthorizationHeader,
    /// The token is longer than the configured limit; it was not decoded.
    #[error("token is larger than {max} bytes")]
    TokenTooLarge {
        /// The configured limit in bytes.
        max: usize,
    },
    /// The token is not a well-formed JWS compact serialization.
    #[error("token is malformed: {0}")]
    Malformed(MalformedPart),
    /// The header names an algorithm other than RS256.
    #[error("token algorithm is not RS256")]
    UnsupportedAlgorithm,
    /// The header carries a `crit` parameter; no extension is understood, so it must be refused
    /// (RFC 7515, 4.1.11).
    #[error("token header has critical extensions")]
    CriticalHeader,
    /// The header has no `kid`.
    #[error("token header has no key id")]
    MissingKeyId,
    /// The `iss` claim is not the issuer of any configured tenant. No key was fetched.
    #[error("token issuer is not a known tenant")]
    UnknownIssuer,
    /// The tenant's key set was obtained but has no usable key with the token's `kid`.
    #[error("token key id is not in the tenant's key set")]
    UnknownKeyId,
    /// The signature does not verify with the tenant's key.
    #[error("token signature is invalid")]
    InvalidSignature,
    /// A claim is missing.
    #[error("token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (for example `cognito:groups` as a string).
    #[error("token claim `{0}` has the wrong type")]
    InvalidClaim(&'static str),
    /// `exp` is in the past (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token is not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// `token_use` is not accepted here (for example an id token on an access-token route).
    #[error("token use `{found}` is not accepted here")]
    WrongTokenUse {
        /// What the token says it is.
        found: TokenUse,
    },
    /// The access token's `client_id` (or the id token's `aud`) is not one of the tenant's app
    /// clients.
    #[error("token was issued to an app client this tenant does not allow")]
    WrongClient,
    /// An access token has no `username` and `sub` = `client_id` (a client-credentials token),
    /// but its app client is not one of the tenant's `machine_client_ids`.
    #[error("token is a machine client's, and this tenant does not accept that machine client")]
    MachineClientNotAllowed,
    /// A token of a machine client has a `sub` other than its `client_id`: not a
    /// client-credentials token (for example a user's token without its `username`).
    #[error("machine client token's `sub` is not its `client_id`")]
    MachineSubjectMismatch,
    /// An access token still carries `aws.cognito.signin.user.admin` for a user without a role
    /// allowed to self-manage: the tenant's pool does not suppress the self-service scope.
    #[error(
        "token carries the Cognito self-service scope, which this service refuses for users without a self-managing role"
    )]
    SelfServiceScopeNotSuppressed,
    /// The token is valid but its user was signed out (or disabled), or its session revoked,
    /// after it was issued: see [`Revocations`](crate::Revocations).
    #[error("token has been revoked")]
    TokenRevoked,
    /// The tenant's signing keys could not be obtained (fetch failed, none held). The tenant is
    /// for logs; the message sent to clients does not name it.
    #[error("signing keys are temporarily unavailable")]
    KeysUnavailable {
        /// The tenant id.
        tenant: Arc<str>,
    },
    /// The runtime tenant resolver failed (not "unknown": it could not answer).
    #[error("tenant resolver is unavailable")]
    ResolverUnavailable,
    /// The shared revocation list cannot be trusted: not loaded yet, or (with
    /// `on_store_unavailable = "refuse"`) its store unreachable for longer than
    /// `max_staleness_seconds`. Every request gets it until the store is back.
    #[error("revocation list is temporarily unavailable")]
    RevocationsUnavailable,
    /// The principal is valid but the route's policy refuses it.
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    /// A path parameter of the matched route is not valid UTF-8 once percent-decoded, so a
    /// policy layer cannot see it (400 `invalid_request`): deciding without it could skip a
    /// forbid that tests it.
    #[error("a path parameter is not valid UTF-8 once percent-decoded")]
    InvalidPathParameter,
}

/// Which part of a token could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedPart {
    /// Not three dot-separated segments.
    Structure,
    /// The header segment is not base64url-encoded JSON.
    Header,
    /// The payload segment is not base64url-encoded JSON object.
    Payload,
    /// The signature segment is not base64url.
    Signature,
}

impl fmt::Display for MalformedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MalformedPart::Structure => "expected three base64url segments",
            MalformedPart::Header => "header is not base64url JSON",
            MalformedPart::Payload => "payload is not a base64url JSON object",
            MalformedPart::Signature => "signature is not base64url",
        })
    }
}

impl AuthError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::InvalidPathParameter => StatusCode::BAD_REQUEST,
            AuthError::KeysUnavailable { .. }
            | AuthError::ResolverUnavailable
            | AuthError::RevocationsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// True for every error that means "these credentials are missing or not acceptable" (401).
    pub fn is_invalid_token(&self) -> bool {
        self.status() == StatusCode::UNAUTHORIZED
    }

    /// The `error` field of the answer, an RFC 6750 error code: `invalid_token`,
    /// `insufficient_scope`, `invalid_request` (400), or `temporarily_unavailable` for 503
    /// answers (not an RFC 6750 code; used only in the JSON body). Several variants share one;
    /// [`reason`](Self::reason) tells them apart.
    pub fn error_code(&self) -> &'static str {
        match self.status() {
            StatusCode::FORBIDDEN => "insufficient_scope",
            StatusCode::BAD_REQUEST => "invalid_request",
            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            _ => "invalid_token",
        }
    }

    /// A short stable identifier of the variant, for logs and metrics (`expired`, `unknown_issuer`, ...):
    /// the `reason` label of the metrics and the `reason` field of the logs.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::InvalidAuthorizationHeader => "invalid_authorization_header",
            AuthError::TokenTooLarge { .. } => "token_too_large",
            AuthError::Malformed(_) => "malformed",
            AuthError::UnsupportedAlgorithm => "unsupported_algorithm",
            AuthError::CriticalHeader => "critical_header",
            AuthError::MissingKeyId => "missing_kid",
            AuthError::UnknownIssuer => "unknown_issuer",
            AuthError::UnknownKeyId => "unknown_kid",
            AuthError::InvalidSignature => "invalid_signature",
            AuthError::MissingClaim(_) => "missing_claim",
            AuthError::InvalidClaim(_) => "invalid_claim",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::IssuedInFuture => "issued_in_future",
            AuthError::WrongTokenUse { .. } => "wrong_token_use",
            AuthError::WrongClient => "wrong_client",
            AuthError::MachineClientNotAllowed => "machine_client_not_allowed",
            AuthError::MachineSubjectMismatch => "machine_subject_mismatch",
            AuthError::SelfServiceScopeNotSuppressed => "self_service_scope",
            AuthError::TokenRevoked => "revoked",
            AuthError::KeysUnavailable { .. } => "keys_unavailable",
            AuthError::ResolverUnavailable => "resolver_unavailable",
            AuthError::RevocationsUnavailable => "revocations_unavailable",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::InvalidPathParameter => "invalid_path_parameter",
        }
    }

    /// Seconds to put in `Retry-After`: `Some` exactly for the 503 answers.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            AuthError::KeysUnavailable { .. }
            | AuthError::ResolverUnavailable
            | AuthError::RevocationsUnavailable => Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
            _ => None,
        }
    }

    /// The default HTTP answer: status, `WWW-Authenticate` (401/403), `Retry-After` (503),
    /// `Cache-Control: no-store`, and a JSON body `{"error": ..., "error_description": ...}`.
    pub fn to_response(&self) -> Response<Bytes> {
        let description = self.to_string();
        let body =
            serde_json::json!({ "error": self.error_code(), "error_description": description });
        let mut response = Response::new(Bytes::from(body.to_string()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        } else {
            // Descriptions are crate-chosen ASCII without quotes, except the policy text
            // of `Forbidden`, which is sanitised here so it cannot break the header syntax.
            let safe: String = description
                .chars()
                .map(|c| {
                    if c == '"' || c == '\\' || !(' '..='~').contains(&c) {
                        '\''
                    } else {
                        c
                    }
                })
                .collect();
            let value = format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                self.error_code(),
                safe
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// `Retry-After` of the 503 answers. Ten seconds is the default JWKS cooldown (after a failed
/// key fetch no new fetch starts sooner, so an earlier retry would meet the same failure), and
/// long enough for a resolver or revocation store that is failing over.
const UNAVAILABLE_RETRY_AFTER_SECONDS: u32 = 10;

/// The default answer ([`AuthError::to_response`]), so that a handler can return
/// `Result<_, AuthError>`. A [`CognitoAuthBuilder::error_responder`](crate::CognitoAuthBuilder::error_responder)
/// is not applied here (a handler's error does not know the `CognitoAuth`): call the responder
/// yourself to answer in its format.
#[cfg(feature = "axum")]
impl axum::response::IntoResponse for AuthError {
    fn into_response(self) -> axum::response::Response {
        self.to_response().map(axum::body::Body::from)
    }
}

/// Turns an [`AuthError`] into the HTTP answer the client gets. Set one with
/// [`CognitoAuthBuilder::error_responder`](crate::CognitoAuthBuilder::error_responder) to change
/// the body format; the layers of one [`CognitoAuth`](crate::CognitoAuth) all use it.
pub type ErrorResponder = Arc<dyn Fn(&AuthError) -> Response<Bytes> + Send + Sync>;

/// The responder of the [`CognitoAuth`](crate::CognitoAuth) that authenticated a request, so
/// authorization layers answer in the same format.
#[derive(Clone)]
pub(crate) struct ResponderExt(pub(crate) ErrorResponder);

/// Errors building a [`CognitoAuth`](crate::CognitoAuth) or loading its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML did not parse, or has unknown fields; the message names the field.
    #[error("invalid config: {0}")]
    Toml(#[source] toml::de::Error),
    /// A field has an invalid value; `field` names it (for example `tenant[1].user_pool_id`).
    #[error("invalid config: {field}: {message}")]
    Invalid {
        /// The field path.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The HTTP client for key fetching could not be built.
    #[error("cannot build the JWKS HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The system's random generator failed while drawing the verified-token cache's key.
    #[error("cannot draw a random key from the operating system for the verified-token cache")]
    Random,
}

impl ConfigError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why [`CognitoAuth::remove_tenant`](crate::CognitoAuth::remove_tenant) or
/// [`refresh_tenant`](crate::CognitoAuth::refresh_tenant) did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TenantChangeError {
    /// The tenant is in the configured [`TenantRegistry`](crate::TenantRegistry): configured
    /// tenants change with the configuration (remove it there, then reload or restart).
    #[error(
        "tenant {0:?} is configured: remove or change it in the configuration, then reload or restart"
    )]
    Configured(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_token_errors_are_401_with_rfc6750_header() {
        let response = AuthError::Expired.to_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"token has expired\""
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], "token has expired");
        assert_eq!(body.as_object().unwrap().len(), 2);
    }

    #[test]
    fn forbidden_is_403_insufficient_scope_and_sanitises_quotes() {
        let response = AuthError::Forbidden("role \"admin\" required".into()).to_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_scope\", error_description=\"role 'admin' required\""
        );
    }

    #[test]
    fn keys_unavailable_is_503_with_retry_after_and_no_challenge() {
        let response = AuthError::KeysUnavailable {
            tenant: "acme".into(),
        }
        .to_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "10");
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn retry_after_is_set_exactly_on_503_answers() {
        let errors = [
            AuthError::MissingToken,
            AuthError::Expired,
            AuthError::Forbidden("no".into()),
            AuthError::InvalidPathParameter,
            AuthError::KeysUnavailable {
                tenant: "acme".into(),
            },
            AuthError::ResolverUnavailable,
            AuthError::RevocationsUnavailable,
        ];
        for err in errors {
            let response = err.to_response();
            let unavailable = err.status() == StatusCode::SERVICE_UNAVAILABLE;
            assert_eq!(err.retry_after().is_some(), unavailable, "{err:?}");
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).is_some(),
                unavailable,
                "{err:?}"
            );
        }
    }

    #[cfg(feature = "axum")]
    #[test]
    fn into_response_is_the_default_answer() {
        use axum::response::IntoResponse;
        let err = AuthError::UnknownIssuer;
        let expected = err.to_response();
        let response = err.into_response();
        assert_eq!(response.status(), expected.status());
        assert_eq!(response.headers(), expected.headers());
    }

    #[test]
    fn config_errors_keep_their_sources() {
        use std::error::Error as _;
        let toml_error = toml::from_str::<toml::Table>("= 1").unwrap_err();
        let err = ConfigError::Toml(toml_error);
        assert!(err.source().is_some());
    }

    #[test]
    fn revocations_unavailable_is_503_and_names_nothing() {
        let err = AuthError::RevocationsUnavailable;
        let response = err.to_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "10");
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
        assert_eq!(
            body["error_description"],
            "revocation list is temporarily unavailable"
        );
        assert_eq!(err.reason(), "revocations_unavailable");
    }
}
