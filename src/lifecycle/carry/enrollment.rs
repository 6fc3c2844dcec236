//! The repair of the TOTP enrollment client: every field of the `DescribeUserPoolClient`
//! answer sent back (Cognito resets what `UpdateUserPoolClient` is not given), only the
//! server-only settings changed (see [`provision::enrollment`](crate::lifecycle::provision)):
//!
//! - the flows become exactly [`ENROLLMENT_FLOWS`](crate::lifecycle::provision::ENROLLMENT_FLOWS)
//!   (the operator's SRP or password flows are dropped: a user must never sign in there);
//! - OAuth is turned off: `AllowedOAuthFlowsUserPoolClient` false, no OAuth flows or scopes
//!   (callback URLs and identity providers are kept: without OAuth they sign nobody in);
//! - the write list becomes the blueprint's (never a protected or the window attribute);
//! - token revocation on, access tokens 5 minutes, id tokens capped at one hour;
//! - `PreventUserExistenceErrors` becomes `ENABLED` only when unset.
//!
//! The secret is not a field of the update: the client keeps it.

use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::builders::UpdateUserPoolClientFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::UserPoolClientType;

use super::{AccessLifetime, client_update};
use crate::aws::CognitoClient;
use crate::lifecycle::provision::{Blueprint, ENROLLMENT_TOKEN_MINUTES, enrollment_flows};

/// `UpdateUserPoolClient` for the enrollment client `current` (a `DescribeUserPoolClient`
/// answer): the users' client's repair ([`client_update`]: every updatable field sent back, so
/// the two never differ in what they carry) with access tokens of
/// [`ENROLLMENT_TOKEN_MINUTES`], then the module's settings over it (a fluent builder's setter
/// replaces what an earlier one set).
pub(crate) fn enrollment_update(
    client: &CognitoClient,
    blueprint: &Blueprint,
    current: &UserPoolClientType,
) -> UpdateUserPoolClientFluentBuilder {
    let access = AccessLifetime::Minutes(ENROLLMENT_TOKEN_MINUTES);
    client_update(client, blueprint, current, access)
        .set_explicit_auth_flows(Some(enrollment_flows(Some(current))))
        .set_allowed_o_auth_flows(None)
        .set_allowed_o_auth_scopes(None)
        .allowed_o_auth_flows_user_pool_client(false)
}

#[cfg(test)]
mod tests;
