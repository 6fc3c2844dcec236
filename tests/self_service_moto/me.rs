//! The `/me` routes.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn me_routes_read_the_callers_own_account_and_refuse_machines() {
    let w = World::new(None).await;
    let bob_a = token(&w, &w.a, "bob").await;
    let bob_b = token(&w, &w.b, "bob").await;

    // The user comes from the token: tenant B's bob sees tenant B's bob, not A's.
    let (status, _, body) = w
        .call(Method::GET, "/me/attributes", Some(&bob_a), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sub_a = w.attributes(&w.a, "bob").await.expect("bob")["sub"].clone();
    assert_eq!(body["username"], "bob");
    assert_eq!(body["attributes"]["sub"], sub_a.as_str());
    let (status, _, body) = w
        .call(Method::GET, "/me/attributes", Some(&bob_b), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sub_b = w.attributes(&w.b, "bob").await.expect("bob")["sub"].clone();
    assert_ne!(sub_a, sub_b);
    assert_eq!(body["attributes"]["sub"], sub_b.as_str());

    let (status, _, body) = w.call(Method::GET, "/me/mfa", Some(&bob_a), None).await;
    assert_eq!(
        (status, &body),
        (StatusCode::OK, &json!({"enabled": [], "preferred": null}))
    );
    let carol = sign_in_carol(&w).await;
    let (status, _, body) = w.call(Method::GET, "/me/mfa", Some(&carol), None).await;
    assert_eq!(
        (status, &body),
        (
            StatusCode::OK,
            &json!({"enabled": ["totp"], "preferred": "totp"})
        )
    );

    // Machines have no account: 403 `not_a_user` on every /me route; no token: 401.
    for (method, path) in ME_ROUTES {
        let (status, _, body) = w
            .call(method.clone(), path, Some(&w.robot), me_body(path))
            .await;
        assert_eq!(
            (status, error(&body)),
            (StatusCode::FORBIDDEN, "not_a_user"),
            "{method} {path}"
        );
        let (status, _, _) = w.call(method.clone(), path, None, me_body(path)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    // A device key that cannot be one is refused before Cognito is asked.
    let (status, _, body) = w
        .call(Method::DELETE, "/me/devices/a%2Fb", Some(&bob_a), None)
        .await;
    assert_eq!(
        (status, error(&body)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn me_signout_ends_the_sessions_and_refuses_the_tokens_at_once() {
    let w = World::new(None).await;
    let bob = token(&w, &w.a, "bob").await;
    let alice = token(&w, &w.a, "alice").await;
    let bob_b = token(&w, &w.b, "bob").await;
    let (status, _, body) = w.call(Method::POST, "/me/signout", Some(&bob), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // Cognito refuses the token on its own APIs, and so does the service, at once.
    assert!(
        w.cognito
            .get_user()
            .access_token(&bob)
            .send()
            .await
            .is_err()
    );
    let (status, _, _) = w
        .call(Method::GET, "/me/attributes", Some(&bob), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nobody else is signed out: not the admin, not the same name in another tenant.
    for token in [&alice, &bob_b] {
        let (status, _, body) = w.call(Method::GET, "/me/mfa", Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

async fn change(w: &World, token: &str, body: Value) -> (StatusCode, Option<String>, Value) {
    w.call(Method::POST, "/me/password", Some(token), Some(body))
        .await
}

/// [`change`] with a body of only the current and the new password.
async fn change_password(
    w: &World,
    token: &str,
    current: &str,
    new: &str,
) -> (StatusCode, Option<String>, Value) {
    change(
        w,
        token,
        json!({"current_password": current, "new_password": new}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn password_changes_prove_the_current_password_and_step_up_with_mfa() {
    let w = World::new(None).await;
    let a = &w.a;
    let bob = token(&w, a, "bob").await;
    let new_password = "N3w-Passw0rd!bob";

    // Bad bodies.
    for body in [
        json!({"current_password": PASSWORD}),
        json!({"current_password": PASSWORD, "new_password": "x", "username": "alice"}),
        json!({"current_password": PASSWORD, "new_password": "x", "mfa_code": "12ab"}),
        json!({"current_password": "", "new_password": "x"}),
    ] {
        let (status, _, reply) = change(&w, &bob, body.clone()).await;
        assert_eq!(
            (status, error(&reply)),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{body}"
        );
    }
    // A wrong current password: 403, nothing changed.
    let wrong = "Wrong-Passw0rd!";
    let (status, _, reply) = change_password(&w, &bob, wrong, new_password).await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::FORBIDDEN, "wrong_password")
    );
    // Cognito's password policy: 400 with its message, nothing changed.
    let (status, _, reply) = change_password(&w, &bob, PASSWORD, "short").await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::BAD_REQUEST, "invalid_password")
    );
    sign_in_with(&w.cognito, a, &a.client_id, "bob", PASSWORD)
        .await
        .expect("the old password still works");
    // The right one: 204, and only the new password signs in.
    let (status, _, reply) = change_password(&w, &bob, PASSWORD, new_password).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    assert!(
        sign_in_with(&w.cognito, a, &a.client_id, "bob", PASSWORD)
            .await
            .is_err()
    );
    sign_in_with(&w.cognito, a, &a.client_id, "bob", new_password)
        .await
        .expect("the new password works");

    // Carol has TOTP: her password changes only with a code Cognito accepts.
    let carol_new = "N3w-Passw0rd!carol";
    let challenge = sign_in_with(&w.cognito, a, &a.client_id, "carol", PASSWORD).await;
    assert_eq!(challenge.err().as_deref(), Some("SOFTWARE_TOKEN_MFA"));
    let carol = sign_in_carol(&w).await;
    let body = json!({"current_password": PASSWORD, "new_password": carol_new});
    let (status, _, reply) = change(&w, &carol, body.clone()).await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::FORBIDDEN, "mfa_code_required")
    );
    assert_eq!(reply["challenge"], "SOFTWARE_TOKEN_MFA");
    let mut with_code = body.clone();
    let right = fresh_code().await;
    let wrong_code = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    with_code["mfa_code"] = json!(wrong_code);
    let (status, _, reply) = change(&w, &carol, with_code.clone()).await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::FORBIDDEN, "wrong_mfa_code")
    );
    // The right code with a wrong password does not pass either.
    with_code["mfa_code"] = json!(fresh_code().await);
    with_code["current_password"] = json!(wrong);
    let (status, _, reply) = change(&w, &carol, with_code.clone()).await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::FORBIDDEN, "wrong_password")
    );
    assert_eq!(
        sign_in_with(&w.cognito, a, &a.client_id, "carol", carol_new)
            .await
            .err()
            .map(|e| e.contains("NotAuthorized")),
        Some(true),
        "nothing changed"
    );
    // Password and code right: changed.
    with_code["current_password"] = json!(PASSWORD);
    with_code["mfa_code"] = json!(fresh_code().await);
    let (status, _, reply) = change(&w, &carol, with_code).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    assert_eq!(
        sign_in_with(&w.cognito, a, &a.client_id, "carol", carol_new)
            .await
            .err()
            .as_deref(),
        Some("SOFTWARE_TOKEN_MFA"),
        "the new password is accepted (and MFA still asked)"
    );

    // No password or code ever reached a log line or an audit event.
    assert_never_logged(&[PASSWORD, new_password, carol_new, wrong, &right, wrong_code]);
}

/// Carol's access token, through her TOTP challenge.
async fn sign_in_carol(w: &World) -> String {
    sign_in_with_totp(&w.cognito, &w.a, "carol").await
}

#[tokio::test(flavor = "multi_thread")]
async fn five_failed_password_attempts_then_429_even_with_the_right_password() {
    let w = World::new(None).await;
    let dave = token(&w, &w.a, "dave").await;
    let bob_b = token(&w, &w.b, "bob").await;
    let new_password = "N3w-Passw0rd!dave";
    for i in 0..5 {
        let (status, _, reply) =
            change_password(&w, &dave, &format!("Guess-{i}!Aa1"), new_password).await;
        assert_eq!(
            (status, error(&reply)),
            (StatusCode::FORBIDDEN, "wrong_password"),
            "{i}"
        );
    }
    let (status, retry_after, reply) = change_password(&w, &dave, PASSWORD, new_password).await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((890..=900).contains(&seconds), "{seconds}");
    assert!(
        sign_in_with(&w.cognito, &w.a, &w.a.client_id, "dave", new_password)
            .await
            .is_err(),
        "nothing changed"
    );
    // Per user: another tenant's user of another name is not held back.
    let (status, _, reply) = change_password(&w, &bob_b, PASSWORD, "N3w-Passw0rd!bobb").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
}

/// The `SECRET_HASH` a client with a secret needs (the test's own computation).
fn secret_hash(secret: &str, username: &str, client_id: &str) -> String {
    use aws_lc_rs::hmac;
    use base64::Engine;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("{username}{client_id}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_attempt_limit_and_client_secrets_come_from_the_admin_section() {
    let w = World::new(Some((2, 60))).await;
    let a = &w.a;
    let (client_id, secret) = w.secret_client.clone();
    // Carol signs in through the app client that has a secret (TOTP challenge answered with
    // the secret hash moto checks).
    let out = w
        .cognito
        .admin_initiate_auth()
        .user_pool_id(&a.id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", "carol")
        .auth_parameters("PASSWORD", PASSWORD)
        .auth_parameters("SECRET_HASH", secret_hash(&secret, "carol", &client_id))
        .send()
        .await
        .expect("AdminInitiateAuth");
    let carol = w
        .cognito
        .admin_respond_to_auth_challenge()
        .user_pool_id(&a.id)
        .client_id(&client_id)
        .challenge_name(out.challenge_name().expect("challenge").clone())
        .session(out.session().expect("session"))
        .challenge_responses("USERNAME", "carol")
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", fresh_code().await)
        .challenge_responses("SECRET_HASH", secret_hash(&secret, "carol", &client_id))
        .send()
        .await
        .expect("AdminRespondToAuthChallenge")
        .authentication_result()
        .and_then(|r| r.access_token())
        .expect("access token")
        .to_owned();
    // The service answers Carol's challenge through her app client, with the SECRET_HASH
    // computed from `[admin.client_secrets]`: moto refuses the answer without it.
    let carol_new = "N3w-Passw0rd!carol";
    let body = json!({"current_password": PASSWORD, "new_password": carol_new,
                      "mfa_code": fresh_code().await});
    let (status, _, reply) = change(&w, &carol, body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    assert_eq!(
        sign_in_with(&w.cognito, a, &a.client_id, "carol", carol_new)
            .await
            .err()
            .as_deref(),
        Some("SOFTWARE_TOKEN_MFA"),
        "changed"
    );
    // `max_password_attempts = 2`, window 60 s.
    let dave = token(&w, a, "dave").await;
    for _ in 0..2 {
        let (status, _, _) = change_password(&w, &dave, "Wrong-Passw0rd!", "N3w-Passw0rd!d").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, retry_after, reply) = change_password(&w, &dave, PASSWORD, "N3w-Passw0rd!d").await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
    );
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((50..=60).contains(&seconds), "{seconds}");
    assert_never_logged(&[&secret, PASSWORD, carol_new]);
}

/// SMS and email MFA users are sent a billed message for every challenge Cognito opens, so
/// starting one counts against `[admin] max_password_attempts` like a failure: someone who
/// holds a user's token and password cannot make Cognito send codes without end. (moto sends
/// no messages; Carol's TOTP challenge takes the same path as an SMS or email one.)
#[tokio::test(flavor = "multi_thread")]
async fn each_started_mfa_challenge_counts_so_codes_cannot_be_pumped() {
    let w = World::new(Some((3, 600))).await;
    let a = &w.a;
    let carol = sign_in_carol(&w).await;
    let carol_new = "N3w-Passw0rd!carol";
    let body = json!({"current_password": PASSWORD, "new_password": carol_new});
    for i in 0..3 {
        let (status, _, reply) = change(&w, &carol, body.clone()).await;
        assert_eq!(
            (status, error(&reply)),
            (StatusCode::FORBIDDEN, "mfa_code_required"),
            "challenge {i}"
        );
    }
    // The fourth challenge is not started: 429, Cognito is not asked.
    let (status, retry_after, reply) = change(&w, &carol, body.clone()).await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
        "{reply}"
    );
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((590..=600).contains(&seconds), "{seconds}");
    // Even the right password with the right code is refused before Cognito is asked (a
    // request that reached Cognito would have changed the password), and nothing changed.
    let mut with_code = body;
    with_code["mfa_code"] = json!(fresh_code().await);
    let (status, retry_after, reply) = change(&w, &carol, with_code).await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
        "{reply}"
    );
    assert!(retry_after.is_some());
    assert_eq!(
        sign_in_with(&w.cognito, a, &a.client_id, "carol", carol_new)
            .await
            .err()
            .map(|e| e.contains("NotAuthorized")),
        Some(true),
        "the password was not changed"
    );
    // The limit is per user: Dave (no MFA) still changes his password.
    let dave = token(&w, a, "dave").await;
    let (status, _, reply) = change_password(&w, &dave, PASSWORD, "N3w-Passw0rd!dave").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
}
