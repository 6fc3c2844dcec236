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
use aws_sdk_cognitoidentityprovider::types::{
    PreventUserExistenceErrorTypes, TimeUnitsType, TokenValidityUnitsType, UserPoolClientType,
};

use super::capped;
use crate::aws::CognitoClient;
use crate::lifecycle::provision::{Blueprint, ENROLLMENT_TOKEN_MINUTES, enrollment_flows};

/// `UpdateUserPoolClient` for the enrollment client `current` (a `DescribeUserPoolClient`
/// answer): every updatable field sent back, the module's settings applied.
pub(crate) fn enrollment_update(
    client: &CognitoClient,
    blueprint: &Blueprint,
    current: &UserPoolClientType,
) -> UpdateUserPoolClientFluentBuilder {
    let c = current;
    let units = c.token_validity_units();
    let (id, id_unit) = capped(
        c.id_token_validity,
        units.and_then(TokenValidityUnitsType::id_token),
    );
    let units = TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Minutes)
        .set_id_token(id_unit)
        .set_refresh_token(units.and_then(|u| u.refresh_token.clone()))
        .build();
    client
        .update_user_pool_client()
        .set_user_pool_id(c.user_pool_id.clone())
        .set_client_id(c.client_id.clone())
        .set_client_name(c.client_name.clone())
        // 0 means "unset" in the SDK's type; Cognito reads 0 as its default (30 days) too.
        .set_refresh_token_validity(
            (c.refresh_token_validity != 0).then_some(c.refresh_token_validity),
        )
        .access_token_validity(ENROLLMENT_TOKEN_MINUTES)
        .set_id_token_validity(id)
        .token_validity_units(units)
        .set_read_attributes(c.read_attributes.clone())
        .set_write_attributes(Some(blueprint.write_attributes.clone()))
        .set_explicit_auth_flows(Some(enrollment_flows(Some(c))))
        .set_supported_identity_providers(c.supported_identity_providers.clone())
        .set_callback_urls(c.callback_urls.clone())
        .set_logout_urls(c.logout_urls.clone())
        .set_default_redirect_uri(c.default_redirect_uri.clone())
        .set_allowed_o_auth_flows(None)
        .set_allowed_o_auth_scopes(None)
        .allowed_o_auth_flows_user_pool_client(false)
        .set_analytics_configuration(c.analytics_configuration.clone())
        .prevent_user_existence_errors(
            c.prevent_user_existence_errors
                .clone()
                .unwrap_or(PreventUserExistenceErrorTypes::Enabled),
        )
        .enable_token_revocation(true)
        .set_enable_propagate_additional_user_context_data(
            c.enable_propagate_additional_user_context_data,
        )
        .set_auth_session_validity(c.auth_session_validity)
        .set_refresh_token_rotation(c.refresh_token_rotation.clone())
}

#[cfg(test)]
mod tests;
