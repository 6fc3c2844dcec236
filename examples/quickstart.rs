//! The README's "run it" demo: no AWS account, no network beyond 127.0.0.1.
//!
//! Starts a local issuer (fresh RSA keys, a JWKS served on a loopback port), two tenants with
//! their own user pools, and an axum app behind the layer; then sends requests and prints each
//! decision. Exits non-zero if any decision is not the expected one.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use axum::{Json, Router, routing::get};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthzLayer, CognitoAuth, Policy, Principal, Tenant, TenantRegistry};
use serde_json::json;

const ACME_POOL: &str = "us-east-1_AcmeCorp1";
const ACME_CLIENT: &str = "acme-web-client";
/// Acme's back-office job: an app client with the client-credentials grant.
const ACME_SYNC_CLIENT: &str = "acme-orders-sync";
const GLOBEX_POOL: &str = "eu-west-1_Globex001";
const GLOBEX_CLIENT: &str = "globex-spa";

async fn me(principal: Principal) -> Json<Principal> {
    Json(principal)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let idp = LocalIssuer::start().await?;
    println!("local issuer: JWKS at {}", idp.jwks_url(ACME_POOL));

    // Acme names its admin group "admin"; Globex calls it "Administrators" and maps it.
    let registry = TenantRegistry::from_tenants([
        Tenant::builder("acme", ACME_POOL)
            .client_id(ACME_CLIENT)
            .machine_client_ids([ACME_SYNC_CLIENT])
            .client_roles(ACME_SYNC_CLIENT, ["orders-sync"])
            .jwks_url(idp.jwks_url(ACME_POOL))
            // Acme's pool is replicated to eu-west-1 (Cognito multi-Region replication); the
            // replica's key endpoint is the fallback, here the same local issuer.
            .replica_regions(["eu-west-1"])
            .replica_jwks_url("eu-west-1", idp.jwks_url(ACME_POOL))
            .build()?,
        Tenant::builder("globex", GLOBEX_POOL)
            .client_id(GLOBEX_CLIENT)
            .role("admin", ["Administrators"])
            .jwks_url(idp.jwks_url(GLOBEX_POOL))
            .build()?,
    ])?;
    let auth = CognitoAuth::builder().tenants(registry).build()?;

    let app = Router::new()
        .route("/me", get(me))
        .route(
            "/admin/ping",
            get(|| async { "pong" }).layer(AuthzLayer::require("admin")),
        )
        .route(
            "/orders",
            get(|| async { "orders" }).layer(AuthzLayer::require_scope("orders/read")),
        )
        .route(
            "/tenants/{tenant}/admin",
            get(|| async { "tenant admin" }).layer(AuthzLayer::policy(
                Policy::role("admin").and(Policy::same_tenant_as("tenant")),
            )),
        )
        .layer(auth.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("app: {base}\n");

    let acme_admin = idp.mint(&idp.access_claims(ACME_POOL, ACME_CLIENT, "alice", &["admin"]));
    let acme_member = idp.mint(&idp.access_claims(ACME_POOL, ACME_CLIENT, "bob", &["member"]));
    let globex_admin =
        idp.mint(&idp.access_claims(GLOBEX_POOL, GLOBEX_CLIENT, "carol", &["Administrators"]));
    let mut expired_claims = idp.access_claims(ACME_POOL, ACME_CLIENT, "alice", &["admin"]);
    expired_claims["exp"] = json!(cognito_authz::testing::now() - 60);
    let expired = idp.mint(&expired_claims);
    let id_token = idp.mint(&idp.id_claims(ACME_POOL, ACME_CLIENT, "alice", &["admin"]));
    let unknown_pool =
        idp.mint(&idp.access_claims("us-east-1_Unknown99", ACME_CLIENT, "mallory", &["admin"]));
    // A client-credentials token: no user, `sub` = the app client, resource-server scopes.
    let machine = idp.mint(&idp.machine_claims(ACME_POOL, ACME_SYNC_CLIENT, &["orders/read"]));
    // Signed in through the eu-west-1 replica while the primary region is down: a pool still on
    // the original issuer names the replica's region.
    let mut replica_claims = idp.access_claims(ACME_POOL, ACME_CLIENT, "dave", &["member"]);
    replica_claims["iss"] = json!(format!(
        "https://cognito-idp.eu-west-1.amazonaws.com/{ACME_POOL}"
    ));
    let from_replica = idp.mint(&replica_claims);
    replica_claims["iss"] = json!(format!(
        "https://cognito-idp.ap-south-1.amazonaws.com/{ACME_POOL}"
    ));
    let unreplicated_region = idp.mint(&replica_claims);
    let wrong_client = idp.mint(&idp.access_claims(ACME_POOL, GLOBEX_CLIENT, "alice", &["admin"]));
    // Bob edits his payload to claim the admin group; the signature no longer matches.
    let tampered = {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = acme_member.split('.').collect();
        let claims = idp.access_claims(ACME_POOL, ACME_CLIENT, "bob", &["admin"]);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{}.{}.{}", parts[0], payload, parts[2])
    };

    let cases: Vec<(&str, &str, Option<&str>, u16)> = vec![
        (
            "acme admin pings the admin route",
            "/admin/ping",
            Some(&acme_admin),
            200,
        ),
        (
            "acme member pings the admin route",
            "/admin/ping",
            Some(&acme_member),
            403,
        ),
        ("acme member reads /me", "/me", Some(&acme_member), 200),
        (
            "acme's machine client reads /me (kind machine)",
            "/me",
            Some(&machine),
            200,
        ),
        (
            "acme's machine client reads orders (scope orders/read)",
            "/orders",
            Some(&machine),
            200,
        ),
        (
            "acme's machine client pings the admin route",
            "/admin/ping",
            Some(&machine),
            403,
        ),
        (
            "acme member signed in at the eu-west-1 replica reads /me",
            "/me",
            Some(&from_replica),
            200,
        ),
        (
            "token naming a region acme's pool is not replicated to",
            "/me",
            Some(&unreplicated_region),
            401,
        ),
        (
            "acme member reads orders without the scope",
            "/orders",
            Some(&acme_member),
            403,
        ),
        (
            "acme admin manages acme",
            "/tenants/acme/admin",
            Some(&acme_admin),
            200,
        ),
        (
            "acme admin manages globex",
            "/tenants/globex/admin",
            Some(&acme_admin),
            403,
        ),
        (
            "globex admin (group Administrators) manages globex",
            "/tenants/globex/admin",
            Some(&globex_admin),
            200,
        ),
        ("no token", "/me", None, 401),
        ("expired token", "/me", Some(&expired), 401),
        (
            "id token where an access token is required",
            "/me",
            Some(&id_token),
            401,
        ),
        (
            "token from a pool that is no tenant",
            "/me",
            Some(&unknown_pool),
            401,
        ),
        (
            "tampered token claiming admin",
            "/admin/ping",
            Some(&tampered),
            401,
        ),
        (
            "token for another app client",
            "/me",
            Some(&wrong_client),
            401,
        ),
    ];

    let http = reqwest::Client::new();
    let mut failures = 0;
    for (what, path, token, expected) in cases {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await?).unwrap_or(json!(null));
        let detail = match body.get("error_description") {
            Some(reason) => format!(
                "{} ({})",
                body["error"].as_str().unwrap_or(""),
                reason.as_str().unwrap_or("")
            ),
            None if path == "/me" => format!("principal: {body}"),
            None => String::new(),
        };
        let verdict = if status == expected { "ok " } else { "BAD" };
        if status != expected {
            failures += 1;
        }
        println!("[{verdict}] {status} {path:<22} {what}: {detail}");
    }
    println!(
        "\nkey fetches: {} (one lazy fetch per pool, then cached)",
        idp.fetch_count()
    );
    if failures > 0 {
        return Err(format!("{failures} decisions differ from the expected ones").into());
    }
    println!("all decisions as expected");
    Ok(())
}
