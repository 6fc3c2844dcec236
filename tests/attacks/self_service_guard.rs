//! The self-service guard: a token with the self-service scope Cognito did not suppress is refused
//! for non-admins, and only when the guard is configured.

use cognito_authz::{AuthError, TokenUses, verify::SELF_SERVICE_SCOPE, verify::SelfServiceGuard};
use serde_json::json;

use super::{UNAUTHORIZED, fx_with};
use crate::common::*;

#[tokio::test]
async fn self_service_guard_refuses_unsuppressed_scope_for_non_admins() {
    let fx = fx_with(|b| b.self_service_guard(SelfServiceGuard::default())).await;

    let user = fx.access("alice", &["user"]);
    assert_eq!(user["scope"], SELF_SERVICE_SCOPE);
    fx.assert_rejected(
        &fx.mint(&user),
        UNAUTHORIZED,
        AuthError::SelfServiceScopeNotSuppressed,
    )
    .await;
    let mut with_others = user.clone();
    with_others["scope"] = json!(format!("openid {SELF_SERVICE_SCOPE} profile"));
    fx.assert_rejected(
        &fx.mint(&with_others),
        UNAUTHORIZED,
        AuthError::SelfServiceScopeNotSuppressed,
    )
    .await;

    let admin = fx.access("root", &["admin"]);
    assert_eq!(admin["scope"], SELF_SERVICE_SCOPE);
    let principal = fx.assert_accepted(&fx.mint(&admin)).await;
    assert!(principal.has_scope(SELF_SERVICE_SCOPE));

    let mut suppressed = fx.access("alice", &["user"]);
    suppressed["scope"] = json!("openid profile");
    fx.assert_accepted(&fx.mint(&suppressed)).await;
    suppressed.as_object_mut().unwrap().remove("scope");
    fx.assert_accepted(&fx.mint(&suppressed)).await;

    // Id tokens carry no scope; the guard does not apply to them.
    let id = fx.mint(&id_a(&fx.issuer, "alice", &[]));
    assert!(fx.auth.verify_as(&id, TokenUses::ID).await.is_ok());

    // Without the guard (the default), the scope is not refused.
    let unguarded = auth_a(&fx.issuer, |b| b);
    assert!(unguarded.verify(&fx.mint(&user)).await.is_ok());
}
