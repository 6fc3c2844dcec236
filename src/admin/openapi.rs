//! The OpenAPI 3.1 document of the admin and self-service routes.
//!
//! The document is kept by hand in `docs/admin-openapi.json`, embedded here as is and served at
//! `GET /admin/openapi.json`. Tests hold it to the router: the routes and methods both ways
//! (the router is built from the same route table), the request and response bodies against
//! the real types' fields, every [`AdminError`](super::AdminError) answer of every operation,
//! and every answer the end-to-end tests against moto receive.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

/// The OpenAPI 3.1 document of [`AdminApi::router`](super::AdminApi::router), as served at
/// `GET /admin/openapi.json` and committed as `docs/admin-openapi.json` (generate a client
/// from that file without running the service).
///
/// ```
/// let document: serde_json::Value =
///     serde_json::from_str(cognito_authz::admin::OPENAPI_JSON).unwrap();
/// assert_eq!(document["openapi"], "3.1.0");
/// assert!(document["paths"]["/admin/users/{username}/mfa"]["put"].is_object());
/// ```
pub const OPENAPI_JSON: &str = include_str!("../../docs/admin-openapi.json");

/// Where [`AdminApi::admin_router`](super::AdminApi::admin_router) serves [`OPENAPI_JSON`].
pub(crate) const OPENAPI_PATH: &str = "/admin/openapi.json";

/// The document, without authentication.
pub(crate) async fn serve() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
