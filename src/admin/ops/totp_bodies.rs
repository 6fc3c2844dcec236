//! The bodies and answers of TOTP enrollment, their checks, and the `otpauth://` URI. Secrets,
//! passwords and codes never show in `Debug`.

use serde::{Deserialize, Serialize};

use crate::admin::AdminError;

/// Cognito's longest password.
const MAX_PASSWORD_CHARS: usize = 256;

/// The body of `POST /admin/users/{username}/mfa/enrollment`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentWindowRequest {
    /// How long the window stays open: 1 to 60 minutes.
    pub minutes: u64,
}

/// The answer to opening a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EnrollmentWindow {
    /// The user.
    pub username: String,
    /// `open_mfa_enrollment`.
    pub action: &'static str,
    /// The window's end, Unix seconds.
    pub open_until: u64,
}

/// The body of `POST /me/mfa/totp`. `Debug` shows none of the values.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpEnrollmentStart {
    /// The password the user signs in with.
    pub current_password: String,
    /// The code of the MFA challenge, once `mfa_code_required` was answered (users who have
    /// MFA already).
    #[serde(default)]
    pub mfa_code: Option<String>,
}

impl std::fmt::Debug for TotpEnrollmentStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrollmentStart")
            .field("mfa_code", &self.mfa_code.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// The body of `POST /me/mfa/totp/verify`. `Debug` hides the code.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpVerification {
    /// The authenticator's current 6-digit code.
    pub code: String,
}

impl std::fmt::Debug for TotpVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpVerification { code: <redacted> }")
    }
}

/// The answer of `POST /me/mfa/totp`: the shared secret for the authenticator app. `Debug`
/// hides both fields (the URI contains the secret).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TotpSecret {
    /// The Base32 secret (`SecretCode`), for manual entry.
    pub secret: String,
    /// `otpauth://totp/<tenant>:<user>?secret=...&issuer=<tenant>`, for a QR code.
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret { <redacted> }")
    }
}

impl TotpEnrollmentStart {
    pub(super) fn validate(&self) -> Result<(), AdminError> {
        let chars = self.current_password.chars().count();
        if chars == 0 || chars > MAX_PASSWORD_CHARS {
            return Err(AdminError::InvalidRequest(format!(
                "`current_password` must be 1 to {MAX_PASSWORD_CHARS} characters"
            )));
        }
        if let Some(code) = &self.mfa_code
            && (code.is_empty() || code.len() > 16 || !code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(AdminError::InvalidRequest(
                "`mfa_code` must be 1 to 16 digits".to_owned(),
            ));
        }
        Ok(())
    }
}

impl TotpVerification {
    pub(super) fn validate(&self) -> Result<(), AdminError> {
        if self.code.len() == 6 && self.code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(AdminError::InvalidRequest(
                "`code` must be the authenticator's 6 digits".to_owned(),
            ))
        }
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The key-URI of Google Authenticator's format, which authenticator apps read from a QR code.
pub(in crate::admin::ops) fn otpauth_uri(issuer: &str, username: &str, secret: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        percent_encode(username),
        percent_encode(secret)
    )
}
