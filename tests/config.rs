//! Loading `CognitoAuth` from a TOML file and verifying against the configured JWKS URL.

mod common;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use cognito_authz::{AuthError, AuthzLayer, CognitoAuth, ConfigError, principal::TokenUse};
use common::*;
use http::StatusCode;
use serde_json::json;

/// A file in the temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(contents: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "cognito-authz-test-{}-{nanos}-{:08x}.toml",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn config_file_loads_and_verifies_against_the_local_issuer() {
    let issuer = start_issuer().await;
    let file = TempFile::new(&format!(
        r#"
leeway_seconds = 0
max_token_bytes = 8192
token_cache_entries = 1000

[jwks]
cooldown_seconds = 10
fetch_timeout_ms = 2000

[self_service_guard]
allowed_roles = ["admin"]

[[tenant]]
id = "{TENANT_A}"
user_pool_id = "{POOL_A}"
client_ids = ["{CLIENT_A}", "client-mobile"]
jwks_url = "{url_a}"
[tenant.roles]
admin = ["admin", "Administrators"]

[[tenant]]
id = "{TENANT_B}"
user_pool_id = "{POOL_B}"
client_ids = ["{CLIENT_B}"]
jwks_url = "{url_b}"
"#,
        url_a = issuer.jwks_url(POOL_A),
        url_b = issuer.jwks_url(POOL_B),
    ));
    let auth = CognitoAuth::from_config_file(&file.0).expect("config loads");
    assert_eq!(auth.tenants().len(), 2);
    assert_eq!(issuer.fetch_count(), 0);

    let token = issuer.mint(&access_a(&issuer, "alice", &["Administrators"]));
    let principal = auth.verify(&token).await.unwrap();
    assert_eq!(principal.tenant(), TENANT_A);
    assert_eq!(principal.token_use(), TokenUse::Access);
    assert_eq!(principal.roles().collect::<Vec<_>>(), ["admin"]);
    assert_eq!(issuer.fetch_count(), 1);

    let mobile = issuer.mint(&issuer.access_claims(POOL_A, "client-mobile", "root", &["admin"]));
    assert_eq!(
        auth.verify(&mobile).await.unwrap().client_id(),
        "client-mobile"
    );

    // The self-service guard from the file is in force.
    let user = issuer.mint(&access_a(&issuer, "bob", &["user"]));
    assert_eq!(
        auth.verify(&user).await.unwrap_err(),
        AuthError::SelfServiceScopeNotSuppressed
    );

    // Tenant B, through a router.
    let app = Router::new()
        .route(
            "/tenants/{tenant}/admin",
            get(|| async { "ok" }).layer(AuthzLayer::same_tenant_as("tenant")),
        )
        .layer(auth.layer());
    let mut claims = issuer.access_claims(POOL_B, CLIENT_B, "carol", &[]);
    claims["scope"] = json!("openid");
    let token_b = issuer.mint(&claims);
    assert_eq!(
        call(&app, "/tenants/globex/admin", Some(&token_b))
            .await
            .status,
        StatusCode::OK
    );
    let reply = call(&app, "/tenants/acme/admin", Some(&token_b)).await;
    assert_error_reply(
        &reply,
        StatusCode::FORBIDDEN,
        &AuthError::Forbidden("tenant in the path is not the caller's tenant".into()),
    );
    assert_eq!(issuer.fetch_count(), 2);
}

#[test]
fn config_file_errors_name_the_file_or_field() {
    let missing = std::env::temp_dir().join("cognito-authz-test-does-not-exist.toml");
    match CognitoAuth::from_config_file(&missing) {
        Err(ConfigError::Io { path, .. }) => assert_eq!(path, missing.display().to_string()),
        other => panic!("expected Io error, got {other:?}"),
    }
    let file = TempFile::new(
        "[[tenant]]\nid = \"a\"\nuser_pool_id = \"us-east-1_AcmePool1\"\nclient_ids = [\"c\"]\njwks_url = \"file:///etc/passwd\"\n",
    );
    let err = CognitoAuth::from_config_file(&file.0).unwrap_err();
    assert!(err.to_string().contains("tenant[0].jwks_url"), "{err}");
    let file = TempFile::new(
        "[jwks]\nfetch_timeout_ms = 0\n[[tenant]]\nid = \"a\"\nuser_pool_id = \"us-east-1_AcmePool1\"\nclient_ids = [\"c\"]\n",
    );
    let err = CognitoAuth::from_config_file(&file.0).unwrap_err();
    assert!(err.to_string().contains("jwks.fetch_timeout_ms"), "{err}");
}
