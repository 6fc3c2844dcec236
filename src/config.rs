//! The TOML configuration file.
//!
//! ```toml
//! leeway_seconds = 0            # optional, default 0
//! max_token_bytes = 8192        # optional, default 8192
//! token_cache_entries = 100000  # optional, 0 disables the verified-token cache
//! token_cache_ttl_seconds = 3600  # optional: longest a verified token stays cached
//! revocations = false           # optional: keep a local revocation list (see Revocations)
//!                               # or, to share it between replicas (feature redis), a table:
//! # [revocations]
//! # redis_url = "redis://127.0.0.1:6379/0"    # present: shared store (never logged)
//! # key_prefix = "cognito-authz"               # optional
//! # max_staleness_seconds = 30                 # optional
//! # on_store_unavailable = "serve_last_known"  # or "refuse"
//! # retention_seconds = 86400                  # optional: the longest token lifetime
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
//! machine_client_ids = ["5b2m1client0credentials0app"]  # optional: client-credentials callers
//! replica_regions = ["eu-west-1"]  # optional: multi-Region replicas, key fallback order
//! [tenant.roles]                # optional: role = [groups]
//! admin = ["admin", "Administrators"]
//! [tenant.client_roles]         # optional: "<machine client id>" = [roles]
//! "5b2m1client0credentials0app" = ["orders-sync"]
//!
//! [aws]                         # optional (features admin, lambda)
//! endpoint_url = "http://127.0.0.1:5000"   # an emulator; default: the real service
//! region = "us-east-1"          # default: the AWS provider chain
//!
//! [catalog]                     # optional (feature dynamodb): runtime tenants
//! dynamodb_table = "tenants"    # looked up by the token's pool, through [aws]
//!
//! [admin]                       # optional (feature admin)
//! self_service_attributes = ["name", "locale", "custom:team"]  # default: standard profile ones
//!
//! [metrics]                     # optional (feature metrics)
//! tenant_label = true           # default true; false: no `tenant` label on any metric
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

use crate::auth::{CognitoAuth, CognitoAuthBuilder};
pub use crate::aws_section::AwsSection;
use crate::error::ConfigError;
use crate::jwks::JwksConfig;
use crate::tenant::{Tenant, TenantRegistry};
use crate::verify::SelfServiceGuard;

/// The parsed configuration file. Build a [`CognitoAuth`] from it with
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
    /// `revocations = true`: keep a local [`Revocations`](crate::Revocations) list (admin
    /// sign-outs and disables are recorded in it; `CognitoAuth::revocations` gives it to your
    /// code). A `[revocations]` table: share it between replicas through Redis (feature
    /// `redis`).
    #[serde(default)]
    pub revocations: RevocationsSetting,
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
    /// Metrics settings (feature `metrics`; accepted and ignored without it).
    #[serde(default)]
    pub metrics: MetricsSection,
    /// The tenants.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<TenantSection>,
    /// Runtime tenants from a DynamoDB table (feature `dynamodb`).
    pub catalog: Option<CatalogSection>,
    /// Cedar policies (feature `cedar`); see [`Cedar::from_config`](crate::cedar::Cedar::from_config).
    #[cfg(feature = "cedar")]
    pub cedar: Option<CedarSection>,
    /// The folder of the file this was read from: relative paths in it are relative to it.
    #[serde(skip)]
    base_dir: Option<std::path::PathBuf>,
}

/// `[catalog]`: tenants added at runtime, found by their user pool in a DynamoDB table (feature
/// `dynamodb`; item format in the `catalog` module). The table is reached like `[aws]` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CatalogSection {
    /// The table's name.
    pub dynamodb_table: String,
}

/// DynamoDB's table naming rule: 3 to 255 of `a-z A-Z 0-9 _ - .`.
fn is_dynamodb_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
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
}

/// `[metrics]`: see [`metrics`](crate::metrics).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsSection {
    /// Whether metrics carry a `tenant` label (default `true`); see
    /// [`CognitoAuthBuilder::metrics_tenant_label`].
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
    /// `redis://[user:password@]host[:port][/db]`. Never logged nor shown by `Debug`.
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
            .finish()
    }
}

