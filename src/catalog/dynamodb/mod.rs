//! [`DynamoDbCatalog`]: the catalog's reads, writes and table management.

mod items;
mod resolver;
mod table;

use std::collections::HashSet;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use tokio::sync::OnceCell;

use crate::aws_section::AwsSection;
use crate::catalog::CatalogError;
use crate::catalog::item::ItemError;

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
    reserved: Arc<HashSet<String>>,
    scan_page_size: Option<i32>,
}

impl std::fmt::Debug for DynamoDbCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoDbCatalog")
            .field("table", &self.table)
            .field("reserved_tenant_ids", &self.reserved.len())
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
            reserved: Arc::default(),
            scan_page_size: None,
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
        self.reserved = Arc::new(ids.into_iter().map(Into::into).collect());
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
