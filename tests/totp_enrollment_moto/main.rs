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

mod audit;
mod enrollment_window;
mod refusals;
mod world;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, SoftwareTokenMfaSettingsType};
use moto::{MOTO_TOTP_SECRET, Pool, totp_code};
use serde_json::Value;
use world::sign_in;

const WINDOW: &str = "custom:mfa_enroll_until";
const MACHINE_POOL: &str = "us-east-1_Machines1";
const ROBOT: &str = "robot-client";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A TOTP code valid for the next few seconds (moto checks the current step only).
async fn fresh_code() -> String {
    if now() % 30 >= 26 {
        tokio::time::sleep(Duration::from_secs(30 - now() % 30)).await;
    }
    totp_code(MOTO_TOTP_SECRET)
}

/// A six-digit code that is not the current one.
async fn wrong_code() -> String {
    let right = fresh_code().await;
    let n: u32 = right.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

fn attr(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("attribute")
}

/// Turns TOTP on for `name` with the user's own token (moto keeps the scope).
async fn enable_totp(cognito: &Client, pool: &Pool, name: &str) {
    let access = sign_in(cognito, pool, name).await.expect("signed in");
    cognito
        .associate_software_token()
        .access_token(&access)
        .send()
        .await
        .expect("AssociateSoftwareToken");
    cognito
        .verify_software_token()
        .access_token(&access)
        .user_code(fresh_code().await)
        .send()
        .await
        .expect("VerifySoftwareToken");
    cognito
        .set_user_mfa_preference()
        .access_token(&access)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .expect("SetUserMFAPreference");
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}
