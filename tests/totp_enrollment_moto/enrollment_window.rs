//! The enrollment window: an admin opens it and the user enrolls once; a closed, expired or forged
//! window, or one an admin closed, changes nothing in Cognito.

use http::{Method, StatusCode};
use serde_json::json;

use super::{WINDOW, error, fresh_code, now, wrong_code};
use crate::event_log;
use crate::moto::{MOTO_TOTP_SECRET, PASSWORD};
use crate::world::{World, sign_in};

#[tokio::test]
async fn an_admin_opened_window_lets_a_user_enroll_once() {
    let w = World::new(None).await;
    let alice = w.token(&w.a, "alice").await;
    let bob = w.token(&w.a, "bob").await;
    let dave = w.token(&w.a, "dave").await;

    // No window: refused before any sign-in, nothing changed.
    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty());

    let opened = w.open_window(&alice, "bob").await;
    assert_eq!(opened["action"], "open_mfa_enrollment");
    let until = opened["open_until"].as_u64().expect("open_until");
    assert!((now() + 890..=now() + 900).contains(&until), "{until}");
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], until.to_string());

    // A wrong password is refused and enrolls nothing.
    let (status, body) = w.start(&bob, "Wr0ng!Passw0rd", None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_password")
    );

    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["secret"], MOTO_TOTP_SECRET);
    let uri = body["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/acme:bob?secret="), "{uri}");
    assert!(w.mfa(&w.a, "bob").await.is_empty(), "nothing enabled yet");

    // Another user of the same tenant, even with a window of their own, cannot complete
    // bob's enrollment: there is none of theirs.
    let (status, body) = w.verify(&dave, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    w.open_window(&alice, "dave").await;
    let (status, body) = w.verify(&dave, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::CONFLICT, "no_pending_enrollment")
    );
    assert!(w.mfa(&w.a, "dave").await.is_empty());

    // A wrong code: refused, and bob may try again.
    let (status, body) = w.verify(&bob, &wrong_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "wrong_mfa_code")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty());

    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(w.mfa(&w.a, "bob").await, ["SOFTWARE_TOKEN_MFA"]);
    // One shot: the window is closed, the enrollment spent.
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");
    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    let (status, body) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    // moto has no RevokeToken: the fallback signed bob out everywhere, so Cognito refuses
    // his earlier token, and his next sign-in asks for the new factor.
    let refused = w.cognito.get_user().access_token(&bob).send().await;
    assert!(refused.is_err(), "bob's sessions were ended");
    assert_eq!(
        sign_in(&w.cognito, &w.a, "bob").await,
        Err("SOFTWARE_TOKEN_MFA".to_owned())
    );
    // dave was never touched.
    w.cognito
        .get_user()
        .access_token(&dave)
        .send()
        .await
        .expect("dave's token still works");

    event_log::assert_never_logged(&[MOTO_TOTP_SECRET, PASSWORD, "Wr0ng!Passw0rd", bob.as_str()]);
}

#[tokio::test]
async fn closed_expired_forged_and_admin_closed_windows_change_nothing() {
    let w = World::new(None).await;
    let alice = w.token(&w.a, "alice").await;
    let bob = w.token(&w.a, "bob").await;

    // Expired, forged far into the future, not a number: all closed.
    for value in [
        (now() - 5).to_string(),
        (now() + 24 * 3600).to_string(),
        "soon".to_owned(),
        "0".to_owned(),
    ] {
        w.set_window(&w.a, "bob", &value).await;
        let (status, body) = w.start(&bob, PASSWORD, None).await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::FORBIDDEN, "enrollment_window_closed"),
            "{value}"
        );
    }
    assert!(w.mfa(&w.a, "bob").await.is_empty());

    // Opened, started, then closed by the admin: the code no longer completes anything.
    w.open_window(&alice, "bob").await;
    let (status, _) = w.start(&bob, PASSWORD, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = w
        .call(
            Method::DELETE,
            "/admin/users/bob/mfa/enrollment",
            &alice,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["action"], "close_mfa_enrollment");
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");
    let (status, body) = w.verify(&bob, &fresh_code().await).await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "enrollment_window_closed")
    );
    assert!(w.mfa(&w.a, "bob").await.is_empty(), "no MFA was enabled");

    // The user cannot open their own window through /me/attributes, even when the tenant's
    // allowlist names the attribute: it is protected.
    let forged = (now() + 600).to_string();
    let (status, body) = w
        .call(
            Method::PATCH,
            "/me/attributes",
            &bob,
            Some(json!({"attributes": {WINDOW: forged}})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "protected_attribute")
    );
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");

    // The window route: admins only, 1 to 60 minutes, own tenant only, configured tenants only.
    let (status, body) = w
        .call(
            Method::POST,
            "/admin/users/dave/mfa/enrollment",
            &bob,
            Some(json!({"minutes": 15})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for minutes in [0, 61] {
        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/bob/mfa/enrollment",
                &alice,
                Some(json!({"minutes": minutes})),
            )
            .await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::BAD_REQUEST, "invalid_request")
        );
    }
    assert_eq!(w.attributes(&w.a, "bob").await[WINDOW], "0");
    let (status, body) = w
        .call(
            Method::POST,
            "/admin/users/only_b/mfa/enrollment",
            &alice,
            Some(json!({"minutes": 15})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::NOT_FOUND, "user_not_found")
    );
    let boris = w.token(&w.b, "boris").await;
    let (status, body) = w
        .call(
            Method::POST,
            "/admin/users/only_b/mfa/enrollment",
            &boris,
            Some(json!({"minutes": 15})),
        )
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::FORBIDDEN, "totp_enrollment_disabled")
    );
    assert!(!w.attributes(&w.b, "only_b").await.contains_key(WINDOW));
}
