//! The configuration file's sections: one serde struct per table of the file.

use std::collections::BTreeMap;

use serde::Deserialize;

#[cfg(feature = "dynamodb")]
use crate::MAX_TOKEN_CACHE_TTL;
#[cfg(feature = "dynamodb")]
use crate::error::ConfigError;
use crate::verify::SelfServiceGuard;

/// `[catalog]`: tenants added at runtime, found by their user pool in a DynamoDB table (feature
/// `dynamodb`; item format in the `catalog` module). The table is reached like `[aws]` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CatalogSection {
    /// The table's name.
    pub dynamodb_table: String,
    /// Seconds between checks of the table's version item; a tenant written by `put` (or
    /// `cognito-authz tenant create --catalog`) is accepted within this time. Default 30 (`catalog::DEFAULT_REFRESH_INTERVAL`, feature `dynamodb`: no link,
    /// so that the docs of a build without it have no broken one).
    pub refresh_seconds: Option<u64>,
    /// How long a tenant found in the catalog is trusted before its item is read again: the
    /// offboarding window of a removed tenant's cached tokens. Default 300 (see
    /// [`CognitoAuthBuilder::resolver_ttl`](crate::CognitoAuthBuilder::resolver_ttl)).
    pub resolver_ttl_seconds: Option<u64>,
    /// `host:port` of JWKS URLs items may name besides Cognito's own key URLs for their pool and
    /// regions (emulators: `"127.0.0.1:5000"`). Default: none.
    #[serde(default)]
    pub allowed_jwks_hosts: Vec<String>,
    /// The most tenant lookups per second (each two `GetItem`s), whatever the traffic; over it,
    /// 503. Default 100
    /// (`catalog::DEFAULT_LOOKUPS_PER_SECOND`, feature `dynamodb`).
    pub lookups_per_second: Option<u32>,
}

#[cfg(feature = "dynamodb")]
impl CatalogSection {
    /// The rules of the keys besides the table name.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.refresh_seconds == Some(0) {
            return Err(ConfigError::invalid(
                "catalog.refresh_seconds",
                "must be at least 1",
            ));
        }
        if let Some(secs) = self.resolver_ttl_seconds
            && !(1..=MAX_TOKEN_CACHE_TTL.as_secs()).contains(&secs)
        {
            return Err(ConfigError::invalid(
                "catalog.resolver_ttl_seconds",
                "must be between 1 and 86400 (a day, Cognito's longest token lifetime)",
            ));
        }
        if self.lookups_per_second == Some(0) {
            return Err(ConfigError::invalid(
                "catalog.lookups_per_second",
                "must be at least 1",
            ));
        }
        if let Some(bad) = self
            .allowed_jwks_hosts
            .iter()
            .find(|host| !crate::catalog::is_host_port(host))
        {
            return Err(ConfigError::invalid(
                "catalog.allowed_jwks_hosts",
                format!("{bad:?} is not host:port (for example \"127.0.0.1:5000\")"),
            ));
        }
        Ok(())
    }
}

/// `[cedar]`: policies as data, per tenant.
#[cfg(feature = "cedar")]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CedarSection {
    /// The Cedar namespace of the entity types and actions (`App`: `App::User`, ...).
    pub namespace: String,
    /// The folder with `common.cedar` and `<tenant id>.cedar`.
    pub policies: std::path::PathBuf,
    /// A `.cedarschema` file every policy must validate against.
    pub schema: Option<std::path::PathBuf>,
    /// Reload the folder this often; a failed reload keeps the last good policies.
    pub reload_seconds: Option<u64>,
}

