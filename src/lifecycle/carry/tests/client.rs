//! `UpdateUserPoolClient` for the users' app client ([`client_update`]).

use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::UpdateUserPoolClientInput;
use aws_sdk_cognitoidentityprovider::types::*;

use super::*;
use crate::config::AuthConfig;
use crate::lifecycle::provision::ProvisionRequest;

fn blueprint() -> Blueprint {
    let config =
        AuthConfig::from_toml("[admin]\nself_service_attributes = ['name', 'locale']\n").unwrap();
    Blueprint::new(&config, ProvisionRequest::new("acme", "eu-west-1")).unwrap()
}

fn client_input(current: &UserPoolClientType) -> UpdateUserPoolClientInput {
    client_update(&client(), &blueprint(), current, AccessLifetime::Capped)
        .as_input()
        .clone()
        .build()
        .unwrap()
}

/// Fields the crate sets; each is checked on its own below.
const CLIENT_MANAGED: [&str; 7] = [
    "write_attributes",
    "explicit_auth_flows",
    "enable_token_revocation",
    "access_token_validity",
    "id_token_validity",
    "token_validity_units",
    "prevent_user_existence_errors",
];

#[test]
fn a_client_repair_sends_every_field_of_the_describe_answer_back() {
    let current = operator_client();
    let input = client_input(&current);
    assert_client_carried(&current, &input, &CLIENT_MANAGED);
    assert_eq!(input.user_pool_id(), Some("eu-west-1_Acme1"));

    // What the crate manages.
    assert_eq!(input.write_attributes(), ["name", "locale"]);
    assert_eq!(
        input.explicit_auth_flows(),
        [
            ExplicitAuthFlowsType::AllowUserPasswordAuth,
            ExplicitAuthFlowsType::AllowCustomAuth,
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
        ],
        "the operator's flows are kept, the crate's (with POST /me/password's) are added"
    );
    assert_eq!(input.enable_token_revocation(), Some(true));
    // One day is over the cap; 30 minutes is kept as it was.
    assert_eq!(input.access_token_validity(), Some(ACCESS_TOKEN_MINUTES));
    assert_eq!(input.id_token_validity(), Some(30));
    let units = input.token_validity_units().unwrap();
    assert_eq!(units.access_token(), Some(&TimeUnitsType::Minutes));
    assert_eq!(units.id_token(), Some(&TimeUnitsType::Minutes));
    // The refresh token keeps its unit: 12 hours must not become 12 days.
    assert_eq!(units.refresh_token(), Some(&TimeUnitsType::Hours));
    assert_eq!(input.refresh_token_validity(), Some(12));
    // The operator's explicit choice stays.
    assert_eq!(
        input.prevent_user_existence_errors(),
        Some(&PreventUserExistenceErrorTypes::Legacy)
    );
}

#[test]
fn a_repaired_client_is_right_and_a_bare_one_gets_safe_defaults() {
    let b = blueprint();
    let input = client_input(&operator_client());
    // What the update leaves is what the plan accepts: a re-run changes nothing.
    let after = UserPoolClientType::builder()
        .set_write_attributes(input.write_attributes.clone())
        .set_explicit_auth_flows(input.explicit_auth_flows.clone())
        .set_enable_token_revocation(input.enable_token_revocation)
        .set_access_token_validity(input.access_token_validity)
        .set_id_token_validity(input.id_token_validity)
        .set_token_validity_units(input.token_validity_units.clone())
        .build();
    assert!(b.client_is_right(&after));

    let bare = UserPoolClientType::builder()
        .user_pool_id("eu-west-1_Acme1")
        .client_id("c1")
        .build();
    let input = client_input(&bare);
    assert_eq!(input.refresh_token_validity(), None, "0 is not a lifetime");
    assert_eq!(input.callback_urls(), [] as [String; 0]);
    assert_eq!(
        input.access_token_validity(),
        None,
        "the default hour is kept"
    );
    assert_eq!(
        input.prevent_user_existence_errors(),
        Some(&PreventUserExistenceErrorTypes::Enabled)
    );
}

#[test]
fn legacy_flows_become_their_allow_names_and_rotation_drops_refresh_auth() {
    let legacy = UserPoolClientType::builder()
        .explicit_auth_flows(ExplicitAuthFlowsType::AdminNoSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::UserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::CustomAuthFlowOnly)
        .build();
    assert_eq!(
        client_input(&legacy).explicit_auth_flows(),
        [
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
            ExplicitAuthFlowsType::AllowUserPasswordAuth,
            ExplicitAuthFlowsType::AllowCustomAuth,
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        ]
    );
    // Cognito refuses ALLOW_REFRESH_TOKEN_AUTH on a client that rotates refresh tokens.
    let rotating = UserPoolClientType::builder()
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .refresh_token_rotation(
            RefreshTokenRotationType::builder()
                .feature(FeatureType::Enabled)
                .build()
                .unwrap(),
        )
        .build();
    assert_eq!(
        client_input(&rotating).explicit_auth_flows(),
        [
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
        ]
    );
    let b = blueprint();
    let mut right = rotating.clone();
    right.write_attributes = Some(b.write_attributes.clone());
    right.enable_token_revocation = Some(true);
    assert!(
        !b.client_is_right(&right),
        "without ALLOW_ADMIN_USER_PASSWORD_AUTH, POST /me/password cannot sign in: repair"
    );
    right.explicit_auth_flows = client_input(&rotating).explicit_auth_flows.clone();
    assert!(
        b.client_is_right(&right),
        "no repair loop on a rotating client"
    );
}

#[test]
fn a_client_without_the_admin_password_flow_is_repaired_and_keeps_its_flows() {
    // What `tenant create` made before POST /me/password existed: SRP and refresh only.
    let b = blueprint();
    let older = UserPoolClientType::builder()
        .user_pool_id("eu-west-1_Acme1")
        .client_id("c1")
        .set_write_attributes(Some(b.write_attributes.clone()))
        .enable_token_revocation(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
        .build();
    assert!(!b.client_is_right(&older), "the missing flow is a repair");
    let input = client_input(&older);
    assert_eq!(
        input.explicit_auth_flows(),
        [
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
            ExplicitAuthFlowsType::AllowCustomAuth,
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
        ]
    );
    assert!(
        !input
            .explicit_auth_flows()
            .contains(&ExplicitAuthFlowsType::AllowUserPasswordAuth),
        "the public password flow is never added"
    );
}
