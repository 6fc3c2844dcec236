//! Metrics (feature `metrics`), read back from a recorder: decision outcomes and reasons with
//! their exact labels, one decision per request, label values that never come from tokens,
//! the tenant-label switch, key fetches, cache hits and misses, admin actions, and the
//! Prometheus exposition.
//!
//! Each test runs on a current-thread runtime inside `metrics::with_local_recorder`, so its
//! recorder sees only its own requests (the JWKS server and the key fetches run on that
//! thread too).

#![cfg(feature = "metrics")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use axum::Router;
use axum::routing::get;
use cognito_authz::metrics::{
    DECISIONS_TOTAL, JWKS_FETCH_DURATION_SECONDS, JWKS_FETCHES_TOTAL, TOKEN_CACHE_HITS_TOTAL,
    TOKEN_CACHE_MISSES_TOTAL,
};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthzLayer, CognitoAuth, Principal, Tenant};
use common::*;
use http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use rand::Rng;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;

/// Runs `test` on a fresh current-thread runtime with `recorder` as this thread's recorder.
fn with_recorder<T>(recorder: &dyn metrics::Recorder, test: impl Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    metrics::with_local_recorder(recorder, || runtime.block_on(test))
}

type Labels = Vec<(String, String)>;

/// Every counter of the snapshot: (name, labels in order) -> value added since the last
/// snapshot (taking one drains the counters). Histograms: their sample counts.
fn read(snapshotter: &Snapshotter) -> BTreeMap<(String, Labels), u64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => n,
                DebugValue::Histogram(samples) => samples.len() as u64,
                DebugValue::Gauge(g) => panic!("unexpected gauge {}: {g}", key.name()),
            };
            ((key.name().to_owned(), labels), value)
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn decision(tenant: &str, outcome: &str, reason: &str) -> (String, Labels) {
    (
        DECISIONS_TOTAL.to_owned(),
        labels(&[("tenant", tenant), ("outcome", outcome), ("reason", reason)]),
    )
}

/// The decision counters only, as (tenant, outcome, reason) -> count.
fn decisions(all: &BTreeMap<(String, Labels), u64>) -> BTreeMap<Labels, u64> {
    all.iter()
        .filter(|((name, _), _)| name == DECISIONS_TOTAL)
        .map(|((_, labels), n)| (labels.clone(), *n))
        .collect()
}

async fn ok() -> &'static str {
    "ok"
}

/// `/me` for any signed-in user, `/admin` for role admin, `/profile` extracting the principal.
fn app(auth: &CognitoAuth) -> Router {
    Router::new()
        .route("/me", get(ok))
        .route("/admin", get(ok).layer(AuthzLayer::require("admin")))
        .route(
            "/profile",
            get(|p: Principal| async move { p.username().to_owned() }),
        )
        .layer(auth.layer())
}

/// A tenant whose key server refuses connections: its requests get 503.
fn unreachable_tenant() -> Tenant {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    Tenant::builder("down", "us-east-1_DownPool")
        .client_id("client-down")
        .jwks_url(format!("http://127.0.0.1:{port}/keys.json"))
        .build()
        .expect("tenant")
}

fn two_tenants(issuer: &LocalIssuer) -> CognitoAuth {
    CognitoAuth::builder()
        .tenant(tenant_a(issuer))
        .and_then(|b| b.tenant(unreachable_tenant()))
        .expect("tenants")
        .build()
        .expect("auth")
}

fn unknown_issuer_token(issuer: &LocalIssuer) -> String {
    let mut claims = access_a(issuer, "mallory", &[]);
    claims["iss"] = json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_NotATenant");
    issuer.mint(&claims)
}

