//! Table management: creating the catalog's table and checking its key schema.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};

use crate::catalog::CatalogError;
use crate::catalog::item;

use super::DynamoDbCatalog;

/// The longest [`DynamoDbCatalog::ensure_table`] waits for a new table to become `ACTIVE`.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

impl DynamoDbCatalog {
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
}