impl SharedRevocationsSection {
    #[cfg(feature = "redis")]
    fn into_store(self) -> crate::revocation::RedisRevocations {
        let mut store = crate::revocation::RedisRevocations::new(self.redis_url)
            .on_store_unavailable(self.on_store_unavailable);
        if let Some(prefix) = self.key_prefix {
            store = store.key_prefix(prefix);
        }
        if let Some(secs) = self.max_staleness_seconds {
            store = store.max_staleness(Duration::from_secs(secs));
        }
        if let Some(secs) = self.retention_seconds {
            store = store.retention(Duration::from_secs(secs));
        }
        store
    }
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
        if let Some(catalog) = &this.catalog {
            if !cfg!(feature = "dynamodb") {
                return Err(ConfigError::invalid(
                    "catalog",
                    "a DynamoDB tenant catalog needs cognito-authz built with cargo feature `dynamodb`",
                ));
            }
            if !is_dynamodb_table_name(&catalog.dynamodb_table) {
                return Err(ConfigError::invalid(
                    "catalog.dynamodb_table",
                    format!(
                        "{:?} is not a DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ - .)",
                        catalog.dynamodb_table
                    ),
                ));
            }
        }
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
                builder = builder.machine_client_ids(t.machine_client_ids);
                for (client, roles) in t.client_roles {
                    builder = builder.client_roles(client, roles);
                }
                builder = builder.replica_regions(t.replica_regions);
                for (region, url) in t.replica_jwks_urls {
                    builder = builder.replica_jwks_url(region, url);
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
        #[cfg(feature = "dynamodb")]
        let catalog = this.catalog.map(|catalog| {
            crate::catalog::DynamoDbCatalog::lazy(this.aws.clone(), catalog.dynamodb_table)
                .reserved_tenant_ids(tenants.iter().map(|t| t.id().to_owned()))
        });
        let mut builder = crate::CognitoAuth::builder()
            .tenants(TenantRegistry::from_tenants(tenants)?)
            .leeway(Duration::from_secs(this.leeway_seconds))
            .max_token_bytes(this.max_token_bytes)
            .token_cache_entries(this.token_cache_entries)
            .token_cache_ttl(Duration::from_secs(this.token_cache_ttl_seconds))
            .jwks(jwks)
            .metrics_tenant_label(this.metrics.tenant_label);
        if let Some(guard) = this.self_service_guard {
            builder = builder.self_service_guard(SelfServiceGuard {
                allowed_roles: guard.allowed_roles,
            });
        }
        match this.revocations {
            RevocationsSetting::Local(false) => {}
            RevocationsSetting::Local(true) => {
                builder = builder.revocations(crate::Revocations::new());
            }
            #[cfg(feature = "redis")]
            RevocationsSetting::Shared(section) => {
                builder = builder.redis_revocations(section.into_store());
            }
            #[cfg(not(feature = "redis"))]
            RevocationsSetting::Shared(_) => {
                return Err(ConfigError::invalid(
                    "revocations",
                    "a [revocations] table (shared store) needs the cargo feature `redis`; \
                     use `revocations = true` for an in-process list",
                ));
            }
        }
        #[cfg(feature = "dynamodb")]
        if let Some(catalog) = catalog {
            builder = builder.resolver(catalog);
        }
        Ok(builder)
    }

    /// Like [`into_builder`](Self::into_builder), keeping the config (for the `[aws]` and
    /// `[triggers]` sections used by admin operations and triggers).
    pub fn to_builder(&self) -> Result<CognitoAuthBuilder, ConfigError> {
        self.clone().into_builder()
    }
}

