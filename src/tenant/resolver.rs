//! Tenants added at runtime, without a restart.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Issuer, Tenant};
use crate::error::AuthError;

/// The boxed future a [`TenantResolver`] returns.
pub type ResolveFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Tenant>, ResolveError>> + Send + 'a>>;

/// Finds tenants that are not in the startup [`TenantRegistry`](super::TenantRegistry), for
/// example from a database of customers, so tenants can be added without a restart.
///
/// It is called only for issuers of the exact Cognito forms, at most once per issuer per cache
/// period: answers are cached (found: `tenant_ttl`, not found: `negative_ttl`) and concurrent
/// lookups of one issuer share one call. The tenant returned must own the issuer asked for, and
/// its id must not be a configured tenant's; otherwise the token is refused. Tenant ids are
/// identities (`same_tenant_as` compares them), so a resolver must keep them globally unique.
///
/// ```
/// use cognito_authz::{Issuer, ResolveError, Tenant, TenantResolver};
/// use cognito_authz::tenant::ResolveFuture;
///
/// struct FromDatabase;
///
/// impl TenantResolver for FromDatabase {
///     fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a> {
///         Box::pin(async move {
///             // A real resolver queries its store by user pool id here.
///             if issuer.user_pool_id != "us-east-1_Runtime1" {
///                 return Ok(None);
///             }
///             Tenant::builder("runtime", issuer.user_pool_id)
///                 .client_id("client")
///                 .build()
///                 .map(Some)
///                 .map_err(ResolveError::new)
///         })
///     }
/// }
/// ```
pub trait TenantResolver: Send + Sync + 'static {
    /// The tenant owning `issuer`, `Ok(None)` if there is none, or an error if the store could
    /// not be asked (the request then gets 503 and nothing is cached).
    fn resolve<'a>(&'a self, issuer: Issuer<'a>) -> ResolveFuture<'a>;
}

/// A resolver's failure to answer.
#[derive(Debug, thiserror::Error)]
#[error("tenant resolver failed: {0}")]
pub struct ResolveError(Box<dyn std::error::Error + Send + Sync>);

impl ResolveError {
    /// Wraps any error.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ResolveError(err.into())
    }
}

type CachedTenant = Option<Arc<Tenant>>;

struct Expiry {
    found: Duration,
    not_found: Duration,
}

impl moka::Expiry<String, CachedTenant> for Expiry {
    fn expire_after_create(
        &self,
        _: &String,
        value: &CachedTenant,
        _: Instant,
    ) -> Option<Duration> {
        Some(if value.is_some() {
            self.found
        } else {
            self.not_found
        })
    }
}

/// The resolver with its positive/negative answer cache.
pub(crate) struct ResolverCache {
    resolver: Arc<dyn TenantResolver>,
    cache: moka::future::Cache<String, CachedTenant>,
}

impl ResolverCache {
    pub(crate) fn new(
        resolver: Arc<dyn TenantResolver>,
        found_ttl: Duration,
        not_found_ttl: Duration,
        max_entries: u64,
    ) -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(max_entries)
            .expire_after(Expiry {
                found: found_ttl,
                not_found: not_found_ttl,
            })
            .build();
        ResolverCache { resolver, cache }
    }

    pub(crate) async fn resolve(&self, iss: &str) -> Result<Arc<Tenant>, AuthError> {
        // Anything that is not a Cognito issuer never reaches the resolver or the cache, so a
        // flood of made-up issuers costs neither store queries nor memory.
        let issuer = Issuer::parse(iss).ok_or(AuthError::UnknownIssuer)?;
        if let Some(hit) = self.cache.get(iss).await {
            return hit.ok_or(AuthError::UnknownIssuer);
        }
        let resolver = self.resolver.clone();
        let looked_up = self
            .cache
            .try_get_with_by_ref(iss, async move {
                let tenant = resolver.resolve(issuer).await?;
                // A resolver that answers with another pool's tenant must not widen access.
                Ok::<_, ResolveError>(
                    tenant
                        .filter(|t| t.issuers().iter().any(|i| i == iss))
                        .map(Arc::new),
                )
            })
            .await;
        match looked_up {
            Ok(Some(tenant)) => Ok(tenant),
            Ok(None) => Err(AuthError::UnknownIssuer),
            Err(err) => {
                tracing::warn!(error = %err, "tenant resolver failed");
                Err(AuthError::ResolverUnavailable)
            }
        }
    }

    pub(crate) fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }
}
