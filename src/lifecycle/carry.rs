//! Update requests that keep every setting they do not manage.
//!
//! Cognito's `UpdateUserPool` and `UpdateUserPoolClient` are replacements, not patches: "If you
//! don't provide a value for an attribute, Amazon Cognito sets it to its default value." A
//! repair that sent only the crate's settings would wipe an app client's callback URLs, OAuth
//! flows and scopes, identity providers and refresh-token lifetime, and break the tenant's
//! hosted sign-in. So each update starts from the `Describe*` answer and sends every
//! updatable field back; only what the crate manages changes:
//!
//! - app client ([`client_update`] with [`AccessLifetime::Capped`]): the write list becomes
//!   the blueprint's; the sign-in flows the crate needs (SRP, refresh, and the admin password
//!   flow `POST /me/password` signs in with) are added to the operator's ([`required_flows`]);
//!   token revocation is turned on; access and id tokens are capped at
//!   [`ACCESS_TOKEN_MINUTES`] (shorter lifetimes are kept); `PreventUserExistenceErrors`
//!   becomes `ENABLED` only when unset;
//! - user pool ([`pool_update`]): nothing; the caller sets the one field it changes;
//! - MFA ([`mfa_update`], `SetUserPoolMfaConfig`, which resets the factors it is not given):
//!   TOTP is turned on; the SMS, email and passkey settings are sent back; MFA stays `ON`
//!   when on, else becomes `OPTIONAL`.
//!
//! - TOTP enrollment client ([`enrollment_update`], in `enrollment`): the same carry
//!   ([`client_update`] with a fixed [`AccessLifetime::Minutes`]), with the server-only
//!   settings applied.
//!
//! moto merges updates instead of resetting, so an emulator cannot catch a dropped field: the
//! tests check the request itself, field by field, against a fully populated `Describe*` answer.

use aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput;
use aws_sdk_cognitoidentityprovider::operation::set_user_pool_mfa_config::builders::SetUserPoolMfaConfigFluentBuilder;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::builders::UpdateUserPoolClientFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, FeatureType, PreventUserExistenceErrorTypes, SoftwareTokenMfaConfigType,
    TimeUnitsType, TokenValidityUnitsType, UserPoolClientType, UserPoolMfaType, UserPoolType,
};

mod enrollment;

pub(crate) use enrollment::enrollment_update;

use super::pool_audit::validity_seconds;
use super::provision::{ACCESS_TOKEN_MINUTES, AUTH_FLOWS, Blueprint};
use crate::aws::CognitoClient;

/// The sign-in flows the crate's app client needs: [`AUTH_FLOWS`] (SRP, refresh and the admin
/// password flow of `POST /me/password`), without refresh when the client rotates refresh
/// tokens. With rotation on, Cognito refuses `ALLOW_REFRESH_TOKEN_AUTH` (refreshes go through
/// `GetTokensFromRefreshToken` instead), so asking for it would make every repair fail.
pub(crate) fn required_flows(client: Option<&UserPoolClientType>) -> Vec<ExplicitAuthFlowsType> {
    let rotates = client
        .and_then(UserPoolClientType::refresh_token_rotation)
        .is_some_and(|r| r.feature == FeatureType::Enabled);
    AUTH_FLOWS
        .into_iter()
        .filter(|f| !(rotates && *f == ExplicitAuthFlowsType::AllowRefreshTokenAuth))
        .collect()
}

/// The operator's flows with the required ones added. Legacy names (`ADMIN_NO_SRP_AUTH`,
/// `CUSTOM_AUTH_FLOW_ONLY`, `USER_PASSWORD_AUTH`) cannot be sent next to `ALLOW_*` ones, so they
/// become their `ALLOW_*` equivalents: what the operator allowed stays allowed.
fn merged_flows(client: &UserPoolClientType) -> Vec<ExplicitAuthFlowsType> {
    let mut flows: Vec<ExplicitAuthFlowsType> = Vec::new();
    let current = client.explicit_auth_flows().iter().map(|f| match f {
        ExplicitAuthFlowsType::AdminNoSrpAuth => ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
        ExplicitAuthFlowsType::CustomAuthFlowOnly => ExplicitAuthFlowsType::AllowCustomAuth,
        ExplicitAuthFlowsType::UserPasswordAuth => ExplicitAuthFlowsType::AllowUserPasswordAuth,
        other => other.clone(),
    });
    for flow in current.chain(required_flows(Some(client))) {
        if !flows.contains(&flow) {
            flows.push(flow);
        }
    }
    flows
}

/// A token lifetime at most [`ACCESS_TOKEN_MINUTES`]: the current one (value and unit) when it
/// is within, else the cap in minutes.
fn capped(
    value: Option<i32>,
    unit: Option<&TimeUnitsType>,
) -> (Option<i32>, Option<TimeUnitsType>) {
    if validity_seconds(value, unit) <= max_token_seconds() {
        (value, unit.cloned())
    } else {
        (Some(ACCESS_TOKEN_MINUTES), Some(TimeUnitsType::Minutes))
    }
}

/// The longest access or id token lifetime the crate's app client keeps.
pub(crate) fn max_token_seconds() -> i64 {
    i64::from(ACCESS_TOKEN_MINUTES) * 60
}

/// The access-token lifetime an app client's repair sends: what differs between the users'
/// client and the enrollment client (every other field is carried the same way).
#[derive(Clone, Copy, Debug)]
pub(crate) enum AccessLifetime {
    /// The client's own, capped at [`ACCESS_TOKEN_MINUTES`] (the users' client).
    Capped,
    /// Exactly this many minutes (the enrollment client's
    /// [`ENROLLMENT_TOKEN_MINUTES`](crate::lifecycle::provision::ENROLLMENT_TOKEN_MINUTES)).
    Minutes(i32),
}

