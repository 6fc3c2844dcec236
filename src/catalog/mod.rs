//! A runtime tenant catalog on DynamoDB (feature `dynamodb`): tenants added without a restart.
//!
//! [`DynamoDbCatalog`] is a [`TenantResolver`](crate::tenant::TenantResolver): a token whose issuer is
//! not a configured tenant's is first looked up in an in-memory index of the table's issuers
//! (no request), then, if the index holds it, its tenant item is read by its user pool id
//! behind the resolver cache (found: 5 min, `[catalog] resolver_ttl_seconds`; see
//! [`CognitoAuthBuilder::resolver_ttl`](crate::CognitoAuthBuilder::resolver_ttl)). The
//! configuration file enables it with
//!
//! ```toml
//! [catalog]
//! dynamodb_table = "tenants"
//! refresh_seconds = 30                       # optional: version item check interval
//! resolver_ttl_seconds = 300                 # optional: how long a found tenant is trusted
//! allowed_jwks_hosts = ["127.0.0.1:5000"]    # optional: JWKS hosts besides Cognito's (emulators)
//! ```
//!
//! and the table is reached as `[aws]` says (`endpoint_url`, `region`, else the standard
//! provider chain). The service only reads (`dynamodb:GetItem`, `dynamodb:Scan`); writing is
//! for the `cognito-authz` tool or your own code through [`DynamoDbCatalog::put`].
//!
//! # The table
//! Partition key `user_pool_id` (string), no sort key, on-demand capacity
//! ([`DynamoDbCatalog::ensure_table`] creates it so). It holds three kinds of items:
//!
//! - a **tenant item**, keyed by its pool id, because the resolver looks tenants up by the
//!   token's pool: one consistent `GetItem`, whatever the number of tenants;
//! - a **guard item** per tenant, keyed `tenant#<tenant id>` (`#` never occurs in a pool id),
//!   whose `owner_pool_id` names the one pool that tenant id belongs to;
//! - one **version item**, keyed `catalog#version`, whose counter `version` every write of
//!   [`put`](DynamoDbCatalog::put) and [`remove`](DynamoDbCatalog::remove) increments in the
//!   same transaction ([`bump_version`](DynamoDbCatalog::bump_version) after writing by hand).
//!
//! Tenant ids are identities (policies such as `same_tenant_as` compare them), so two pools must
//! never share one. DynamoDB has no unique secondary constraint and a global secondary index is
//! eventually consistent and cannot be conditioned on, so [`put`](DynamoDbCatalog::put) writes
//! both items in one transaction, each conditioned on being new or already this tenant's; and
//! the resolver honours a tenant item only if its guard names its pool, so an item written by
//! hand that reuses a tenant id is refused rather than merged into another tenant.
//!
//! # No request for unknown issuers
//! Without an index, every made-up pool id in a token's `iss` would cost one DynamoDB read:
//! the catalog would amplify unauthenticated traffic. The resolver keeps the exact issuers of
//! every item it accepts in memory, checks the version item at most once per
//! [`refresh_interval`](DynamoDbCatalog::refresh_interval) (one `GetItem`) and re-reads the table
//! (a paginated `Scan`) only when the version changed. An issuer not in the index is refused
//! (401) with no request and nothing cached; a tenant written by `put` is accepted within the
//! refresh interval. A failed check keeps the last good index; with no index loaded yet, lookups
//! get 503 (retried after at most 5 s, without a request in between). As defence in depth, the
//! resolver's reads of tenant items are capped at
//! [`lookups_per_second`](DynamoDbCatalog::lookups_per_second) (default 100) whatever the
//! traffic; over it, 503 and nothing read.
//!
//! # Items that are wrong
//! A malformed item (missing or unknown attribute, wrong type, bad pool id, empty client list,
//! region not the pool's, no guard, a configured tenant's id or pool, a JWKS URL that is not
//! Cognito's for its pool and regions nor on an allowed host) is refused with a `warn` event on
//! target `cognito_authz::catalog` naming the table, the pool and the reason, and its pool is
//! answered as unknown (401 `invalid_token`), like a pool that is not there. It is not a store
//! failure (503): retrying cannot fix it, a 503 tells clients to come back (a retry storm for a
//! permanent fault), and a failure is not cached, so every request would read the table again.
//! It is left out of the index (the `warn` comes with each re-read of the table), or, if
//! refused when its item is read, cached as "not found" for the negative TTL.
//! A table that cannot be read (missing table, no permission, throttling, network) is a store
//! failure: 503 and nothing cached.