/// `[admin]`: the admin and self-service routes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AdminSection {
    /// The only attributes users may change on their own account (`PATCH /me/attributes`);
    /// absent: the standard profile attributes. Protected attributes stay refused.
    pub self_service_attributes: Option<Vec<String>>,
    /// Counted `POST /me/password` attempts (wrong current password or MFA code, and every MFA
    /// challenge started, since each may send a billed SMS or email) allowed per user in [`password_attempt_window_seconds`](Self::password_attempt_window_seconds), in
    /// one process; default 5.
    pub max_password_attempts: Option<u32>,
    /// The window of [`max_password_attempts`](Self::max_password_attempts); default 900.
    pub password_attempt_window_seconds: Option<u64>,
    /// `"<app client id>" = "<client secret>"` for app clients that have a secret: the
    /// `/me/password` sign-in check sends the `SECRET_HASH` computed from it. Never logged,
    /// never in `Debug`.
    #[serde(default)]
    pub client_secrets: BTreeMap<String, ClientSecret>,
    /// `"<tenant id>" = "<app client id>"`: the server-only app client through which
    /// `POST /me/mfa/totp` enrolls an authenticator for a user without the self-service scope
    /// (the Pre Token Generation trigger keeps the scope for this client only, and only while
    /// the user's enrollment window is open). The client must have a secret (in
    /// [`client_secrets`](Self::client_secrets)), no user-facing sign-in flow (only
    /// `ALLOW_ADMIN_USER_PASSWORD_AUTH` and refresh) and must not be one of the tenant's
    /// `client_ids`. Absent for a tenant: TOTP enrollment is off for it. Needs
    /// `[triggers] mfa_enrollment_window_attribute`. `cognito-authz tenant create` makes such a
    /// client (`<tenant id>-totp-enrollment`) and prints the id and where to read the secret.
    #[serde(default)]
    pub totp_enrollment_clients: BTreeMap<String, String>,
}

/// An app client's secret from the configuration file; `Debug` shows `"<redacted>"`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// A secret given in code.
    pub fn new(secret: impl Into<String>) -> Self {
        ClientSecret(secret.into())
    }

    /// The secret itself, to compute a `SECRET_HASH`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// `[metrics]`: see [`metrics`](crate::metrics).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsSection {
    /// Whether metrics carry a `tenant` label (default `true`); see
    /// [`CognitoAuthBuilder::metrics_tenant_label`](crate::CognitoAuthBuilder::metrics_tenant_label).
    #[serde(default = "default_tenant_label")]
    pub tenant_label: bool,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            tenant_label: default_tenant_label(),
        }
    }
}

fn default_tenant_label() -> bool {
    true
}

/// `[triggers]`: Cognito Lambda triggers built from the same tenants and roles.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TriggersSection {
    /// Roles allowed to keep the self-service scope; default: the `[self_service_guard]`
    /// roles, or `["admin"]`.
    pub self_manage_roles: Option<Vec<String>>,
    /// If set, the Pre Token Generation trigger adds the mapped roles as this access-token claim.
    pub roles_claim: Option<String>,
    /// Admin-only attribute recording that MFA is required (`"true"`); default
    /// `custom:mfa_required`. A missing attribute means no requirement.
    pub mfa_required_attribute: Option<String>,
    /// Admin-only attribute holding the end (Unix seconds) of a user's TOTP enrollment window,
    /// opened by `POST /admin/users/{username}/mfa/enrollment`. No default: absent, enrollment
    /// is off, the Pre Token Generation trigger never keeps the scope for enrollment and the
    /// Post Authentication guard lets no one in without MFA. Typically
    /// `custom:mfa_enroll_until`.
    pub mfa_enrollment_window_attribute: Option<String>,
}

/// The top-level `revocations` key: a bool (in-process list) or a `[revocations]` table
/// (shared through Redis).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RevocationsSetting {
    /// `revocations = true` / `false` (the default): an in-process list, or none.
    Local(bool),
    /// `[revocations]`: shared through Redis (feature `redis`).
    Shared(SharedRevocationsSection),
}

impl Default for RevocationsSetting {
    fn default() -> Self {
        RevocationsSetting::Local(false)
    }
}

