//! Who cannot enroll and what limits them: machines are refused, users who already have MFA step
//! up, and wrong passwords and wrong codes share the password attempt limit.

use http::{Method, StatusCode};
use serde_json::json;

use super::{WINDOW, error, fresh_code, wrong_code};
use crate::admin_world::sign_in_with_totp;
use crate::moto::PASSWORD;
use crate::world::World;

#[tokio::test]
async fn machines_are_refused_and_mfa_users_step_up() {
    let w = World::new(None).await;
    for path in ["/me/mfa/totp", "/me/mfa/totp/verify"] {
        let body = if path.ends_with("verify") {
            json!({"code": "123456"})
        } else {
            json!({"current_password": PASSWORD})
        };
        let (status, body) = w.call(Method::POST, path, &w.robot, Some(body)).await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::FORBIDDEN, "not_a_user"),
            "{path}"
        );
    }

    // carol has TOTP: re-enrolling needs her current code first.
    let alice = w.token(&w.a, "alice").await;
    let carol_token = sign_in_with_totp(&w.cognito, &w.a, "carol").await;
    w.open_window(&alice, "carol").await;
    let (status, body) = w.start(&carol_token, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "mfa_code_required")
    );
    assert_eq!(body["challenge"], "SOFTWARE_TOKEN_MFA");
    let (status, body) = w
        .start(&carol_token, PASSWORD, Some(&wrong_code().await))
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_mfa_code")
    );
    let (status, body) = w
        .start(&carol_token, PASSWORD, Some(&fresh_code().await))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = w.verify(&carol_token, &fresh_code().await).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.mfa(&w.a, "carol").await, ["SOFTWARE_TOKEN_MFA"]);
    assert_eq!(w.attributes(&w.a, "carol").await[WINDOW], "0");
}

#[tokio::test]
async fn wrong_passwords_and_codes_share_the_password_attempt_limit() {
    let w = World::new(Some(3)).await;
    let alice = w.token(&w.a, "alice").await;
    let bob = w.token(&w.a, "bob").await;
    w.open_window(&alice, "bob").await;
    for _ in 0..2 {
        let (status, body) = w.start(&bob, "Wr0ng!Passw0rd", None).await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::FORBIDDEN, "wrong_password")
        );
    }
    let (status, _) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK, "a right password is not counted");
    let (status, body) = w.verify(&bob, &wrong_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_mfa_code")
    );
    // Three counted failures: now even the right code is refused, Cognito not asked.
    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    // The same budget as /me/password.
    let (status, body) = w
        .call(
            Method::POST,
            "/me/password",
            &bob,
            Some(json!({"current_password": PASSWORD, "new_password": "N3w-Passw0rd!"})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty());
}
