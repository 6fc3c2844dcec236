//! The caller's own account, beyond attributes: [`SelfService::attributes`],
//! [`SelfService::mfa`], [`SelfService::sign_out`], [`SelfService::devices`] and
//! [`SelfService::forget_device`]. The user is always the verified token's, never one from
//! the request; every call is made with the server's credentials (`Admin*`).

use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::types::DeviceType;
use serde::Serialize;

use super::SelfService;
use super::attributes::is_developer_only;
use super::users::{attribute_map, date};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::aws::send_to_pool;

/// `GET /me/attributes`: the caller's user name and attributes (no developer-only `dev:` ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OwnAttributes {
    /// The user name.
    pub username: String,
    /// Every attribute but `dev:` ones, by name.
    pub attributes: BTreeMap<String, String>,
}

/// `GET /me/mfa`: the caller's MFA factors, as `totp`, `sms`, `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OwnMfa {
    /// Enabled factors.
    pub enabled: Vec<String>,
    /// The preferred factor, or `null`.
    pub preferred: Option<String>,
}

/// One remembered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Device {
    /// Cognito's device key (`DELETE /me/devices/{device_key}`).
    pub device_key: String,
    /// The name the device gave itself (`device_name`), if any.
    pub name: Option<String>,
    /// The last IP address it signed in from (`last_ip_used`), if known.
    pub last_ip: Option<String>,
    /// When it was remembered, RFC 3339.
    pub created_at: Option<String>,
    /// Its last sign-in, RFC 3339.
    pub last_authenticated_at: Option<String>,
    /// Its last change, RFC 3339.
    pub last_modified_at: Option<String>,
}

/// `GET /me/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeviceList {
    /// The caller's remembered devices.
    pub devices: Vec<Device>,
}

/// Cognito's names for factors, and the short ones the routes use.
fn factor_name(cognito: &str) -> String {
    match cognito {
        "SOFTWARE_TOKEN_MFA" => "totp".to_owned(),
        "SMS_MFA" => "sms".to_owned(),
        "EMAIL_OTP" => "email".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

fn own_mfa(out: &AdminGetUserOutput) -> OwnMfa {
    OwnMfa {
        enabled: out
            .user_mfa_setting_list()
            .iter()
            .map(|f| factor_name(f))
            .collect(),
        preferred: out
            .preferred_mfa_setting()
            .filter(|p| !p.is_empty())
            .map(factor_name),
    }
}

pub(super) fn device(value: &DeviceType) -> Device {
    let attribute = |name: &str| {
        value
            .device_attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value())
            .map(str::to_owned)
    };
    Device {
        device_key: value.device_key().unwrap_or_default().to_owned(),
        name: attribute("device_name"),
        last_ip: attribute("last_ip_used"),
        created_at: date(value.device_create_date()),
        last_authenticated_at: date(value.device_last_authenticated_date()),
        last_modified_at: date(value.device_last_modified_date()),
    }
}

/// Cognito's device keys: the region, `_`, and a UUID; at most 55 characters.
fn validate_device_key(key: &str) -> Result<(), AdminError> {
    let ok = !key.is_empty()
        && key.len() <= 55
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::InvalidRequest(
            "`device_key` must be 1 to 55 letters, digits, `_` or `-`".to_owned(),
        ))
    }
}

/// Pages of `AdminListDevices` read at most (60 devices each).
const MAX_DEVICE_PAGES: usize = 10;

impl SelfService {
    pub(super) async fn own_user(&self) -> Result<AdminGetUserOutput, AdminError> {
        let b = &self.binding;
        send!(
            b,
            b.client
                .admin_get_user()
                .user_pool_id(b.pool())
                .username(b.actor.username())
        )
        .map_err(|e| from_sdk(e, "AdminGetUser", CallKind::Other))
    }

    /// The caller's attributes (`AdminGetUser`), without developer-only `dev:` ones.
    pub async fn attributes(&self) -> Result<OwnAttributes, AdminError> {
        let b = &self.binding;
        b.audited(Action::GetOwnAttributes, b.actor.username(), None, async {
            let out = self.own_user().await?;
            let mut attributes = attribute_map(out.user_attributes());
            attributes.retain(|name, _| !is_developer_only(name));
            Ok(OwnAttributes {
                username: out.username().to_owned(),
                attributes,
            })
        })
        .await
    }

    /// The caller's MFA factors (`AdminGetUser`); read only.
    pub async fn mfa(&self) -> Result<OwnMfa, AdminError> {
        let b = &self.binding;
        b.audited(Action::GetOwnMfa, b.actor.username(), None, async {
            Ok(own_mfa(&self.own_user().await?))
        })
        .await
    }

