use super::*;
use crate::Tenant;

pub(crate) fn principal(tenant: &Tenant, groups: &[&str], scope: &str) -> Principal {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    Principal::new(PrincipalData::new(PrincipalClaims {
        tenant,
        subject: "sub-1",
        username: "alice",
        client_id: "client",
        token_use: TokenUse::Access,
        kind: PrincipalKind::User,
        groups: &groups,
        scope,
        expires_at: 42,
        issued_at: Some(40),
        jti: Some("j"),
        origin_jti: None,
    }))
}

#[test]
fn unmapped_roles_are_the_sorted_distinct_groups() {
    let tenant = Tenant::builder("t", "us-east-1_a")
        .client_id("c")
        .build()
        .unwrap();
    let p = principal(&tenant, &["b", "a", "b", "Admin"], "x y");
    assert_eq!(p.roles().collect::<Vec<_>>(), ["Admin", "a", "b"]);
    assert_eq!(p.roles().len(), 3);
    assert!(p.has_role("a") && p.has_role("Admin") && !p.has_role("admin"));
    assert_eq!(p.groups().collect::<Vec<_>>(), ["b", "a", "b", "Admin"]);
    assert_eq!(p.scopes().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(
        (p.subject(), p.username(), p.client_id()),
        ("sub-1", "alice", "client")
    );
    assert_eq!(
        (p.jti(), p.origin_jti(), p.expires_at()),
        (Some("j"), None, 42)
    );
    assert_eq!(p.user_pool_id(), "us-east-1_a");
}

#[test]
fn a_machine_has_client_roles_only_and_no_user_name() {
    let tenant = Tenant::builder("t", "us-east-1_a")
        .client_id("c")
        .machine_client_ids(["m"])
        .client_roles("m", ["sync", "admin"])
        .role("admin", ["Administrators"])
        .build()
        .unwrap();
    // Groups in a machine token (a trigger could add them) must not give roles.
    let groups = ["Administrators".to_owned()];
    let p = Principal::new(PrincipalData::new(PrincipalClaims {
        tenant: &tenant,
        subject: "m",
        username: "",
        client_id: "m",
        token_use: TokenUse::Access,
        kind: PrincipalKind::Machine,
        groups: &groups,
        scope: "orders/read",
        expires_at: 42,
        issued_at: None,
        jti: None,
        origin_jti: None,
    }));
    assert_eq!(p.kind(), PrincipalKind::Machine);
    assert!(p.is_machine());
    assert_eq!(
        (p.subject(), p.username(), p.username_if_user()),
        ("m", "", None)
    );
    assert_eq!(p.roles().collect::<Vec<_>>(), ["admin", "sync"]);
    assert_eq!(p.groups().count(), 0);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["kind"], "machine");
    assert_eq!(json["username"], serde_json::Value::Null);
    let user = principal(&tenant, &["Administrators"], "");
    assert_eq!(user.kind(), PrincipalKind::User);
    assert_eq!(user.username_if_user(), Some("alice"));
    assert_eq!(serde_json::to_value(&user).unwrap()["kind"], "user");
}

#[test]
fn mapped_roles_come_from_the_tenant() {
    let tenant = Tenant::builder("t", "us-east-1_a")
        .client_id("c")
        .role("admin", ["Administrators"])
        .build()
        .unwrap();
    let p = principal(&tenant, &["Administrators", "other"], "");
    assert_eq!(p.roles().collect::<Vec<_>>(), ["admin"]);
    assert!(p.has_role("admin") && !p.has_role("Administrators") && !p.has_role("other"));
    assert_eq!(p.scopes().count(), 0);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["roles"], serde_json::json!(["admin"]));
    assert_eq!(
        json["groups"],
        serde_json::json!(["Administrators", "other"])
    );
}