#[test]
fn each_request_is_one_decision_with_exact_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let issuer = start_issuer().await;
        let auth = two_tenants(&issuer);
        let app = app(&auth);
        let member = issuer.mint(&access_a(&issuer, "alice", &["member"]));
        let admin = issuer.mint(&access_a(&issuer, "root", &["admin"]));
        let mut expired = access_a(&issuer, "old", &[]);
        expired["exp"] = json!(now() - 60);
        let expired = issuer.mint(&expired);
        let down =
            issuer.mint(&issuer.access_claims("us-east-1_DownPool", "client-down", "d", &[]));

        let sent = [
            ("/me", Some(member.as_str()), StatusCode::OK), // miss, then verified
            ("/me", Some(&member), StatusCode::OK),         // hit
            ("/admin", Some(&member), StatusCode::FORBIDDEN), // hit, refused by authz
            ("/admin", Some(&admin), StatusCode::OK),       // miss
            ("/profile", Some(&member), StatusCode::OK),    // hit
            ("/nowhere", Some(&member), StatusCode::NOT_FOUND), // hit: allowed, then 404
            ("/me", None, StatusCode::UNAUTHORIZED),
            ("/me", Some(&expired), StatusCode::UNAUTHORIZED), // miss
            (
                "/me",
                Some(&unknown_issuer_token(&issuer)),
                StatusCode::UNAUTHORIZED,
            ), // miss
            ("/me", Some(&down), StatusCode::SERVICE_UNAVAILABLE), // miss, fetch fails
            ("/me", Some("not-a-jwt"), StatusCode::UNAUTHORIZED), // miss
        ];
        for (uri, token, status) in sent {
            assert_eq!(call(&app, uri, token).await.status, status, "{uri}");
        }

        let all = read(&snapshotter);
        let expected: BTreeMap<Labels, u64> = [
            (decision("acme", "allowed", "ok"), 5),
            (decision("acme", "forbidden", "forbidden"), 1),
            (decision("acme", "unauthenticated", "expired"), 1),
            (decision("", "unauthenticated", "missing_token"), 1),
            (decision("", "unauthenticated", "unknown_issuer"), 1),
            (decision("", "unauthenticated", "malformed"), 1),
            (decision("down", "unavailable", "keys_unavailable"), 1),
        ]
        .into_iter()
        .map(|((_, labels), n)| (labels, n))
        .collect();
        assert_eq!(decisions(&all), expected);
        assert_eq!(
            decisions(&all).values().sum::<u64>(),
            sent.len() as u64,
            "one decision per request"
        );

        let count = |name: &str, pairs: &[(&str, &str)]| {
            all.get(&(name.to_owned(), labels(pairs))).copied()
        };
        assert_eq!(count(TOKEN_CACHE_HITS_TOTAL, &[]), Some(4));
        assert_eq!(count(TOKEN_CACHE_MISSES_TOTAL, &[]), Some(6));
        assert_eq!(
            count(JWKS_FETCHES_TOTAL, &[("tenant", "acme"), ("result", "ok")]),
            Some(1)
        );
        assert_eq!(
            count(
                JWKS_FETCHES_TOTAL,
                &[("tenant", "down"), ("result", "transport")]
            ),
            Some(1)
        );
        assert_eq!(count(JWKS_FETCH_DURATION_SECONDS, &[]), Some(2));
    });
}

#[test]
fn refusals_inside_an_optional_layer_are_counted_once() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let issuer = start_issuer().await;
        let auth = auth_a(&issuer, |b| b);
        let app = Router::new()
            .route("/public", get(ok))
            .route("/admin", get(ok).layer(AuthzLayer::require("admin")))
            .route(
                "/profile",
                get(|p: Principal| async move { p.username().to_owned() }),
            )
            .layer(auth.optional_layer());
        // Anonymous and let through: no decision.
        assert_eq!(call(&app, "/public", None).await.status, StatusCode::OK);
        // Refused by the authorization layer, and by the extractor.
        assert_eq!(
            call(&app, "/admin", None).await.status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&app, "/profile", None).await.status,
            StatusCode::UNAUTHORIZED
        );
        let member = issuer.mint(&access_a(&issuer, "alice", &["member"]));
        assert_eq!(
            call(&app, "/public", Some(&member)).await.status,
            StatusCode::OK
        );

        let expected: BTreeMap<Labels, u64> = [
            (decision("", "unauthenticated", "missing_token").1, 2),
            (decision("acme", "allowed", "ok").1, 1),
        ]
        .into();
        assert_eq!(decisions(&read(&snapshotter)), expected);
    });
}

