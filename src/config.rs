//! The TOML configuration file.
//!
//! ```toml
//! leeway_seconds = 0            # optional, default 0
//! max_token_bytes = 8192        # optional, default 8192
//! token_cache_entries = 100000  # optional, 0 disables the verified-token cache
//! token_cache_ttl_seconds = 3600  # optional: longest a verified token stays cached
//! revocations = false           # optional: keep a local revocation list (see Revocations)
//!
//! [jwks]                        # optional; defaults shown
//! cooldown_seconds = 10
//! refresh_seconds = 900
//! max_key_age_seconds = 86400
//! fetch_timeout_ms = 3000
//! max_response_bytes = 65536
//!
//! [self_service_guard]          # optional; present = enabled
//! allowed_roles = ["admin"]
//!
//! [[tenant]]
//! id = "acme"
//! user_pool_id = "us-east-1_AbCdEf123"
//! client_ids = ["3n4b5urk1ft4fl3mg5e62d9ado"]
//! jwks_url = "http://127.0.0.1:5000/us-east-1_AbCdEf123/.well-known/jwks.json"  # optional
//! protected_attributes = ["custom:mfa_required", "custom:plan"]  # optional: admin-only
//! [tenant.roles]                # optional: role = [groups]
//! admin = ["admin", "Administrators"]
//!
//! [aws]                         # optional (features admin, lambda)
//! endpoint_url = "http://127.0.0.1:5000"   # an emulator; default: the real service
//! region = "us-east-1"          # default: the AWS provider chain
//!
//! [admin]                       # optional (feature admin)
//! self_service_attributes = ["name", "locale", "custom:team"]  # default: standard profile ones
//!
//! [triggers]                    # optional (feature lambda)
//! self_manage_roles = ["admin"] # default: [self_service_guard] roles, else ["admin"]
//! roles_claim = "roles"         # optional: add mapped roles to access tokens
//! mfa_required_attribute = "custom:mfa_required"
//!
//! [cedar]                       # optional (feature cedar); paths relative to this file's folder
//! namespace = "App"
//! policies = "policies"         # folder with common.cedar and <tenant id>.cedar
//! schema = "policies/schema.cedarschema"   # optional
//! reload_seconds = 30           # optional
//! ```
//!
//! Unknown fields, a bad pool id, an empty client list or two tenants with the same pool fail
//! at load with a message naming the field.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::auth::CognitoAuthBuilder;
use crate::error::ConfigError;
use crate::jwks::JwksConfig;
use crate::tenant::{Tenant, TenantRegistry};
use crate::verify::SelfServiceGuard;

/// The parsed configuration file. Build a [`CognitoAuth`](crate::CognitoAuth) from it with
/// [`AuthConfig::into_builder`] (to add a resolver or an error responder first) or directly with
/// [`CognitoAuth::from_config_file`](crate::CognitoAuth::from_config_file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Clock skew tolerated, in seconds.
    #[serde(default)]
    pub leeway_seconds: u64,
    /// Token size limit.
    #[serde(default = "default_max_token_bytes")]
    pub max_token_bytes: usize,
    /// Verified-token cache capacity.
    #[serde(default = "default_cache_entries")]
    pub token_cache_entries: u64,
    /// Longest time a verified token stays cached (never past its `exp`).
    #[serde(default = "default_cache_ttl")]
    pub token_cache_ttl_seconds: u64,
    /// Keep a local [`Revocations`](crate::Revocations) list (admin sign-outs and disables
    /// are recorded in it; `CognitoAuth::revocations` gives it to your code).
    #[serde(default)]
    pub revocations: bool,
    /// Key cache settings.
    #[serde(default)]
    pub jwks: JwksSection,
    /// Self-service scope guard; enabled when present.
    pub self_service_guard: Option<GuardSection>,
    /// AWS SDK settings for admin operations and triggers (features `admin`, `lambda`).
    #[serde(default)]
    pub aws: AwsSection,
    /// Lambda trigger settings (feature `lambda`).
    #[serde(default)]
    pub triggers: TriggersSection,
    /// Admin and self-service route settings (feature `admin`).
    #[serde(default)]
    pub admin: AdminSection,
    /// The tenants.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<TenantSection>,
    /// Cedar policies (feature `cedar`); see [`Cedar::from_config`](crate::cedar::Cedar::from_config).
    #[cfg(feature = "cedar")]
    pub cedar: Option<CedarSection>,
    /// The folder of the file this was read from: relative paths in it are relative to it.
    #[serde(skip)]
    base_dir: Option<std::path::PathBuf>,
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

