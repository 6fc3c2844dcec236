//! Both triggers run through `lambda_runtime::run`, against a local Lambda Runtime API on
//! 127.0.0.1: events come from `GET /2018-06-01/runtime/invocation/next`, answers are captured
//! from `POST .../{id}/response` and `POST .../{id}/error`. The Post Authentication function is
//! built as the example builds it: config file from `COGNITO_AUTHZ_CONFIG`, client from the AWS
//! provider chain and `[aws]`, moto behind it.

#![cfg(feature = "lambda")]

mod moto;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, MessageActionType, SchemaAttributeType, SmsMfaSettingsType,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cognito_authz::AuthConfig;
use cognito_authz::lambda::{self, PostAuthentication, PreTokenGeneration};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Value {
    let path = format!("{FIXTURES}/{name}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// What the function posted back for one invocation.
#[derive(Debug)]
enum Outcome {
    Response(Value),
    Error(Value),
}

#[derive(Clone)]
struct Api {
    queue: Arc<Mutex<VecDeque<(String, Value)>>>,
    outcomes: mpsc::UnboundedSender<(String, Outcome)>,
}

async fn next(State(api): State<Api>) -> Response {
    // Popped when the request arrives, and a poll finding no event hangs for good: so a poll
    // left by an aborted runtime never takes an event queued for the next one. Events must
    // therefore be queued before the runtime starts.
    let next = api.queue.lock().unwrap().pop_front();
    let Some((id, event)) = next else {
        std::future::pending::<()>().await;
        return StatusCode::NO_CONTENT.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 30_000;
    (
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:trigger".to_owned(),
            ),
            ("content-type", "application/json".to_owned()),
        ],
        event.to_string(),
    )
        .into_response()
}

async fn response(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).expect("response is JSON");
    let _ = api.outcomes.send((id, Outcome::Response(value)));
    StatusCode::ACCEPTED
}

async fn error(State(api): State<Api>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).expect("error is JSON");
    let _ = api.outcomes.send((id, Outcome::Error(value)));
    StatusCode::ACCEPTED
}