/// `UpdateUserPoolClient` for `current` (a `DescribeUserPoolClient` answer): every updatable
/// field of `current` sent back, with the crate's settings of `blueprint` applied and the
/// access token given `access` (see the module docs).
pub(crate) fn client_update(
    client: &CognitoClient,
    blueprint: &Blueprint,
    current: &UserPoolClientType,
    access: AccessLifetime,
) -> UpdateUserPoolClientFluentBuilder {
    let c = current;
    let units = c.token_validity_units();
    let (access, access_unit) = match access {
        AccessLifetime::Capped => capped(
            c.access_token_validity,
            units.and_then(TokenValidityUnitsType::access_token),
        ),
        AccessLifetime::Minutes(minutes) => (Some(minutes), Some(TimeUnitsType::Minutes)),
    };
    let (id, id_unit) = capped(
        c.id_token_validity,
        units.and_then(TokenValidityUnitsType::id_token),
    );
    let units = TokenValidityUnitsType::builder()
        .set_access_token(access_unit)
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
        .set_access_token_validity(access)
        .set_id_token_validity(id)
        .token_validity_units(units)
        .set_read_attributes(c.read_attributes.clone())
        .set_write_attributes(Some(blueprint.write_attributes.clone()))
        .set_explicit_auth_flows(Some(merged_flows(c)))
        .set_supported_identity_providers(c.supported_identity_providers.clone())
        .set_callback_urls(c.callback_urls.clone())
        .set_logout_urls(c.logout_urls.clone())
        .set_default_redirect_uri(c.default_redirect_uri.clone())
        .set_allowed_o_auth_flows(c.allowed_o_auth_flows.clone())
        .set_allowed_o_auth_scopes(c.allowed_o_auth_scopes.clone())
        .set_allowed_o_auth_flows_user_pool_client(c.allowed_o_auth_flows_user_pool_client)
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

/// `UpdateUserPool` for `pool` (a `DescribeUserPool` answer) that changes nothing: every
/// updatable field sent back. The caller sets what it changes.
pub(crate) fn pool_update(
    client: &CognitoClient,
    pool: &UserPoolType,
) -> UpdateUserPoolFluentBuilder {
    client
        .update_user_pool()
        .set_user_pool_id(pool.id.clone())
        .set_pool_name(pool.name.clone())
        .set_policies(pool.policies.clone())
        .set_deletion_protection(pool.deletion_protection.clone())
        .set_lambda_config(pool.lambda_config.clone())
        .set_auto_verified_attributes(pool.auto_verified_attributes.clone())
        .set_sms_verification_message(pool.sms_verification_message.clone())
        .set_email_verification_message(pool.email_verification_message.clone())
        .set_email_verification_subject(pool.email_verification_subject.clone())
        .set_verification_message_template(pool.verification_message_template.clone())
        .set_sms_authentication_message(pool.sms_authentication_message.clone())
        .set_user_attribute_update_settings(pool.user_attribute_update_settings.clone())
        .set_mfa_configuration(pool.mfa_configuration.clone())
        .set_device_configuration(pool.device_configuration.clone())
        .set_email_configuration(pool.email_configuration.clone())
        .set_sms_configuration(pool.sms_configuration.clone())
        .set_user_pool_tags(pool.user_pool_tags.clone())
        .set_admin_create_user_config(pool.admin_create_user_config.clone())
        .set_user_pool_add_ons(pool.user_pool_add_ons.clone())
        .set_account_recovery_setting(pool.account_recovery_setting.clone())
        .set_user_pool_tier(pool.user_pool_tier.clone())
        .set_key_configuration(pool.key_configuration.clone())
        .set_issuer_configuration(pool.issuer_configuration.clone())
        .set_acr_configuration(pool.acr_configuration.clone())
}

/// `UpdateUserPool` attaching `blueprint`'s triggers to `pool` (a `DescribeUserPool` answer),
/// over its other triggers and settings. Triggers found already in place (attached since the
/// plan was made) are sent back unchanged, never dropped.
pub(crate) fn triggers_update(
    client: &CognitoClient,
    blueprint: &Blueprint,
    pool: &UserPoolType,
) -> UpdateUserPoolFluentBuilder {
    let lambda = blueprint
        .lambda_config(pool.lambda_config())
        .or_else(|| pool.lambda_config.clone());
    pool_update(client, pool).set_lambda_config(lambda)
}

/// `SetUserPoolMfaConfig` for pool `pool_id`, whose settings are `current` (a
/// `GetUserPoolMfaConfig` answer): TOTP on, every other factor's settings sent back, MFA kept
/// `ON` when on, else `OPTIONAL`.
pub(crate) fn mfa_update(
    client: &CognitoClient,
    pool_id: &str,
    current: &GetUserPoolMfaConfigOutput,
) -> SetUserPoolMfaConfigFluentBuilder {
    let mode = if current.mfa_configuration == Some(UserPoolMfaType::On) {
        UserPoolMfaType::On
    } else {
        UserPoolMfaType::Optional
    };
    client
        .set_user_pool_mfa_config()
        .user_pool_id(pool_id)
        .set_sms_mfa_configuration(current.sms_mfa_configuration.clone())
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .set_email_mfa_configuration(current.email_mfa_configuration.clone())
        .mfa_configuration(mode)
        .set_web_authn_configuration(current.web_authn_configuration.clone())
}

#[cfg(test)]
mod tests;
