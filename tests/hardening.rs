//! Hostile input at scale: property tests over token mutations and header strings, floods of
//! unknown kids, unknown issuers and distinct tokens, and a concurrent soak across a key rotation.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::tenant::ResolveFuture;
use cognito_authz::testing::{LocalIssuer, SigningKey};
use cognito_authz::{
    AuthError, AuthzLayer, CognitoAuth, Policy, Tenant, tenant::Issuer, tenant::TenantResolver,
};
use common::*;
use http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::json;
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A tenant-A `CognitoAuth` whose keys are already fetched, with a long cooldown so that no
/// mutated kid can trigger another fetch during the properties.
struct Fixture {
    rt: tokio::runtime::Runtime,
    issuer: LocalIssuer,
    auth: CognitoAuth,
    token: String,
}

fn fixture() -> Fixture {
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks_with_cooldown(Duration::from_secs(3600)))
    });
    let token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    rt.block_on(auth.verify(&token))
        .expect("the unmodified token is valid");
    Fixture {
        rt,
        issuer,
        auth,
        token,
    }
}

fn fixture_once() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(fixture)
}

fn verify(f: &Fixture, token: &str) -> Result<cognito_authz::Principal, AuthError> {
    f.rt.block_on(f.auth.verify(token))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_change_is_rejected(position in any::<prop::sample::Index>(), byte in 0u8..128) {
        let f = fixture_once();
        let index = position.index(f.token.len());
        prop_assume!(f.token.as_bytes()[index] != byte);
        let mut bytes = f.token.clone().into_bytes();
        bytes[index] = byte;
        let mutated = String::from_utf8(bytes).expect("ascii");
        prop_assert!(verify(f, &mutated).is_err(), "byte {} -> {:?} accepted", index, byte as char);
    }

    #[test]
    fn any_truncation_is_rejected(len in any::<prop::sample::Index>()) {
        let f = fixture_once();
        let cut = &f.token[..len.index(f.token.len())];
        prop_assert!(verify(f, cut).is_err());
    }

    #[test]
    fn arbitrary_authorization_headers_never_authorize(value in "\\PC{0,300}", bearer in any::<bool>()) {
        let f = fixture_once();
        let value = if bearer { format!("Bearer {value}") } else { value };
        let Ok(header) = http::HeaderValue::from_str(&value) else { return Ok(()) };
        let app = Router::new().route("/", get(|| async { "in" })).layer(f.auth.layer());
        let request = Request::get("/").header("authorization", header).body(Body::empty()).unwrap();
        let response = f.rt.block_on(app.oneshot(request)).unwrap();
        prop_assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn segment_swaps_are_rejected() {
    let f = fixture_once();
    let parts: Vec<&str> = f.token.split('.').collect();
    let orders = [
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
        [0, 0, 2],
        [0, 1, 1],
    ];
    for order in orders {
        let swapped = order.map(|i| parts[i]).join(".");
        assert!(verify(f, &swapped).is_err(), "{order:?} accepted");
    }
    // The signature of one valid token on another's header and payload.
    let other = f.issuer.mint(&access_a(&f.issuer, "bob", &[]));
    let other_sig = other.rsplit_once('.').unwrap().1;
    let (message, _) = f.token.rsplit_once('.').unwrap();
    assert_eq!(
        verify(f, &format!("{message}.{other_sig}")).unwrap_err(),
        AuthError::InvalidSignature
    );
}

/// A token with an arbitrary header, a valid-looking payload and a garbage signature: enough to
/// reach the tenant and key lookups without paying for an RSA signature per token.
fn unsigned(header: serde_json::Value, claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode([7u8; 256])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_unknown_kids_cause_at_most_one_fetch_per_cooldown() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| {
        b.jwks(jwks_with_cooldown(Duration::from_secs(60)))
    });
    assert!(auth.prefetch().await.is_empty());
    assert_eq!(issuer.fetch_count(), 1);
    let claims = access_a(&issuer, "mallory", &["admin"]);
    let mut tasks = Vec::new();
    for i in 0..10_000u32 {
        let auth = auth.clone();
        let token = unsigned(
            json!({"alg": "RS256", "kid": format!("random-{i}-{}", rand::random::<u64>())}),
            &claims,
        );
        tasks.push(tokio::spawn(async move { auth.verify(&token).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), AuthError::UnknownKeyId);
    }
    // The prefetch opened the cooldown window: none of the 10,000 may fetch again.
    assert_eq!(issuer.fetch_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kids_after_the_cooldown_fetch_once_per_window() {
    let issuer = start_issuer().await;
    let cooldown = Duration::from_millis(300);
    let auth = auth_a(&issuer, |b| b.jwks(jwks_with_cooldown(cooldown)));
    assert!(auth.prefetch().await.is_empty());
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    let claims = access_a(&issuer, "mallory", &[]);
    let tasks: Vec<_> = (0..2_000)
        .map(|i| {
            let auth = auth.clone();
            let token = unsigned(json!({"alg": "RS256", "kid": format!("k{i}")}), &claims);
            tokio::spawn(async move { auth.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), AuthError::UnknownKeyId);
    }
    // However long the burst took, it spans at most a few cooldown windows; what matters is
    // that the count is bounded by windows, not by tokens.
    let fetches = issuer.fetch_count();
    assert!(
        (2..=1 + 4).contains(&fetches),
        "{fetches} fetches for 2,000 unknown kids"
    );
}

struct CountingResolver(Arc<AtomicUsize>);

impl TenantResolver for CountingResolver {
    fn resolve<'a>(&'a self, _: Issuer<'a>) -> ResolveFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(None) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_unknown_issuers_cause_no_fetch_and_are_cached_negatively() {
    let issuer = start_issuer().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let auth = auth_a(&issuer, |b| b.resolver(CountingResolver(calls.clone())));
    let key = issuer.current_key();
    // Half not of the Cognito form (never reach the resolver), half of it (one call each).
    let mut tokens = Vec::new();
    for i in 0..10_000u32 {
        let iss = if i % 2 == 0 {
            format!("https://evil-{i}.example/us-east-1_X{i}")
        } else {
            format!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Unknown{i}")
        };
        let mut claims = access_a(&issuer, "mallory", &["admin"]);
        claims["iss"] = json!(iss);
        tokens.push(unsigned(json!({"alg": "RS256", "kid": key.kid()}), &claims));
    }
    for round in 0..2 {
        for token in &tokens {
            assert_eq!(
                auth.verify(token).await.unwrap_err(),
                AuthError::UnknownIssuer
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 5_000, "after round {round}");
    }
    assert_eq!(
        issuer.fetch_count(),
        0,
        "an unknown issuer must never cause a key fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_valid_tokens_keep_the_verified_token_cache_within_its_bound() {
    let issuer = start_issuer().await;
    let bound = 500u64;
    let auth = auth_a(&issuer, |b| b.token_cache_entries(bound));
    let key = issuer.current_key();
    // Sign on both cores: 10,000 RSA signatures are the slow part of this test.
    let claims: Vec<_> = (0..10_000)
        .map(|i| access_a(&issuer, &format!("user{i}"), &[]))
        .collect();
    let half = claims.len() / 2;
    let (first, second) = claims.split_at(half);
    let (k1, k2) = (key.clone(), key.clone());
    let (a, b) = (first.to_vec(), second.to_vec());
    let t1 = tokio::task::spawn_blocking(move || a.iter().map(|c| k1.sign(c)).collect::<Vec<_>>());
    let t2 = tokio::task::spawn_blocking(move || b.iter().map(|c| k2.sign(c)).collect::<Vec<_>>());
    let mut tokens = t1.await.unwrap();
    tokens.extend(t2.await.unwrap());
    for token in &tokens {
        auth.verify(token).await.expect("valid token");
    }
    let held = auth.cached_tokens();
    assert!(held <= bound, "{held} entries held, bound {bound}");
    assert!(held > 0);
}

/// Every answer during a concurrent mix of requests across a key rotation is the right one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_across_key_rotation_gives_every_request_its_exact_answer() {
    let issuer = start_issuer().await;
    let cooldown = Duration::from_millis(100);
    let auth = CognitoAuth::builder()
        .tenant(tenant_a(&issuer))
        .unwrap()
        .tenant(tenant_b(&issuer))
        .unwrap()
        .jwks(jwks_with_cooldown(cooldown))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/me", get(|| async { "me" }))
        .route(
            "/tenants/{tenant}/admin",
            get(|| async { "admin" }).layer(AuthzLayer::policy(
                Policy::role("admin").and(Policy::same_tenant_as("tenant")),
            )),
        )
        .layer(auth.layer());

    // (path, token, expected status) for one key generation.
    let cases = |issuer: &LocalIssuer, key: &SigningKey| {
        let a_admin = key.sign(&access_a(issuer, "alice", &["admin"]));
        let a_member = key.sign(&access_a(issuer, "bob", &["member"]));
        let b_admin = key.sign(&issuer.access_claims(POOL_B, CLIENT_B, "carol", &["admin"]));
        let mut expired_claims = access_a(issuer, "alice", &["admin"]);
        expired_claims["exp"] = json!(cognito_authz::testing::now() - 10);
        let expired = key.sign(&expired_claims);
        let rogue = SigningKey::generate(key.kid()).sign(&access_a(issuer, "eve", &["admin"]));
        let id = key.sign(&id_a(issuer, "alice", &["admin"]));
        vec![
            ("/me", a_member.clone(), 200),
            ("/tenants/acme/admin", a_admin.clone(), 200),
            ("/tenants/globex/admin", b_admin.clone(), 200),
            ("/tenants/acme/admin", a_member, 403),
            ("/tenants/acme/admin", b_admin, 403),
            ("/tenants/globex/admin", a_admin, 403),
            ("/me", expired, 401),
            ("/me", rogue, 401),
            ("/me", id, 401),
        ]
    };
    let old = cases(&issuer, &issuer.current_key());
    assert!(auth.prefetch().await.is_empty());
    assert_eq!(
        issuer.fetch_count(),
        2,
        "one prefetch per tenant (each pool has its own JWKS URL)"
    );

    let run = |cases: Vec<(&'static str, String, u16)>, rounds: usize| {
        let app = app.clone();
        async move {
            let mut tasks = Vec::new();
            for round in 0..rounds {
                for (path, token, expected) in cases.iter().cloned() {
                    let app = app.clone();
                    tasks.push(tokio::spawn(async move {
                        let request = Request::get(path)
                            .header("authorization", format!("Bearer {token}"))
                            .body(Body::empty())
                            .unwrap();
                        let status = app.oneshot(request).await.unwrap().status().as_u16();
                        (round, path, expected, status)
                    }));
                }
            }
            let mut checked = 0;
            for task in tasks {
                let (round, path, expected, status) = task.await.unwrap();
                assert_eq!(status, expected, "round {round} {path}");
                checked += 1;
            }
            checked
        }
    };

    let before = run(old.clone(), 100).await;
    tokio::time::sleep(cooldown * 2).await;
    let new_kid = issuer.rotate();
    let new = cases(&issuer, &issuer.current_key());
    assert_eq!(issuer.current_key().kid(), new_kid);
    // Old and new tokens at once, while the new key is being fetched.
    let mut mixed = old.clone();
    mixed.extend(new.clone());
    let during = run(mixed, 100).await;
    let fetches_after_rotation = issuer.fetch_count();
    assert_eq!(before + during, 900 + 1800);
    assert_eq!(
        fetches_after_rotation, 4,
        "per tenant: one fetch at startup, one for the new kid"
    );
}

#[test]
fn oversized_tokens_are_refused_before_decoding_without_fetch() {
    let f = fixture_once();
    let before = f.issuer.fetch_count();
    let huge = format!(
        "{}.{}.{}",
        "A".repeat(4000),
        "B".repeat(4000),
        "C".repeat(400)
    );
    assert_eq!(
        verify(f, &huge).unwrap_err(),
        AuthError::TokenTooLarge { max: 8192 }
    );
    assert_eq!(f.issuer.fetch_count(), before);
}

#[test]
fn tenants_share_nothing_but_the_issuer_check_isolates_them() {
    // Same key and kid for both pools (as moto does): isolation comes from the issuer.
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let only_a = CognitoAuth::builder()
        .tenant(
            Tenant::builder(TENANT_A, POOL_A)
                .client_id(CLIENT_A)
                .client_id(CLIENT_B)
                .jwks_url(issuer.jwks_url(POOL_A))
                .build()
                .unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
    let b_token = issuer.mint(&issuer.access_claims(POOL_B, CLIENT_B, "carol", &["admin"]));
    assert_eq!(
        rt.block_on(only_a.verify(&b_token)).unwrap_err(),
        AuthError::UnknownIssuer
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_tokens_are_dropped_after_the_cache_ttl_and_verified_again() {
    let issuer = start_issuer().await;
    // A ttl long enough that a stalled CI machine still counts the entry before it expires.
    let auth = auth_a(&issuer, |b| b.token_cache_ttl(Duration::from_secs(2)));
    let token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    auth.verify(&token).await.unwrap();
    assert_eq!(auth.cached_tokens(), 1);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(auth.cached_tokens(), 0, "entry outlived the cache ttl");
    auth.verify(&token)
        .await
        .expect("a valid token is verified again");
    assert_eq!(auth.cached_tokens(), 1);
}

#[test]
fn a_zero_cache_ttl_is_a_config_error() {
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let err = CognitoAuth::builder()
        .tenant(tenant_a(&issuer))
        .unwrap()
        .token_cache_ttl(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("token_cache_ttl_seconds"), "{err}");
}

/// Every identity-provider fault, one after the other on one tenant: held keys keep working,
/// a token needing a new key gets 401 `UnknownKeyId` (keys are held) within the fetch timeout
/// plus a margin, nothing panics, and once the issuer recovers the new key is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_issuer_fault_keeps_known_keys_working_and_recovers_by_itself() {
    use cognito_authz::testing::JwksBehavior;

    let issuer = start_issuer().await;
    let cooldown = Duration::from_millis(200);
    let mut jwks = jwks_with_cooldown(cooldown);
    jwks.fetch_timeout = Duration::from_millis(300);
    jwks.max_response_bytes = 64 * 1024;
    let auth = auth_a(&issuer, |b| b.jwks(jwks).token_cache_entries(0));
    let old_token = issuer.mint(&access_a(&issuer, "alice", &["admin"]));
    auth.verify(&old_token).await.expect("initial key set");

    let n = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
    let weak = json!({"kty": "RSA", "kid": "weak", "n": n, "e": "AQAB"});
    let ec = json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"});
    let dup_a = SigningKey::generate("dup").jwk();
    let dup_b = SigningKey::generate("dup").jwk();
    let faults: Vec<(&str, JwksBehavior)> = vec![
        ("connection dropped", JwksBehavior::Drop),
        ("HTTP 500", JwksBehavior::Status(500)),
        ("HTTP 404", JwksBehavior::Status(404)),
        ("hangs past the timeout", JwksBehavior::Hang),
        ("garbage JSON", JwksBehavior::Body(b"{\"keys\": [".to_vec())),
        (
            "not JSON",
            JwksBehavior::Body(b"<html>oops</html>".to_vec()),
        ),
        (
            "empty key set",
            JwksBehavior::Body(br#"{"keys": []}"#.to_vec()),
        ),
        (
            "10 MB body",
            JwksBehavior::Body(vec![b' '; 10 * 1024 * 1024]),
        ),
        (
            "only EC keys",
            JwksBehavior::Body(json!({"keys": [ec]}).to_string().into_bytes()),
        ),
        (
            "only a 1024-bit key",
            JwksBehavior::Body(json!({"keys": [weak]}).to_string().into_bytes()),
        ),
        (
            "duplicate kids only",
            JwksBehavior::Body(json!({"keys": [dup_a, dup_b]}).to_string().into_bytes()),
        ),
    ];
    for (what, behavior) in faults {
        let new_kid = issuer.rotate();
        let new_token = issuer.mint(&access_a(&issuer, "bob", &[]));
        issuer.set_behavior(behavior);
        tokio::time::sleep(cooldown + Duration::from_millis(20)).await;

        let started = std::time::Instant::now();
        assert_eq!(
            auth.verify(&new_token).await.unwrap_err(),
            AuthError::UnknownKeyId,
            "{what}: token with the new kid {new_kid}"
        );
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(300 + 1500),
            "{what}: answered after {took:?}"
        );
        auth.verify(&old_token)
            .await
            .unwrap_or_else(|e| panic!("{what}: held key refused: {e}"));

        issuer.set_behavior(JwksBehavior::Normal);
        tokio::time::sleep(cooldown + Duration::from_millis(20)).await;
        auth.verify(&new_token)
            .await
            .unwrap_or_else(|e| panic!("{what}: no recovery: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_is_down_from_the_start_is_503_and_causes_one_fetch_per_cooldown() {
    // A server that accepts connections and closes them at once, counting them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let server = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let issuer = start_issuer().await;
    let tenant = Tenant::builder(TENANT_A, POOL_A)
        .client_id(CLIENT_A)
        .jwks_url(format!(
            "http://127.0.0.1:{port}/{POOL_A}/.well-known/jwks.json"
        ))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .jwks(jwks_with_cooldown(Duration::from_secs(60)))
        .build()
        .unwrap();
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    for _ in 0..100 {
        assert!(matches!(
            auth.verify(&token).await.unwrap_err(),
            AuthError::KeysUnavailable { .. }
        ));
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one fetch attempt per cooldown"
    );
    server.abort();
}

#[test]
fn dangerous_settings_are_config_errors() {
    let rt = runtime();
    let issuer = rt.block_on(start_issuer());
    let build =
        |configure: fn(cognito_authz::CognitoAuthBuilder) -> cognito_authz::CognitoAuthBuilder| {
            configure(CognitoAuth::builder().tenant(tenant_a(&issuer)).unwrap())
                .build()
                .unwrap_err()
                .to_string()
        };
    assert!(build(|b| b.leeway(Duration::from_secs(301))).contains("leeway_seconds"));
    assert!(
        build(|b| b.token_cache_ttl(Duration::from_secs(86_401)))
            .contains("token_cache_ttl_seconds")
    );
    for url in ["https://", "http://", "ftp://h/x", "not a url"] {
        let err = Tenant::builder(TENANT_A, POOL_A)
            .client_id(CLIENT_A)
            .jwks_url(url)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("tenant.jwks_url"), "{url}: {err}");
    }
}

struct ImpersonatingResolver;

impl TenantResolver for ImpersonatingResolver {
    fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a> {
        Box::pin(async move {
            // A runtime tenant that claims the id of the configured tenant `acme`.
            Ok(Some(
                Tenant::builder(TENANT_A, issuer.user_pool_id)
                    .client_id(CLIENT_A)
                    .build()
                    .unwrap(),
            ))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_tenant_cannot_take_a_configured_tenants_id() {
    let issuer = start_issuer().await;
    let auth = auth_a(&issuer, |b| b.resolver(ImpersonatingResolver));
    let other_pool = "us-east-1_OtherPool9";
    let token = issuer.mint(&issuer.access_claims(other_pool, CLIENT_A, "mallory", &["admin"]));
    assert_eq!(
        auth.verify(&token).await.unwrap_err(),
        AuthError::UnknownIssuer
    );
    assert_eq!(issuer.fetch_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_503_answer_does_not_name_the_tenant() {
    let issuer = start_issuer().await;
    issuer.set_behavior(cognito_authz::testing::JwksBehavior::Status(500));
    let auth = auth_a(&issuer, |b| b);
    let token = issuer.mint(&access_a(&issuer, "alice", &[]));
    let err = auth.verify(&token).await.unwrap_err();
    let response = err.to_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(!body.contains(TENANT_A), "{body}");
}
