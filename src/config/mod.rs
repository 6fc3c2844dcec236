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
//! # clock_margin_seconds = 5                   # optional: refuse tokens issued this soon after
//! # tls_ca_file = "ca.pem"                     # optional, rediss:// only: a private CA
//! # tls_client_cert_file = "client.pem"        # optional, rediss:// only: mutual TLS, with
//! # tls_client_key_file = "client.key"         #   its key
//! # cluster = false                            # optional: Redis Cluster, redis_url a seed node
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
//! refresh_seconds = 30          # optional: new tenants are accepted within this time
//! resolver_ttl_seconds = 300    # optional: how long a found tenant is trusted (offboarding)
//! allowed_jwks_hosts = ["127.0.0.1:5000"]  # optional: item JWKS hosts besides Cognito's
//! lookups_per_second = 100      # optional: cap on tenant item reads, whatever the traffic
//!
//! [admin]                       # optional (feature admin)
//! self_service_attributes = ["name", "locale", "custom:team"]  # default: standard profile ones
//! max_password_attempts = 5     # default 5 failed POST /me/password or MFA challenges per user per window
//! password_attempt_window_seconds = 900    # default 900
//! [admin.client_secrets]        # optional: app clients with a secret (SECRET_HASH)
//! "3n4b5urk1ft4fl3mg5e62d9ado" = "..."
//! "7enr0llment0client0id0abcd" = "..."     # the enrollment client's secret (required)
//! [admin.totp_enrollment_clients]  # optional: TOTP enrollment for users without the scope
//! acme = "7enr0llment0client0id0abcd"      # tenant id = server-only enrollment app client
//!
//! [metrics]                     # optional (feature metrics)
//! tenant_label = true           # default true; false: no `tenant` label on any metric
//!
//! [triggers]                    # optional (feature lambda)
//! self_manage_roles = ["admin"] # default: [self_service_guard] roles, else ["admin"]
//! roles_claim = "roles"         # optional: add mapped roles to access tokens
//! mfa_required_attribute = "custom:mfa_required"
//! mfa_enrollment_window_attribute = "custom:mfa_enroll_until"  # optional: no default, off
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

mod sections;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Deserialize;

use crate::auth::{CognitoAuth, CognitoAuthBuilder};
pub use crate::aws_section::AwsSection;
use crate::error::ConfigError;
use crate::jwks::JwksConfig;
use crate::tenant::{Tenant, TenantRegistry};
use crate::verify::SelfServiceGuard;

#[cfg(feature = "cedar")]
pub use sections::CedarSection;
pub use sections::{
    AdminSection, CatalogSection, ClientSecret, GuardSection, JwksSection, MetricsSection,
    RevocationsSetting, SharedRevocationsSection, TenantSection, TriggersSection,
};

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

/// DynamoDB's table naming rule: 3 to 255 of `a-z A-Z 0-9 _ - .`.
fn is_dynamodb_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl SharedRevocationsSection {
    /// The store these settings describe (feature `redis`).
    #[cfg(feature = "redis")]
    pub fn into_store(self) -> crate::revocation::RedisRevocations {
        let mut store = crate::revocation::RedisRevocations::new(self.redis_url)
            .on_store_unavailable(self.on_store_unavailable)
            .cluster(self.cluster);
        if let Some(prefix) = self.key_prefix {
            store = store.key_prefix(prefix);
        }
        if let Some(secs) = self.max_staleness_seconds {
            store = store.max_staleness(Duration::from_secs(secs));
        }
        if let Some(secs) = self.retention_seconds {
            store = store.retention(Duration::from_secs(secs));
        }
        if let Some(secs) = self.clock_margin_seconds {
            store = store.clock_margin(Duration::from_secs(secs));
        }
        if let Some(path) = self.tls_ca_file {
            store = store.tls_ca_file(path);
        }
        store.tls_client_files(self.tls_client_cert_file, self.tls_client_key_file)
    }
}

