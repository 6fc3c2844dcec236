//! Checks HTTP answers against the committed OpenAPI document (`docs/admin-openapi.json`): the
//! operation exists, the status is one of its responses, the required headers are there, the
//! content type is documented and the JSON body fits the schema (the subset of JSON Schema the
//! document uses). The admin tests run every answer they get through it.

#![allow(dead_code)]

use std::sync::OnceLock;

use http::{HeaderMap, Method, StatusCode, header};
use serde_json::Value;

/// The committed document, read from disk (not from the crate), parsed once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/admin-openapi.json");
        let text = std::fs::read_to_string(path).expect("docs/admin-openapi.json");
        serde_json::from_str(&text).expect("the document is JSON")
    })
}

/// Follows a local `$ref` if `value` is one.
pub fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolved $ref {pointer}")),
        None => value,
    }
}

/// True if the concrete `path` (no query) matches the `template` (`{param}` segments match
/// one non-empty segment).
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// The documented operation for `method` on the concrete `uri` (query ignored): its path
/// template and its object.
pub fn operation(method: &Method, uri: &str) -> Option<(&'static str, &'static Value)> {
    let path = uri.split('?').next().unwrap_or(uri);
    let doc = document();
    doc["paths"]
        .as_object()?
        .iter()
        .find_map(|(template, item)| {
            let op = item.get(method.as_str().to_ascii_lowercase())?;
            matches(template, path).then_some((template.as_str(), op))
        })
}

/// Panics unless this answer to `method uri` is documented.
pub fn assert_documented(
    method: &Method,
    uri: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    if let Err(why) = check(method, uri, status, headers, body) {
        panic!(
            "{method} {uri} answered {status} {}: not as documented in docs/admin-openapi.json: {why}",
            String::from_utf8_lossy(body)
        );
    }
}

/// [`assert_documented`] as a result.
pub fn check(
    method: &Method,
    uri: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let doc = document();
    let Some((template, op)) = operation(method, uri) else {
        // Not an operation: only the router's own answers, 404 or 405; on the path of a
        // guarded operation, authentication and authorization run before the method is
        // looked at, as the document says.
        let path = uri.split('?').next().unwrap_or(uri);
        let guarded_path = doc["paths"].as_object().is_some_and(|paths| {
            paths.iter().any(|(t, item)| {
                matches(t, path)
                    && item
                        .as_object()
                        .is_some_and(|ops| ops.values().any(|op| op.get("security").is_none()))
            })
        });
        return match status.as_u16() {
            404 | 405 => Ok(()),
            401 | 403 | 503 if guarded_path => Ok(()),
            _ => Err("no such operation".to_owned()),
        };
    };
    let response = op["responses"]
        .get(status.as_str())
        .map(|r| resolve(doc, r))
        .ok_or_else(|| format!("{template} documents no {status} answer"))?;
    if let Some(documented) = response["headers"].as_object() {
        for (name, spec) in documented {
            let spec = resolve(doc, spec);
            match headers.get(name.as_str()) {
                None if spec["required"] == true => {
                    return Err(format!("required header {name} missing"));
                }
                None => {}
                Some(value) => {
                    let value = value.to_str().map_err(|_| format!("{name} not ASCII"))?;
                    let value = match spec["schema"]["type"].as_str() {
                        Some("integer") => value
                            .parse::<i64>()
                            .map(Value::from)
                            .map_err(|_| format!("{name}: {value} is not an integer"))?,
                        _ => Value::from(value),
                    };
                    validate(doc, &spec["schema"], &value).map_err(|e| format!("{name}: {e}"))?;
                }
            }
        }
    }
    let Some(content) = response["content"].as_object() else {
        return if body.is_empty() {
            Ok(())
        } else {
            Err("a body where none is documented".to_owned())
        };
    };
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim();
    let schema = &content
        .get(media)
        .ok_or_else(|| format!("content type {media:?} is not documented"))?["schema"];
    if media == "application/json" {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        validate(doc, schema, &value)?;
    }
    Ok(())
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other} in the document"),
    }
}

