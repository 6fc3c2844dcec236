//! The document's paths and methods are exactly the router's routes (both tables, plus the
//! document itself), each operation named after its audit action in camel case, guarded by the
//! document-wide access-token security (only the document is open), with the path parameters
//! its template names.

use std::collections::BTreeSet;

use serde_json::json;

use super::{document, operation, routes};
use crate::admin::openapi::OPENAPI_PATH;

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
