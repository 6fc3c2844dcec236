//! `UpdateUserPool` ([`pool_update`]) and the triggers' update ([`triggers_update`]).

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::operation::update_user_pool::UpdateUserPoolInput;
use aws_sdk_cognitoidentityprovider::primitives::DateTime;
use aws_sdk_cognitoidentityprovider::types::*;

use super::*;
use crate::config::AuthConfig;
use crate::lifecycle::provision::ProvisionRequest;

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
