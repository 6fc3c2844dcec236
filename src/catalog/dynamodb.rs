//! [`DynamoDbCatalog`]: the catalog's reads, writes and table management.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TableStatus, TransactWriteItem,
};
use tokio::sync::OnceCell;

use super::item::{self, Item, ItemError};
use super::{CatalogEntry, CatalogError};
use crate::aws_section::AwsSection;
use crate::tenant::{Issuer, ResolveError, ResolveFuture, Tenant, TenantResolver};

/// The longest [`DynamoDbCatalog::ensure_table`] waits for a new table to become `ACTIVE`.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Tenants in a DynamoDB table; see the [module docs](super) for the table and its items.
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

    /// Creates the table (partition key `user_pool_id`, on-demand capacity) if it does not
    /// exist, and waits until it is `ACTIVE`. An existing table with another key is an error.
    pub async fn ensure_table(&self) -> Result<(), CatalogError> {
        let client = self.client().await;
        let started = Instant::now();
        let mut created = false;
        let mut pause = Duration::from_millis(200);
        loop {
            let status = match client
                .describe_table()
                .table_name(&*self.table)
                .send()
                .await
            {
                Ok(out) => {
                    let table = out.table();
                    self.check_key_schema(table.map(|t| t.key_schema()).unwrap_or_default())?;
                    table.and_then(|t| t.table_status()).cloned()
                }
                Err(err)
                    if !created
                        && err
                            .as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    self.create_table(client).await?;
                    created = true;
                    continue;
                }
                // Just created: DescribeTable may not see it yet.
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    None
                }
                Err(err) => return Err(self.store_error("DescribeTable", err)),
            };
            if status == Some(TableStatus::Active) {
                return Ok(());
            }
            if started.elapsed() >= TABLE_ACTIVE_TIMEOUT {
                return Err(CatalogError::TableNotActive {
                    table: self.table.to_string(),
                    status: status.map_or_else(|| "missing".to_owned(), |s| s.as_str().to_owned()),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    /// Whether the table exists (a `DescribeTable`); creates nothing.
    pub async fn table_exists(&self) -> Result<bool, CatalogError> {
        match self
            .client()
            .await
            .describe_table()
            .table_name(&*self.table)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.store_error("DescribeTable", err)),
        }
    }

    async fn create_table(&self, client: &Client) -> Result<(), CatalogError> {
        let key = KeySchemaElement::builder()
            .attribute_name(item::KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| self.request_error("CreateTable", e))?;
        let attribute = AttributeDefinition::builder()
            .attribute_name(item::KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| self.request_error("CreateTable", e))?;
        match client
            .create_table()
            .table_name(&*self.table)
            .key_schema(key)
            .attribute_definitions(attribute)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
        {
            Ok(_) => {
                tracing::info!(target: "cognito_authz::catalog", table = %self.table, "created the tenant catalog table");
                Ok(())
            }
            // Someone else created it meanwhile: wait for it like for ours.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(self.store_error("CreateTable", err)),
        }
    }

    fn check_key_schema(&self, keys: &[KeySchemaElement]) -> Result<(), CatalogError> {
        match keys {
            [only] if only.attribute_name() == item::KEY && only.key_type() == &KeyType::Hash => {
                Ok(())
            }
            _ => Err(CatalogError::TableSchema {
                table: self.table.to_string(),
                found: keys
                    .iter()
                    .map(|k| format!("{} ({})", k.attribute_name(), k.key_type().as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Registers `entry`, or updates it if this tenant already has this pool. Refused, with
    /// nothing written: an invalid entry ([`CatalogError::InvalidEntry`]), a pool registered to
    /// another tenant ([`CatalogError::PoolTaken`]), a tenant id registered for another pool
    /// ([`CatalogError::TenantIdTaken`]). Both items are written in one transaction, each
    /// conditioned on being new or this tenant's, so concurrent writers cannot break either
    /// rule.
    pub async fn put(&self, entry: &CatalogEntry) -> Result<(), CatalogError> {
        entry.to_tenant().map_err(CatalogError::InvalidEntry)?;
        if self.reserved.contains(&entry.tenant_id) {
            return Err(CatalogError::InvalidEntry(
                crate::error::ConfigError::invalid(
                    "item.tenant_id",
                    format!("{:?} belongs to a configured tenant", entry.tenant_id),
                ),
            ));
        }
        let tenant_item = Put::builder()
            .table_name(&*self.table)
            .set_item(Some(item::to_item(entry)))
            .condition_expression("attribute_not_exists(#key) OR #tenant = :tenant")
            .expression_attribute_names("#key", item::KEY)
            .expression_attribute_names("#tenant", item::TENANT_ID)
            .expression_attribute_values(":tenant", AttributeValue::S(entry.tenant_id.clone()))
            .build()
            .map_err(|e| self.request_error("TransactWriteItems", e))?;
        let guard_item = Put::builder()
            .table_name(&*self.table)
            .set_item(Some(item::guard_item(
                &entry.tenant_id,
                &entry.user_pool_id,
            )))
            .condition_expression("attribute_not_exists(#key) OR #owner = :pool")
            .expression_attribute_names("#key", item::KEY)
            .expression_attribute_names("#owner", item::OWNER_POOL_ID)
            .expression_attribute_values(":pool", AttributeValue::S(entry.user_pool_id.clone()))
            .build()
            .map_err(|e| self.request_error("TransactWriteItems", e))?;
        let written = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(tenant_item).build())
            .transact_items(TransactWriteItem::builder().put(guard_item).build())
            .send()
            .await;
        let err = match written {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        match failed_conditions(&err) {
            Some([true, _]) => Err(CatalogError::PoolTaken {
                table: self.table.to_string(),
                user_pool_id: entry.user_pool_id.clone(),
                owner: self.owner_of_pool(&entry.user_pool_id).await,
            }),
            Some([false, true]) => Err(CatalogError::TenantIdTaken {
                table: self.table.to_string(),
                tenant_id: entry.tenant_id.clone(),
                owner: self.owner_of_tenant_id(&entry.tenant_id).await,
            }),
            Some([false, false]) => Err(CatalogError::Conflict {
                table: self.table.to_string(),
                tenant_id: entry.tenant_id.clone(),
            }),
            None => Err(self.store_error("TransactWriteItems", err)),
        }
    }

    /// For an error message only: the tenant id a pool's item names, if readable.
    async fn owner_of_pool(&self, user_pool_id: &str) -> Option<String> {
        let item = self.get_item(user_pool_id).await.ok()??;
        match item.get(item::TENANT_ID) {
            Some(AttributeValue::S(id)) => Some(id.clone()),
            _ => None,
        }
    }

    /// For an error message only: the pool a tenant id's guard names, if readable.
    async fn owner_of_tenant_id(&self, tenant_id: &str) -> Option<String> {
        let guard = self.get_item(&item::guard_key(tenant_id)).await.ok()??;
        item::parse_guard(&guard).ok()
    }

    async fn get_item(&self, key: &str) -> Result<Option<Item>, CatalogError> {
        self.client()
            .await
            .get_item()
            .table_name(&*self.table)
            .key(item::KEY, AttributeValue::S(key.to_owned()))
            // A tenant just put must be found by the next request, not up to a second later
            // (a miss would be cached for the negative TTL).
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|err| self.store_error("GetItem", err))
    }

    /// The tenant registered for `user_pool_id`. `Ok(None)`: none (or not a pool id);
    /// [`CatalogError::Malformed`]: its item is refused (see the [module docs](super)).
    pub async fn get_by_pool(
        &self,
        user_pool_id: &str,
    ) -> Result<Option<CatalogEntry>, CatalogError> {
        Ok(self
            .find_by_pool(user_pool_id)
            .await?
            .map(|(entry, _)| entry))
    }

    /// The tenant registered with id `tenant_id`, found through its guard item.
    pub async fn get_by_tenant(
        &self,
        tenant_id: &str,
    ) -> Result<Option<CatalogEntry>, CatalogError> {
        Ok(self
            .find_by_tenant(tenant_id)
            .await?
            .map(|(entry, _)| entry))
    }

    async fn find_by_pool(
        &self,
        user_pool_id: &str,
    ) -> Result<Option<(CatalogEntry, Tenant)>, CatalogError> {
        // Guard keys and other non-pool keys are never tenants.
        if crate::tenant::parse_user_pool_id(user_pool_id).is_none() {
            return Ok(None);
        }
        let Some(tenant_item) = self.get_item(user_pool_id).await? else {
            return Ok(None);
        };
        let (entry, tenant) = self.checked(user_pool_id, &tenant_item)?;
        let owner = match self.get_item(&item::guard_key(&entry.tenant_id)).await? {
            Some(guard) => Some(
                item::parse_guard(&guard).map_err(|reason| self.malformed(user_pool_id, reason))?,
            ),
            None => None,
        };
        self.claimed(&entry, owner)?;
        Ok(Some((entry, tenant)))
    }

    pub(crate) async fn find_by_tenant(
        &self,
        tenant_id: &str,
    ) -> Result<Option<(CatalogEntry, Tenant)>, CatalogError> {
        let Some(guard) = self.get_item(&item::guard_key(tenant_id)).await? else {
            return Ok(None);
        };
        let owner = item::parse_guard(&guard)
            .map_err(|reason| self.malformed(&item::guard_key(tenant_id), reason))?;
        match self.find_by_pool(&owner).await? {
            Some((entry, tenant)) if entry.tenant_id == tenant_id => Ok(Some((entry, tenant))),
            // The guard names a pool that is gone or now someone else's: a stale reservation.
            _ => Ok(None),
        }
    }

    /// The item parsed and validated as a tenant, its id not a configured tenant's.
    fn checked(
        &self,
        key: &str,
        tenant_item: &Item,
    ) -> Result<(CatalogEntry, Tenant), CatalogError> {
        let (entry, tenant) =
            item::parse_tenant(tenant_item).map_err(|reason| self.malformed(key, reason))?;
        if self.reserved.contains(&entry.tenant_id) {
            return Err(self.malformed(key, ItemError::ConfiguredTenantId(entry.tenant_id)));
        }
        Ok((entry, tenant))
    }

    /// The entry's tenant id must be reserved for its pool by the guard item.
    fn claimed(&self, entry: &CatalogEntry, owner: Option<String>) -> Result<(), CatalogError> {
        if owner.as_deref() == Some(entry.user_pool_id.as_str()) {
            return Ok(());
        }
        Err(self.malformed(
            &entry.user_pool_id,
            ItemError::Unclaimed {
                tenant_id: entry.tenant_id.clone(),
                owner,
            },
        ))
    }

    async fn scan(&self, filter_tenant_id: Option<&str>) -> Result<Vec<Item>, CatalogError> {
        let mut request = self
            .client()
            .await
            .scan()
            .table_name(&*self.table)
            .consistent_read(true)
            .set_limit(self.scan_page_size);
        if let Some(id) = filter_tenant_id {
            request = request
                .filter_expression("#tenant = :tenant")
                .expression_attribute_names("#tenant", item::TENANT_ID)
                .expression_attribute_values(":tenant", AttributeValue::S(id.to_owned()));
        }
        let mut pages = request.into_paginator().send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| self.store_error("Scan", err))?;
            items.extend(page.items.unwrap_or_default());
        }
        Ok(items)
    }

    /// Every registered tenant, by tenant id (a paginated, consistent `Scan`). A refused item
    /// fails the listing with [`CatalogError::Malformed`] naming it, so that it is fixed rather
    /// than overlooked; guard items of removed tenants are skipped.
    pub async fn list(&self) -> Result<Vec<CatalogEntry>, CatalogError> {
        let mut owners = HashMap::new();
        let mut tenant_items = Vec::new();
        for scanned in self.scan(None).await? {
            let key = match scanned.get(item::KEY) {
                Some(AttributeValue::S(key)) => key.clone(),
                _ => String::new(),
            };
            match item::guarded_tenant_id(&key) {
                Some(tenant_id) => {
                    if let Ok(owner) = item::parse_guard(&scanned) {
                        owners.insert(tenant_id.to_owned(), owner);
                    }
                }
                None => tenant_items.push((key, scanned)),
            }
        }
        let mut entries = tenant_items
            .iter()
            .map(|(key, tenant_item)| {
                let (entry, _) = self.checked(key, tenant_item)?;
                let owner = owners.get(&entry.tenant_id).cloned();
                self.claimed(&entry, owner)?;
                Ok(entry)
            })
            .collect::<Result<Vec<_>, CatalogError>>()?;
        entries.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        Ok(entries)
    }

    /// Removes tenant `tenant_id`: its guard item and every tenant item naming it (also items
    /// written by hand without a guard). Returns whether anything was removed. The pool itself
    /// is not touched. Services stop accepting the tenant's tokens when their resolver cache
    /// entry expires (or on [`CognitoAuth::invalidate_caches`](crate::CognitoAuth::invalidate_caches)).
    pub async fn remove(&self, tenant_id: &str) -> Result<bool, CatalogError> {
        let mut removed = false;
        let guard_key = item::guard_key(tenant_id);
        if let Some(guard) = self.get_item(&guard_key).await? {
            match item::parse_guard(&guard) {
                Ok(owner) => removed |= self.remove_guarded(tenant_id, &owner).await?,
                // A broken guard protects nothing: drop it.
                Err(_) => removed |= self.delete_if(&guard_key, None).await?,
            }
        }
        for stray in self.scan(Some(tenant_id)).await? {
            if let Some(AttributeValue::S(key)) = stray.get(item::KEY) {
                removed |= self.delete_if(key, Some(tenant_id)).await?;
            }
        }
        Ok(removed)
    }

    /// Deletes a tenant's guard and its pool's item together; the pool's item only if it is
    /// still this tenant's.
    async fn remove_guarded(&self, tenant_id: &str, owner: &str) -> Result<bool, CatalogError> {
        let guard = Delete::builder()
            .table_name(&*self.table)
            .key(item::KEY, AttributeValue::S(item::guard_key(tenant_id)))
            .condition_expression("#owner = :pool")
            .expression_attribute_names("#owner", item::OWNER_POOL_ID)
            .expression_attribute_values(":pool", AttributeValue::S(owner.to_owned()))
            .build()
            .map_err(|e| self.request_error("TransactWriteItems", e))?;
        let tenant_item = Delete::builder()
            .table_name(&*self.table)
            .key(item::KEY, AttributeValue::S(owner.to_owned()))
            .condition_expression("attribute_not_exists(#key) OR #tenant = :tenant")
            .expression_attribute_names("#key", item::KEY)
            .expression_attribute_names("#tenant", item::TENANT_ID)
            .expression_attribute_values(":tenant", AttributeValue::S(tenant_id.to_owned()))
            .build()
            .map_err(|e| self.request_error("TransactWriteItems", e))?;
        let deleted = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(guard).build())
            .transact_items(TransactWriteItem::builder().delete(tenant_item).build())
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(err) => match failed_conditions(&err) {
                // The pool now belongs to another tenant: only the stale guard is ours.
                Some([false, true]) => self.delete_if(&item::guard_key(tenant_id), None).await,
                Some(_) => Err(CatalogError::Conflict {
                    table: self.table.to_string(),
                    tenant_id: tenant_id.to_owned(),
                }),
                None => Err(self.store_error("TransactWriteItems", err)),
            },
        }
    }

    /// Deletes `key` if it exists (and, with `tenant_id`, still names that tenant); returns
    /// whether it was deleted.
    async fn delete_if(&self, key: &str, tenant_id: Option<&str>) -> Result<bool, CatalogError> {
        let mut request = self
            .client()
            .await
            .delete_item()
            .table_name(&*self.table)
            .key(item::KEY, AttributeValue::S(key.to_owned()))
            .expression_attribute_names("#key", item::KEY);
        request = match tenant_id {
            Some(id) => request
                .condition_expression("attribute_exists(#key) AND #tenant = :tenant")
                .expression_attribute_names("#tenant", item::TENANT_ID)
                .expression_attribute_values(":tenant", AttributeValue::S(id.to_owned())),
            None => request.condition_expression("attribute_exists(#key)"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.store_error("DeleteItem", err)),
        }
    }
}

/// For a cancelled two-item transaction: which of the two items failed its condition.
/// `None`: the error is not a cancellation.
fn failed_conditions<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<[bool; 2]> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    else {
        return None;
    };
    let reasons = cancelled.cancellation_reasons();
    let failed = |i: usize| {
        reasons
            .get(i)
            .and_then(|r| r.code())
            .is_some_and(|code| code == "ConditionalCheckFailed")
    };
    Some([failed(0), failed(1)])
}

impl DynamoDbCatalog {
    /// A refused item is answered as "no such tenant", with its reason logged (see the
    /// [module docs](super) for why it is not a store failure).
    pub(crate) fn refused_as_unknown<T>(
        &self,
        found: Result<Option<T>, CatalogError>,
    ) -> Result<Option<T>, ResolveError> {
        match found {
            Ok(found) => Ok(found),
            Err(CatalogError::Malformed {
                table,
                user_pool_id,
                reason,
            }) => {
                tracing::warn!(
                    target: "cognito_authz::catalog",
                    table,
                    user_pool_id,
                    %reason,
                    "catalog item refused; its tenant stays unknown until the item is fixed",
                );
                Ok(None)
            }
            Err(err) => Err(ResolveError::new(err)),
        }
    }
}

impl TenantResolver for DynamoDbCatalog {
    fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a> {
        Box::pin(async move {
            let found = self.find_by_pool(issuer.user_pool_id).await;
            self.refused_as_unknown(found)
                .map(|found| found.map(|(_, tenant)| tenant))
        })
    }
}
