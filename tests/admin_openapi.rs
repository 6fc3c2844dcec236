//! The OpenAPI document of the admin routes (`docs/admin-openapi.json`) against the router:
//! served as committed and without a token, a well-formed OpenAPI 3.1 document, every
//! documented operation served (and no other method on its paths), and the router's real
//! answers (401, 403, 400, 413, 503, 405, 404) as documented. The Cognito client points at a
//! closed port, so the operations that get past their checks answer 503 without Cognito; the
//! answers of a real Cognito (moto) are checked in `admin_moto/`.

#![cfg(feature = "admin")]

mod openapi_contract;

use std::collections::BTreeSet;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::retry::RetryConfig;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use axum::Router;
use axum::body::Body;
use cognito_authz::admin::{AdminApi, OPENAPI_JSON};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, Tenant};
use http::{HeaderMap, Method, Request, StatusCode, header};
use openapi_contract::{assert_documented, document, resolve};
use serde_json::{Value, json};
use tower::ServiceExt;

const POOL: &str = "us-east-1_AcmePool1";
const CLIENT: &str = "client-acme";
const MACHINE: &str = "machine-acme";
const METHODS: [Method; 5] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::PATCH,
    Method::DELETE,
];

struct Setup {
    issuer: LocalIssuer,
    app: Router,
}

/// A Cognito client whose endpoint refuses connections, without retries.
fn unreachable_cognito() -> Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = aws_sdk_cognitoidentityprovider::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

async fn setup() -> Setup {
    let issuer = LocalIssuer::start().await.expect("issuer");
    let tenant = Tenant::builder("acme", POOL)
        .client_id(CLIENT)
        .machine_client_ids([MACHINE])
        .role("admin", ["admin"])
        .jwks_url(issuer.jwks_url(POOL))
        .build()
        .expect("tenant");
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .expect("tenant")
        .build()
        .expect("auth");
    let enrollment_clients = [("acme".to_owned(), "enrollment-client".to_owned())].into();
    let app = AdminApi::new(auth, unreachable_cognito())
        .totp_enrollment("custom:mfa_enroll_until", enrollment_clients)
        .router();
    Setup { issuer, app }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends a request and checks that the answer is documented (or is the router's own 404/405
/// for something that is not an operation).
async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Answer {
    let mut request = Request::builder().method(method.clone()).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, Body::from))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .expect("body")
        .to_vec();
    assert_documented(&method, uri, status, &headers, &body);
    Answer {
        status,
        headers,
        body,
    }
}

/// Every documented operation: method, path template, and a concrete path for it.
fn operations() -> Vec<(Method, String, String)> {
    let mut out = Vec::new();
    for (template, item) in document()["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let concrete = template
                .replace("{username}", "ann")
                .replace("{group}", "editors")
                .replace("{device_key}", "us-east-1_0a1b2c3d-1111");
            assert!(!concrete.contains('{'), "unknown parameter in {template}");
            out.push((method, template.clone(), concrete));
        }
    }
    out
}

/// The documented example body of an operation, if it has one.
fn example(op: &Value) -> Option<Value> {
    op["requestBody"]["content"]["application/json"]
        .get("example")
        .cloned()
}

