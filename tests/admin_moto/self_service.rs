//! The self-service route `PATCH /me/attributes`: users change only their own unprotected,
//! allowlisted attributes, protected ones are refused and unchanged in Cognito, and the allowlist
//! can come from the config file.

use axum::Router;
use cognito_authz::admin::AdminApi;
use cognito_authz::{CognitoAuth, Tenant};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{World, call, sign_in};
use crate::logs::captured;

#[tokio::test(flavor = "multi_thread")]
async fn self_service_changes_only_unprotected_attributes() {
    captured(|log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;

        let (status, body) = w
            .call(
                Method::PATCH,
                "/me/attributes",
                Some(&bob.access),
                Some(json!({"attributes": {"name": "Bob Builder"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["username"], "bob");
        assert_eq!(w.user(&w.a, "bob").await.attr("name"), Some("Bob Builder"));

        // A protected attribute, alone or with an unprotected one, in any case: 403, and
        // nothing changed at all.
        for attributes in [
            json!({"custom:plan": "platinum-secret-value"}),
            json!({"name": "Sneaky", "custom:mfa_required": "false"}),
            json!({"CUSTOM:PLAN": "platinum-secret-value"}),
            json!({"email_verified": "true"}),
        ] {
            let (status, body) = w
                .call(
                    Method::PATCH,
                    "/me/attributes",
                    Some(&bob.access),
                    Some(json!({ "attributes": attributes })),
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{attributes}: {body}");
            assert_eq!(body["error"], "protected_attribute");
        }
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("name"), Some("Bob Builder"));
        assert_eq!(after.attr("custom:plan"), Some("basic"));
        assert_eq!(after.attr("custom:mfa_required"), None);

        // Only the caller's own account: there is no way to name another user.
        let (status, _) = w
            .call(
                Method::PATCH,
                "/me/attributes",
                Some(&bob.access),
                Some(json!({"attributes": {"name": "x"}, "username": "alice"})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            w.user(&w.a, "alice").await.attr("name"),
            Some("alice original")
        );

        // An administrator may set protected attributes through the admin route.
        let alice = sign_in(&w.cognito, &w.a, "alice").await;
        let (status, body) = w
            .call(
                Method::PATCH,
                "/admin/users/bob/attributes",
                Some(&alice.access),
                Some(json!({"attributes": {
                    "custom:plan": "platinum-secret-value",
                    "custom:mfa_required": "true"
                }})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("custom:plan"), Some("platinum-secret-value"));
        assert_eq!(after.attr("custom:mfa_required"), Some("true"));

        // Audit: attribute names, never values.
        let refused = log.audit_of("update_own_attributes", "bob");
        assert_eq!(refused.len(), 6, "{refused:#?}");
        assert_eq!(refused[1].get("outcome"), Some("denied"));
        assert_eq!(refused[1].get("attributes"), Some("custom:plan"));
        let admin = log.audit_of("update_attributes", "bob");
        assert_eq!(
            admin[0].get("attributes"),
            Some("custom:mfa_required,custom:plan")
        );
        log.assert_never_logged("platinum-secret-value");
        log.assert_never_logged("Bob Builder");
    })
    .await;
}

/// `PATCH /me/attributes` as `token`'s user on `app`: the status and the error code.
async fn patch_me(app: &Router, token: &str, attributes: Value) -> (StatusCode, Value) {
    let (status, body) = call(
        app,
        Method::PATCH,
        "/me/attributes",
        Some(token),
        Some(json!({ "attributes": attributes })),
    )
    .await;
    (status, body["error"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn self_service_is_limited_to_allowlisted_attributes() {
    captured(|log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        // Tenant A with no `protected_attributes` at all: the allowlist alone decides.
        let unprotected = CognitoAuth::builder()
            .tenant(
                Tenant::builder(&w.tenant_a, &w.a.id)
                    .client_id(&w.a.client_id)
                    .jwks_url(w.moto.jwks_url(&w.a.id))
                    .build()
                    .expect("tenant"),
            )
            .expect("tenant a")
            .build()
            .expect("auth");
        let forbidden = (StatusCode::FORBIDDEN, json!("protected_attribute"));

        // The default allowlist: standard profile attributes only.
        let app = AdminApi::new(unprotected.clone(), w.cognito.clone()).router();
        for attributes in [
            json!({"custom:plan": "gold"}),
            json!({"name": "Sneaky", "custom:plan": "gold"}),
            json!({"custom:mfa_required": "false"}),
            json!({"dev:custom:x": "1"}),
            json!({"email": "bob@example.com"}),
            json!({"NAME": "Other case"}),
        ] {
            assert_eq!(
                patch_me(&app, &bob.access, attributes.clone()).await,
                forbidden,
                "{attributes}"
            );
        }
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("custom:plan"), Some("basic"));
        assert_eq!(after.attr("name"), Some("bob original"));
        assert_eq!(after.attr("email"), None);
        let (status, error) = patch_me(&app, &bob.access, json!({"name": "Bob Allowed"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");
        assert_eq!(w.user(&w.a, "bob").await.attr("name"), Some("Bob Allowed"));

        // An allowlisted custom attribute may be changed; the MFA requirement attribute and
        // developer-only attributes never, even when listed; the list replaces the default.
        let app = AdminApi::new(unprotected.clone(), w.cognito.clone())
            .self_service_attributes(["name", "custom:plan", "custom:mfa_required", "dev:custom:x"])
            .router();
        let (status, error) = patch_me(&app, &bob.access, json!({"custom:plan": "gold"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");
        assert_eq!(w.user(&w.a, "bob").await.attr("custom:plan"), Some("gold"));
        for attributes in [
            json!({"custom:mfa_required": "false"}),
            json!({"dev:custom:x": "1"}),
            json!({"given_name": "Bob"}),
        ] {
            assert_eq!(
                patch_me(&app, &bob.access, attributes.clone()).await,
                forbidden,
                "{attributes}"
            );
        }

        // A tenant's protected attribute stays refused even when allowlisted.
        let app = AdminApi::new(w.auth.clone(), w.cognito.clone())
            .self_service_attributes(["custom:plan"])
            .router();
        assert_eq!(
            patch_me(&app, &bob.access, json!({"custom:plan": "free"})).await,
            forbidden
        );

        // The MFA requirement attribute named by the configuration file is protected.
        let config = cognito_authz::AuthConfig::from_toml(
            "[triggers]\nmfa_required_attribute = \"custom:plan\"\n",
        )
        .expect("config");
        let app = AdminApi::new(unprotected, w.cognito.clone())
            .self_service_attributes(["custom:plan", "custom:mfa_required"])
            .apply_config(&config)
            .router();
        assert_eq!(
            patch_me(&app, &bob.access, json!({"custom:plan": "free"})).await,
            forbidden
        );
        let (status, error) =
            patch_me(&app, &bob.access, json!({"custom:mfa_required": "x"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");

        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("custom:plan"), Some("gold"));
        assert_eq!(after.attr("name"), Some("Bob Allowed"));
        assert_eq!(after.attr("given_name"), None);
        let refused: Vec<_> = log
            .audit_of("update_own_attributes", "bob")
            .into_iter()
            .filter(|e| e.get("outcome") == Some("denied"))
            .collect();
        assert_eq!(refused.len(), 11, "{refused:#?}");
        assert!(
            refused
                .iter()
                .all(|e| e.get("reason") == Some("protected_attribute"))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_self_service_allowlist_comes_from_the_config_file() {
    captured(|_log| async move {
        let w = World::new().await;
        let bob = sign_in(&w.cognito, &w.a, "bob").await;
        let config = cognito_authz::AuthConfig::from_toml(
            "[admin]\nself_service_attributes = [\"given_name\"]\n",
        )
        .expect("config");
        let app = AdminApi::new(w.auth.clone(), w.cognito.clone())
            .apply_config(&config)
            .router();
        let (status, error) = patch_me(&app, &bob.access, json!({"given_name": "Robert"})).await;
        assert_eq!(status, StatusCode::OK, "{error}");
        // `name` is in the default list, but the file's list replaces it.
        assert_eq!(
            patch_me(&app, &bob.access, json!({"name": "Bobby"})).await,
            (StatusCode::FORBIDDEN, json!("protected_attribute"))
        );
        let after = w.user(&w.a, "bob").await;
        assert_eq!(after.attr("given_name"), Some("Robert"));
        assert_ne!(after.attr("name"), Some("Bobby"));
    })
    .await;
}