mod dynamodb;
mod item;
mod trust;

use std::collections::BTreeMap;
use std::time::Duration;

pub use dynamodb::{DEFAULT_LOOKUPS_PER_SECOND, DEFAULT_REFRESH_INTERVAL, DynamoDbCatalog};
pub use item::ItemError;
pub(crate) use trust::is_host_port;

use crate::error::ConfigError;
use crate::tenant::Tenant;

/// One tenant as the catalog stores it: the attributes of its tenant item.
///
/// ```
/// use cognito_authz::catalog::CatalogEntry;
///
/// let entry = CatalogEntry {
///     tenant_id: "acme".into(),
///     user_pool_id: "us-east-1_AbCdEf123".into(),
///     region: "us-east-1".into(),
///     client_ids: vec!["3n4b5urk1ft4fl3mg5e62d9ado".into()],
///     roles: [("admin".to_owned(), vec!["admin".to_owned()])].into(),
///     protected_attributes: vec!["custom:plan".into()],
///     ..CatalogEntry::new("acme", "us-east-1_AbCdEf123")
/// };
/// assert_eq!(entry.to_tenant()?.region(), "us-east-1");
/// # Ok::<(), cognito_authz::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The tenant id, unique across the configuration file and the catalog.
    pub tenant_id: String,
    /// The user pool id, `<region>_<id>`: the item's key.
    pub user_pool_id: String,
    /// The pool's region; must be the pool id's prefix.
    pub region: String,
    /// Accepted app client ids (at least one).
    pub client_ids: Vec<String>,
    /// `role = [groups]`; empty: each group name is a role name.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Admin-only user attributes.
    pub protected_attributes: Vec<String>,
    /// JWKS URL override (emulators, tests).
    pub jwks_url: Option<String>,
    /// App clients whose client-credentials tokens are accepted as machine callers.
    pub machine_client_ids: Vec<String>,
    /// `"<machine client id>" = [roles]`.
    pub client_roles: BTreeMap<String, Vec<String>>,
    /// Regions holding replicas of the pool (multi-Region replication), in key fallback order.
    pub replica_regions: Vec<String>,
    /// `"<replica region>" = "<JWKS URL>"` overrides (emulators, tests).
    pub replica_jwks_urls: BTreeMap<String, String>,
}

impl CatalogEntry {
    /// An entry for pool `user_pool_id` with nothing else set: its region is the pool id's
    /// prefix; add app clients before storing it.
    pub fn new(tenant_id: impl Into<String>, user_pool_id: impl Into<String>) -> Self {
        let user_pool_id = user_pool_id.into();
        CatalogEntry {
            tenant_id: tenant_id.into(),
            region: user_pool_id
                .split_once('_')
                .map_or(user_pool_id.as_str(), |(region, _)| region)
                .to_owned(),
            user_pool_id,
            client_ids: Vec::new(),
            roles: BTreeMap::new(),
            protected_attributes: Vec::new(),
            jwks_url: None,
            machine_client_ids: Vec::new(),
            client_roles: BTreeMap::new(),
            replica_regions: Vec::new(),
            replica_jwks_urls: BTreeMap::new(),
        }
    }

