//! The update requests, field by field, against fully populated `Describe*` answers.
//!
//! The SDK types have no serializer, so the fields are compared through their `{:#?}` output
//! (one top-level field per line, indented four spaces). A fully populated answer must have
//! no `None` field: when an SDK upgrade adds a field, the fixture fails until it sets it, and
//! then the round trip fails until the update carries it (or the field is listed here as
//! read-only, after checking the API reference).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cognitoidentityprovider::Config;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool::UpdateUserPoolInput;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::UpdateUserPoolClientInput;
use aws_sdk_cognitoidentityprovider::primitives::DateTime;
use aws_sdk_cognitoidentityprovider::types::*;

use super::*;
use crate::config::AuthConfig;
use crate::lifecycle::provision::ProvisionRequest;

pub(super) fn client() -> CognitoClient {
    CognitoClient::from_conf(
        Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::for_tests())
            .build(),
    )
}

fn blueprint() -> Blueprint {
    let config =
        AuthConfig::from_toml("[admin]\nself_service_attributes = ['name', 'locale']\n").unwrap();
    Blueprint::new(&config, ProvisionRequest::new("acme", "eu-west-1")).unwrap()
}

/// The top-level fields of a `{:#?}` rendering, whitespace removed from each value.
pub(super) fn fields(debug: &str) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in debug.lines().skip(1) {
        if line == "}" {
            break;
        }
        let top = line
            .strip_prefix("    ")
            .filter(|rest| !rest.starts_with(' '))
            .and_then(|rest| rest.split_once(": "))
            .filter(|(name, _)| {
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            });
        if let Some((name, value)) = top {
            fields.insert(name.to_owned(), value.to_owned());
            current = Some(name.to_owned());
        } else if let Some(name) = &current {
            fields.get_mut(name).unwrap().push_str(line.trim());
        }
    }
    for value in fields.values_mut() {
        value.retain(|c| !c.is_whitespace());
        if let Some(stripped) = value.strip_suffix(',') {
            *value = stripped.to_owned();
        }
    }
    fields
}

#[track_caller]
pub(super) fn assert_fully_populated(fields: &BTreeMap<String, String>) {
    let unset: Vec<&String> = fields
        .iter()
        .filter(|(_, v)| *v == "None" || *v == "0")
        .map(|(k, _)| k)
        .collect();
    assert!(
        unset.is_empty(),
        "the fixture leaves {unset:?} unset: set every field"
    );
}

fn minutes_units(refresh: TimeUnitsType) -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Days)
        .id_token(TimeUnitsType::Minutes)
        .refresh_token(refresh)
        .build()
}

/// An operator's app client with every field set, some of the crate's settings wrong: a
/// one-day access token, revocation off, a write list with a protected attribute, a
/// hand-added password flow.
pub(super) fn operator_client() -> UserPoolClientType {
    UserPoolClientType::builder()
        .user_pool_id("eu-west-1_Acme1")
        .client_name("cognito-authz-acme")
        .client_id("c1")
        .client_secret("secret")
        .last_modified_date(DateTime::from_secs(1_700_000_000))
        .creation_date(DateTime::from_secs(1_600_000_000))
        .refresh_token_validity(12)
        .access_token_validity(1)
        .id_token_validity(30)
        .token_validity_units(minutes_units(TimeUnitsType::Hours))
        .read_attributes("email")
        .read_attributes("custom:plan")
        .write_attributes("name")
        .write_attributes("custom:mfa_required")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
        .supported_identity_providers("COGNITO")
        .supported_identity_providers("Google")
        .callback_urls("https://app.acme.example/callback")
        .logout_urls("https://app.acme.example/bye")
        .default_redirect_uri("https://app.acme.example/callback")
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_scopes("email")
        .allowed_o_auth_flows_user_pool_client(true)
        .analytics_configuration(
            AnalyticsConfigurationType::builder()
                .application_id("pinpoint-app")
                .application_arn("arn:aws:mobiletargeting:eu-west-1:1:apps/x")
                .role_arn("arn:aws:iam::1:role/pinpoint")
                .external_id("ext")
                .user_data_shared(true)
                .build(),
        )
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Legacy)
        .enable_token_revocation(false)
        .enable_propagate_additional_user_context_data(true)
        .auth_session_validity(7)
        .refresh_token_rotation(
            RefreshTokenRotationType::builder()
                .feature(FeatureType::Disabled)
                .retry_grace_period_seconds(10)
                .build()
                .unwrap(),
        )
        .build()
}

fn client_input(current: &UserPoolClientType) -> UpdateUserPoolClientInput {
    client_update(&client(), &blueprint(), current)
        .as_input()
        .clone()
        .build()
        .unwrap()
}

