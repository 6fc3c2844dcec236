//! The audit of a tenant's TOTP enrollment app client (`enrollment-client-unsafe`).

use aws_sdk_cognitoidentityprovider::types::{ExplicitAuthFlowsType, UserPoolClientType};

use super::{Check, Finding, Severity};

/// The TOTP enrollment client: the trigger keeps the self-service scope for its sign-ins
/// inside a window, so a user who could sign in there themselves (SRP, the public password
/// flow, the hosted UI) would get a token able to change their own MFA during the window.
/// Only the server's flow (`ALLOW_ADMIN_USER_PASSWORD_AUTH`, with IAM credentials) and
/// refresh may be allowed, and a secret must guard its refresh tokens.
pub(super) fn check_enrollment_client(
    id: &str,
    client: Option<&UserPoolClientType>,
    pool_id: &str,
    findings: &mut Vec<Finding>,
) {
    let Some(client) = client else {
        findings.push(Finding::new(
            Check::EnrollmentClientUnsafe,
            Severity::High,
            id,
            format!("the TOTP enrollment client {id} does not exist in pool {pool_id}"),
        ));
        return;
    };
    let mut problems = Vec::new();
    let user_flows: Vec<&str> = client
        .explicit_auth_flows()
        .iter()
        .filter(|f| {
            !matches!(
                f,
                ExplicitAuthFlowsType::AllowAdminUserPasswordAuth
                    | ExplicitAuthFlowsType::AdminNoSrpAuth
                    | ExplicitAuthFlowsType::AllowRefreshTokenAuth
            )
        })
        .map(ExplicitAuthFlowsType::as_str)
        .collect();
    if client.explicit_auth_flows().is_empty() {
        problems.push("no explicit flows (Cognito's defaults include SRP)".to_owned());
    } else if !user_flows.is_empty() {
        problems.push(format!("user sign-in flows {}", user_flows.join(", ")));
    }
    if client.allowed_o_auth_flows_user_pool_client == Some(true) {
        problems.push("OAuth flows (hosted UI)".to_owned());
    }
    if client.client_secret().is_none_or(str::is_empty) {
        problems.push("no client secret".to_owned());
    }
    if !problems.is_empty() {
        findings.push(Finding::new(
            Check::EnrollmentClientUnsafe,
            Severity::High,
            id,
            format!(
                "the TOTP enrollment client must be server-only (ALLOW_ADMIN_USER_PASSWORD_AUTH \
                 and refresh, with a secret), but has: {}; a user signing in there during an \
                 enrollment window would get the self-service scope",
                problems.join("; ")
            ),
        ));
    }
}
