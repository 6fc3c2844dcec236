//! What the Cedar tests share: a policy folder in a temporary directory, two tenants on a local
//! issuer, a router with the Cedar layer inside authentication, and the refusal texts.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::routing::get;
use cognito_authz::cedar::Cedar;
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthError, CognitoAuth};
use http::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

pub const NO_PERMIT: &str = "no Cedar policy permits this request";
pub const FORBIDS: &str = "a Cedar policy forbids this request";
pub const EVAL_ERROR: &str = "a Cedar policy could not be evaluated";
pub const NO_POLICIES: &str = "no Cedar policies apply to this tenant";
pub const INVALID: &str = "the request could not be evaluated by Cedar";

/// A policy folder in the system's temporary directory, removed when dropped.
pub struct Folder(PathBuf);

impl Folder {
    pub fn new(files: &[(&str, &str)]) -> Folder {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cognito-authz-cedar-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let folder = Folder(dir);
        for (name, text) in files {
            folder.write(name, text);
        }
        folder
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).expect("write policy file");
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn cedar(&self) -> Cedar {
        Cedar::builder("App")
            .policies(self.path())
            .build()
            .expect("policies load")
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn ok() -> &'static str {
    "ok"
}

pub fn app(auth: &CognitoAuth, cedar: &Cedar) -> Router {
    Router::new()
        .route("/orders", get(ok).post(ok))
        .route("/orders/{order}", get(ok))
        .route("/tenants/{tenant}/orders", get(ok))
        .route("/reports", get(ok))
        .layer(cedar.layer())
        .layer(auth.layer())
}

pub struct Fx {
    pub issuer: LocalIssuer,
    pub auth: CognitoAuth,
}

impl Fx {
    pub async fn new() -> Fx {
        let issuer = start_issuer().await;
        let auth = CognitoAuth::builder()
            .tenant(tenant_a(&issuer))
            .unwrap()
            .tenant(tenant_b(&issuer))
            .unwrap()
            .build()
            .unwrap();
        Fx { issuer, auth }
    }

    /// An access token of tenant acme (pool A).
    pub fn acme(&self, user: &str, groups: &[&str], scope: &str) -> String {
        let mut claims = access_a(&self.issuer, user, groups);
        claims["scope"] = json!(scope);
        self.issuer.mint(&claims)
    }

    /// An access token of tenant globex (pool B).
    pub fn globex(&self, user: &str, groups: &[&str]) -> String {
        self.issuer
            .mint(&self.issuer.access_claims(POOL_B, CLIENT_B, user, groups))
    }
}

pub async fn status(app: &Router, method: Method, uri: &str, token: &str) -> StatusCode {
    send_raw(app, method, uri, &[&format!("Bearer {token}")])
        .await
        .status
}

#[track_caller]
pub fn assert_refused(reply: &Reply, why: &'static str) {
    assert_error_reply(
        reply,
        StatusCode::FORBIDDEN,
        &AuthError::Forbidden(why.into()),
    );
}