// Here rather than in auth.rs: the configuration builds on the builder, not the reverse.
impl CognitoAuth {
    /// Loads a TOML configuration file (format in the crate docs and README).
    pub fn from_config_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        AuthConfig::from_file(path)?.into_builder()?.build()
    }

    /// Parses a TOML configuration.
    pub fn from_config_str(toml: &str) -> Result<Self, ConfigError> {
        AuthConfig::from_toml(toml)?.into_builder()?.build()
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

    const TENANT: &str = "[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\n";

    #[test]
    fn revocations_take_a_bool_or_a_table_with_named_errors() {
        let local = AuthConfig::from_toml(&format!("revocations = true\n{TENANT}")).unwrap();
        assert!(matches!(local.revocations, RevocationsSetting::Local(true)));
        let shared = AuthConfig::from_toml(&format!(
            "{TENANT}[revocations]\nredis_url = 'redis://u:s3cret@127.0.0.1:1/0'\n\
             key_prefix = 'p'\nmax_staleness_seconds = 5\non_store_unavailable = 'refuse'\n\
             retention_seconds = 3600\n"
        ))
        .unwrap();
        let RevocationsSetting::Shared(section) = &shared.revocations else {
            panic!("table not read as a shared store: {:?}", shared.revocations);
        };
        assert_eq!(
            section.on_store_unavailable,
            crate::revocation::OnStoreUnavailable::Refuse
        );
        assert_eq!(section.retention_seconds, Some(3600));
        let debug = format!("{shared:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("127.0.0.1:1/0"),
            "{debug}"
        );

        let e = err(&format!(
            "{TENANT}[revocations]\nredis_url = 'redis://h'\nprefix = 'x'\n"
        ));
        assert!(e.contains("unknown field") && e.contains("prefix"), "{e}");
        let e = err(&format!(
            "{TENANT}[revocations]\nredis_url = 'redis://h'\non_store_unavailable = 'ignore'\n"
        ));
        assert!(
            e.contains("ignore") && e.contains("serve_last_known"),
            "{e}"
        );
        let e = err(&format!("{TENANT}[revocations]\nkey_prefix = 'x'\n"));
        assert!(e.contains("redis_url"), "{e}");
        let e = err(&format!("revocations = 'yes'\n{TENANT}"));
        assert!(e.contains("revocations"), "{e}");
    }

    #[cfg(not(feature = "redis"))]
    #[test]
    fn a_revocations_table_without_feature_redis_names_the_feature() {
        let e = err(&format!(
            "{TENANT}[revocations]\nredis_url = 'redis://127.0.0.1/0'\n"
        ));
        assert!(e.contains("feature `redis`"), "{e}");
    }

    #[cfg(feature = "redis")]
    #[test]
    fn bad_shared_revocation_settings_name_the_key_and_hide_the_url() {
        let e = err(&format!(
            "{TENANT}[revocations]\nredis_url = 'http://u:s3cret@h/0'\n"
        ));
        assert!(
            e.contains("revocations.redis_url") && !e.contains("s3cret"),
            "{e}"
        );
        let e = err(&format!(
            "{TENANT}[revocations]\nredis_url = 'redis://h'\nmax_staleness_seconds = 0\n"
        ));
        assert!(e.contains("revocations.max_staleness_seconds"), "{e}");
        let e = err(&format!(
            "{TENANT}[revocations]\nredis_url = 'redis://h'\nkey_prefix = ''\n"
        ));
        assert!(e.contains("revocations.key_prefix"), "{e}");
        let e = err(&format!(
            "{TENANT}[revocations]\nredis_url = 'redis://h'\nretention_seconds = 1\n"
        ));
        assert!(e.contains("revocations.retention_seconds"), "{e}");
    }

    #[test]
    fn catalog_section_is_checked_and_names_its_feature() {
        let catalog = "[catalog]\ndynamodb_table = 'tenants'\n";
        let config = AuthConfig::from_toml(catalog).unwrap();
        assert_eq!(config.catalog.as_ref().unwrap().dynamodb_table, "tenants");
        #[cfg(not(feature = "dynamodb"))]
        {
            let e = err(catalog);
            assert!(e.contains("catalog") && e.contains("`dynamodb`"), "{e}");
        }
        #[cfg(feature = "dynamodb")]
        {
            // No [[tenant]] needed: the catalog is the resolver.
            let auth = config.into_builder().unwrap().build().unwrap();
            assert!(auth.tenants().is_empty());
            let e = err("[catalog]\ndynamodb_table = 'a b'\n");
            assert!(e.contains("catalog.dynamodb_table"), "{e}");
            let e = err("[catalog]\ndynamodb_table = 'ab'\n");
            assert!(e.contains("catalog.dynamodb_table"), "{e}");
        }
        let e = err("[catalog]\ndynamodb_table = 'tenants'\ntable = 'x'\n");
        assert!(e.contains("table"), "{e}");
        let e = err("[catalog]\n");
        assert!(e.contains("dynamodb_table"), "{e}");
    }

    #[test]
    fn metrics_section_switches_the_tenant_label() {
        let config = AuthConfig::from_toml(GOOD).unwrap();
        assert!(config.metrics.tenant_label, "on by default");
        let off =
            AuthConfig::from_toml(&format!("{GOOD}[metrics]\ntenant_label = false\n")).unwrap();
        assert!(!off.metrics.tenant_label);
        let e = err(&format!("{GOOD}[metrics]\ntenant = false\n"));
        assert!(e.contains("unknown field `tenant`"), "{e}");
    }

    #[test]
    fn replica_regions_and_their_key_urls_load() {
        let config = AuthConfig::from_toml(&format!(
            "{TENANT}replica_regions = ['eu-west-1', 'ap-south-1']\n[tenant.replica_jwks_urls]\n'ap-south-1' = 'http://127.0.0.1:9/keys'\n"
        ))
        .unwrap();
        let auth = config.into_builder().unwrap().build().unwrap();
        let tenant = auth.tenants().get_by_id("a").unwrap();
        assert_eq!(tenant.replica_regions(), ["eu-west-1", "ap-south-1"]);
        assert_eq!(tenant.replica_jwks_urls()[1], "http://127.0.0.1:9/keys");
        let replica_iss = "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_a";
        assert!(auth.tenants().get_by_issuer(replica_iss).is_some());
        let e = err(&format!("{TENANT}replica_regions = ['us-east-1']\n"));
        assert!(e.contains("tenant[0].replica_regions"), "{e}");
        let e = err(&format!(
            "{TENANT}[tenant.replica_jwks_urls]\n'eu-west-1' = 'http://127.0.0.1:9/k'\n"
        ));
        assert!(e.contains("tenant[0].replica_jwks_urls.eu-west-1"), "{e}");
    }

    #[test]
    fn machine_clients_and_their_roles_load() {
        let config = AuthConfig::from_toml(&format!(
            "{TENANT}machine_client_ids = ['m1', 'm2']\n[tenant.client_roles]\nm1 = ['sync', 'admin', 'sync']\n"
        ))
        .unwrap();
        let auth = config.into_builder().unwrap().build().unwrap();
        let tenant = auth.tenants().get_by_id("a").unwrap();
        assert_eq!(tenant.machine_client_ids(), ["m1", "m2"]);
        let roles: Vec<&str> = tenant.client_roles("m1").iter().map(|r| &**r).collect();
        assert_eq!(roles, ["admin", "sync"]);
        assert!(tenant.client_roles("m2").is_empty() && tenant.client_roles("c").is_empty());
    }

    #[test]
    fn bad_machine_client_settings_name_the_field() {
        let e = err(&format!("{TENANT}machine_client_ids = ['']\n"));
        assert!(e.contains("tenant[0].machine_client_ids"), "{e}");
        let e = err(&format!("{TENANT}machine_client_ids = 'm'\n"));
        assert!(e.contains("machine_client_ids"), "{e}");
        let e = err(&format!(
            "{TENANT}machine_client_ids = ['m']\n[tenant.client_roles]\nm = []\n"
        ));
        assert!(
            e.contains("tenant[0].client_roles.m") && e.contains("at least one role"),
            "{e}"
        );
        let e = err(&format!(
            "{TENANT}machine_client_ids = ['m']\n[tenant.client_roles]\nm = ['']\n"
        ));
        assert!(e.contains("tenant[0].client_roles.m"), "{e}");
        // Roles for a client that is not a machine client (a typo, or a user client).
        let e = err(&format!(
            "{TENANT}machine_client_ids = ['m']\n[tenant.client_roles]\nc = ['admin']\n"
        ));
        assert!(
            e.contains("tenant[0].client_roles.c") && e.contains("machine_client_ids"),
            "{e}"
        );
        // TOML type errors point at the line of the key.
        let e = err(&format!("{TENANT}[tenant.client_roles]\nm = 'admin'\n"));
        assert!(
            e.contains("m = 'admin'") && e.contains("expected a sequence"),
            "{e}"
        );
    }

    #[test]
    fn no_tenant_is_an_error() {
        let e = err("leeway_seconds = 1");
        assert!(e.contains("tenant"), "{e}");
    }
}
