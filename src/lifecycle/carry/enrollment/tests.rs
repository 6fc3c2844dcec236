//! The enrollment client's repair request, field by field, against a fully populated
//! `DescribeUserPoolClient` answer (moto merges updates, so only the request can show a field
//! Cognito would reset).

use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::UpdateUserPoolClientInput;
use aws_sdk_cognitoidentityprovider::types::*;

use super::*;
use crate::config::AuthConfig;
use crate::lifecycle::carry::tests::{assert_client_carried, client, operator_client};
use crate::lifecycle::provision::{ENROLLMENT_FLOWS, ProvisionRequest};

fn blueprint() -> Blueprint {
    let config = AuthConfig::from_toml(
        "[admin]\nself_service_attributes = ['name', 'locale']\n\
         [triggers]\nmfa_enrollment_window_attribute = 'custom:mfa_enroll_until'\n",
    )
    .unwrap();
    Blueprint::new(&config, ProvisionRequest::new("acme", "eu-west-1")).unwrap()
}

/// A hand-made enrollment client, loosened: SRP and a custom flow added, the hosted UI on,
/// the window attribute writable, revocation off, one-day access tokens; every field set.
fn loosened() -> UserPoolClientType {
    let mut c = operator_client();
    c.client_name = Some("acme-totp-enrollment".into());
    c.explicit_auth_flows = Some(vec![
        ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
        ExplicitAuthFlowsType::AllowUserSrpAuth,
        ExplicitAuthFlowsType::AllowCustomAuth,
    ]);
    c.write_attributes = Some(vec!["name".into(), "custom:mfa_enroll_until".into()]);
    c
}

fn input(current: &UserPoolClientType) -> UpdateUserPoolClientInput {
    enrollment_update(&client(), &blueprint(), current)
        .as_input()
        .clone()
        .build()
        .unwrap()
}

/// Fields the repair sets; each is checked on its own below.
const MANAGED: [&str; 10] = [
    "write_attributes",
    "explicit_auth_flows",
    "enable_token_revocation",
    "access_token_validity",
    "id_token_validity",
    "token_validity_units",
    "prevent_user_existence_errors",
    "allowed_o_auth_flows",
    "allowed_o_auth_scopes",
    "allowed_o_auth_flows_user_pool_client",
];

#[test]
fn an_enrollment_repair_sends_every_field_of_the_describe_answer_back() {
    let current = loosened();
    let input = input(&current);
    assert_client_carried(&current, &input, &MANAGED);
    assert_eq!(input.user_pool_id(), Some("eu-west-1_Acme1"));
    assert_eq!(input.client_name(), Some("acme-totp-enrollment"));
    // Kept, though OAuth is off: without OAuth flows they sign nobody in.
    assert_eq!(
        input.callback_urls(),
        ["https://app.acme.example/callback".to_owned()]
    );
    assert_eq!(input.supported_identity_providers(), ["COGNITO", "Google"]);

    // What the repair manages.
    assert_eq!(
        input.explicit_auth_flows(),
        ENROLLMENT_FLOWS,
        "exactly the server's flows: SRP and custom dropped"
    );
    assert_eq!(input.write_attributes(), ["name", "locale"]);
    assert_eq!(input.allowed_o_auth_flows_user_pool_client(), Some(false));
    assert_eq!(input.allowed_o_auth_flows(), [] as [OAuthFlowType; 0]);
    assert!(input.allowed_o_auth_flows.is_none());
    assert!(input.allowed_o_auth_scopes.is_none());
    assert_eq!(input.enable_token_revocation(), Some(true));
    assert_eq!(input.access_token_validity(), Some(5));
    assert_eq!(input.id_token_validity(), Some(30), "30 minutes is kept");
    let units = input.token_validity_units().unwrap();
    assert_eq!(units.access_token(), Some(&TimeUnitsType::Minutes));
    assert_eq!(units.id_token(), Some(&TimeUnitsType::Minutes));
    assert_eq!(units.refresh_token(), Some(&TimeUnitsType::Hours));
    assert_eq!(input.refresh_token_validity(), Some(12));
    assert_eq!(
        input.prevent_user_existence_errors(),
        Some(&PreventUserExistenceErrorTypes::Legacy)
    );
}

#[test]
fn a_repaired_enrollment_client_is_right() {
    let b = blueprint();
    let input = input(&loosened());
    let after = UserPoolClientType::builder()
        .client_secret("kept")
        .set_write_attributes(input.write_attributes.clone())
        .set_explicit_auth_flows(input.explicit_auth_flows.clone())
        .set_allowed_o_auth_flows_user_pool_client(input.allowed_o_auth_flows_user_pool_client)
        .set_enable_token_revocation(input.enable_token_revocation)
        .set_access_token_validity(input.access_token_validity)
        .set_id_token_validity(input.id_token_validity)
        .set_token_validity_units(input.token_validity_units.clone())
        .build();
    assert!(b.enrollment_client_is_right(&after));
    assert!(!b.enrollment_client_is_right(&loosened()));
}

#[test]
fn rotating_refresh_tokens_drop_the_refresh_flow() {
    let mut current = loosened();
    current.refresh_token_rotation = Some(
        RefreshTokenRotationType::builder()
            .feature(FeatureType::Enabled)
            .build()
            .unwrap(),
    );
    assert_eq!(
        input(&current).explicit_auth_flows(),
        [ExplicitAuthFlowsType::AllowAdminUserPasswordAuth],
        "Cognito refuses ALLOW_REFRESH_TOKEN_AUTH with rotation"
    );
}
