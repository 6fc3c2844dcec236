//! [`DynamoDbCatalog`]: the catalog's reads, writes and table management.

mod budget;
mod index;
mod items;
mod resolver;
mod table;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use tokio::sync::OnceCell;

use crate::aws_section::AwsSection;
use crate::catalog::CatalogError;
use crate::catalog::item::ItemError;
use crate::catalog::trust::{self, TrustRules};

use budget::Budget;
pub use budget::DEFAULT_LOOKUPS_PER_SECOND;
use index::Index;

/// How often a service checks the version item by default (`[catalog] refresh_seconds`).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// Tenants in a DynamoDB table; see the [module docs](crate::catalog) for the table and its items.
/// Cloning shares the client.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use cognito_authz::CognitoAuth;
/// use cognito_authz::catalog::{CatalogEntry, DynamoDbCatalog};
/// use cognito_authz::config::AwsSection;
///
/// let catalog = DynamoDbCatalog::from_aws_config(&AwsSection::default(), "tenants").await;
/// catalog.ensure_table().await?;
/// catalog
///     .put(&CatalogEntry {
///         tenant_id: "acme".into(),
///         user_pool_id: "us-east-1_AbCdEf123".into(),
///         region: "us-east-1".into(),
///         client_ids: vec!["3n4b5urk1ft4fl3mg5e62d9ado".into()],
///         protected_attributes: vec!["custom:plan".into()],
///         ..CatalogEntry::new("acme", "us-east-1_AbCdEf123")
///     })
///     .await?;
/// // Tokens of that pool are now accepted by a service resolving through the same table.
/// let auth = CognitoAuth::builder().resolver(catalog).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynamoDbCatalog {
    client: Arc<OnceCell<Client>>,
    /// Settings to build the client from on first use, when it was not given.
    aws: Arc<AwsSection>,
    table: Arc<str>,
    rules: Arc<TrustRules>,
    scan_page_size: Option<i32>,
    refresh_interval: Duration,
    /// The resolver's in-memory index of the table's issuers, shared by clones.
    index: Arc<Index>,
    /// The resolver's reads of tenant items, shared by clones.
    budget: Arc<Budget>,
}

impl std::fmt::Debug for DynamoDbCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoDbCatalog")
            .field("table", &self.table)
            .field("reserved_tenant_ids", &self.rules.reserved_tenant_ids.len())
            .field(
                "reserved_user_pool_ids",
                &self.rules.reserved_user_pool_ids.len(),
            )
            .field("allowed_jwks_hosts", &self.rules.allowed_jwks_hosts)
            .field("refresh_interval", &self.refresh_interval)
            .finish_non_exhaustive()
    }
}

