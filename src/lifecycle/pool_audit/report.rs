//! What `cognito-authz audit` reports: the [`Check`] ids and [`Severity`]s, each
//! [`Finding`], and the per-tenant [`AuditReport`] with its JSON shape (a contract: the check
//! ids, severities and field names never change meaning).

use std::fmt;

use serde::Serialize;

/// How bad a finding is. `cognito-authz audit` exits 1 when any finding is [`Severity::High`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing.
    Low,
    /// Weakens a defence.
    Medium,
    /// Reopens the hole: a user can change their own MFA or a protected attribute, or the
    /// configuration does not match the pool.
    High,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        })
    }
}

/// The stable check ids (see the module docs for what each finds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Check {
    /// `client-writes-protected-attribute`.
    ClientWritesProtectedAttribute,
    /// `client-write-attributes-default`.
    ClientWriteAttributesDefault,
    /// `unknown-client`.
    UnknownClient,
    /// `machine-client-unknown`.
    MachineClientUnknown,
    /// `pre-token-trigger-missing`.
    PreTokenTriggerMissing,
    /// `pre-token-trigger-v1`.
    PreTokenTriggerV1,
    /// `post-auth-trigger-missing`.
    PostAuthTriggerMissing,
    /// `admin-group-missing`.
    AdminGroupMissing,
    /// `mfa-required-attribute-missing`.
    MfaRequiredAttributeMissing,
    /// `token-revocation-disabled`.
    TokenRevocationDisabled,
    /// `access-token-validity-long`.
    AccessTokenValidityLong,
    /// `admin-password-auth-missing`.
    AdminPasswordAuthMissing,
    /// `enrollment-client-unsafe`.
    EnrollmentClientUnsafe,
}

impl Check {
    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            Check::ClientWritesProtectedAttribute => "client-writes-protected-attribute",
            Check::ClientWriteAttributesDefault => "client-write-attributes-default",
            Check::UnknownClient => "unknown-client",
            Check::MachineClientUnknown => "machine-client-unknown",
            Check::PreTokenTriggerMissing => "pre-token-trigger-missing",
            Check::PreTokenTriggerV1 => "pre-token-trigger-v1",
            Check::PostAuthTriggerMissing => "post-auth-trigger-missing",
            Check::AdminGroupMissing => "admin-group-missing",
            Check::MfaRequiredAttributeMissing => "mfa-required-attribute-missing",
            Check::TokenRevocationDisabled => "token-revocation-disabled",
            Check::AccessTokenValidityLong => "access-token-validity-long",
            Check::AdminPasswordAuthMissing => "admin-password-auth-missing",
            Check::EnrollmentClientUnsafe => "enrollment-client-unsafe",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// One problem found in a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Which check.
    pub check: Check,
    /// How bad.
    pub severity: Severity,
    /// What it is about: an app client id, or the pool id.
    pub subject: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl Finding {
    pub(super) fn new(check: Check, severity: Severity, subject: &str, message: String) -> Self {
        Finding {
            check,
            severity,
            subject: subject.to_owned(),
            message,
        }
    }
}

/// One tenant's part of the report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TenantReport {
    /// Tenant id.
    pub id: String,
    /// Pool id.
    pub user_pool_id: String,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
}

impl TenantReport {
    /// A tenant's report.
    pub fn new(
        id: impl Into<String>,
        user_pool_id: impl Into<String>,
        findings: Vec<Finding>,
    ) -> Self {
        TenantReport {
            id: id.into(),
            user_pool_id: user_pool_id.into(),
            findings,
        }
    }
}

/// The whole report; serializes to
/// `{"tenants":[{"id","user_pool_id","findings":[{"check","severity","subject","message"}]}]}`.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct AuditReport {
    /// One entry per audited tenant.
    pub tenants: Vec<TenantReport>,
}

impl AuditReport {
    /// True if any finding is high.
    pub fn has_high(&self) -> bool {
        self.tenants
            .iter()
            .flat_map(|t| &t.findings)
            .any(|f| f.severity == Severity::High)
    }
}
