//! MFA: [`MfaPreference`] and [`TenantAdmin::set_mfa_preference`].

use aws_sdk_cognitoidentityprovider::types::{
    EmailMfaSettingsType, SmsMfaSettingsType, SoftwareTokenMfaSettingsType,
};
use serde::{Deserialize, Serialize};

use super::{TenantAdmin, validate_name};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

/// One MFA factor's setting in [`MfaPreference`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaSetting {
    /// The factor is disabled (and not preferred).
    Off,
    /// The factor is enabled, not preferred.
    Enabled,
    /// The factor is enabled and preferred. At most one factor may be preferred.
    Preferred,
}

impl MfaSetting {
    fn enabled(self) -> bool {
        self != MfaSetting::Off
    }

    fn preferred(self) -> bool {
        self == MfaSetting::Preferred
    }
}

/// A user's MFA preference, as set by `AdminSetUserMFAPreference`. A factor left `None` is
/// not changed. JSON: `{"sms": "off" | "enabled" | "preferred", "totp": ..., "email": ...}`.
///
/// ```
/// use cognito_authz::admin::{MfaPreference, MfaSetting};
///
/// let preference = MfaPreference { sms: Some(MfaSetting::Preferred), ..Default::default() };
/// assert!(preference.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaPreference {
    /// SMS text message MFA (the user needs a `phone_number`).
    #[serde(default)]
    pub sms: Option<MfaSetting>,
    /// Authenticator app (TOTP) MFA; Cognito accepts `enabled`/`preferred` only once the user
    /// has verified a software token.
    #[serde(default)]
    pub totp: Option<MfaSetting>,
    /// Email MFA (Essentials or Plus feature plan, with SES configured).
    #[serde(default)]
    pub email: Option<MfaSetting>,
}

impl MfaPreference {
    /// Checks that at least one factor is given and at most one is preferred.
    pub fn validate(&self) -> Result<(), AdminError> {
        let factors = [self.sms, self.totp, self.email];
        if factors.iter().all(Option::is_none) {
            return Err(AdminError::InvalidRequest(
                "give at least one of `sms`, `totp`, `email`".to_owned(),
            ));
        }
        if factors.iter().flatten().filter(|s| s.preferred()).count() > 1 {
            return Err(AdminError::InvalidRequest(
                "at most one MFA factor can be `preferred`".to_owned(),
            ));
        }
        Ok(())
    }
}

impl TenantAdmin {
    /// Sets another user's MFA preference (`AdminSetUserMFAPreference`).
    pub async fn set_mfa_preference(
        &self,
        username: &str,
        preference: &MfaPreference,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::SetMfaPreference, username, None, async {
            validate_name("user name", username)?;
            preference.validate()?;
            let operation = b
                .client
                .admin_set_user_mfa_preference()
                .user_pool_id(b.pool())
                .username(username)
                .set_sms_mfa_settings(preference.sms.map(|s| {
                    SmsMfaSettingsType::builder()
                        .enabled(s.enabled())
                        .preferred_mfa(s.preferred())
                        .build()
                }))
                .set_software_token_mfa_settings(preference.totp.map(|s| {
                    SoftwareTokenMfaSettingsType::builder()
                        .enabled(s.enabled())
                        .preferred_mfa(s.preferred())
                        .build()
                }))
                .set_email_mfa_settings(preference.email.map(|s| {
                    EmailMfaSettingsType::builder()
                        .enabled(s.enabled())
                        .preferred_mfa(s.preferred())
                        .build()
                }));
            send!(b, operation)
                .map_err(|e| from_sdk(e, "AdminSetUserMFAPreference", CallKind::Other))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mfa_preference_json_and_validation() {
        let p: MfaPreference = serde_json::from_str(r#"{"sms":"preferred","totp":"off"}"#).unwrap();
        assert_eq!(p.sms, Some(MfaSetting::Preferred));
        assert_eq!(p.totp, Some(MfaSetting::Off));
        assert!(p.validate().is_ok());
        let both: MfaPreference =
            serde_json::from_str(r#"{"sms":"preferred","totp":"preferred"}"#).unwrap();
        assert!(both.validate().is_err());
        assert!(MfaPreference::default().validate().is_err());
        assert!(serde_json::from_str::<MfaPreference>(r#"{"sms":"on"}"#).is_err());
        assert!(serde_json::from_str::<MfaPreference>(r#"{"pool":"x","sms":"off"}"#).is_err());
    }
}
