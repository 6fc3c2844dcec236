//! [`DynamoDbCatalog`] as a [`TenantResolver`]: tokens of pools added at runtime.

use crate::catalog::CatalogError;
use crate::tenant::{Issuer, ResolveError, ResolveFuture, ScreenFuture, TenantResolver};

use super::DynamoDbCatalog;

impl DynamoDbCatalog {
    /// A refused item is answered as "no such tenant", with its reason logged (see the
    /// [module docs](crate::catalog) for why it is not a store failure).
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
            if !self.budget.take() {
                return Err(ResolveError::new(CatalogError::BudgetSpent {
                    table: self.table.to_string(),
                }));
            }
            let found = self.find_by_pool(issuer.user_pool_id).await;
            self.refused_as_unknown(found)
                .map(|found| found.map(|(_, tenant)| tenant))
        })
    }

    /// From the index of the table's issuers (see the [module docs](crate::catalog)): an issuer
    /// no accepted item has costs no DynamoDB request.
    fn may_resolve<'a>(&'a self, iss: &'a str) -> ScreenFuture<'a> {
        Box::pin(async move {
            self.indexed(iss)
                .await
                .map_err(|failure| ResolveError::new(failure.to_string()))
        })
    }
}