    /// Ends every session of the caller (`AdminUserGlobalSignOut`) and, with a revocation list,
    /// refuses their tokens issued until now at once (shared when the list is).
    pub async fn sign_out(&self) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::SignOutSelf, b.actor.username(), None, async {
            send!(
                b,
                b.client
                    .admin_user_global_sign_out()
                    .user_pool_id(b.pool())
                    .username(b.actor.username())
            )
            .map_err(|e| from_sdk(e, "AdminUserGlobalSignOut", CallKind::Other))?;
            match &self.revocations {
                Some(revocations) => revocations
                    .revoke_user_shared(b.tenant.id(), b.actor.subject())
                    .await
                    .map_err(|_| AdminError::RevocationNotShared("Cognito signed you out")),
                None => Ok(()),
            }
        })
        .await
    }

    /// The caller's remembered devices (`AdminListDevices`).
    pub async fn devices(&self) -> Result<DeviceList, AdminError> {
        let b = &self.binding;
        b.audited(Action::ListOwnDevices, b.actor.username(), None, async {
            let mut devices = Vec::new();
            let mut token = None;
            for _ in 0..MAX_DEVICE_PAGES {
                let out = send!(
                    b,
                    b.client
                        .admin_list_devices()
                        .user_pool_id(b.pool())
                        .username(b.actor.username())
                        .limit(60)
                        .set_pagination_token(token.take())
                )
                .map_err(|e| from_sdk(e, "AdminListDevices", CallKind::Other))?;
                devices.extend(out.devices().iter().map(device));
                token = out.pagination_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            Ok(DeviceList { devices })
        })
        .await
    }

    /// Forgets one of the caller's remembered devices (`AdminForgetDevice`); a key that is not
    /// one of theirs is [`AdminError::DeviceNotFound`].
    pub async fn forget_device(&self, device_key: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::ForgetOwnDevice, b.actor.username(), None, async {
            validate_device_key(device_key)?;
            send!(
                b,
                b.client
                    .admin_forget_device()
                    .user_pool_id(b.pool())
                    .username(b.actor.username())
                    .device_key(device_key)
            )
            .map_err(|e| from_sdk(e, "AdminForgetDevice", CallKind::Device))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cognitoidentityprovider::primitives::DateTime;
    use aws_sdk_cognitoidentityprovider::types::AttributeType;

    use super::*;

    fn attribute(name: &str, value: &str) -> AttributeType {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .expect("attribute")
    }

    /// The shape `AdminListDevices` answers (moto has no device APIs, so the mapping is
    /// tested on SDK values built as Cognito's documented response fills them).
    #[test]
    fn devices_map_from_cognito_device_types() {
        let remembered = DeviceType::builder()
            .device_key("us-east-1_0a1b2c3d-1111-2222-3333-444455556666")
            .device_attributes(attribute("device_name", "Ann's laptop"))
            .device_attributes(attribute("last_ip_used", "192.0.2.7"))
            .device_attributes(attribute("device_status", "valid"))
            .device_create_date(DateTime::from_secs(1_700_000_000))
            .device_last_authenticated_date(DateTime::from_secs(1_700_000_600))
            .device_last_modified_date(DateTime::from_secs(1_700_000_300))
            .build();
        assert_eq!(
            serde_json::to_value(device(&remembered)).unwrap(),
            serde_json::json!({
                "device_key": "us-east-1_0a1b2c3d-1111-2222-3333-444455556666",
                "name": "Ann's laptop",
                "last_ip": "192.0.2.7",
                "created_at": "2023-11-14T22:13:20Z",
                "last_authenticated_at": "2023-11-14T22:23:20Z",
                "last_modified_at": "2023-11-14T22:18:20Z",
            })
        );
        let bare = DeviceType::builder().device_key("us-east-1_x").build();
        let bare = device(&bare);
        assert_eq!(
            (bare.name, bare.last_ip, bare.created_at),
            (None, None, None)
        );
    }

    #[test]
    fn device_keys_are_checked_before_cognito_is_called() {
        validate_device_key("us-east-1_0a1b2c3d-1111-2222-3333-444455556666").expect("valid");
        for bad in ["", "a/b", "a b", "../x", &"x".repeat(56)] {
            assert!(validate_device_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mfa_factors_use_short_names() {
        let out = AdminGetUserOutput::builder()
            .username("ann")
            .user_mfa_setting_list("SOFTWARE_TOKEN_MFA")
            .user_mfa_setting_list("SMS_MFA")
            .preferred_mfa_setting("SOFTWARE_TOKEN_MFA")
            .build()
            .expect("output");
        assert_eq!(
            serde_json::to_value(own_mfa(&out)).unwrap(),
            serde_json::json!({"enabled": ["totp", "sms"], "preferred": "totp"})
        );
        let none = AdminGetUserOutput::builder()
            .username("bob")
            .preferred_mfa_setting("")
            .build()
            .expect("output");
        assert_eq!(
            serde_json::to_value(own_mfa(&none)).unwrap(),
            serde_json::json!({"enabled": [], "preferred": null})
        );
    }
}