struct RuntimeApi {
    addr: SocketAddr,
    api: Api,
    outcomes: mpsc::UnboundedReceiver<(String, Outcome)>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let api = Api {
            queue: Arc::default(),
            outcomes: tx,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            addr,
            api,
            outcomes: rx,
            server,
        }
    }

    /// Queues the events; queue them before the runtime starts polling.
    fn queue(&self, events: Vec<(&str, Value)>) -> usize {
        let count = events.len();
        self.api
            .queue
            .lock()
            .unwrap()
            .extend(events.into_iter().map(|(id, event)| (id.to_owned(), event)));
        count
    }

    /// Waits for `count` outcomes.
    async fn outcomes(&mut self, count: usize) -> HashMap<String, Outcome> {
        let mut outcomes = HashMap::new();
        while outcomes.len() < count {
            let (id, outcome) = tokio::time::timeout(Duration::from_secs(60), self.outcomes.recv())
                .await
                .expect("the function answered within 60 s")
                .expect("server running");
            assert!(outcomes.insert(id, outcome).is_none(), "one answer per id");
        }
        outcomes
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn response_of(outcomes: &HashMap<String, Outcome>, id: &str) -> Value {
    match &outcomes[id] {
        Outcome::Response(v) => v.clone(),
        Outcome::Error(e) => panic!("{id}: error {e}"),
    }
}

fn error_of(outcomes: &HashMap<String, Outcome>, id: &str) -> (String, String) {
    match &outcomes[id] {
        Outcome::Error(e) => (
            e["errorType"].as_str().unwrap().to_owned(),
            e["errorMessage"].as_str().unwrap().to_owned(),
        ),
        Outcome::Response(v) => panic!("{id}: response {v}"),
    }
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_answer_through_lambda_runtime() {
    let moto = moto::Moto::start();
    let client = moto.client();
    let pool = client
        .create_user_pool()
        .pool_name("runtime")
        .schema(
            SchemaAttributeType::builder()
                .name("mfa_required")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    for user in ["with-mfa", "without-mfa"] {
        client
            .admin_create_user()
            .user_pool_id(&pool)
            .username(user)
            .message_action(MessageActionType::Suppress)
            .user_attributes(
                AttributeType::builder()
                    .name("custom:mfa_required")
                    .value("true")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    client
        .admin_set_user_mfa_preference()
        .user_pool_id(&pool)
        .username("with-mfa")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).build())
        .send()
        .await
        .unwrap();

    // The tenants of the fixtures plus the moto pool, in one file, as deployed.
    let config = std::fs::read_to_string(format!("{FIXTURES}/tenants.toml")).unwrap()
        + &format!(
            "\n[aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n\n\
             [[tenant]]\nid = \"moto\"\nuser_pool_id = \"{pool}\"\nclient_ids = [\"web\"]\n",
            moto.endpoint()
        );
    let file = TempFile(std::env::temp_dir().join(format!(
        "cognito-authz-lambda-runtime-{}.toml",
        std::process::id()
    )));
    std::fs::write(&file.0, config).unwrap();

    let mut api = RuntimeApi::start().await;
    // SAFETY: this binary has this one test, and nothing else reads the environment while it
    // is set: the runtime reads these variables only when `run` starts, below.
    unsafe {
        std::env::set_var("AWS_LAMBDA_RUNTIME_API", api.addr.to_string());
        std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "cognito-authz-trigger");
        std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128");
        std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
        std::env::set_var(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]0123456789abcdef",
        );
        std::env::set_var(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/cognito-authz-trigger",
        );
        std::env::set_var(lambda::CONFIG_PATH_ENV, &file.0);
        // moto ignores signatures, but the SDK signs every request.
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    }
    assert_eq!(lambda::config_path(), file.0);

    // Pre Token Generation, served by the library's service.
    let trigger = PreTokenGeneration::from_config_file(lambda::config_path()).unwrap();
    let mut unknown = fixture("pre_token_gen_v2_admin.json");
    unknown["userPoolId"] = json!("us-east-1_Unknown9");
    let mut bad_version = fixture("pre_token_gen_v2_member.json");
    bad_version["version"] = json!("9");
    let count = api.queue(vec![
        ("admin", fixture("pre_token_gen_v2_admin.json")),
        ("member", fixture("pre_token_gen_v2_member.json")),
        ("v3-member", fixture("pre_token_gen_v3_member.json")),
        ("m2m", fixture("pre_token_gen_v3_client_credentials.json")),
        ("unknown-pool", unknown),
        ("bad-version", bad_version),
        ("not-an-event", json!([1, 2, 3])),
    ]);
    let runtime = tokio::spawn(lambda_runtime::run(trigger.service()));
    let outcomes = api.outcomes(count).await;
    assert_eq!(
        response_of(&outcomes, "admin")["response"],
        json!({ "claimsAndScopeOverrideDetails": null })
    );
    for id in ["member", "v3-member"] {
        assert_eq!(
            response_of(&outcomes, id)["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
                ["scopesToSuppress"],
            json!(["aws.cognito.signin.user.admin"]),
            "{id}"
        );
    }
    assert_eq!(
        response_of(&outcomes, "m2m"),
        fixture("pre_token_gen_v3_client_credentials.json")
    );
    let (kind, message) = error_of(&outcomes, "unknown-pool");
    assert_eq!(kind, "UnknownUserPool");
    assert!(message.contains("us-east-1_Unknown9"), "{message}");
    assert_eq!(error_of(&outcomes, "bad-version").0, "UnsupportedVersion");
    assert_eq!(error_of(&outcomes, "not-an-event").0, "InvalidEvent");
    assert!(
        !runtime.is_finished(),
        "the runtime keeps polling after errors"
    );
    runtime.abort();

    // Post Authentication, wired exactly as examples/post_authentication.rs wires it.
    let config = AuthConfig::from_file(lambda::config_path()).unwrap();
    let guard = Arc::new(PostAuthentication::from_config(&config).await.unwrap());
    let post_auth = |user: &str, required: Option<&str>| {
        let mut event = fixture("post_auth.json");
        event["userPoolId"] = json!(pool);
        event["userName"] = json!(user);
        let attributes = event["request"]["userAttributes"].as_object_mut().unwrap();
        match required {
            Some(v) => attributes.insert("custom:mfa_required".to_owned(), json!(v)),
            None => attributes.remove("custom:mfa_required"),
        };
        event
    };
    let count = api.queue(vec![
        ("enabled", post_auth("with-mfa", Some("true"))),
        ("drifted", post_auth("without-mfa", Some("true"))),
        ("not-required", post_auth("without-mfa", None)),
    ]);
    let runtime = tokio::spawn(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| {
            let guard = guard.clone();
            async move { guard.handle_json(event.payload).await }
        },
    )));
    let outcomes = api.outcomes(count).await;
    assert_eq!(response_of(&outcomes, "enabled")["response"], json!({}));
    assert_eq!(
        response_of(&outcomes, "not-required")["response"],
        json!({})
    );
    let (kind, message) = error_of(&outcomes, "drifted");
    assert_eq!(kind, "MfaRequired");
    assert!(
        message.starts_with("multi-factor authentication is required for this account"),
        "{message}"
    );
    runtime.abort();
}