#[tokio::test]
async fn the_document_is_served_as_committed_without_a_token() {
    let s = setup().await;
    let committed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/admin-openapi.json"
    ))
    .expect("docs/admin-openapi.json");
    assert_eq!(OPENAPI_JSON.as_bytes(), committed.as_slice());
    for token in [None, Some("not-a-token")] {
        let answer = send(&s.app, Method::GET, "/admin/openapi.json", token, None).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
        assert!(
            answer.body == committed,
            "the served document is the committed file"
        );
    }
    // The exception opens nothing else: the next route still wants a token.
    let answer = send(&s.app, Method::GET, "/admin/users", None, None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json()["error"], "invalid_token");
    // Only GET.
    let answer = send(&s.app, Method::POST, "/admin/openapi.json", None, None).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_well_formed_openapi_3_1() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let scheme = &doc["components"]["securitySchemes"]["cognitoAccessToken"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"], &scheme["bearerFormat"]),
        (&json!("http"), &json!("bearer"), &json!("JWT"))
    );
    let mut targets = Vec::new();
    refs(doc, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let pointer = target.strip_prefix('#').expect("local $ref");
        assert!(doc.pointer(pointer).is_some(), "unresolved $ref {target}");
    }
    let mut ids = BTreeSet::new();
    for (method, template, _) in operations() {
        let op = &doc["paths"][&template][method.as_str().to_ascii_lowercase()];
        let id = op["operationId"].as_str().expect("operationId");
        assert!(
            id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{id} is an identifier in every generator's language"
        );
        assert!(ids.insert(id), "operationId {id} twice");
        for name in op["security"]
            .as_array()
            .unwrap_or(doc["security"].as_array().expect("security"))
            .iter()
            .flat_map(|s| s.as_object().expect("requirement").keys())
        {
            assert!(doc["components"]["securitySchemes"].get(name).is_some());
        }
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{template}"
        );
        for (status, response) in responses {
            assert!(status.parse::<u16>().is_ok_and(|s| (200..600).contains(&s)));
            assert!(resolve(doc, response)["description"].is_string());
        }
        for param in op["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = param["name"].as_str().expect("name");
            if param["in"] == "path" {
                assert_eq!(param["required"], true);
                assert!(
                    template.contains(&format!("{{{name}}}")),
                    "{name} in {template}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_and_no_other_method() {
    let s = setup().await;
    let operations = operations();
    for (method, template, uri) in &operations {
        let answer = send(&s.app, method.clone(), uri, None, None).await;
        if template == "/admin/openapi.json" {
            assert_eq!(answer.status, StatusCode::OK);
            continue;
        }
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert!(
            answer.headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer error=\"invalid_token\""),
        );
    }
    // Other methods: authentication runs first (401 without a token), then 405.
    let user = s
        .issuer
        .mint(&s.issuer.access_claims(POOL, CLIENT, "ann", &["admin"]));
    let paths: BTreeSet<&String> = operations.iter().map(|(_, _, uri)| uri).collect();
    for uri in paths {
        for method in METHODS {
            if operations.iter().any(|(m, _, u)| *m == method && u == uri) {
                continue;
            }
            let answer = send(&s.app, method.clone(), uri, Some(&user), None).await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri} is not documented, so it must not be served"
            );
        }
    }
    let answer = send(&s.app, Method::GET, "/admin/roles", None, None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_routers_answers_are_documented() {
    let s = setup().await;
    let token = |groups: &[&str]| {
        s.issuer
            .mint(&s.issuer.access_claims(POOL, CLIENT, "ann", groups))
    };
    let (user, admin) = (token(&[]), token(&["admin"]));
    let machine = s
        .issuer
        .mint(&s.issuer.machine_claims(POOL, MACHINE, &["orders/read"]));
    for (method, template, uri) in operations() {
        if template == "/admin/openapi.json" {
            continue;
        }
        let op = &document()["paths"][&template][method.as_str().to_ascii_lowercase()];
        let body = example(op).map(|b| b.to_string());
        let self_service = template.starts_with("/me/");

        // Not an administrator: 403 from the policy. On /me, a machine: 403 from the
        // operation, which has no account to act on.
        let refused = if self_service { &machine } else { &user };
        let answer = send(&s.app, method.clone(), &uri, Some(refused), body.clone()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {uri}");
        let code = if self_service {
            "not_a_user"
        } else {
            "insufficient_scope"
        };
        assert_eq!(answer.json()["error"], code, "{method} {uri}");

        // Allowed, and the documented example passes every check up to Cognito, which is
        // unreachable: 503 with Retry-After.
        let allowed = if self_service { &user } else { &admin };
        let answer = send(&s.app, method.clone(), &uri, Some(allowed), body.clone()).await;
        assert_eq!(
            (answer.status, answer.json()["error"].clone()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!("temporarily_unavailable")
            ),
            "{method} {uri}"
        );
        assert_eq!(answer.headers[header::RETRY_AFTER], "10");

        if let Some(example) = example(op) {
            // A field the document does not have is refused.
            let mut unknown = example.clone();
            unknown["user_pool_id"] = json!("us-east-1_Other");
            let answer = send(
                &s.app,
                method.clone(),
                &uri,
                Some(allowed),
                Some(unknown.to_string()),
            )
            .await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method} {uri}");
            assert_eq!(answer.json()["error"], "invalid_request");
            // So is a body over the limit.
            let large = json!({ "attributes": { "name": "x".repeat(20_000) } }).to_string();
            let answer = send(&s.app, method.clone(), &uri, Some(allowed), Some(large)).await;
            assert_eq!(
                answer.status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{method} {uri}"
            );
            assert_eq!(answer.json()["error"], "body_too_large");
        }
        if template.contains("{username}") {
            // Bad user names: checked by the operation (JSON), or not even UTF-8 (axum's
            // path extractor, plain text); both documented.
            for bad in ["a%20b", "%FF"] {
                let uri = uri.replacen("/ann", &format!("/{bad}"), 1);
                let answer = send(&s.app, method.clone(), &uri, Some(&admin), body.clone()).await;
                assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method} {uri}");
            }
        }
    }
    // A query parameter the route does not have.
    let answer = send(
        &s.app,
        Method::GET,
        "/admin/users?pool=x",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    // A machine client on its own account: refused by the operation (`not_a_user`) before any
    // Cognito call.
    let answer = send(
        &s.app,
        Method::PATCH,
        "/me/attributes",
        Some(&machine),
        Some(json!({ "attributes": { "name": "x" } }).to_string()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.json()["error"], "not_a_user");
}

#[test]
fn the_contract_check_refuses_undocumented_answers() {
    let json_headers = |extra: &[(&str, &str)]| {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        headers.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
        for (name, value) in extra {
            headers.insert(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    };
    let check = |method: Method, uri: &str, status: u16, headers: &HeaderMap, body: Value| {
        openapi_contract::check(
            &method,
            uri,
            StatusCode::from_u16(status).unwrap(),
            headers,
            body.to_string().as_bytes(),
        )
    };
    let not_found = json!({ "error": "user_not_found", "error_description": "user not found" });
    assert_eq!(
        check(
            Method::GET,
            "/admin/users/ann",
            404,
            &json_headers(&[]),
            not_found.clone()
        ),
        Ok(())
    );
    // A status the operation does not document (no 404 on the list).
    assert!(
        check(
            Method::GET,
            "/admin/users",
            404,
            &json_headers(&[]),
            not_found
        )
        .is_err()
    );
    // A code documented elsewhere, not for this status.
    let lockout = json!({ "error": "self_lockout", "error_description": "x" });
    assert!(
        check(
            Method::GET,
            "/admin/users/ann",
            404,
            &json_headers(&[]),
            lockout
        )
        .is_err()
    );
    // 503 without Retry-After.
    let throttled = json!({ "error": "throttled", "error_description": "x" });
    assert!(
        check(
            Method::GET,
            "/admin/users",
            503,
            &json_headers(&[]),
            throttled.clone()
        )
        .is_err()
    );
    assert_eq!(
        check(
            Method::GET,
            "/admin/users",
            503,
            &json_headers(&[("retry-after", "5")]),
            throttled
        ),
        Ok(())
    );
    // A field the schema does not have.
    let page = json!({ "users": [], "pagination_token": null, "pool": "x" });
    assert!(check(Method::GET, "/admin/users", 200, &json_headers(&[]), page).is_err());
    // Not an operation: only 404 and 405.
    assert!(
        check(
            Method::GET,
            "/admin/nothing",
            200,
            &json_headers(&[]),
            json!({})
        )
        .is_err()
    );
}