#[test]
fn nested_authentication_layers_count_a_request_once() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let issuer = start_issuer().await;
        let auth = auth_a(&issuer, |b| b);
        let inner = Router::new()
            .route("/admin", get(ok).layer(AuthzLayer::require("admin")))
            .route("/me", get(ok))
            .layer(auth.layer());
        let app = Router::new().merge(inner).layer(auth.layer());
        let member = issuer.mint(&access_a(&issuer, "alice", &["member"]));
        assert_eq!(
            call(&app, "/me", Some(&member)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            call(&app, "/admin", Some(&member)).await.status,
            StatusCode::FORBIDDEN
        );
        let expected: BTreeMap<Labels, u64> = [
            (decision("acme", "allowed", "ok").1, 1),
            (decision("acme", "forbidden", "forbidden").1, 1),
        ]
        .into();
        assert_eq!(decisions(&read(&snapshotter)), expected);
    });
}

/// The label values an attacker could try to grow: any of them, in any metric.
fn label_values(all: &BTreeMap<(String, Labels), u64>) -> BTreeSet<(String, String)> {
    all.keys()
        .flat_map(|(_, labels)| labels.iter().cloned())
        .collect()
}

#[test]
fn tokens_with_random_unknown_issuers_add_no_label_value() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let issuer = start_issuer().await;
        let auth = auth_a(&issuer, |b| b);
        let app = app(&auth);
        let member = issuer.mint(&access_a(&issuer, "alice", &["member"]));
        call(&app, "/me", Some(&member)).await;
        call(&app, "/me", Some(&unknown_issuer_token(&issuer))).await;
        let before = read(&snapshotter);
        let values_before = label_values(&before);

        let mut rng = rand::rng();
        let mut secrets = Vec::new();
        for i in 0..10_000 {
            let random = Alphanumeric.sample_string(&mut rng, 24);
            // Half look like Cognito issuers of pools nobody configured, half are anything.
            let iss = if i % 2 == 0 {
                format!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_{random}")
            } else {
                format!("https://{random}.example/{}", rng.random::<u64>())
            };
            let claims = json!({
                "iss": iss,
                "sub": format!("sub-{random}"),
                "client_id": CLIENT_A,
                "token_use": "access",
                "username": random,
                "exp": now() + 600,
            });
            let header = json!({ "alg": "RS256", "kid": format!("kid-{random}") });
            let token = unsigned_token(&header, &claims, random.as_bytes());
            let reply = call(&app, "/me", Some(&token)).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            secrets.push(random);
        }

        let after = read(&snapshotter);
        assert_eq!(
            label_values(&after),
            values_before,
            "10,000 unknown issuers changed the label values"
        );
        assert_eq!(
            after.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "no new series"
        );
        // A snapshot drains the counters: `after` holds what the 10,000 requests added.
        let unknown = decision("", "unauthenticated", "unknown_issuer");
        assert_eq!(after[&unknown], 10_000);
        for (key, value) in label_values(&after) {
            assert!(
                !secrets.iter().any(|s| value.contains(s.as_str())),
                "label {key}={value:?} holds token text"
            );
            assert!(
                !value.contains("http") && !value.contains("sub-") && !value.contains("kid-"),
                "label {key}={value:?} holds token text"
            );
        }
    });
}

#[test]
fn the_tenant_label_can_be_switched_off() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let issuer = start_issuer().await;
        let config = format!(
            "[metrics]\ntenant_label = false\n[[tenant]]\nid = '{TENANT_A}'\n\
             user_pool_id = '{POOL_A}'\nclient_ids = ['{CLIENT_A}']\njwks_url = '{}'\n\
             [[tenant]]\nid = '{TENANT_B}'\nuser_pool_id = '{POOL_B}'\n\
             client_ids = ['{CLIENT_B}']\njwks_url = '{}'\n",
            issuer.jwks_url(POOL_A),
            issuer.jwks_url(POOL_B),
        );
        let auth = CognitoAuth::from_config_str(&config).expect("config");
        let app = app(&auth);
        let a = issuer.mint(&access_a(&issuer, "alice", &["member"]));
        let b = issuer.mint(&issuer.access_claims(POOL_B, CLIENT_B, "bob", &["member"]));
        assert_eq!(call(&app, "/me", Some(&a)).await.status, StatusCode::OK);
        assert_eq!(call(&app, "/me", Some(&b)).await.status, StatusCode::OK);
        assert_eq!(
            call(&app, "/admin", Some(&b)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            call(&app, "/me", None).await.status,
            StatusCode::UNAUTHORIZED
        );

        let all = read(&snapshotter);
        for (name, labels) in all.keys() {
            assert!(
                labels.iter().all(|(key, _)| key != "tenant"),
                "{name} has a tenant label: {labels:?}"
            );
        }
        let expected: BTreeMap<Labels, u64> = [
            (labels(&[("outcome", "allowed"), ("reason", "ok")]), 2),
            (
                labels(&[("outcome", "forbidden"), ("reason", "forbidden")]),
                1,
            ),
            (
                labels(&[("outcome", "unauthenticated"), ("reason", "missing_token")]),
                1,
            ),
        ]
        .into();
        assert_eq!(decisions(&all), expected);
        assert_eq!(
            all[&(JWKS_FETCHES_TOTAL.to_owned(), labels(&[("result", "ok")]))],
            2
        );
    });
}

