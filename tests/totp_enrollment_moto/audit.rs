//! `cognito-authz audit` on the moto pool: the server-only enrollment client passes, a user flow on
//! it or the window attribute on a client's write list is a high finding.

use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;

use super::WINDOW;
use crate::world::World;

/// `cognito-authz audit` on the moto pool: the server-only enrollment client passes; a user
/// flow on it, or the window attribute on a client's write list, is a high finding.
#[cfg(feature = "cli")]
#[tokio::test]
async fn audit_finds_an_unsafe_enrollment_client_and_a_writable_window() {
    use cognito_authz::lifecycle::pool_audit::{AuditPolicy, PoolSnapshot, check_pool};
    let w = World::new(None).await;
    let policy = AuditPolicy::for_tenant(&w.config, &w.config.tenants[0], false);
    let checks = |snapshot: &PoolSnapshot| -> Vec<(String, String)> {
        check_pool(&policy, snapshot)
            .into_iter()
            .filter(|f| f.severity == cognito_authz::lifecycle::pool_audit::Severity::High)
            .map(|f| (f.check.id().to_owned(), f.subject))
            .collect()
    };
    let before = PoolSnapshot::read(&w.cognito, &w.a.id)
        .await
        .expect("audit");
    assert_eq!(checks(&before), [], "the enrollment client is server-only");

    w.cognito
        .update_user_pool_client()
        .user_pool_id(&w.a.id)
        .client_id(&w.enroll_client)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .send()
        .await
        .expect("UpdateUserPoolClient");
    w.cognito
        .update_user_pool_client()
        .user_pool_id(&w.a.id)
        .client_id(&w.a.client_id)
        .write_attributes("name")
        .write_attributes(WINDOW)
        .send()
        .await
        .expect("UpdateUserPoolClient");
    let after = PoolSnapshot::read(&w.cognito, &w.a.id)
        .await
        .expect("audit");
    let mut found = checks(&after);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "client-writes-protected-attribute".to_owned(),
                w.a.client_id.clone()
            ),
            (
                "enrollment-client-unsafe".to_owned(),
                w.enroll_client.clone()
            ),
        ]
    );
}
