//! The admin console routes.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn admins_invite_users_into_groups_whose_roles_they_hold() {
    let w = World::new(None).await;
    let (a, b) = (&w.a, &w.b);
    let alice = token(&w, a, "alice").await;
    let bob = token(&w, a, "bob").await;
    let invite = |name: &str, groups: Value| json!({"username": name, "email": format!("{name}@example.com"), "groups": groups});

    let (status, _, user) = w
        .call(
            Method::POST,
            "/admin/users",
            Some(&alice),
            Some(invite("newbie", json!(["staff"]))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["username"], "newbie");
    assert_eq!(user["status"], "FORCE_CHANGE_PASSWORD");
    assert_eq!(user["attributes"]["email"], "newbie@example.com");
    assert_eq!(w.groups_of(a, "newbie").await, ["staff"]);
    assert_eq!(
        w.status_of(b, "newbie").await,
        None,
        "only the admin's own pool"
    );

    // Refused, and nothing created: a group whose role (`editor`) alice lacks; a group that
    // does not exist; a non-admin; a machine; bad bodies.
    let refusals = [
        (
            Some(&alice),
            invite("ed", json!(["editors"])),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            Some(&alice),
            invite("ed", json!(["staff", "nope"])),
            StatusCode::NOT_FOUND,
            "group_not_found",
        ),
        (
            Some(&bob),
            invite("ed", json!([])),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (
            Some(&w.robot),
            invite("ed", json!([])),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (
            Some(&alice),
            json!({"username": "ed"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Some(&alice),
            json!({"username": "ed", "email": "not-an-address"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Some(&alice),
            json!({"username": "ed", "email": "ed@example.com", "user_pool_id": b.id}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            None,
            invite("ed", json!([])),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
    ];
    for (token, body, expected, code) in refusals {
        let (status, _, reply) = w
            .call(
                Method::POST,
                "/admin/users",
                token.map(String::as_str),
                Some(body.clone()),
            )
            .await;
        assert_eq!((status, error(&reply)), (expected, code), "{body}");
        assert_eq!(w.status_of(a, "ed").await, None, "{body}: nothing created");
        assert_eq!(w.status_of(b, "ed").await, None);
    }
    // An existing user: 409.
    let (status, _, reply) = w
        .call(
            Method::POST,
            "/admin/users",
            Some(&alice),
            Some(invite("bob", json!([]))),
        )
        .await;
    assert_eq!((status, error(&reply)), (StatusCode::CONFLICT, "conflict"));

    // Groups of the pool with their roles; a user's groups; another tenant's user is 404.
    let (status, _, groups) = w
        .call(Method::GET, "/admin/groups", Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{groups}");
    let mut listed: Vec<(String, Value)> = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["name"].as_str().unwrap().to_owned(), g["roles"].clone()))
        .collect();
    listed.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        listed,
        [
            ("admin".to_owned(), json!(["admin"])),
            ("editors".to_owned(), json!(["editor"])),
            ("staff".to_owned(), json!([])),
        ]
    );
    // Tenant B's admin sees tenant B's groups only.
    let boris = token(&w, b, "boris").await;
    let (status, _, groups) = w
        .call(Method::GET, "/admin/groups", Some(&boris), None)
        .await;
    assert_eq!(
        (status, &groups),
        (
            StatusCode::OK,
            &json!({"groups": [{"name": "admin", "description": null, "roles": ["admin"]}]})
        )
    );
    let (status, _, groups) = w
        .call(Method::GET, "/admin/users/alice/groups", Some(&alice), None)
        .await;
    assert_eq!(
        (status, &groups),
        (StatusCode::OK, &json!({"groups": ["admin"]}))
    );
    let (status, _, reply) = w
        .call(
            Method::GET,
            "/admin/users/only_b/groups",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::NOT_FOUND, "user_not_found")
    );
    for path in ["/admin/groups", "/admin/users/alice/groups"] {
        let (status, _, _) = w.call(Method::GET, path, Some(&bob), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let (status, _, _) = w.call(Method::GET, path, Some(&w.robot), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_reset_passwords_and_delete_users_of_their_tenant_only() {
    let w = World::new(None).await;
    let (a, b) = (&w.a, &w.b);
    let alice = token(&w, a, "alice").await;
    let bob = token(&w, a, "bob").await;
    let frank = token(&w, a, "frank").await;
    let boris = token(&w, b, "boris").await;

    // Password reset: the user must choose a new password at next sign-in.
    let (status, _, reply) = w
        .call(
            Method::POST,
            "/admin/users/frank/password-reset",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    assert_eq!(
        w.status_of(a, "frank").await.as_deref(),
        Some("RESET_REQUIRED")
    );
    for (token, path, expected) in [
        (
            &bob,
            "/admin/users/alice/password-reset",
            StatusCode::FORBIDDEN,
        ),
        (
            &w.robot,
            "/admin/users/alice/password-reset",
            StatusCode::FORBIDDEN,
        ),
        (
            &alice,
            "/admin/users/only_b/password-reset",
            StatusCode::NOT_FOUND,
        ),
        (
            &alice,
            "/admin/users/a%20b/password-reset",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, _, reply) = w.call(Method::POST, path, Some(token), None).await;
        assert_eq!(status, expected, "{path} {reply}");
    }
    assert_eq!(w.status_of(a, "alice").await.as_deref(), Some("CONFIRMED"));
    assert_eq!(w.status_of(b, "only_b").await.as_deref(), Some("CONFIRMED"));

    // Delete: refused on oneself, on another tenant's user, for non-admins and machines.
    for (token, path, expected, code) in [
        (
            &alice,
            "/admin/users/alice",
            StatusCode::CONFLICT,
            "self_lockout",
        ),
        (
            &alice,
            "/admin/users/only_b",
            StatusCode::NOT_FOUND,
            "user_not_found",
        ),
        (
            &boris,
            "/admin/users/frank",
            StatusCode::NOT_FOUND,
            "user_not_found",
        ),
        (
            &bob,
            "/admin/users/frank",
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (
            &w.robot,
            "/admin/users/frank",
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
    ] {
        let (status, _, reply) = w.call(Method::DELETE, path, Some(token), None).await;
        assert_eq!((status, error(&reply)), (expected, code), "{path}");
    }
    assert!(w.status_of(a, "alice").await.is_some());
    assert!(w.status_of(a, "frank").await.is_some());
    assert!(w.status_of(b, "only_b").await.is_some());
    // Allowed: the user is gone and their earlier token is refused at once.
    let (status, _, reply) = w
        .call(Method::DELETE, "/admin/users/frank", Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
    assert_eq!(w.status_of(a, "frank").await, None);
    let (status, _, _) = w.call(Method::GET, "/me/mfa", Some(&frank), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, reply) = w
        .call(Method::DELETE, "/admin/users/frank", Some(&alice), None)
        .await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::NOT_FOUND, "user_not_found")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_cannot_add_or_remove_groups_whose_roles_they_lack() {
    let w = World::new(None).await;
    let a = &w.a;
    let alice = token(&w, a, "alice").await;
    // Dave is an editor: `editors` maps to role `editor`, which alice (role `admin`) lacks.
    w.cognito
        .admin_add_user_to_group()
        .user_pool_id(&a.id)
        .username("dave")
        .group_name("editors")
        .send()
        .await
        .expect("AdminAddUserToGroup");
    let dave = token(&w, a, "dave").await;

    // The escalation: alice makes bob an editor. Refused, and bob's groups are unchanged.
    let (status, _, reply) = w
        .call(
            Method::POST,
            "/admin/users/bob/groups",
            Some(&alice),
            Some(json!({"group": "editors"})),
        )
        .await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{reply}"
    );
    assert_eq!(reply["error_description"], "role `editor` required");
    assert!(w.groups_of(a, "bob").await.is_empty(), "bob was not added");

    // The demotion: alice takes the editor role from dave. Refused, dave keeps the group and
    // his token is not revoked.
    let (status, _, reply) = w
        .call(
            Method::DELETE,
            "/admin/users/dave/groups/editors",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        (status, error(&reply)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "{reply}"
    );
    assert_eq!(w.groups_of(a, "dave").await, ["editors"]);
    let (status, _, reply) = w.call(Method::GET, "/me/mfa", Some(&dave), None).await;
    assert_eq!(status, StatusCode::OK, "dave's token still works: {reply}");

    // Groups whose roles alice holds (`admin`), or that map to no role (`staff`): allowed.
    for group in ["staff", "admin"] {
        let (status, _, reply) = w
            .call(
                Method::POST,
                "/admin/users/bob/groups",
                Some(&alice),
                Some(json!({ "group": group })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{group}: {reply}");
    }
    let mut groups = w.groups_of(a, "bob").await;
    groups.sort();
    assert_eq!(groups, ["admin", "staff"]);
    let (status, _, reply) = w
        .call(
            Method::DELETE,
            "/admin/users/bob/groups/staff",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(w.groups_of(a, "bob").await, ["admin"]);
}
