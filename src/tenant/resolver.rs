//! Tenants added at runtime, without a restart.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use moka::ops::compute::{CompResult, Op};

use super::{Issuer, Tenant};
use crate::error::AuthError;

/// The boxed future a [`TenantResolver`] returns.
pub type ResolveFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Tenant>, ResolveError>> + Send + 'a>>;

/// The boxed future [`TenantResolver::may_resolve`] returns.
pub type ScreenFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, ResolveError>> + Send + 'a>>;

/// Finds tenants that are not in the startup [`TenantRegistry`](super::TenantRegistry), for
/// example from a database of customers, so tenants can be added without a restart.
///
/// It is called only for issuers of the exact Cognito forms that
/// [`may_resolve`](Self::may_resolve) lets through, at most once per issuer per cache period: answers are cached (found: `tenant_ttl`, not found: `negative_ttl`) and concurrent
/// lookups of one issuer share one call. The tenant returned must own the issuer asked for, and
/// its id must not be a configured tenant's; otherwise the token is refused. Tenant ids are
/// identities (`same_tenant_as` compares them), so a resolver must keep them globally unique.
///
/// Verified tokens of a resolved tenant are cached no longer than the answer they were verified
/// under: once it expires, a tenant the resolver no longer returns is refused and a changed one
/// applies, cached tokens included. To make that immediate, see
/// [`CognitoAuth::remove_tenant`](crate::CognitoAuth::remove_tenant) and
/// [`refresh_tenant`](crate::CognitoAuth::refresh_tenant).
///
/// ```
/// use cognito_authz::{tenant::Issuer, tenant::ResolveError, Tenant, tenant::TenantResolver};
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

    /// Whether the exact issuer `iss` (one of the Cognito issuer forms) can be one of this
    /// resolver's tenants, answered from memory (an index
    /// of the store kept current by the resolver) rather than by asking the store about this
    /// issuer. `Ok(false)` refuses the token at once (401): [`resolve`](Self::resolve) is not
    /// called and nothing is cached, so made-up issuers cost neither store requests nor cache
    /// room, and an issuer added to the index is accepted as soon as the index says so. `Err`:
    /// the index is not available (503, nothing cached). Asked before every
    /// [`resolve`](Self::resolve) and every use of a cached answer.
    ///
    /// The default lets every issuer through to [`resolve`](Self::resolve): then each made-up
    /// pool id in `iss` costs one call (per negative-cache period).
    fn may_resolve<'a>(&'a self, iss: &'a str) -> ScreenFuture<'a> {
        let _ = iss;
        Box::pin(std::future::ready(Ok(true)))
    }
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

/// One answer of the resolver, as cached.
#[derive(Clone)]
struct Answer {
    tenant: Option<Arc<Tenant>>,
    /// When the answer stops being used, since the Unix epoch: the found or not-found TTL after
    /// the resolver was asked. Wall-clock, like the verified-token cache's deadlines, because
    /// tokens verified under this answer are cached until this time at the latest.
    valid_until: Duration,
    /// [`ResolverCache::generation`] when the resolver was asked.
    generation: u64,
}

/// A tenant the resolver returned, and until when its answer holds.
pub(crate) struct Resolved {
    pub(crate) tenant: Arc<Tenant>,
    /// Since the Unix epoch. A token verified under this answer must not be served past it:
    /// then the resolver is asked again, so a tenant it dropped or changed is seen.
    pub(crate) valid_until: Duration,
}

