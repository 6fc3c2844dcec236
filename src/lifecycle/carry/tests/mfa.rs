//! `SetUserPoolMfaConfig` ([`mfa_update`]).

use aws_sdk_cognitoidentityprovider::operation::get_user_pool_mfa_config::GetUserPoolMfaConfigOutput;
use aws_sdk_cognitoidentityprovider::types::*;

use super::*;

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
