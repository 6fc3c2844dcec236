//! [`CognitoAuth`]: the service-wide authenticator that the layers share.

use std::sync::Arc;
use std::time::Duration;

use crate::claims::MAX_LEEWAY;
use crate::error::{AuthError, ConfigError, ErrorResponder, TenantChangeError};
use crate::jwks::{FetchError, JwksCache, JwksConfig};
use crate::layer::{AuthInner, AuthnLayer};
use crate::metrics::Metrics;
use crate::principal::Principal;
use crate::revocation::Revocations;
use crate::tenant::{ResolverCache, Tenant, TenantRegistry, TenantResolver};
use crate::verify::{SelfServiceGuard, TokenUses, VerifiedTokenCache, Verifier, VerifySettings};

/// Verifies Cognito tokens for every tenant of a service. Build it once and share it: cloning is
/// one reference count, and all clones share the key cache and the verified-token cache.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use cognito_authz::CognitoAuth;
///
/// let auth = CognitoAuth::from_config_file("tenants.toml")?;
/// auth.prefetch().await; // optional: fetch every tenant's keys now
/// let principal = auth.verify("eyJ...").await?; // outside HTTP, e.g. a websocket handshake
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CognitoAuth {
    pub(crate) inner: Arc<AuthInner>,
}

impl std::fmt::Debug for CognitoAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl CognitoAuth {
    /// Starts a builder.
    pub fn builder() -> CognitoAuthBuilder {
        CognitoAuthBuilder::default()
    }

    /// The authentication layer: requests need a valid access token (401 otherwise) and get a
    /// [`Principal`] in their extensions. See [`AuthnLayer`] for id tokens and optional mode.
    pub fn layer(&self) -> AuthnLayer {
        AuthnLayer::new(self.inner.clone())
    }

    /// For public routes that still want a principal when present: no token passes through
    /// without one; a token that is present but invalid is still refused with 401.
    pub fn optional_layer(&self) -> AuthnLayer {
        AuthnLayer::new(self.inner.clone()).optional()
    }

