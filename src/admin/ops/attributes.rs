//! Attributes: [`TenantAdmin::update_attributes`], and what a user may change on their own
//! account ([`SelfService`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cognitoidentityprovider::types::AttributeType;

use super::{Binding, TenantAdmin, validate_name};
use crate::admin::audit::Action;
use crate::admin::error::{CallKind, from_sdk};
use crate::admin::{AdminError, CognitoClient};
use crate::aws::{DEFAULT_MFA_REQUIRED_ATTRIBUTE, send_to_pool};
use crate::principal::Principal;
use crate::tenant::Tenant;

/// Attributes no self-service request may set, whatever the tenant's configuration: setting
/// them with the server's admin credentials would mark an unverified address as verified.
/// The MFA requirement attribute
/// ([`AdminApi::mfa_required_attribute`](crate::admin::AdminApi::mfa_required_attribute)) and every
/// developer-only attribute (`dev:` prefix) are refused too.
pub const ALWAYS_PROTECTED: &[&str] = &["email_verified", "phone_number_verified"];

/// The attributes `PATCH /me/attributes` may change when
/// [`AdminApi::self_service_attributes`] is not set: the standard OpenID Connect profile
/// attributes. No `custom:` attribute, and neither `email` nor `phone_number`, is among them.
///
/// [`AdminApi::self_service_attributes`]: crate::admin::AdminApi::self_service_attributes
pub const DEFAULT_SELF_SERVICE_ATTRIBUTES: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "locale",
    "zoneinfo",
    "picture",
    "website",
    "profile",
    "gender",
    "birthdate",
];

/// The prefix of developer-only attributes (`dev:custom:...`), which Cognito lets only admin
/// credentials write.
const DEVELOPER_ONLY_PREFIX: &str = "dev:";

/// True for a developer-only attribute (`dev:` prefix, any ASCII case).
pub(super) fn is_developer_only(name: &str) -> bool {
    name.get(..DEVELOPER_ONLY_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(DEVELOPER_ONLY_PREFIX))
}

/// Most attributes accepted in one update.
const MAX_ATTRIBUTES: usize = 50;

/// Attribute names are 1 to 32 characters (`custom:` included); values at most 2048.
fn to_attribute_types(
    attributes: &BTreeMap<String, String>,
) -> Result<Vec<AttributeType>, AdminError> {
    if attributes.is_empty() {
        return Err(AdminError::InvalidRequest(
            "`attributes` must name at least one attribute".to_owned(),
        ));
    }
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(AdminError::InvalidRequest(format!(
            "at most {MAX_ATTRIBUTES} attributes per request"
        )));
    }
    attributes
        .iter()
        .map(|(name, value)| {
            let name_chars = name.chars().count();
            if name_chars == 0
                || name_chars > 32
                || name.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(AdminError::InvalidRequest(
                    "attribute names must be 1 to 32 characters without spaces".to_owned(),
                ));
            }
            // The value is deliberately left out of the message: it may be a protected one.
            if value.chars().count() > 2048 {
                return Err(AdminError::InvalidRequest(format!(
                    "value of attribute `{name}` is longer than 2048 characters"
                )));
            }
            AttributeType::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| AdminError::InvalidRequest(e.to_string()))
        })
        .collect()
}

fn attribute_names(attributes: &BTreeMap<String, String>) -> String {
    let names: Vec<&str> = attributes.keys().map(String::as_str).collect();
    names.join(",")
}

