//! TOTP enrollment end to end, over real HTTP: `examples/admin_service` built from a
//! configuration file with `[triggers] mfa_enrollment_window_attribute` and an enrollment app
//! client (with a secret), against moto as Cognito with real tokens and TOTP checking on.
//! Every answer is checked against `docs/admin-openapi.json`; every outcome is read back from
//! Cognito.
//!
//! moto never runs triggers and its tokens always keep the self-service scope, so here the
//! enrollment client's token authorizes `AssociateSoftwareToken` whatever the window; what the
//! trigger decides is tested in `tests/lambda_totp_enrollment.rs`. moto has no `RevokeToken`:
//! these runs take the documented fallback (`AdminUserGlobalSignOut`), seen here as the
//! user's earlier tokens being refused by Cognito afterwards. The `MFA_SETUP` session path and
//! `RevokeToken` itself are unit-tested in `src/admin/ops/totp/tests.rs`.

#![cfg(feature = "admin")]

#[path = "../event_log/mod.rs"]
mod event_log;
#[path = "../moto/mod.rs"]
mod moto;
#[path = "../openapi_contract/mod.rs"]
mod openapi_contract;

#[allow(dead_code, unused_imports)]
#[path = "../../examples/admin_service.rs"]
mod admin_service;

#[path = "../admin_world/mod.rs"]
mod admin_world;

mod audit;
mod enrollment_window;
mod refusals;
mod world;

use std::time::{SystemTime, UNIX_EPOCH};

use admin_world::fresh_code;
use serde_json::Value;

const WINDOW: &str = "custom:mfa_enroll_until";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A six-digit code that is not the current one.
async fn wrong_code() -> String {
    let right = fresh_code().await;
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}