    /// Verifies an access token outside of HTTP.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_as(token, TokenUses::ACCESS).await
    }

    /// Verifies a token accepting the given token uses.
    pub async fn verify_as(&self, token: &str, uses: TokenUses) -> Result<Principal, AuthError> {
        self.inner.verifier.verify(token, uses).await
    }

    /// Fetches the keys of every registered tenant now. Returns the tenants whose fetch failed;
    /// they are fetched again lazily (after the cooldown). Also starts following a shared
    /// revocation store, without waiting for it: see
    /// [`revocations_loaded`](Self::revocations_loaded).
    pub async fn prefetch(&self) -> Vec<(String, FetchError)> {
        let verifier = &self.inner.verifier;
        if let Some(revocations) = &verifier.revocations {
            revocations.start();
        }
        let fetches = verifier.registry.tenants().iter().map(|tenant| async move {
            let outcome = verifier.keys.prefetch(tenant).await;
            (tenant.id().to_owned(), outcome)
        });
        futures_util::future::join_all(fetches)
            .await
            .into_iter()
            .filter_map(|(id, outcome)| outcome.err().map(|e| (id, e)))
            .collect()
    }

    /// Drops every cached verified token and resolver answer (for example after revoking a
    /// session; to offboard one tenant, see [`remove_tenant`](Self::remove_tenant)); keys stay
    /// cached.
    pub fn invalidate_caches(&self) {
        let verifier = &self.inner.verifier;
        if let Some(cache) = &verifier.cache {
            cache.invalidate_all();
        }
        if let Some(resolver) = &verifier.resolver {
            resolver.invalidate_all();
        }
    }

    /// Offboards tenant `id` on this instance, at once: its cached tokens, the resolver's
    /// answer and its keys are dropped, so its next request asks the [`TenantResolver`] again
    /// (remove the tenant from the resolver's store first: then that request gets 401
    /// [`AuthError::UnknownIssuer`] and no key is fetched). A verification under way does not
    /// cache its token. Other tenants keep their cached tokens; their resolver answers are asked
    /// for again on their next token not cached, as the resolver TTL does anyway.
    ///
    /// Without this call a removed tenant's tokens are refused once the resolver's answer
    /// expires (`resolver_ttl`, default 5 minutes). Call it on every replica (README,
    /// "Offboarding a tenant").
    ///
    /// Configured tenants are refused with [`TenantChangeError::Configured`]: they are the
    /// service's configuration, which a restart would restore; remove them there and reload.
    ///
    /// ```no_run
    /// # fn run(auth: cognito_authz::CognitoAuth) -> Result<(), cognito_authz::error::TenantChangeError> {
    /// // Called from the admin endpoint that offboards a customer, after deleting it from the
    /// // store the resolver reads.
    /// auth.remove_tenant("acme")?;
    /// # Ok(()) }
    /// ```
    pub fn remove_tenant(&self, id: &str) -> Result<(), TenantChangeError> {
        let verifier = &self.inner.verifier;
        // Found before the answers are dropped: they are what knows the tenant's key URL.
        let held = verifier
            .resolver
            .as_ref()
            .map_or_else(Vec::new, |resolver| resolver.held(id));
        self.forget_tenant(id)?;
        for tenant in held {
            verifier.keys.forget(&tenant);
        }
        Ok(())
    }

    /// Makes tenant `id`'s next request use the [`TenantResolver`]'s current answer, at once
    /// (after changing its app clients or role mapping in the resolver's store): its cached
    /// tokens and the resolver's answer are dropped; its keys stay. Like
    /// [`remove_tenant`](Self::remove_tenant) otherwise, errors included.
    pub fn refresh_tenant(&self, id: &str) -> Result<(), TenantChangeError> {
        self.forget_tenant(id)
    }

    fn forget_tenant(&self, id: &str) -> Result<(), TenantChangeError> {
        let verifier = &self.inner.verifier;
        if verifier.registry.get_by_id(id).is_some() {
            return Err(TenantChangeError::Configured(id.to_owned()));
        }
        // Resolver first: a token verified from now on is verified under a new answer.
        if let Some(resolver) = &verifier.resolver {
            resolver.invalidate_all();
        }
        if let Some(cache) = &verifier.cache {
            cache.invalidate_tenant(id);
        }
        Ok(())
    }

    /// Entries in the verified-token cache, after dropping expired ones.
    pub fn cached_tokens(&self) -> u64 {
        self.inner
            .verifier
            .cache
            .as_ref()
            .map_or(0, VerifiedTokenCache::entry_count)
    }

    /// The revocation list, if one was set.
    pub fn revocations(&self) -> Option<&Revocations> {
        self.inner.verifier.revocations.as_ref()
    }

    /// The readiness future of a shared revocation list (feature `redis`): resolves once the
    /// store has been loaded in full, at once without a shared list. Until then every request
    /// is refused with 503 ([`AuthError::RevocationsUnavailable`]), so that a replica started
    /// after a sign-out never accepts the signed-out tokens. Await it (with a timeout of your
    /// choice) before reporting ready or binding the listener. It does not give up by itself
    /// while Redis is unreachable.
    pub async fn revocations_loaded(&self) {
        if let Some(revocations) = &self.inner.verifier.revocations {
            revocations.loaded().await;
        }
    }

    /// The registered tenants.
    pub fn tenants(&self) -> &TenantRegistry {
        &self.inner.verifier.registry
    }
}

/// How long a resolver's "found" answer is used by default (the offboarding window).
pub(crate) const DEFAULT_RESOLVER_TTL: Duration = Duration::from_secs(300);
/// How long a resolver's "not found" answer is used by default.
pub(crate) const DEFAULT_RESOLVER_NEGATIVE_TTL: Duration = Duration::from_secs(60);

/// Default token size limit (`max_token_bytes`). Cognito's access tokens are 1 to 2 KB, id
/// tokens with many attributes a few KB; anything far larger is refused before it is decoded.
pub(crate) const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Default verified-token cache capacity (`token_cache_entries`): one entry per token in use,
/// so a hundred thousand signed-in sessions verify once per token, at a bounded cost in memory.
pub(crate) const DEFAULT_TOKEN_CACHE_ENTRIES: u64 = 100_000;
/// Default verified-token cache lifetime (`token_cache_ttl`): Cognito's default access-token
/// lifetime, so a token is verified about once in its life.
pub(crate) const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(3600);
/// How many resolver answers (found or not found) are cached: far more than the tenants one
/// service sees at once, and small enough (one tenant each) to bound memory against a flood of
/// forged issuers; past it, lookups go to the resolver, whose own budget caps them.
pub(crate) const RESOLVER_CACHE_ENTRIES: u64 = 10_000;