#[test]
fn prometheus_exposition_names_every_metric() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    with_recorder(&recorder, async {
        let issuer = start_issuer().await;
        let auth = auth_a(&issuer, |b| b);
        let app = app(&auth);
        let member = issuer.mint(&access_a(&issuer, "alice", &["member"]));
        call(&app, "/me", Some(&member)).await;
        call(&app, "/me", Some(&member)).await;
        call(&app, "/admin", Some(&member)).await;
    });
    let text = handle.render();
    for line in [
        r#"cognito_authz_decisions_total{tenant="acme",outcome="allowed",reason="ok"} 2"#,
        r#"cognito_authz_decisions_total{tenant="acme",outcome="forbidden",reason="forbidden"} 1"#,
        r#"cognito_authz_jwks_fetches_total{tenant="acme",result="ok"} 1"#,
        "cognito_authz_jwks_fetch_duration_seconds_count 1",
        "cognito_authz_token_cache_hits_total 2",
        "cognito_authz_token_cache_misses_total 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
}

#[cfg(feature = "admin")]
mod admin {
    use cognito_authz::AuthConfig;
    use cognito_authz::admin::AdminApi;
    use cognito_authz::aws::cognito_client;
    use cognito_authz::metrics::ADMIN_ACTIONS_TOTAL;

    use super::*;

    /// Attempts refused before Cognito is called: 401 (no actor, so no tenant) and 403 (the
    /// actor's tenant), with the tenant label on and off. The Cognito client points at a
    /// closed port and is never used.
    #[test]
    fn admin_actions_are_counted_by_tenant_action_and_outcome() {
        for tenant_label in [true, false] {
            let recorder = DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            with_recorder(&recorder, async {
                let issuer = start_issuer().await;
                let auth = auth_a(&issuer, |b| b.metrics_tenant_label(tenant_label));
                let config = AuthConfig::from_toml(
                    "[aws]\nendpoint_url = 'http://127.0.0.1:9'\nregion = 'us-east-1'",
                )
                .expect("config");
                let app = AdminApi::new(auth, cognito_client(&config.aws).await).router();
                let member = issuer.mint(&access_a(&issuer, "alice", &["member"]));
                let forbidden = call(&app, "/admin/users/bob", Some(&member)).await;
                assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
                let anonymous =
                    send_raw(&app, http::Method::POST, "/admin/users/bob/disable", &[]).await;
                assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

                let admin_actions: BTreeMap<Labels, u64> = read(&snapshotter)
                    .into_iter()
                    .filter(|((name, _), _)| name == ADMIN_ACTIONS_TOTAL)
                    .map(|((_, labels), n)| (labels, n))
                    .collect();
                let tenant = |id| tenant_label.then_some(("tenant", id));
                let with = |id, action, outcome| {
                    labels(
                        &tenant(id)
                            .into_iter()
                            .chain([("action", action), ("outcome", outcome)])
                            .collect::<Vec<_>>(),
                    )
                };
                let expected: BTreeMap<Labels, u64> = [
                    (with("acme", "get_user", "denied"), 1),
                    (with("", "disable_user", "unauthenticated"), 1),
                ]
                .into();
                assert_eq!(admin_actions, expected, "tenant label {tenant_label}");
            });
        }
    }
}