/// `[aws]`: where the Cognito Identity Provider API is. Region and credentials otherwise come
/// from the standard AWS provider chain; `AWS_ENDPOINT_URL` in the environment also works.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AwsSection {
    /// Custom endpoint (an emulator such as moto: `http://127.0.0.1:5000`).
    pub endpoint_url: Option<String>,
    /// Region override.
    pub region: Option<String>,
}

/// `[admin]`: the admin and self-service routes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AdminSection {
    /// The only attributes users may change on their own account (`PATCH /me/attributes`);
    /// absent: the standard profile attributes. Protected attributes stay refused.
    pub self_service_attributes: Option<Vec<String>>,
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
}

fn default_max_token_bytes() -> usize {
    8 * 1024
}
fn default_cache_entries() -> u64 {
    100_000
}
fn default_cache_ttl() -> u64 {
    3600
}

/// `[jwks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JwksSection {
    /// See [`JwksConfig::cooldown`].
    pub cooldown_seconds: Option<u64>,
    /// See [`JwksConfig::refresh_interval`].
    pub refresh_seconds: Option<u64>,
    /// See [`JwksConfig::max_key_age`].
    pub max_key_age_seconds: Option<u64>,
    /// See [`JwksConfig::fetch_timeout`].
    pub fetch_timeout_ms: Option<u64>,
    /// See [`JwksConfig::max_response_bytes`].
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
    /// Admin-only user attributes.
    #[serde(default)]
    pub protected_attributes: Vec<String>,
}