/// Protected for self-service: the tenant's list (compared ignoring ASCII case, so that a
/// differently cased name cannot slip through) plus [`ALWAYS_PROTECTED`].
fn is_protected(tenant: &Tenant, name: &str) -> bool {
    tenant
        .protected_attributes()
        .iter()
        .map(String::as_str)
        .chain(ALWAYS_PROTECTED.iter().copied())
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// What a user may change on their own account: an allowlist, minus everything protected.
#[derive(Debug, Clone)]
pub(crate) struct SelfServiceRules {
    /// The only attributes a user may change (exact names).
    allowed: Arc<[String]>,
    /// The Post Authentication trigger's MFA requirement attribute: never self-service.
    mfa_required_attribute: Arc<str>,
    /// The TOTP enrollment window attribute, when configured: never self-service.
    enrollment_window_attribute: Option<Arc<str>>,
}

impl Default for SelfServiceRules {
    fn default() -> Self {
        SelfServiceRules {
            allowed: DEFAULT_SELF_SERVICE_ATTRIBUTES
                .iter()
                .map(|&a| a.to_owned())
                .collect(),
            mfa_required_attribute: Arc::from(DEFAULT_MFA_REQUIRED_ATTRIBUTE),
            enrollment_window_attribute: None,
        }
    }
}

impl SelfServiceRules {
    pub(crate) fn allow<I, S>(&mut self, attributes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed = attributes.into_iter().map(Into::into).collect();
    }

    pub(crate) fn mfa_required_attribute(&mut self, attribute: String) {
        self.mfa_required_attribute = Arc::from(attribute);
    }

    pub(crate) fn enrollment_window_attribute(&mut self, attribute: Option<&str>) {
        self.enrollment_window_attribute = attribute.map(Arc::from);
    }

    /// True if a user of `tenant` may change `name` on their own account: it is allowlisted
    /// (exactly) and not protected in any way (protection ignores ASCII case and always wins).
    fn permits(&self, tenant: &Tenant, name: &str) -> bool {
        !is_developer_only(name)
            && !is_protected(tenant, name)
            && !self.mfa_required_attribute.eq_ignore_ascii_case(name)
            && !self
                .enrollment_window_attribute
                .as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
            && self.allowed.iter().any(|a| a == name)
    }
}

impl Binding {
    async fn update_attributes(
        &self,
        username: &str,
        attributes: Vec<AttributeType>,
    ) -> Result<(), AdminError> {
        send!(
            self,
            self.client
                .admin_update_user_attributes()
                .user_pool_id(self.pool())
                .username(username)
                .set_user_attributes(Some(attributes))
        )
        .map_err(|e| from_sdk(e, "AdminUpdateUserAttributes", CallKind::Other))?;
        Ok(())
    }
}

impl TenantAdmin {
    /// Updates a user's attributes, admin-only (protected) ones included
    /// (`AdminUpdateUserAttributes`).
    pub async fn update_attributes(
        &self,
        username: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        let names = attribute_names(attributes);
        b.audited(Action::UpdateAttributes, username, Some(&names), async {
            validate_name("user name", username)?;
            let attributes = to_attribute_types(attributes)?;
            b.update_attributes(username, attributes).await
        })
        .await
    }
}

/// What a signed-in user may do to their own account through the server: change the
/// attributes allowed for self-service. The server calls `AdminUpdateUserAttributes` with its
/// own credentials for the user name in the verified token, never one from the request.
///
/// Admin credentials bypass the app client's write permissions, so the server decides alone
/// what a user may write. An attribute may be changed only if it is
/// - in the allowlist ([`AdminApi::self_service_attributes`],
///   default [`DEFAULT_SELF_SERVICE_ATTRIBUTES`]: no `custom:` attribute), compared exactly, and
/// - not protected: not one of the tenant's `protected_attributes`, not in
///   [`ALWAYS_PROTECTED`], not the MFA requirement attribute
///   ([`AdminApi::mfa_required_attribute`](crate::admin::AdminApi::mfa_required_attribute), default
///   `custom:mfa_required`), and not developer-only (`dev:` prefix), all compared ignoring
///   ASCII case. Protection wins over the allowlist.
///
/// [`AdminApi::self_service_attributes`]: crate::admin::AdminApi::self_service_attributes
#[derive(Clone)]
pub struct SelfService {
    pub(super) binding: Binding,
    rules: SelfServiceRules,
    /// Password changes: attempt limit, open challenges, client secrets.
    pub(super) password: super::password_guard::PasswordGuard,
    /// The `CognitoAuth`'s revocation list: `/me/signout` records the caller in it.
    pub(super) revocations: Option<crate::revocation::Revocations>,
    /// TOTP enrollment: settings and waiting enrollments.
    pub(super) enrollment: super::TotpEnrollment,
}

impl std::fmt::Debug for SelfService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfService")
            .field("tenant", &self.binding.tenant.id())
            .field("user", &self.binding.actor.username())
            .finish_non_exhaustive()
    }
}

impl SelfService {
    pub(crate) fn new(
        client: CognitoClient,
        tenant: Arc<Tenant>,
        actor: Principal,
        rules: SelfServiceRules,
        password: super::password_guard::PasswordGuard,
        revocations: Option<crate::revocation::Revocations>,
        enrollment: super::TotpEnrollment,
    ) -> Self {
        SelfService {
            binding: Binding::new(client, tenant, actor),
            rules,
            password,
            revocations,
            enrollment,
        }
    }

    /// The user whose account this changes.
    pub fn username(&self) -> &str {
        self.binding.actor.username()
    }

    /// True if the caller may change `attribute` on their own account (see the type's docs).
    pub fn may_change(&self, attribute: &str) -> bool {
        self.rules.permits(&self.binding.tenant, attribute)
    }