// By hand rather than `#[serde(untagged)]`: untagged would hide the table's own errors
// (unknown key, wrong type) behind "did not match any variant".
impl<'de> Deserialize<'de> for RevocationsSetting {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RevocationsSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or a [revocations] table with redis_url")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RevocationsSetting::Local(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                SharedRevocationsSection::deserialize(serde::de::value::MapAccessDeserializer::new(
                    map,
                ))
                .map(RevocationsSetting::Shared)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `[revocations]`: revocations shared by every replica through Redis (feature `redis`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SharedRevocationsSection {
    /// `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. Never logged nor
    /// shown by `Debug`.
    pub redis_url: String,
    /// Prefix of the Redis key and channel. Default `cognito-authz`.
    pub key_prefix: Option<String>,
    /// How old the mirror may get, with the store unreachable, before `refuse` answers 503.
    /// Default 30.
    pub max_staleness_seconds: Option<u64>,
    /// `serve_last_known` (default) or `refuse`.
    #[serde(default)]
    pub on_store_unavailable: crate::revocation::OnStoreUnavailable,
    /// How long revocations are kept: the longest token lifetime. Default 86400 (a day).
    pub retention_seconds: Option<u64>,
    /// Tokens issued up to this many seconds after a user's recorded revocation are refused
    /// too (the recording replica's clock may be behind Cognito's). Default 5, at most 300.
    pub clock_margin_seconds: Option<u64>,
    /// With `rediss://`: a PEM file of the CA(s) trusted for the server's certificate, instead
    /// of the public webpki roots.
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// With `rediss://`: the client certificate chain (PEM) for mutual TLS.
    pub tls_client_cert_file: Option<std::path::PathBuf>,
    /// With `rediss://`: the client certificate's private key (PEM).
    pub tls_client_key_file: Option<std::path::PathBuf>,
    /// Redis Cluster mode (ElastiCache Serverless, MemoryDB): `redis_url` is a seed node.
    /// Default `false`.
    #[serde(default)]
    pub cluster: bool,
}

// The URL may carry a password: only its host, port and database are shown.
impl std::fmt::Debug for SharedRevocationsSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = crate::revocation::redacted(&self.redis_url);
        f.debug_struct("SharedRevocationsSection")
            .field("redis_url", &url)
            .field("key_prefix", &self.key_prefix)
            .field("max_staleness_seconds", &self.max_staleness_seconds)
            .field("on_store_unavailable", &self.on_store_unavailable)
            .field("retention_seconds", &self.retention_seconds)
            .field("clock_margin_seconds", &self.clock_margin_seconds)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_client_cert_file", &self.tls_client_cert_file)
            .field("tls_client_key_file", &self.tls_client_key_file)
            .field("cluster", &self.cluster)
            .finish()
    }
}

/// `[jwks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JwksSection {
    /// See [`JwksConfig::cooldown`](crate::jwks::JwksConfig::cooldown).
    pub cooldown_seconds: Option<u64>,
    /// See [`JwksConfig::refresh_interval`](crate::jwks::JwksConfig::refresh_interval).
    pub refresh_seconds: Option<u64>,
    /// See [`JwksConfig::max_key_age`](crate::jwks::JwksConfig::max_key_age).
    pub max_key_age_seconds: Option<u64>,
    /// See [`JwksConfig::fetch_timeout`](crate::jwks::JwksConfig::fetch_timeout).
    pub fetch_timeout_ms: Option<u64>,
    /// See [`JwksConfig::max_response_bytes`](crate::jwks::JwksConfig::max_response_bytes).
    pub max_response_bytes: Option<usize>,
}

/// `[self_service_guard]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GuardSection {
    /// Roles allowed to keep the self-service scope; default `["admin"]`.
    #[serde(default = "default_guard_roles")]
    pub allowed_roles: Vec<String>,
}

fn default_guard_roles() -> Vec<String> {
    SelfServiceGuard::default().allowed_roles
}

/// One `[[tenant]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantSection {
    /// Tenant id.
    pub id: String,
    /// User pool id, `<region>_<id>`.
    pub user_pool_id: String,
    /// Accepted app client ids (at least one).
    pub client_ids: Vec<String>,
    /// JWKS URL override (emulators, tests).
    pub jwks_url: Option<String>,
    /// `role = [groups]`.
    pub roles: Option<BTreeMap<String, Vec<String>>>,
    /// App clients whose client-credentials tokens are accepted as machine callers.
    #[serde(default)]
    pub machine_client_ids: Vec<String>,
    /// `"<machine client id>" = [roles]`.
    #[serde(default)]
    pub client_roles: BTreeMap<String, Vec<String>>,
    /// Regions holding replicas of the pool (multi-Region replication), in fallback order.
    #[serde(default)]
    pub replica_regions: Vec<String>,
    /// `"<replica region>" = "<JWKS URL>"` overrides (emulators, tests).
    #[serde(default)]
    pub replica_jwks_urls: BTreeMap<String, String>,
    /// Admin-only user attributes.
    #[serde(default)]
    pub protected_attributes: Vec<String>,
}