/// The keywords of JSON Schema 2020-12 the document uses. Panics on any other keyword, so the
/// document cannot use one this check would ignore.
pub fn validate(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Err("a schema is not an object".to_owned());
    };
    for (keyword, arg) in schema {
        match keyword.as_str() {
            "$ref" => {
                let pointer = arg.as_str().expect("$ref").trim_start_matches('#');
                let target = doc
                    .pointer(pointer)
                    .ok_or_else(|| format!("unresolved $ref {pointer}"))?;
                validate(doc, target, value)?;
            }
            "description" | "format" | "example" => {}
            "type" => {
                let ok = match arg {
                    Value::String(name) => type_matches(name, value),
                    Value::Array(names) => names
                        .iter()
                        .any(|n| type_matches(n.as_str().unwrap_or_default(), value)),
                    _ => false,
                };
                if !ok {
                    return Err(format!("{value} is not of type {arg}"));
                }
            }
            "enum" => {
                if !arg.as_array().is_some_and(|a| a.contains(value)) {
                    return Err(format!("{value} is not one of {arg}"));
                }
            }
            "const" => {
                if arg != value {
                    return Err(format!("{value} is not {arg}"));
                }
            }
            "allOf" => {
                for sub in arg.as_array().expect("allOf") {
                    validate(doc, sub, value)?;
                }
            }
            "anyOf" => {
                let results: Vec<_> = arg
                    .as_array()
                    .expect("anyOf")
                    .iter()
                    .map(|sub| validate(doc, sub, value))
                    .collect();
                if !results.iter().any(|r| r.is_ok()) {
                    return Err(format!("{value} matches none of {results:?}"));
                }
            }
            "oneOf" => {
                let results: Vec<_> = arg
                    .as_array()
                    .expect("oneOf")
                    .iter()
                    .map(|sub| validate(doc, sub, value))
                    .collect();
                if results.iter().filter(|r| r.is_ok()).count() != 1 {
                    return Err(format!("{value} matches not exactly one of {results:?}"));
                }
            }
            "properties" => {
                if let Some(object) = value.as_object() {
                    for (name, sub) in arg.as_object().expect("properties") {
                        if let Some(v) = object.get(name) {
                            validate(doc, sub, v).map_err(|e| format!("{name}: {e}"))?;
                        }
                    }
                }
            }
            "required" => {
                if let Some(object) = value.as_object() {
                    for name in arg.as_array().expect("required") {
                        let name = name.as_str().expect("name");
                        if !object.contains_key(name) {
                            return Err(format!("{name} is missing"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(object) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (name, v) in object {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match arg {
                            Value::Bool(false) => {
                                return Err(format!("{name} is not documented"));
                            }
                            sub => validate(doc, sub, v).map_err(|e| format!("{name}: {e}"))?,
                        }
                    }
                }
            }
            "propertyNames" => {
                if let Some(object) = value.as_object() {
                    for name in object.keys() {
                        validate(doc, arg, &Value::from(name.as_str()))?;
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for item in items {
                        validate(doc, arg, item)?;
                    }
                }
            }
            "minProperties" | "maxProperties" => {
                if let Some(object) = value.as_object() {
                    let bound = arg.as_u64().expect("bound") as usize;
                    let ok = if keyword == "minProperties" {
                        object.len() >= bound
                    } else {
                        object.len() <= bound
                    };
                    if !ok {
                        return Err(format!("{} properties, {keyword} {bound}", object.len()));
                    }
                }
            }
            "minLength" | "maxLength" => {
                if let Some(text) = value.as_str() {
                    let bound = arg.as_u64().expect("bound") as usize;
                    let chars = text.chars().count();
                    let ok = if keyword == "minLength" {
                        chars >= bound
                    } else {
                        chars <= bound
                    };
                    if !ok {
                        return Err(format!("{chars} characters, {keyword} {bound}"));
                    }
                }
            }
            "minimum" | "maximum" => {
                if let Some(number) = value.as_f64() {
                    let bound = arg.as_f64().expect("bound");
                    let ok = if keyword == "minimum" {
                        number >= bound
                    } else {
                        number <= bound
                    };
                    if !ok {
                        return Err(format!("{number}, {keyword} {bound}"));
                    }
                }
            }
            "pattern" => {
                // The document's only pattern: no whitespace (user and group names).
                assert_eq!(arg, "^[^\\s]+$", "a pattern this check does not know");
                if value
                    .as_str()
                    .is_some_and(|s| s.is_empty() || s.chars().any(char::is_whitespace))
                {
                    return Err(format!("{value} does not match {arg}"));
                }
            }
            other => panic!("schema keyword {other} is not checked by tests/openapi_contract"),
        }
    }
    Ok(())
}