impl AuthConfig {
    /// Reads and parses a file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = Self::from_toml(&text)?;
        config.base_dir = path.parent().map(std::path::Path::to_path_buf);
        Ok(config)
    }

    /// The folder of the configuration file, when it was read from one.
    pub fn base_dir(&self) -> Option<&std::path::Path> {
        self.base_dir.as_deref()
    }

    /// Parses TOML text. Unknown fields are errors naming the field.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))
    }

    /// Validates the tenants and returns a builder carrying every setting.
    pub fn into_builder(self) -> Result<CognitoAuthBuilder, ConfigError> {
        let this = self;
        let tenants = this
            .tenants
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let mut builder = Tenant::builder(t.id, t.user_pool_id)
                    .client_ids(t.client_ids)
                    .protected_attributes(t.protected_attributes);
                if let Some(url) = t.jwks_url {
                    builder = builder.jwks_url(url);
                }
                for (role, groups) in t.roles.unwrap_or_default() {
                    builder = builder.role(role, groups);
                }
                builder.build_at(&format!("tenant[{i}]"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let defaults = JwksConfig::default();
        let j = this.jwks;
        let secs = |v: Option<u64>, d: Duration| v.map_or(d, Duration::from_secs);
        let jwks = JwksConfig {
            cooldown: secs(j.cooldown_seconds, defaults.cooldown),
            refresh_interval: secs(j.refresh_seconds, defaults.refresh_interval),
            max_key_age: secs(j.max_key_age_seconds, defaults.max_key_age),
            fetch_timeout: j
                .fetch_timeout_ms
                .map_or(defaults.fetch_timeout, Duration::from_millis),
            max_response_bytes: j.max_response_bytes.unwrap_or(defaults.max_response_bytes),
        };
        if jwks.fetch_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "jwks.fetch_timeout_ms",
                "must be positive",
            ));
        }
        let mut builder = crate::CognitoAuth::builder()
            .tenants(TenantRegistry::from_tenants(tenants)?)
            .leeway(Duration::from_secs(this.leeway_seconds))
            .max_token_bytes(this.max_token_bytes)
            .token_cache_entries(this.token_cache_entries)
            .token_cache_ttl(Duration::from_secs(this.token_cache_ttl_seconds))
            .jwks(jwks);
        if let Some(guard) = this.self_service_guard {
            builder = builder.self_service_guard(SelfServiceGuard {
                allowed_roles: guard.allowed_roles,
            });
        }
        if this.revocations {
            builder = builder.revocations(crate::Revocations::new());
        }
        Ok(builder)
    }

    /// Like [`into_builder`](Self::into_builder), keeping the config (for the `[aws]` and
    /// `[triggers]` sections used by admin operations and triggers).
    pub fn to_builder(&self) -> Result<CognitoAuthBuilder, ConfigError> {
        self.clone().into_builder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
leeway_seconds = 5
revocations = true
[jwks]
cooldown_seconds = 30
[self_service_guard]
[[tenant]]
id = "acme"
user_pool_id = "us-east-1_AbCdEf123"
client_ids = ["3n4b5urk1ft4fl3mg5e62d9ado"]
jwks_url = "http://127.0.0.1:5000/us-east-1_AbCdEf123/.well-known/jwks.json"
[tenant.roles]
admin = ["admin", "Administrators"]
[[tenant]]
id = "globex"
user_pool_id = "eu-west-1_Globex"
client_ids = ["a", "b"]
"#;

    fn err(text: &str) -> String {
        match AuthConfig::from_toml(text)
            .and_then(AuthConfig::into_builder)
            .and_then(CognitoAuthBuilder::build)
        {
            Ok(_) => panic!("config accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn documented_format_loads() {
        let config = AuthConfig::from_toml(GOOD).unwrap();
        assert_eq!(config.leeway_seconds, 5);
        assert_eq!(config.jwks.cooldown_seconds, Some(30));
        assert_eq!(
            config.self_service_guard.as_ref().unwrap().allowed_roles,
            ["admin"]
        );
        let auth = config.into_builder().unwrap().build().unwrap();
        assert_eq!(auth.tenants().len(), 2);
        assert!(auth.revocations().is_some());
        let without = GOOD.replace("revocations = true\n", "");
        let auth = AuthConfig::from_toml(&without)
            .and_then(AuthConfig::into_builder)
            .and_then(CognitoAuthBuilder::build)
            .unwrap();
        assert!(auth.revocations().is_none(), "off by default");
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = err("leeway = 1\n[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']");
        assert!(e.contains("leeway"), "{e}");
        let e = err("[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\nclient='x'");
        assert!(e.contains("client"), "{e}");
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = err("[[tenant]]\nid='a'\nuser_pool_id='nope'\nclient_ids=['c']");
        assert!(e.contains("tenant[0].user_pool_id"), "{e}");
        let e = err("[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=[]");
        assert!(e.contains("tenant[0].client_ids"), "{e}");
        let e = err(
            "[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\n\
             [[tenant]]\nid='b'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']",
        );
        assert!(
            e.contains("tenant[1].user_pool_id") && e.contains("duplicate issuer"),
            "{e}"
        );
        let e = err(
            "[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\njwks_url='ftp://x'",
        );
        assert!(e.contains("tenant[0].jwks_url"), "{e}");
        let e = err(
            "[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\n[tenant.roles]\nadmin=[]",
        );
        assert!(e.contains("tenant[0].roles.admin"), "{e}");
    }

    #[test]
    fn no_tenant_is_an_error() {
        let e = err("leeway_seconds = 1");
        assert!(e.contains("tenant"), "{e}");
    }
}