/// Wall-clock time since the Unix epoch.
fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Expires each answer at its own `valid_until`, also when a stale answer is replaced (moka's
/// default for an update keeps the old expiry).
struct Expiry;

impl Expiry {
    fn remaining(answer: &Answer) -> Option<Duration> {
        Some(answer.valid_until.saturating_sub(unix_now()))
    }
}

impl moka::Expiry<String, Answer> for Expiry {
    fn expire_after_create(&self, _: &String, answer: &Answer, _: Instant) -> Option<Duration> {
        Self::remaining(answer)
    }

    fn expire_after_update(
        &self,
        _: &String,
        answer: &Answer,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Self::remaining(answer)
    }
}

/// The resolver with its positive/negative answer cache.
pub(crate) struct ResolverCache {
    resolver: Arc<dyn TenantResolver>,
    cache: moka::future::Cache<String, Answer>,
    found_ttl: Duration,
    not_found_ttl: Duration,
    /// Bumped when answers are dropped on demand. An answer asked for before a bump is not used
    /// after it: a lookup that was already waiting on the resolver when a tenant was removed
    /// would otherwise cache the answer the resolver gave before the removal.
    generation: AtomicU64,
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
            .expire_after(Expiry)
            .build();
        ResolverCache {
            resolver,
            cache,
            found_ttl,
            not_found_ttl,
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) async fn resolve(&self, iss: &str) -> Result<Resolved, AuthError> {
        // Anything that is not a Cognito issuer never reaches the resolver or the cache, so a
        // flood of made-up issuers costs neither store queries nor memory.
        let issuer = Issuer::parse(iss).ok_or(AuthError::UnknownIssuer)?;
        // Nor does an issuer the resolver's index does not hold.
        match self.resolver.may_resolve(iss).await {
            Ok(true) => {}
            Ok(false) => return Err(AuthError::UnknownIssuer),
            Err(err) => {
                tracing::warn!(error = %err, "tenant resolver failed");
                return Err(AuthError::ResolverUnavailable);
            }
        }
        if let Some(hit) = self.cache.get(iss).await
            && self.is_current(&hit)
        {
            return Self::answer(hit);
        }
        // Concurrent lookups of one issuer run one at a time, so one resolver call serves them
        // all: the ones that waited find its answer current and leave it.
        let computed = self
            .cache
            .entry_by_ref(iss)
            .and_try_compute_with(|held| async move {
                if held.is_some_and(|held| self.is_current(held.value())) {
                    return Ok(Op::Nop);
                }
                let generation = self.generation.load(Ordering::Acquire);
                let asked_at = unix_now();
                let tenant = self.resolver.resolve(issuer).await?;
                // A resolver that answers with another pool's tenant must not widen access.
                let tenant = tenant
                    .filter(|t| t.issuers().iter().any(|i| i == iss))
                    .map(Arc::new);
                let ttl = if tenant.is_some() {
                    self.found_ttl
                } else {
                    self.not_found_ttl
                };
                Ok::<_, ResolveError>(Op::Put(Answer {
                    tenant,
                    valid_until: asked_at + ttl,
                    generation,
                }))
            })
            .await;
        match computed.map(CompResult::into_entry) {
            Ok(Some(entry)) => Self::answer(entry.into_value()),
            // Not reached: the computation puts an answer whenever none is held.
            Ok(None) => Err(AuthError::UnknownIssuer),
            Err(err) => {
                tracing::warn!(error = %err, "tenant resolver failed");
                Err(AuthError::ResolverUnavailable)
            }
        }
    }

    fn is_current(&self, answer: &Answer) -> bool {
        answer.generation == self.generation.load(Ordering::Acquire)
    }

    fn answer(answer: Answer) -> Result<Resolved, AuthError> {
        match answer.tenant {
            Some(tenant) => Ok(Resolved {
                tenant,
                valid_until: answer.valid_until,
            }),
            None => Err(AuthError::UnknownIssuer),
        }
    }

    /// The tenants with id `id` among the answers held, current or not.
    pub(crate) fn held(&self, id: &str) -> Vec<Arc<Tenant>> {
        self.cache
            .iter()
            .filter_map(|(_, answer)| answer.tenant)
            .filter(|tenant| tenant.id() == id)
            .collect()
    }

    /// Every answer held is asked for again before it is used, including those of lookups under
    /// way now. Answers are keyed by issuer, not tenant id, so dropping one tenant's answer
    /// drops them all; that costs each tenant one resolver call on its next token not cached,
    /// what the found TTL causes every few minutes anyway.
    pub(crate) fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate_all();
    }
}