/// The longest verified-token cache lifetime accepted (Cognito's longest token lifetime).
pub const MAX_TOKEN_CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Builder for [`CognitoAuth`].
///
/// ```
/// use std::time::Duration;
/// use cognito_authz::{CognitoAuth, Tenant, TenantRegistry};
///
/// let registry = TenantRegistry::from_tenants([
///     Tenant::builder("acme", "us-east-1_AbCdEf123").client_id("client-a").build()?,
/// ])?;
/// let auth = CognitoAuth::builder()
///     .tenants(registry)
///     .leeway(Duration::from_secs(5))
///     .build()?;
/// # Ok::<(), cognito_authz::ConfigError>(())
/// ```
#[must_use]
pub struct CognitoAuthBuilder {
    registry: TenantRegistry,
    resolver: Option<Arc<dyn TenantResolver>>,
    resolver_ttl: Duration,
    resolver_negative_ttl: Duration,
    leeway: Duration,
    max_token_bytes: usize,
    token_cache_entries: u64,
    token_cache_ttl: Duration,
    jwks: JwksConfig,
    self_service_guard: Option<SelfServiceGuard>,
    revocations: Option<Revocations>,
    #[cfg(feature = "redis")]
    redis_revocations: Option<crate::revocation::RedisRevocations>,
    responder: Option<ErrorResponder>,
    metrics_tenant_label: bool,
}

impl Default for CognitoAuthBuilder {
    fn default() -> Self {
        CognitoAuthBuilder {
            registry: TenantRegistry::new(),
            resolver: None,
            resolver_ttl: DEFAULT_RESOLVER_TTL,
            resolver_negative_ttl: DEFAULT_RESOLVER_NEGATIVE_TTL,
            leeway: Duration::ZERO,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            token_cache_entries: DEFAULT_TOKEN_CACHE_ENTRIES,
            token_cache_ttl: DEFAULT_TOKEN_CACHE_TTL,
            jwks: JwksConfig::default(),
            self_service_guard: None,
            revocations: None,
            #[cfg(feature = "redis")]
            redis_revocations: None,
            responder: None,
            metrics_tenant_label: true,
        }
    }
}