impl DynamoDbCatalog {
    /// The catalog in `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_client(
            OnceCell::new_with(Some(client)),
            AwsSection::default(),
            table,
        )
    }

    /// The catalog in `table`, with a client built like
    /// [`aws::cognito_client`](crate::aws::cognito_client) builds its own: the standard provider
    /// chain with the `[aws]` overrides.
    pub async fn from_aws_config(aws: &AwsSection, table: impl Into<String>) -> Self {
        let client = Client::new(&crate::aws::sdk_config(aws).await);
        Self::new(client, table)
    }

    /// The catalog of a `[catalog]` section. Loading the provider chain is asynchronous, and
    /// configuration is read synchronously
    /// ([`CognitoAuth::from_config_file`](crate::CognitoAuth::from_config_file)), so the client
    /// is built on the first lookup; concurrent first lookups share one build.
    pub(crate) fn lazy(aws: AwsSection, table: impl Into<String>) -> Self {
        Self::with_client(OnceCell::new(), aws, table)
    }

    fn with_client(client: OnceCell<Client>, aws: AwsSection, table: impl Into<String>) -> Self {
        DynamoDbCatalog {
            client: Arc::new(client),
            aws: Arc::new(aws),
            table: Arc::from(table.into()),
            rules: Arc::default(),
            scan_page_size: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            index: Arc::default(),
            budget: Arc::default(),
        }
    }

    /// Tenant ids the catalog must not serve: the configured tenants' (a `[catalog]` section
    /// reserves them itself). Items using one are refused as malformed, and
    /// [`put`](Self::put) refuses to write them.
    #[must_use]
    pub fn reserved_tenant_ids<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        ids: I,
    ) -> Self {
        Arc::make_mut(&mut self.rules).reserved_tenant_ids =
            ids.into_iter().map(Into::into).collect();
        self.index = Arc::default(); // an index built under other rules is not this one's
        self
    }

    /// User pools the catalog must not serve: the configured tenants' (a `[catalog]` section
    /// reserves them itself). An item keyed by one could otherwise claim that pool's
    /// replica-region issuers under a tenant id of its own; it is refused as malformed, and
    /// [`put`](Self::put) refuses to write it.
    #[must_use]
    pub fn reserved_user_pool_ids<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        pools: I,
    ) -> Self {
        Arc::make_mut(&mut self.rules).reserved_user_pool_ids =
            pools.into_iter().map(Into::into).collect();
        self.index = Arc::default(); // an index built under other rules is not this one's
        self
    }

    /// `host:port` of JWKS URLs items may name besides Cognito's own key URLs for their pool
    /// and regions (emulators: `127.0.0.1:5000`; the port is required, `443` for https). An
    /// item naming any other URL is refused as malformed, and [`put`](Self::put) refuses to
    /// write it. Default: none. Config: `[catalog] allowed_jwks_hosts`.
    ///
    /// Entries that are not `host:port` are ignored here; the configuration file refuses them.
    #[must_use]
    pub fn allowed_jwks_hosts<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        hosts: I,
    ) -> Self {
        Arc::make_mut(&mut self.rules).allowed_jwks_hosts = hosts
            .into_iter()
            .map(Into::into)
            .filter(|host| trust::is_host_port(host))
            .map(|host| host.to_ascii_lowercase())
            .collect();
        self.index = Arc::default(); // an index built under other rules is not this one's
        self
    }

    /// The most tenant lookups (each two consistent `GetItem`s) the resolver sends per second,
    /// in bursts of at most one second's worth; over it, lookups get 503 and nothing is read.
    /// Default [`DEFAULT_LOOKUPS_PER_SECOND`]; config: `[catalog] lookups_per_second`. Only
    /// issuers in the index and not in the resolver cache are looked up: at most one lookup per
    /// tenant issuer per `resolver_ttl_seconds`, unless more issuers are in use than the cache
    /// holds (10,000).
    #[must_use]
    pub fn lookups_per_second(mut self, per_second: u32) -> Self {
        self.budget = Arc::new(Budget::new(per_second));
        self
    }

    /// How often the resolver checks the table's version item (one consistent `GetItem`) and,
    /// when it changed, re-reads its index of the table. Default
    /// [`DEFAULT_REFRESH_INTERVAL`]; config: `[catalog] refresh_seconds`. A tenant written by
    /// [`put`](Self::put) is accepted by a running service within this interval.
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval.max(Duration::from_millis(1));
        self.index = Arc::default(); // an index built under other rules is not this one's
        self
    }

    /// Items read per `Scan` page by [`list`](Self::list) and [`remove`](Self::remove)
    /// (default: DynamoDB's 1 MB pages). Smaller pages spread the read capacity used.
    #[must_use]
    pub fn scan_page_size(mut self, items: i32) -> Self {
        self.scan_page_size = Some(items.max(1));
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async { Client::new(&crate::aws::sdk_config(&self.aws).await) })
            .await
    }

    fn store_error<E, R>(&self, operation: &'static str, err: SdkError<E, R>) -> CatalogError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        CatalogError::Store {
            table: self.table.to_string(),
            operation,
            message: DisplayErrorContext(&err).to_string(),
        }
    }

    fn request_error(&self, operation: &'static str, err: impl std::fmt::Display) -> CatalogError {
        CatalogError::Store {
            table: self.table.to_string(),
            operation,
            message: format!("cannot build the request: {err}"),
        }
    }

    fn malformed(&self, user_pool_id: &str, reason: ItemError) -> CatalogError {
        CatalogError::Malformed {
            table: self.table.to_string(),
            user_pool_id: user_pool_id.to_owned(),
            reason,
        }
    }
}