// The builder's defaults, so that a file and code without the field behave the same.
fn default_max_token_bytes() -> usize {
    crate::auth::DEFAULT_MAX_TOKEN_BYTES
}
fn default_cache_entries() -> u64 {
    crate::auth::DEFAULT_TOKEN_CACHE_ENTRIES
}
fn default_cache_ttl() -> u64 {
    crate::auth::DEFAULT_TOKEN_CACHE_TTL.as_secs()
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
        toml::from_str(text).map_err(ConfigError::Toml)
    }

    /// Validates the tenants and returns a builder carrying every setting.
    pub fn into_builder(self) -> Result<CognitoAuthBuilder, ConfigError> {
        let this = self;
        this.validate_totp_enrollment()?;
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
            #[cfg(feature = "dynamodb")]
            catalog.validate()?;
        }
        // Built before the tenants are consumed: it reserves their ids and pools.
        #[cfg(feature = "dynamodb")]
        let catalog = this.catalog.as_ref().map(|section| {
            (
                this.catalog(&section.dynamodb_table),
                section.resolver_ttl_seconds,
            )
        });
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
        if let Some((catalog, resolver_ttl_seconds)) = catalog {
            builder = builder.resolver(catalog);
            if let Some(secs) = resolver_ttl_seconds {
                builder = builder.resolver_ttl(
                    Duration::from_secs(secs),
                    crate::auth::DEFAULT_RESOLVER_NEGATIVE_TTL,
                );
            }
        }
        Ok(builder)
    }

    /// The TOTP enrollment settings: a window attribute that names an attribute, and for each
    /// enrollment client a window attribute, a secret, and no overlap with the tenant's own
    /// clients (its tokens must never be accepted as a user's).
    fn validate_totp_enrollment(&self) -> Result<(), ConfigError> {
        let window = self.triggers.mfa_enrollment_window_attribute.as_deref();
        if window.is_some_and(|a| a.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "triggers.mfa_enrollment_window_attribute",
                "must name a user attribute",
            ));
        }
        let mfa_required = self
            .triggers
            .mfa_required_attribute
            .as_deref()
            .unwrap_or("custom:mfa_required");
        if window.is_some_and(|w| w.eq_ignore_ascii_case(mfa_required)) {
            return Err(ConfigError::invalid(
                "triggers.mfa_enrollment_window_attribute",
                "must differ from triggers.mfa_required_attribute",
            ));
        }
        for (tenant, client) in &self.admin.totp_enrollment_clients {
            let field = format!("admin.totp_enrollment_clients.{tenant}");
            if window.is_none() {
                return Err(ConfigError::invalid(
                    &field,
                    "needs [triggers] mfa_enrollment_window_attribute",
                ));
            }
            if client.trim().is_empty() {
                return Err(ConfigError::invalid(&field, "must name an app client id"));
            }
            if !self.admin.client_secrets.contains_key(client) {
                return Err(ConfigError::invalid(
                    &field,
                    "the enrollment client must have a secret in [admin.client_secrets]",
                ));
            }
            let reused = self
                .tenants
                .iter()
                .any(|t| t.client_ids.contains(client) || t.machine_client_ids.contains(client));
            if reused {
                return Err(ConfigError::invalid(
                    &field,
                    "the enrollment client must not be a tenant's client_ids or \
                     machine_client_ids entry (its tokens keep the self-service scope)",
                ));
            }
        }
        Ok(())
    }

    /// The tenant catalog in `table` as this configuration reads it: reached as `[aws]` says,
    /// the `[[tenant]]` ids and pools reserved, and the `[catalog]` settings applied (refresh
    /// interval, allowed JWKS hosts, lookups per second). The one place a catalog is built from
    /// a configuration: the service's resolver, the admin routes' lookup, the `cognito-authz`
    /// tool and code of your own reading the catalog (the `admin_service` example's public
    /// client-config route) apply the same rules to items. Its AWS client is built on first use,
    /// which needs a tokio runtime.
    #[cfg(feature = "dynamodb")]
    pub fn catalog(&self, table: &str) -> crate::catalog::DynamoDbCatalog {
        let mut catalog = crate::catalog::DynamoDbCatalog::lazy(self.aws.clone(), table)
            .reserved_tenant_ids(self.tenants.iter().map(|t| t.id.clone()))
            .reserved_user_pool_ids(self.tenants.iter().map(|t| t.user_pool_id.clone()));
        if let Some(section) = &self.catalog {
            catalog = catalog.allowed_jwks_hosts(section.allowed_jwks_hosts.iter().cloned());
            if let Some(secs) = section.refresh_seconds {
                catalog = catalog.refresh_interval(Duration::from_secs(secs));
            }
            if let Some(per_second) = section.lookups_per_second {
                catalog = catalog.lookups_per_second(per_second);
            }
        }
        catalog
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
