//! Floods: 10,000 unknown kids cause at most one fetch per cooldown, and once per window after it;
//! 10,000 unknown issuers cause no fetch and are cached negatively; distinct valid tokens keep the
//! verified-token cache within its bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::tenant::ResolveFuture;
use cognito_authz::{AuthError, tenant::Issuer, tenant::TenantResolver};
use serde_json::json;

use crate::common::*;

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
