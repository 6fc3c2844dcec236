//! Replicated user pools (Cognito multi-Region replication): tokens a replica region signs reach
//! the handler, keys fall back to the replica's JWKS endpoint while the primary's is down, and a
//! region that is not configured stays an unknown issuer with no key fetch.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use cognito_authz::testing::{JwksBehavior, LocalIssuer};
use cognito_authz::{AuthError, CognitoAuth, Principal, Tenant};
use common::*;
use http::StatusCode;
use serde_json::{Value, json};

const REPLICA: &str = "eu-west-1";
const COOLDOWN: Duration = Duration::from_millis(200);

/// Tenant A with replica `eu-west-1`, primary keys on `primary`, the replica's on `replica`.
fn replicated_auth(primary: &LocalIssuer, replica: &LocalIssuer) -> CognitoAuth {
    replicated_auth_with_cooldown(primary, replica, COOLDOWN)
}

fn replicated_auth_with_cooldown(
    primary: &LocalIssuer,
    replica: &LocalIssuer,
    cooldown: Duration,
) -> CognitoAuth {
    let tenant = Tenant::builder(TENANT_A, POOL_A)
        .client_id(CLIENT_A)
        .jwks_url(primary.jwks_url(POOL_A))
        .replica_regions([REPLICA])
        .replica_jwks_url(REPLICA, replica.jwks_url(POOL_A))
        .build()
        .unwrap();
    CognitoAuth::builder()
        .tenant(tenant)
        .unwrap()
        .jwks(jwks_with_cooldown(cooldown))
        .build()
        .unwrap()
}

fn app(auth: &CognitoAuth) -> Router {
    Router::new()
        .route(
            "/me",
            get(|p: Principal| async move { format!("{} of {}", p.username(), p.tenant()) }),
        )
        .layer(auth.layer())
}

/// Tenant A's access claims with `iss` set to `iss`.
fn claims_from(issuer: &LocalIssuer, iss: &str, username: &str) -> Value {
    let mut claims = access_a(issuer, username, &[]);
    claims["iss"] = json!(iss);
    claims
}

fn original_issuer(region: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{POOL_A}")
}

fn updated_issuer() -> String {
    format!("https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL_A}")
}

/// The replica serves the primary's key set (updated issuers publish one set in every region).
fn serve_keys(replica: &LocalIssuer, keys: &[Value]) {
    replica.set_behavior(JwksBehavior::Body(
        json!({ "keys": keys }).to_string().into_bytes(),
    ));
}

#[tokio::test]
async fn a_replica_region_token_reaches_the_handler() {
    let primary = start_issuer().await;
    let replica = start_issuer().await;
    let auth = replicated_auth(&primary, &replica);
    let app = app(&auth);
    // Pools still on the original issuer: the replica names its own region.
    let token = primary.mint(&claims_from(&primary, &original_issuer(REPLICA), "alice"));
    let reply = call(&app, "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), "alice of acme");
    // Pools on the updated issuer: every region names the primary.
    let token = primary.mint(&claims_from(&primary, &updated_issuer(), "bob"));
    assert_eq!(call(&app, "/me", Some(&token)).await.text(), "bob of acme");
    assert_eq!(primary.fetch_count(), 1, "the primary is up: one fetch");
    assert_eq!(
        replica.fetch_count(),
        0,
        "no fallback while the primary answers"
    );
}

#[tokio::test]
async fn primary_down_a_new_kid_is_fetched_from_the_replica() {
    let primary = start_issuer().await;
    let replica = start_issuer().await;
    let auth = replicated_auth(&primary, &replica);
    let app = app(&auth);
    let first = primary.mint(&access_a(&primary, "alice", &[]));
    assert_eq!(call(&app, "/me", Some(&first)).await.status, StatusCode::OK);
    assert_eq!(primary.fetch_count(), 1);

    // The primary region goes down; a key rotation happens meanwhile, and the replica (one key
    // set for every region) publishes the new key next to the old one.
    let old_key = primary.current_key().jwk();
    primary.rotate();
    primary.set_behavior(JwksBehavior::Status(503));
    serve_keys(&replica, &[old_key, primary.current_key().jwk()]);
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;

    let token = primary.mint(&claims_from(&primary, &original_issuer(REPLICA), "bob"));
    let reply = call(&app, "/me", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), "bob of acme");
    assert_eq!(primary.fetch_count(), 2, "the primary was tried first");
    assert_eq!(replica.fetch_count(), 1, "then the replica, once");

    // Held keys serve the old token too, with no further fetch.
    auth.invalidate_caches();
    assert_eq!(call(&app, "/me", Some(&first)).await.status, StatusCode::OK);
    assert_eq!((primary.fetch_count(), replica.fetch_count()), (2, 1));
}

