//! The administrator's side of TOTP enrollment: [`TenantAdmin::open_mfa_enrollment`] and
//! [`TenantAdmin::close_mfa_enrollment`] set the admin-only window attribute to the window's
//! end in Unix seconds (1 to [`MAX_ENROLLMENT_WINDOW_MINUTES`] ahead) or to `0`.

use super::totp_bodies::EnrollmentWindow;
use super::{TenantAdmin, validate_name};
use crate::admin::AdminError;
use crate::admin::audit::Action;
use crate::aws::{MAX_ENROLLMENT_WINDOW_MINUTES, unix_now};

impl TenantAdmin {
    /// Opens `username`'s TOTP enrollment window for `minutes` (1 to 60): sets the window
    /// attribute to its end (`AdminUpdateUserAttributes`). Replaces an open window.
    pub async fn open_mfa_enrollment(
        &self,
        username: &str,
        minutes: u64,
    ) -> Result<EnrollmentWindow, AdminError> {
        let b = &self.binding;
        b.audited(Action::OpenMfaEnrollment, username, None, async {
            validate_name("user name", username)?;
            if !(1..=MAX_ENROLLMENT_WINDOW_MINUTES).contains(&minutes) {
                return Err(AdminError::InvalidRequest(format!(
                    "`minutes` must be 1 to {MAX_ENROLLMENT_WINDOW_MINUTES}"
                )));
            }
            let (attribute, _) = self.enrollment.for_tenant(b.tenant.id())?;
            let open_until = unix_now() + minutes * 60;
            b.set_window(attribute, username, &open_until.to_string())
                .await?;
            Ok(EnrollmentWindow {
                username: username.to_owned(),
                action: Action::OpenMfaEnrollment.as_str(),
                open_until,
            })
        })
        .await
    }

    /// Closes `username`'s enrollment window (the attribute becomes `"0"`).
    pub async fn close_mfa_enrollment(&self, username: &str) -> Result<(), AdminError> {
        let b = &self.binding;
        b.audited(Action::CloseMfaEnrollment, username, None, async {
            validate_name("user name", username)?;
            let (attribute, _) = self.enrollment.for_tenant(b.tenant.id())?;
            b.set_window(attribute, username, "0").await
        })
        .await
    }
}
