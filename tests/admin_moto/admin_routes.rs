//! The admin MFA route and who may call it: an admin of the tenant sets a user's MFA and Cognito
//! holds it afterwards, with an audit event and no secret in any log; a non-admin, or a token that
//! fails verification, is refused and nothing changes in Cognito; an admin cannot lock themselves
//! out.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_authz::admin::AdminApi;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{World, call, sign_in};
use crate::logs::captured;

#[tokio::test(flavor = "multi_thread")]
async fn admin_sets_mfa_of_a_user_of_their_tenant() {
    captured(|log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        assert!(w.user(&w.a, "bob").await.mfa.is_empty());

        let (status, body) = w
            .call(
                Method::PUT,
                "/admin/users/bob/mfa",
                Some(&alice.access),
                Some(json!({"sms": "preferred"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({"username": "bob", "action": "set_mfa_preference"})
        );
        let bob = w.user(&w.a, "bob").await;
        assert_eq!(bob.mfa, ["SMS_MFA"]);
        assert_eq!(bob.preferred, "SMS_MFA");

        // The same settings through the read route.
        let (status, body) = w
            .call(Method::GET, "/admin/users/bob", Some(&alice.access), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["mfa"],
            json!({"enabled": ["SMS_MFA"], "preferred": "SMS_MFA"})
        );
        assert_eq!(body["attributes"]["name"], "bob original");

        // Cognito refuses TOTP for a user without a verified software token: 400 with its
        // message, nothing changed.
        let (status, body) = w
            .call(
                Method::PUT,
                "/admin/users/bob/mfa",
                Some(&alice.access),
                Some(json!({"totp": "preferred", "sms": "enabled"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("software token"),
            "{body}"
        );
        assert_eq!(w.user(&w.a, "bob").await.preferred, "SMS_MFA");

        // Bodies refused before Cognito is called.
        for bad in [
            json!({"sms": "on"}),
            json!({}),
            json!({"sms": "preferred", "email": "preferred"}),
            json!({"sms": "off", "user_pool_id": w.b.id}),
            json!(["sms"]),
        ] {
            let (status, body) = w
                .call(
                    Method::PUT,
                    "/admin/users/bob/mfa",
                    Some(&alice.access),
                    Some(bad.clone()),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{body}"
            );
        }
        assert_eq!(w.user(&w.a, "bob").await.mfa, ["SMS_MFA"]);

        // Turning it off.
        let (status, _) = w
            .call(
                Method::PUT,
                "/admin/users/bob/mfa",
                Some(&alice.access),
                Some(json!({"sms": "off"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let bob = w.user(&w.a, "bob").await;
        assert!(bob.mfa.is_empty() && bob.preferred.is_empty(), "{bob:?}");

        // Audit: one event per attempt, with actor, tenant, target, action and outcome.
        let events = log.audit_of("set_mfa_preference", "bob");
        assert_eq!(events.len(), 8, "{events:#?}");
        let first = &events[0];
        assert_eq!(first.get("actor"), Some("alice"));
        assert_eq!(first.get("tenant"), Some(w.tenant_a.as_str()));
        assert_eq!(first.get("outcome"), Some("success"));
        assert_eq!(events[1].get("outcome"), Some("rejected"));
        assert_eq!(events[1].get("reason"), Some("invalid_request"));
        log.assert_never_logged(&alice.access);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn non_admin_is_refused_and_nothing_changes() {
    captured(|log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let before = w.user(&w.a, "shared").await;

        let attempts = [
            (
                Method::PUT,
                "/admin/users/shared/mfa",
                Some(json!({"sms": "preferred"})),
            ),
            (
                Method::PATCH,
                "/admin/users/shared/attributes",
                Some(json!({"attributes": {"name": "hijacked"}})),
            ),
            (Method::POST, "/admin/users/shared/disable", None),
            (
                Method::POST,
                "/admin/users/bob/groups",
                Some(json!({"group": "admin"})),
            ),
            (Method::GET, "/admin/users", None),
        ];
        for (method, path, body) in attempts {
            let (status, _) = w.call(method, path, Some(&bob.access), body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(w.user(&w.a, "shared").await, before);
        assert!(w.groups(&w.a, "bob").await.is_empty());

        let denied = log.audit_of("set_mfa_preference", "shared");
        assert_eq!(denied.len(), 1, "{denied:#?}");
        assert_eq!(denied[0].get("actor"), Some("bob"));
        assert_eq!(denied[0].get("outcome"), Some("denied"));
        assert_eq!(denied[0].get("reason"), Some("policy"));
        assert_eq!(denied[0].get("status"), Some("403"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unacceptable_tokens_are_401() {
    captured(|log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let before = w.user(&w.a, "bob").await;
        let mfa = Some(json!({"sms": "preferred"}));

        // Tampered: bob's access token claiming the admin group, signature unchanged.
        let parts: Vec<&str> = bob.access.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["cognito:groups"] = json!(["admin"]);
        let forged_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);

        for (what, token) in [
            ("id token", Some(alice.id.as_str())),
            ("tampered", Some(tampered.as_str())),
            ("garbage", Some("not-a-jwt")),
            ("none", None),
        ] {
            let (status, body) = w
                .call(Method::PUT, "/admin/users/bob/mfa", token, mfa.clone())
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
            assert_eq!(body["error"], "invalid_token", "{what}");
        }
        let (status, _) = w
            .call(
                Method::PATCH,
                "/me/attributes",
                Some(&bob.id),
                Some(json!({"attributes": {"name": "via id token"}})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Tenant A removed from the configuration: its admin's valid token is refused.
        let without_a = AdminApi::new(w.auth_without_a(), w.cognito.clone()).router();
        let (status, _) = call(
            &without_a,
            Method::PUT,
            "/admin/users/bob/mfa",
            Some(&alice.access),
            mfa.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // ... while the same token still works where tenant A is configured.
        assert!(w.auth.verify(&alice.access).await.is_ok());

        assert_eq!(
            w.user(&w.a, "bob").await,
            before,
            "nothing may have changed"
        );
        let events = log.audit_of("set_mfa_preference", "bob");
        assert_eq!(events.len(), 5, "{events:#?}");
        for event in &events {
            assert_eq!(event.get("outcome"), Some("unauthenticated"));
            assert_eq!(event.get("actor"), None);
        }
        log.assert_never_logged(&alice.id);
        log.assert_never_logged(&tampered);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_cannot_lock_themselves_out() {
    captured(|log| async move {
        let w = World::new().await;
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let boris = sign_in(&w.cognito, &w.b, "boris").await;

        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/alice/disable",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"], "self_lockout");
        assert!(w.user(&w.a, "alice").await.enabled);

        let (status, body) = w
            .call(
                Method::DELETE,
                "/admin/users/alice/groups/admin",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(w.groups(&w.a, "alice").await, ["admin"]);
        // Tenant B maps the role explicitly; same rule.
        let (status, _) = w
            .call(
                Method::DELETE,
                "/admin/users/boris/groups/admin",
                Some(&boris.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(w.groups(&w.b, "boris").await, ["admin"]);

        // The same operations on someone else work.
        let (status, _) = w
            .call(
                Method::DELETE,
                "/admin/users/carol/groups/admin",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(w.groups(&w.a, "carol").await.is_empty());
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/carol/disable",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(!w.user(&w.a, "carol").await.enabled);
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/carol/enable",
                Some(&alice.access),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(w.user(&w.a, "carol").await.enabled);
        let (status, _) = w
            .call(
                Method::POST,
                "/admin/users/bob/groups",
                Some(&alice.access),
                Some(json!({"group": "admin"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(w.groups(&w.a, "bob").await, ["admin"]);
        // Tenant A maps no roles, so every group is a role of its own name: alice lacks
        // `no-such-group`, refused (403) before Cognito is asked whether it exists. In tenant
        // B, which maps only `admin`, an unknown group grants nothing and Cognito says 404.
        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/bob/groups",
                Some(&alice.access),
                Some(json!({"group": "no-such-group"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
        let (status, body) = w
            .call(
                Method::POST,
                "/admin/users/shared/groups",
                Some(&boris.access),
                Some(json!({"group": "no-such-group"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"], "group_not_found");

        let events = log.audit_of("disable_user", "alice");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].get("outcome"), Some("denied"));
        assert_eq!(events[0].get("reason"), Some("self_lockout"));
    })
    .await;
}