#[tokio::test]
async fn fallback_fetches_stay_within_the_cooldown_and_single_flight() {
    let primary = start_issuer().await;
    let replica = start_issuer().await;
    // A cooldown no slow machine outlasts within the test.
    let auth = replicated_auth_with_cooldown(&primary, &replica, Duration::from_secs(600));
    primary.set_behavior(JwksBehavior::Drop);
    serve_keys(&replica, &[primary.current_key().jwk()]);
    // Cold cache, primary down: many concurrent first requests share one primary attempt and
    // one replica fetch.
    let token = primary.mint(&access_a(&primary, "alice", &[]));
    let results = futures_util::future::join_all((0..20).map(|_| auth.verify(&token))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(replica.fetch_count(), 1);
    // Unknown kids within the cooldown drive no fetch to either region.
    let forged = unsigned_token(
        &json!({"alg": "RS256", "kid": "made-up"}),
        &access_a(&primary, "mallory", &[]),
        &[7u8; 256],
    );
    for _ in 0..10 {
        assert_eq!(
            auth.verify(&forged).await.unwrap_err(),
            AuthError::UnknownKeyId
        );
    }
    assert_eq!(replica.fetch_count(), 1);
}

#[tokio::test]
async fn every_region_down_is_503_and_recovers_through_the_replica() {
    let primary = start_issuer().await;
    let replica = start_issuer().await;
    let auth = replicated_auth(&primary, &replica);
    let app = app(&auth);
    primary.set_behavior(JwksBehavior::Status(500));
    replica.set_behavior(JwksBehavior::Status(500));
    let token = primary.mint(&access_a(&primary, "alice", &[]));
    let reply = call(&app, "/me", Some(&token)).await;
    let err = AuthError::KeysUnavailable {
        tenant: TENANT_A.into(),
    };
    assert_error_reply(&reply, StatusCode::SERVICE_UNAVAILABLE, &err);
    assert_eq!((primary.fetch_count(), replica.fetch_count()), (1, 1));

    serve_keys(&replica, &[primary.current_key().jwk()]);
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
    assert_eq!(call(&app, "/me", Some(&token)).await.status, StatusCode::OK);
    assert_eq!((primary.fetch_count(), replica.fetch_count()), (2, 2));
}

#[tokio::test]
async fn a_region_that_is_not_configured_stays_an_unknown_issuer_with_no_fetch() {
    let primary = start_issuer().await;
    let replica = start_issuer().await;
    let auth = replicated_auth(&primary, &replica);
    let app = app(&auth);
    for iss in [
        original_issuer("ap-south-1"),
        // The updated form names the primary region only.
        format!("https://issuer-cognito-idp.{REPLICA}.amazonaws.com/{POOL_A}"),
    ] {
        let token = primary.mint(&claims_from(&primary, &iss, "mallory"));
        let reply = call(&app, "/me", Some(&token)).await;
        assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::UnknownIssuer);
    }
    assert_eq!((primary.fetch_count(), replica.fetch_count()), (0, 0));

    // Without replica_regions, the replica's issuer is unknown too.
    let plain = auth_a(&primary, |b| b);
    let token = primary.mint(&claims_from(&primary, &original_issuer(REPLICA), "alice"));
    assert_eq!(
        plain.verify(&token).await.unwrap_err(),
        AuthError::UnknownIssuer
    );
    assert_eq!(primary.fetch_count(), 0);
}

#[tokio::test]
async fn replica_regions_load_from_the_configuration_file() {
    let primary = start_issuer().await;
    let replica = start_issuer().await;
    let toml = format!(
        "[jwks]\ncooldown_seconds = 1\n\n[[tenant]]\nid = '{TENANT_A}'\nuser_pool_id = '{POOL_A}'\n\
         client_ids = ['{CLIENT_A}']\njwks_url = '{}'\nreplica_regions = ['{REPLICA}']\n\
         [tenant.replica_jwks_urls]\n'{REPLICA}' = '{}'\n",
        primary.jwks_url(POOL_A),
        replica.jwks_url(POOL_A),
    );
    let auth = CognitoAuth::from_config_str(&toml).unwrap();
    primary.set_behavior(JwksBehavior::Status(503));
    serve_keys(&replica, &[primary.current_key().jwk()]);
    let token = primary.mint(&claims_from(&primary, &original_issuer(REPLICA), "alice"));
    assert_eq!(auth.verify(&token).await.unwrap().username(), "alice");
    assert_eq!(replica.fetch_count(), 1);
}

/// A tenant that names another tenant's primary JWKS URL with a fallback of its own (a catalog
/// item can) must not fill the other's key set from its own server while the primary is down.
#[tokio::test]
async fn a_borrowed_primary_url_with_foreign_fallbacks_never_feeds_the_owners_keys() {
    let victim_idp = start_issuer().await;
    let attacker_idp = start_issuer().await;
    let shared_primary = victim_idp.jwks_url(POOL_A);
    let victim = Tenant::builder(TENANT_A, POOL_A)
        .client_id(CLIENT_A)
        .jwks_url(&shared_primary)
        .build()
        .unwrap();
    let attacker = Tenant::builder(TENANT_B, POOL_B)
        .client_id(CLIENT_B)
        .jwks_url(&shared_primary)
        .replica_regions(["eu-central-1"])
        .replica_jwks_url("eu-central-1", attacker_idp.jwks_url(POOL_B))
        .build()
        .unwrap();
    let auth = CognitoAuth::builder()
        .tenant(victim)
        .unwrap()
        .tenant(attacker)
        .unwrap()
        .jwks(jwks_with_cooldown(COOLDOWN))
        .build()
        .unwrap();
    victim_idp.set_behavior(JwksBehavior::Status(503));
    // The attacker's own token (a kid only its server has) drives a fetch through its fallback.
    let own = attacker_idp.mint(&attacker_idp.access_claims(POOL_B, CLIENT_B, "mallory", &[]));
    assert_eq!(auth.verify(&own).await.unwrap().tenant(), TENANT_B);
    assert_eq!(attacker_idp.fetch_count(), 1);
    // A token for the victim's pool signed with the attacker's key is still refused: the
    // victim's key set was never filled from the attacker's server.
    let forged = attacker_idp.mint(&access_a(&attacker_idp, "admin", &["admin"]));
    assert_eq!(
        auth.verify(&forged).await.unwrap_err(),
        AuthError::KeysUnavailable {
            tenant: TENANT_A.into()
        }
    );
    assert_eq!(
        attacker_idp.fetch_count(),
        1,
        "the victim's fetch never reaches it"
    );
}