    /// The tenant this entry describes, with the rules of a `[[tenant]]` in the configuration
    /// file, and the region checked against the pool id. Errors name the item attribute
    /// (`item.client_ids`).
    pub fn to_tenant(&self) -> Result<Tenant, ConfigError> {
        if self.tenant_id.is_empty() {
            return Err(ConfigError::invalid("item.tenant_id", "must not be empty"));
        }
        let mut builder = Tenant::builder(&self.tenant_id, &self.user_pool_id)
            .client_ids(self.client_ids.iter().cloned())
            .protected_attributes(self.protected_attributes.iter().cloned());
        if let Some(url) = &self.jwks_url {
            builder = builder.jwks_url(url.clone());
        }
        for (role, groups) in &self.roles {
            builder = builder.role(role.clone(), groups.iter().cloned());
        }
        builder = builder
            .machine_client_ids(self.machine_client_ids.iter().cloned())
            .replica_regions(self.replica_regions.iter().cloned());
        for (client, roles) in &self.client_roles {
            builder = builder.client_roles(client.clone(), roles.iter().cloned());
        }
        for (region, url) in &self.replica_jwks_urls {
            builder = builder.replica_jwks_url(region.clone(), url.clone());
        }
        let tenant = builder.build_at("item")?;
        if tenant.region() != self.region {
            return Err(ConfigError::invalid(
                "item.region",
                format!(
                    "{:?} is not the region of user pool {:?} ({})",
                    self.region,
                    self.user_pool_id,
                    tenant.region()
                ),
            ));
        }
        Ok(tenant)
    }
}

/// Why a catalog operation failed. Messages name the table, pools and tenant ids; never
/// credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// DynamoDB could not be asked or refused the request (missing table, permissions,
    /// throttling, network).
    #[error("DynamoDB {operation} on table {table} failed: {message}")]
    Store {
        /// The table.
        table: String,
        /// The DynamoDB operation.
        operation: &'static str,
        /// The SDK's error, with its causes.
        message: String,
    },
    /// The resolver's lookup budget for this second is spent
    /// ([`DynamoDbCatalog::lookups_per_second`]); nothing was read.
    #[error("tenant lookups on table {table} are over their budget; nothing was read")]
    BudgetSpent {
        /// The table.
        table: String,
    },
    /// An item in the table does not describe a usable tenant.
    #[error("catalog item for user pool {user_pool_id:?} in table {table} is refused: {reason}")]
    Malformed {
        /// The table.
        table: String,
        /// The item's key.
        user_pool_id: String,
        /// What is wrong with it.
        reason: ItemError,
    },
    /// [`DynamoDbCatalog::put`] was given an entry that is not a valid tenant; nothing was
    /// written.
    #[error("invalid catalog entry: {0}")]
    InvalidEntry(ConfigError),
    /// The pool is already registered to another tenant; nothing was written.
    #[error(
        "user pool {user_pool_id:?} already belongs to {} in table {table}",
        match owner { Some(id) => format!("tenant {id:?}"), None => "another tenant".to_owned() }
    )]
    PoolTaken {
        /// The table.
        table: String,
        /// The pool.
        user_pool_id: String,
        /// The tenant that has it, when it could be read.
        owner: Option<String>,
    },
    /// The tenant id is already registered for another pool; nothing was written. Remove the
    /// tenant first to move it to another pool.
    #[error(
        "tenant id {tenant_id:?} already belongs to {} in table {table}",
        match owner { Some(pool) => format!("user pool {pool:?}"), None => "another user pool".to_owned() }
    )]
    TenantIdTaken {
        /// The table.
        table: String,
        /// The tenant id.
        tenant_id: String,
        /// The pool that has it, when it could be read.
        owner: Option<String>,
    },
    /// A concurrent writer changed the same items; nothing was written. Retry.
    #[error("items of tenant {tenant_id:?} in table {table} changed concurrently; retry")]
    Conflict {
        /// The table.
        table: String,
        /// The tenant id.
        tenant_id: String,
    },
    /// The table exists with another key than `user_pool_id` (string, partition key only).
    #[error(
        "table {table} is not a tenant catalog: its key is {found}, expected user_pool_id (S, HASH) only"
    )]
    TableSchema {
        /// The table.
        table: String,
        /// The key schema found.
        found: String,
    },
    /// The table did not become `ACTIVE` in time.
    #[error("table {table} is still {status} after {waited:?}")]
    TableNotActive {
        /// The table.
        table: String,
        /// Its last status.
        status: String,
        /// How long [`DynamoDbCatalog::ensure_table`] waited.
        waited: Duration,
    },
}