/// Fields of `DescribeUserPoolClient` that `UpdateUserPoolClient` cannot take.
pub(super) const CLIENT_READ_ONLY: [&str; 3] =
    ["client_secret", "creation_date", "last_modified_date"];

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
    let described = fields(&format!("{current:#?}"));
    assert_fully_populated(&described);
    let input = client_input(&current);
    let sent = fields(&format!("{input:#?}"));
    for (name, value) in &described {
        if CLIENT_READ_ONLY.contains(&name.as_str()) || CLIENT_MANAGED.contains(&name.as_str()) {
            continue;
        }
        let carried = sent.get(name).unwrap_or_else(|| {
            panic!("{name} is in DescribeUserPoolClient but not in UpdateUserPoolClient")
        });
        // `refresh_token_validity` is a plain i32 in the answer, optional in the request.
        let expected = if name == "refresh_token_validity" {
            format!("Some({value},)")
        } else {
            value.clone()
        };
        assert_eq!(carried, &expected, "{name} was not sent back as it was");
    }
    for name in sent.keys() {
        assert!(
            described.contains_key(name),
            "UpdateUserPoolClient takes {name}, which the test does not know"
        );
    }
    // Client ids are redacted in Debug output: compare them directly.
    assert_eq!(input.client_id(), Some("c1"));
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

// `status` is deprecated but still in the answer (and its Debug output).
#[allow(deprecated)]
fn operator_pool() -> UserPoolType {
    let tags: HashMap<String, String> = [("cognito-authz:tenant".into(), "acme".into())].into();
    let acr: HashMap<String, AcrLevelConfigType> = [(
        "urn:acme:mfa".to_owned(),
        AcrLevelConfigType::builder()
            .acr_value("mfa")
            .build()
            .unwrap(),
    )]
    .into();
    UserPoolType::builder()
        .id("eu-west-1_Acme1")
        .name("cognito-authz-acme")
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(PasswordPolicyType::builder().minimum_length(14).build())
                .build(),
        )
        .deletion_protection(DeletionProtectionType::Active)
        .lambda_config(
            LambdaConfigType::builder()
                .custom_message("arn:aws:lambda:eu-west-1:1:function:msg")
                .build(),
        )
        .status(StatusType::Enabled)
        .last_modified_date(DateTime::from_secs(1_700_000_000))
        .creation_date(DateTime::from_secs(1_600_000_000))
        .schema_attributes(SchemaAttributeType::builder().name("email").build())
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .alias_attributes(AliasAttributeType::PreferredUsername)
        .username_attributes(UsernameAttributeType::Email)
        .sms_verification_message("code {####}")
        .email_verification_message("mail code {####}")
        .email_verification_subject("Your code")
        .verification_message_template(
            VerificationMessageTemplateType::builder()
                .default_email_option(DefaultEmailOptionType::ConfirmWithLink)
                .build(),
        )
        .sms_authentication_message("auth {####}")
        .user_attribute_update_settings(
            UserAttributeUpdateSettingsType::builder()
                .attributes_require_verification_before_update(VerifiedAttributeType::Email)
                .build(),
        )
        .mfa_configuration(UserPoolMfaType::Optional)
        .device_configuration(
            DeviceConfigurationType::builder()
                .challenge_required_on_new_device(true)
                .build(),
        )
        .estimated_number_of_users(42)
        .email_configuration(
            EmailConfigurationType::builder()
                .email_sending_account(EmailSendingAccountType::Developer)
                .source_arn("arn:aws:ses:eu-west-1:1:identity/acme.example")
                .build(),
        )
        .sms_configuration(
            SmsConfigurationType::builder()
                .sns_caller_arn("arn:aws:iam::1:role/sns")
                .external_id("sns-ext")
                .build(),
        )
        .set_user_pool_tags(Some(tags))
        .sms_configuration_failure("none")
        .email_configuration_failure("none")
        .domain("acme-login")
        .custom_domain("login.acme.example")
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(true)
                .build(),
        )
        .user_pool_add_ons(
            UserPoolAddOnsType::builder()
                .advanced_security_mode(AdvancedSecurityModeType::Enforced)
                .build()
                .unwrap(),
        )
        .username_configuration(
            UsernameConfigurationType::builder()
                .case_sensitive(false)
                .build()
                .unwrap(),
        )
        .arn("arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_Acme1")
        .account_recovery_setting(
            AccountRecoverySettingType::builder()
                .recovery_mechanisms(
                    RecoveryOptionType::builder()
                        .priority(1)
                        .name(RecoveryOptionNameType::VerifiedEmail)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .user_pool_tier(UserPoolTierType::Plus)
        .key_configuration(
            KeyConfigurationType::builder()
                .key_type(EncryptionKeyType::CustomerManagedKey)
                .kms_key_arn("arn:aws:kms:eu-west-1:1:key/mrk-1")
                .build(),
        )
        .issuer_configuration(
            IssuerConfigurationType::builder()
                .set_type(Some(IssuerType::Updated))
                .build(),
        )
        .set_acr_configuration(Some(acr))
        .build()
}

/// Fields of `DescribeUserPool` that `UpdateUserPool` cannot take (schema, aliases, username
/// settings and domains have operations of their own or are fixed at creation).
const POOL_READ_ONLY: [&str; 13] = [
    "status",
    "last_modified_date",
    "creation_date",
    "schema_attributes",
    "alias_attributes",
    "username_attributes",
    "estimated_number_of_users",
    "sms_configuration_failure",
    "email_configuration_failure",
    "domain",
    "custom_domain",
    "username_configuration",
    "arn",
];

/// Same setting, another name in the request.
const POOL_RENAMED: [(&str, &str); 2] = [("id", "user_pool_id"), ("name", "pool_name")];

#[test]
fn a_pool_update_sends_every_field_of_the_describe_answer_back() {
    let current = operator_pool();
    let described = fields(&format!("{current:#?}"));
    assert_fully_populated(&described);
    let input: UpdateUserPoolInput = pool_update(&client(), &current)
        .as_input()
        .clone()
        .build()
        .unwrap();
    let sent = fields(&format!("{input:#?}"));
    for (name, value) in &described {
        if POOL_READ_ONLY.contains(&name.as_str()) {
            continue;
        }
        let request_name = POOL_RENAMED
            .iter()
            .find(|(d, _)| d == name)
            .map_or(name.as_str(), |(_, r)| r);
        let carried = sent
            .get(request_name)
            .unwrap_or_else(|| panic!("{name} is in DescribeUserPool but not in UpdateUserPool"));
        assert_eq!(carried, value, "{name} was not sent back as it was");
    }
    for name in sent.keys() {
        assert!(
            described.contains_key(name) || POOL_RENAMED.iter().any(|(_, r)| r == name),
            "UpdateUserPool takes {name}, which the test does not know"
        );
    }
}

fn operator_mfa(mode: UserPoolMfaType) -> GetUserPoolMfaConfigOutput {
    GetUserPoolMfaConfigOutput::builder()
        .sms_mfa_configuration(
            SmsMfaConfigType::builder()
                .sms_authentication_message("code {####}")
                .sms_configuration(
                    SmsConfigurationType::builder()
                        .sns_caller_arn("arn:aws:iam::1:role/sns")
                        .build(),
                )
                .build(),
        )
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(false).build(),
        )
        .email_mfa_configuration(
            EmailMfaConfigType::builder()
                .message("code {####}")
                .subject("Your code")
                .build(),
        )
        .mfa_configuration(mode)
        .web_authn_configuration(
            WebAuthnConfigurationType::builder()
                .relying_party_id("login.acme.example")
                .user_verification(UserVerificationType::Required)
                .build(),
        )
        .build()
}