    /// Changes the caller's own attributes. If any of them may not be changed by the user
    /// (see [`may_change`](Self::may_change): not allowlisted, protected, the MFA requirement
    /// attribute or developer-only), nothing is changed and
    /// [`AdminError::ProtectedAttribute`] names the first such attribute.
    pub async fn update_attributes(
        &self,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), AdminError> {
        let b = &self.binding;
        let names = attribute_names(attributes);
        let username = b.actor.username();
        b.audited(Action::UpdateOwnAttributes, username, Some(&names), async {
            if let Some(name) = attributes.keys().find(|name| !self.may_change(name)) {
                return Err(AdminError::ProtectedAttribute(name.clone()));
            }
            let attributes = to_attribute_types(attributes)?;
            b.update_attributes(username, attributes).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_attributes_are_checked() {
        assert!(validate_name("user name", "alice").is_ok());
        assert!(validate_name("user name", "ann@example.com").is_ok());
        for bad in ["", "a b", "a\nb", &"x".repeat(129)] {
            assert!(validate_name("user name", bad).is_err(), "{bad:?}");
        }
        let mut attrs = BTreeMap::new();
        assert!(to_attribute_types(&attrs).is_err());
        attrs.insert("name".to_owned(), "Ann".to_owned());
        assert_eq!(to_attribute_types(&attrs).unwrap().len(), 1);
        attrs.insert("custom:plan".to_owned(), "x".repeat(2049));
        let err = to_attribute_types(&attrs).unwrap_err();
        assert!(!err.to_string().contains("xxxx"), "{err}");
        let mut long_name = BTreeMap::new();
        long_name.insert("custom:".to_owned() + &"n".repeat(30), String::new());
        assert!(to_attribute_types(&long_name).is_err());
    }

    #[test]
    fn protection_ignores_case_and_always_covers_verification_flags() {
        let tenant = Tenant::builder("acme", "us-east-1_AbC")
            .client_id("c")
            .protected_attributes(["custom:plan"])
            .build()
            .unwrap();
        assert!(is_protected(&tenant, "custom:plan"));
        assert!(is_protected(&tenant, "CUSTOM:Plan"));
        assert!(is_protected(&tenant, "email_verified"));
        assert!(!is_protected(&tenant, "name"));
    }

    #[test]
    fn self_service_needs_the_allowlist_and_protection_wins() {
        let tenant = Tenant::builder("acme", "us-east-1_AbC")
            .client_id("c")
            .protected_attributes(["custom:plan", "nickname"])
            .build()
            .unwrap();
        let default = SelfServiceRules::default();
        assert!(default.permits(&tenant, "name"));
        assert!(default.permits(&tenant, "birthdate"));
        // Not allowlisted (exact names only), protected, or developer-only.
        for refused in [
            "NAME",
            "email",
            "phone_number",
            "custom:team",
            "custom:plan",
            "nickname",
            "email_verified",
            "custom:mfa_required",
            "dev:custom:x",
        ] {
            assert!(!default.permits(&tenant, refused), "{refused}");
        }

        let mut rules = SelfServiceRules::default();
        rules.allow([
            "name",
            "custom:team",
            "custom:plan",
            "custom:mfa_required",
            "dev:custom:x",
            "DEV:custom:y",
            "phone_number_verified",
        ]);
        assert!(rules.permits(&tenant, "name"));
        assert!(rules.permits(&tenant, "custom:team"));
        assert!(!rules.permits(&tenant, "given_name"), "replaced, not added");
        for protected in [
            "custom:plan",
            "custom:mfa_required",
            "dev:custom:x",
            "DEV:custom:y",
            "phone_number_verified",
        ] {
            assert!(!rules.permits(&tenant, protected), "{protected}");
        }

        // Another MFA attribute is protected instead of the default one.
        rules.mfa_required_attribute("custom:must_mfa".to_owned());
        rules.allow(["custom:must_mfa", "custom:mfa_required"]);
        assert!(!rules.permits(&tenant, "custom:must_mfa"));
        assert!(!rules.permits(&tenant, "CUSTOM:MUST_MFA"));
        assert!(rules.permits(&tenant, "custom:mfa_required"));

        // The enrollment window attribute, once configured, whatever the allowlist says.
        rules.allow(["custom:mfa_enroll_until", "name"]);
        assert!(rules.permits(&tenant, "custom:mfa_enroll_until"));
        rules.enrollment_window_attribute(Some("custom:mfa_enroll_until"));
        assert!(!rules.permits(&tenant, "custom:mfa_enroll_until"));
        assert!(!rules.permits(&tenant, "CUSTOM:MFA_ENROLL_UNTIL"));
        assert!(rules.permits(&tenant, "name"));

        rules.allow(std::iter::empty::<String>());
        assert!(!rules.permits(&tenant, "name"));
    }
}