impl CognitoAuthBuilder {
    /// The tenants known at startup (replaces any set before).
    pub fn tenants(mut self, registry: TenantRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// Adds one tenant.
    pub fn tenant(mut self, tenant: Tenant) -> Result<Self, ConfigError> {
        self.registry.insert(tenant)?;
        Ok(self)
    }

    /// Finds tenants not in the registry at runtime; answers are cached.
    pub fn resolver(mut self, resolver: impl TenantResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// How long resolver answers are cached: `found` for tenants, `not_found` for unknown
    /// issuers. Defaults 5 min and 1 min.
    pub fn resolver_ttl(mut self, found: Duration, not_found: Duration) -> Self {
        self.resolver_ttl = found;
        self.resolver_negative_ttl = not_found;
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default 0 (as aws-jwt-verify); at most
    /// [`MAX_LEEWAY`].
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Tokens longer than this are refused before decoding. Default 8 KiB.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// Capacity of the verified-token cache; 0 turns it off. Default 100,000 (about 40 MiB
    /// when full). The cache never holds more; being sharded, it starts evicting a little before
    /// it is full.
    pub fn token_cache_entries(mut self, entries: u64) -> Self {
        self.token_cache_entries = entries;
        self
    }

    /// Longest time a verified token stays cached, whatever its `exp` (never past `exp`);
    /// at most [`MAX_TOKEN_CACHE_TTL`]. Default 1 h, Cognito's default access-token lifetime: a
    /// longer-lived token is verified again after it.
    pub fn token_cache_ttl(mut self, ttl: Duration) -> Self {
        self.token_cache_ttl = ttl;
        self
    }

    /// Key cache settings.
    pub fn jwks(mut self, config: JwksConfig) -> Self {
        self.jwks = config;
        self
    }

    /// Refuse access tokens that carry the Cognito self-service scope for users without one of
    /// the guard's roles. Off by default.
    pub fn self_service_guard(mut self, guard: SelfServiceGuard) -> Self {
        self.self_service_guard = Some(guard);
        self
    }

    /// Refuse tokens of users and sessions revoked in `revocations` (401 `TokenRevoked`), on
    /// every request, cached or not. The admin routes (feature `admin`) record their sign-outs
    /// and disables in it. Off by default: then a token stays valid until its `exp`.
    pub fn revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        #[cfg(feature = "redis")]
        {
            self.redis_revocations = None;
        }
        self
    }

    /// Revocations shared by every replica through Redis (feature `redis`); replaces
    /// [`revocations`](Self::revocations). The list is built, and starts following the store,
    /// at [`build`](Self::build) (or, outside a tokio runtime, at the first request or
    /// [`CognitoAuth::revocations_loaded`]). Requests are refused with 503 until the first full
    /// load: await [`CognitoAuth::revocations_loaded`] before serving.
    #[cfg(feature = "redis")]
    pub fn redis_revocations(mut self, store: crate::revocation::RedisRevocations) -> Self {
        self.redis_revocations = Some(store);
        self.revocations = None;
        self
    }

    /// Whether metrics (feature `metrics`) carry a `tenant` label. Default `true`; turn it off
    /// for very many tenants, to keep one series per outcome and reason instead of one per
    /// tenant as well. See [`metrics`](crate::metrics). Config: `[metrics] tenant_label`.
    pub fn metrics_tenant_label(mut self, on: bool) -> Self {
        self.metrics_tenant_label = on;
        self
    }

    /// Replaces the default JSON error answers of every layer using this `CognitoAuth`.
    pub fn error_responder(
        mut self,
        responder: impl Fn(&AuthError) -> http::Response<bytes::Bytes> + Send + Sync + 'static,
    ) -> Self {
        self.responder = Some(Arc::new(responder));
        self
    }

    /// Builds; fails if there is neither a tenant nor a resolver.
    pub fn build(self) -> Result<CognitoAuth, ConfigError> {
        if self.registry.is_empty() && self.resolver.is_none() {
            return Err(ConfigError::invalid(
                "tenant",
                "no tenant configured and no resolver set",
            ));
        }
        if self.token_cache_entries > 0
            && (self.token_cache_ttl.is_zero() || self.token_cache_ttl > MAX_TOKEN_CACHE_TTL)
        {
            return Err(ConfigError::invalid(
                "token_cache_ttl_seconds",
                "must be between 1 s and 1 day, Cognito's longest token lifetime \
                 (set token_cache_entries = 0 to disable the cache)",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::invalid(
                "leeway_seconds",
                "must be at most 300: a larger leeway accepts long-expired tokens",
            ));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::invalid("max_token_bytes", "must be positive"));
        }
        let resolver = self.resolver.map(|resolver| {
            ResolverCache::new(
                resolver,
                self.resolver_ttl,
                self.resolver_negative_ttl,
                RESOLVER_CACHE_ENTRIES,
            )
        });
        #[cfg(feature = "redis")]
        let revocations = match self.redis_revocations {
            Some(store) => Some(store.into_list()?),
            None => self.revocations,
        };
        #[cfg(not(feature = "redis"))]
        let revocations = self.revocations;
        let cache = if self.token_cache_entries > 0 {
            Some(
                VerifiedTokenCache::new(self.token_cache_entries, self.token_cache_ttl)
                    .map_err(|_| ConfigError::Random)?,
            )
        } else {
            None
        };
        let auth = CognitoAuth {
            inner: Arc::new(AuthInner {
                verifier: Verifier {
                    registry: self.registry,
                    resolver,
                    keys: JwksCache::over_http(self.jwks, self.metrics_tenant_label)?,
                    cache,
                    revocations,
                    settings: VerifySettings {
                        leeway: self.leeway,
                        max_token_bytes: self.max_token_bytes,
                        self_service_guard: self.self_service_guard,
                    },
                    metrics: Metrics::new(self.metrics_tenant_label),
                },
                responder: self.responder,
            }),
        };
        // `Revocations::revoke_tenant_shared`, here or on another replica, offboards the tenant
        // on this instance. Weak: the list must not keep the instance alive.
        if let Some(revocations) = auth.revocations() {
            let instance = Arc::downgrade(&auth.inner);
            revocations.on_tenant_revoked(Box::new(move |tenant| {
                let Some(inner) = instance.upgrade() else {
                    return false;
                };
                // A configured tenant is the service's configuration: kept, as by
                // `remove_tenant` itself.
                if (CognitoAuth { inner }).remove_tenant(tenant).is_err() {
                    tracing::debug!(
                        target: "cognito_authz::revocation",
                        "tenant revocation ignored for a configured tenant",
                    );
                }
                true
            }));
        }
        Ok(auth)
    }
}