#[test]
fn turning_totp_on_sends_the_other_factors_back() {
    for (mode, kept) in [
        (UserPoolMfaType::On, UserPoolMfaType::On),
        (UserPoolMfaType::Optional, UserPoolMfaType::Optional),
        (UserPoolMfaType::Off, UserPoolMfaType::Optional),
    ] {
        let current = operator_mfa(mode.clone());
        let mut described = fields(&format!("{current:#?}"));
        described.remove("_request_id");
        assert_fully_populated(&described);
        let input = mfa_update(&client(), "eu-west-1_Acme1", &current)
            .as_input()
            .clone()
            .build()
            .unwrap();
        let sent = fields(&format!("{input:#?}"));
        for (name, value) in &described {
            match name.as_str() {
                "software_token_mfa_configuration" => assert_eq!(
                    input.software_token_mfa_configuration().map(|t| t.enabled),
                    Some(true)
                ),
                "mfa_configuration" => {
                    assert_eq!(input.mfa_configuration(), Some(&kept), "{mode:?}")
                }
                _ => assert_eq!(
                    sent.get(name),
                    Some(value),
                    "{name} was not sent back as it was"
                ),
            }
        }
        assert_eq!(input.user_pool_id(), Some("eu-west-1_Acme1"));
        for name in sent.keys() {
            assert!(
                described.contains_key(name) || name == "user_pool_id",
                "SetUserPoolMfaConfig takes {name}, which the test does not know"
            );
        }
    }
}

#[test]
fn attaching_triggers_keeps_the_other_triggers_and_never_drops_them() {
    let config = AuthConfig::from_toml("").unwrap();
    let mut request = ProvisionRequest::new("acme", "eu-west-1");
    request.post_auth_lambda = Some("arn:aws:lambda:eu-west-1:1:function:post".into());
    let b = Blueprint::new(&config, request).unwrap();
    let update = |pool: &UserPoolType| {
        triggers_update(&client(), &b, pool)
            .as_input()
            .clone()
            .build()
            .unwrap()
    };
    let pool = operator_pool();
    let lambda = update(&pool).lambda_config.unwrap();
    assert_eq!(
        lambda.custom_message(),
        Some("arn:aws:lambda:eu-west-1:1:function:msg")
    );
    assert_eq!(
        lambda.post_authentication(),
        Some("arn:aws:lambda:eu-west-1:1:function:post")
    );
    // Attached meanwhile: the update sends the triggers back rather than none.
    let mut attached = pool.clone();
    attached.lambda_config = Some(lambda.clone());
    assert_eq!(update(&attached).lambda_config, Some(lambda));
}
