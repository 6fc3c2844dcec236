//! The tenant's TOTP enrollment app client, made by `tenant create` when the configuration
//! asks for TOTP enrollment (`[triggers] mfa_enrollment_window_attribute`).
//!
//! # Rules
//! - **Server-only.** Its sign-ins keep the self-service scope inside an enrollment window, so
//!   no user may sign in there: the flows are exactly `ALLOW_ADMIN_USER_PASSWORD_AUTH` (IAM
//!   credentials, the server) and `ALLOW_REFRESH_TOKEN_AUTH` (dropped when the client rotates
//!   refresh tokens, which Cognito refuses with it), no OAuth flows or hosted UI, and a secret
//!   guards its refresh tokens. The audit's `enrollment-client-unsafe` checks the same.
//! - **Short-lived.** Access tokens live [`ENROLLMENT_TOKEN_MINUTES`] (Cognito's minimum):
//!   the server holds them for one enrollment only. Token revocation is on, so the server can
//!   end the session with `RevokeToken`.
//! - **No extra writes.** Its write list is the user client's (the self-service attributes,
//!   none protected, never the window attribute): the token grants nothing a user's own
//!   client does not.
//! - **Never a user client.** It is found by its own name, `<tenant id>-totp-enrollment`, and
//!   never goes into the tenant's `client_ids` (its tokens must never be accepted as a user's).
//! - **A secret cannot be added later.** Cognito sets a secret only at creation, so a client
//!   of that name without one is refused (delete it and re-run), never silently kept.

use std::collections::BTreeSet;

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, FeatureType, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};

use super::Blueprint;
use crate::lifecycle::carry::max_token_seconds;
use crate::lifecycle::pool_audit::{access_token_validity_seconds, validity_seconds};

/// Access-token (and, at creation, id-token) lifetime of the enrollment client, in minutes.
pub const ENROLLMENT_TOKEN_MINUTES: i32 = 5;

/// The enrollment client's sign-in flows: the server's admin password flow and refresh.
pub const ENROLLMENT_FLOWS: [ExplicitAuthFlowsType; 2] = [
    ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
    ExplicitAuthFlowsType::AllowRefreshTokenAuth,
];

/// The enrollment client's name for tenant `tenant_id`: `<tenant id>-totp-enrollment`.
pub fn enrollment_client_name(tenant_id: &str) -> String {
    format!("{tenant_id}-totp-enrollment")
}

/// [`ENROLLMENT_FLOWS`] for `client`: without refresh when it rotates refresh tokens.
pub(crate) fn enrollment_flows(client: Option<&UserPoolClientType>) -> Vec<ExplicitAuthFlowsType> {
    let rotates = client
        .and_then(UserPoolClientType::refresh_token_rotation)
        .is_some_and(|r| r.feature == FeatureType::Enabled);
    ENROLLMENT_FLOWS
        .into_iter()
        .filter(|f| !(rotates && *f == ExplicitAuthFlowsType::AllowRefreshTokenAuth))
        .collect()
}

/// Token lifetime units of a new enrollment client: minutes for access and id tokens.
pub(crate) fn enrollment_units() -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Minutes)
        .id_token(TimeUnitsType::Minutes)
        .refresh_token(TimeUnitsType::Days)
        .build()
}

impl Blueprint {
    /// True if an existing enrollment client already has the settings of the module's rules
    /// (its secret aside, which no update can add).
    pub(crate) fn enrollment_client_is_right(&self, client: &UserPoolClientType) -> bool {
        let writes: BTreeSet<&str> = client
            .write_attributes()
            .iter()
            .map(String::as_str)
            .collect();
        let wanted: BTreeSet<&str> = self.write_attributes.iter().map(String::as_str).collect();
        let flows: BTreeSet<&str> = client
            .explicit_auth_flows()
            .iter()
            .map(ExplicitAuthFlowsType::as_str)
            .collect();
        let required = enrollment_flows(Some(client));
        let wanted_flows: BTreeSet<&str> =
            required.iter().map(ExplicitAuthFlowsType::as_str).collect();
        client.write_attributes.is_some()
            && writes == wanted
            && flows == wanted_flows
            && client.allowed_o_auth_flows_user_pool_client != Some(true)
            && client.allowed_o_auth_flows().is_empty()
            && client.allowed_o_auth_scopes().is_empty()
            && client.enable_token_revocation == Some(true)
            && access_token_validity_seconds(client) == i64::from(ENROLLMENT_TOKEN_MINUTES) * 60
            && validity_seconds(
                client.id_token_validity,
                client.token_validity_units().and_then(|u| u.id_token()),
            ) <= max_token_seconds()
    }
}

/// True if `client` has a secret (Cognito sets one only at creation).
pub(crate) fn has_secret(client: &UserPoolClientType) -> bool {
    client.client_secret().is_some_and(|s| !s.is_empty())
}
