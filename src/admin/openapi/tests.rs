//! The document against the router's route table, the handlers' body types and every
//! [`AdminError`] each operation can answer.
//!
//! This module holds what the checks share (the parsed document, `$ref` resolution, the
//! routes of both tables and their operations, the key and string readers); the tests are in
//! `routes` (paths, methods, operation ids, security), `requests` (request bodies against the
//! handlers' types), `responses` (success bodies and statuses against the serialized types)
//! and `errors` (every error answer with its status and headers, and the rules stated in the
//! descriptions).
//!
//! [`AdminError`]: crate::admin::AdminError

use std::collections::BTreeSet;

use serde_json::Value;

use super::OPENAPI_JSON;
use crate::admin::router::{ADMIN_ROUTES, RouteSpec, SELF_SERVICE_ROUTES};

mod errors;
mod requests;
mod responses;
mod routes;

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
