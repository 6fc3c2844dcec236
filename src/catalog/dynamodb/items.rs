//! Reads and writes of tenant items: put, get, list and remove, each pool and tenant id kept unique.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::scan::paginator::ScanPaginator;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use crate::catalog::item::{self, Item, ItemError};
use crate::catalog::{CatalogEntry, CatalogError};
use crate::tenant::Tenant;

use super::DynamoDbCatalog;

impl DynamoDbCatalog {
    /// Registers `entry`, or updates it if this tenant already has this pool. Refused, with
    /// nothing written: an invalid entry ([`CatalogError::InvalidEntry`]), a pool registered to
    /// another tenant ([`CatalogError::PoolTaken`]), a tenant id registered for another pool
    /// ([`CatalogError::TenantIdTaken`]). Both items are written in one transaction, each
    /// conditioned on being new or this tenant's, so concurrent writers cannot break either
    /// rule.
    pub async fn put(&self, entry: &CatalogEntry) -> Result<(), CatalogError> {
        entry.to_tenant().map_err(CatalogError::InvalidEntry)?;
        // What the readers would refuse is not written.
        if let Err(reason) = self.rules.check(entry) {
            let field = match &reason {
                ItemError::ConfiguredTenantId(_) => "item.tenant_id".to_owned(),
                ItemError::ConfiguredPool(_) => "item.user_pool_id".to_owned(),
                ItemError::JwksUrlNotAllowed { attribute, .. } => format!("item.{attribute}"),
                _ => "item".to_owned(),
            };
            return Err(CatalogError::InvalidEntry(
                crate::error::ConfigError::invalid(field, reason.to_string()),
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
            .transact_items(self.version_bump()?)
            .send()
            .await;
        let err = match written {
            Ok(_) => {
                self.index.mark_due();
                return Ok(());
            }
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

    pub(super) async fn get_item(&self, key: &str) -> Result<Option<Item>, CatalogError> {
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
    /// [`CatalogError::Malformed`]: its item is refused (see the [module docs](crate::catalog)).
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

    pub(super) async fn find_by_pool(
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
        self.claimed(&entry.user_pool_id, &entry.tenant_id, owner)?;
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

    /// The item parsed and validated as a tenant, within the [trust rules](crate::catalog::trust).
    pub(super) fn checked(
        &self,
        key: &str,
        tenant_item: &Item,
    ) -> Result<(CatalogEntry, Tenant), CatalogError> {
        let (entry, tenant) =
            item::parse_tenant(tenant_item).map_err(|reason| self.malformed(key, reason))?;
        self.rules
            .check(&entry)
            .map_err(|reason| self.malformed(key, reason))?;
        Ok((entry, tenant))
    }

    /// The tenant id of the item of `user_pool_id` must be reserved for that pool by its guard
    /// item, whose owner is `owner`.
    pub(super) fn claimed(
        &self,
        user_pool_id: &str,
        tenant_id: &str,
        owner: Option<String>,
    ) -> Result<(), CatalogError> {
        if owner.as_deref() == Some(user_pool_id) {
            return Ok(());
        }
        Err(self.malformed(
            user_pool_id,
            ItemError::Unclaimed {
                tenant_id: tenant_id.to_owned(),
                owner,
            },
        ))
    }

    /// A paginated, consistent `Scan` of the table (of one tenant id's items, if given).
    pub(super) async fn scan_pages(&self, filter_tenant_id: Option<&str>) -> ScanPaginator {
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
        request.into_paginator()
    }

    async fn scan(&self, filter_tenant_id: Option<&str>) -> Result<Vec<Item>, CatalogError> {
        let mut pages = self.scan_pages(filter_tenant_id).await.send();
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
            if key == item::VERSION_KEY {
                continue;
            }
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
                self.claimed(&entry.user_pool_id, &entry.tenant_id, owner)?;
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
            .transact_items(self.version_bump()?)
            .send()
            .await;
        match deleted {
            Ok(_) => {
                self.index.mark_due();
                Ok(true)
            }
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
        let mut delete = Delete::builder()
            .table_name(&*self.table)
            .key(item::KEY, AttributeValue::S(key.to_owned()))
            .expression_attribute_names("#key", item::KEY);
        delete = match tenant_id {
            Some(id) => delete
                .condition_expression("attribute_exists(#key) AND #tenant = :tenant")
                .expression_attribute_names("#tenant", item::TENANT_ID)
                .expression_attribute_values(":tenant", AttributeValue::S(id.to_owned())),
            None => delete.condition_expression("attribute_exists(#key)"),
        };
        let delete = delete
            .build()
            .map_err(|e| self.request_error("TransactWriteItems", e))?;
        let deleted = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(self.version_bump()?)
            .send()
            .await;
        match deleted {
            Ok(_) => {
                self.index.mark_due();
                Ok(true)
            }
            Err(err) => match failed_conditions(&err) {
                Some([true, _]) => Ok(false),
                Some(_) => Err(CatalogError::Conflict {
                    table: self.table.to_string(),
                    tenant_id: tenant_id.unwrap_or_default().to_owned(),
                }),
                None => Err(self.store_error("TransactWriteItems", err)),
            },
        }
    }

    /// The transaction item that adds one to the version item's counter (creating it at 1).
    fn version_bump(&self) -> Result<TransactWriteItem, CatalogError> {
        let update = Update::builder()
            .table_name(&*self.table)
            .key(item::KEY, AttributeValue::S(item::VERSION_KEY.to_owned()))
            .update_expression("ADD #version :one")
            .expression_attribute_names("#version", item::VERSION)
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .build()
            .map_err(|e| self.request_error("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Tells running services that the table changed: adds one to the version item's counter,
    /// as [`put`](Self::put) and [`remove`](Self::remove) do in their own transaction. Call it
    /// after writing items by other means (the AWS CLI, a migration); until then, services keep
    /// the index they have, and a tenant written so stays unknown to them.
    pub async fn bump_version(&self) -> Result<(), CatalogError> {
        self.client()
            .await
            .update_item()
            .table_name(&*self.table)
            .key(item::KEY, AttributeValue::S(item::VERSION_KEY.to_owned()))
            .update_expression("ADD #version :one")
            .expression_attribute_names("#version", item::VERSION)
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .send()
            .await
            .map_err(|err| self.store_error("UpdateItem", err))?;
        self.index.mark_due();
        Ok(())
    }
}

/// For a cancelled transaction: which of its first two items failed its condition (a third,
/// the version bump, has none).
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
