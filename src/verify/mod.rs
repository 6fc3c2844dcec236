//! Token verification by Cognito's rules.
//!
//! In order, each step refusing with its own [`AuthError`]:
//! 1. size limit, before any decoding;
//! 2. the verified-token cache (a hit still checks expiry and token use);
//! 3. structure, `alg` = RS256 (nothing else, ever), a `kid`, no `crit`;
//! 4. the tenant, by exact `iss` (registry, then resolver): unknown issuers stop here, before
//!    any key is fetched;
//! 5. the key for (tenant, `kid`) from the key cache ([`jwks`](crate::jwks)) and the RSA signature;
//! 6. claims: `token_use`, app client (`client_id` for access tokens, `aud` for id tokens),
//!    `exp` (required), `nbf`, `iat`, `sub`, username (or, for a client-credentials token of
//!    one of the tenant's `machine_client_ids`, `sub` = `client_id`: a machine), and the
//!    optional self-service guard.
//!
//! Signature before claims, as aws-jwt-verify does: a claim error is only ever reported for a
//! genuine token.

mod cache;
mod clock;
mod token;
#[cfg(feature = "cli")]
mod trace;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) use cache::{CacheSlot, VerifiedTokenCache};
#[cfg(feature = "cli")]
pub(crate) use trace::{AuthTrace, KeySource};
#[cfg(feature = "cli")]
pub use trace::{Step, StepOutcome};

use crate::error::AuthError;
use crate::jwks::JwksCache;
use crate::metrics::{Metrics, TenantMetrics};
use crate::principal::{Principal, PrincipalClaims, PrincipalData, PrincipalKind, TokenUse};
use crate::revocation::Revocations;
use crate::tenant::{Resolved, ResolverCache, Tenant, TenantRegistry};

/// The Cognito scope that lets a token's holder call self-service APIs with it.
pub const SELF_SERVICE_SCOPE: &str = "aws.cognito.signin.user.admin";

/// Which token uses a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUses {
    access: bool,
    id: bool,
}

impl TokenUses {
    /// Access tokens only: the default, and what APIs should accept.
    pub const ACCESS: TokenUses = TokenUses {
        access: true,
        id: false,
    };
    /// Id tokens only.
    pub const ID: TokenUses = TokenUses {
        access: false,
        id: true,
    };
    /// Either.
    pub const ANY: TokenUses = TokenUses {
        access: true,
        id: true,
    };

    /// True if `token_use` is accepted.
    pub fn allows(self, token_use: TokenUse) -> bool {
        match token_use {
            TokenUse::Access => self.access,
            TokenUse::Id => self.id,
        }
    }
}

impl Default for TokenUses {
    fn default() -> Self {
        TokenUses::ACCESS
    }
}

/// Refuse access tokens that still carry [`SELF_SERVICE_SCOPE`] unless the user has one of
/// `allowed_roles`. Catches a tenant pool where the Pre Token Generation trigger that
/// suppresses the scope is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfServiceGuard {
    /// Roles allowed to keep the self-service scope. Default: `["admin"]`.
    pub allowed_roles: Vec<String>,
}

impl Default for SelfServiceGuard {
    fn default() -> Self {
        SelfServiceGuard {
            allowed_roles: vec!["admin".to_owned()],
        }
    }
}

/// Verification settings.
#[derive(Debug, Clone)]
pub(crate) struct VerifySettings {
    pub(crate) leeway: Duration,
    pub(crate) max_token_bytes: usize,
    pub(crate) self_service_guard: Option<SelfServiceGuard>,
}

pub(crate) enum CacheLookup {
    Hit(Principal),
    /// The refusal, and the tenant's metrics if the token was cached (hence of a known tenant).
    Rejected(AuthError, Option<TenantMetrics>),
    Miss(Option<CacheSlot>),
}

pub(crate) struct Verifier {
    pub(crate) registry: TenantRegistry,
    pub(crate) resolver: Option<ResolverCache>,
    pub(crate) keys: JwksCache,
    pub(crate) cache: Option<VerifiedTokenCache>,
    pub(crate) revocations: Option<Revocations>,
    pub(crate) settings: VerifySettings,
    pub(crate) metrics: Metrics,
}

impl Verifier {
    /// The synchronous part: size limit and cache. No allocation on a hit.
    ///
    /// Takes the token's bytes, checked or not: a hit is a token byte for byte the same as one
    /// verified before (base64url and dots only), so it needs no other check; the caller checks
    /// the text of a token that missed before verifying it (see `layer::authn`).
    pub(crate) fn lookup(&self, token: &[u8], uses: TokenUses) -> CacheLookup {
        if token.len() > self.settings.max_token_bytes {
            return CacheLookup::Rejected(
                AuthError::TokenTooLarge {
                    max: self.settings.max_token_bytes,
                },
                None,
            );
        }
        let Some(cache) = &self.cache else {
            return CacheLookup::Miss(None);
        };
        let Some(slot) = cache.slot(token) else {
            return CacheLookup::Miss(None);
        };
        let Some(principal) = cache.get(&slot) else {
            self.metrics.cache_miss();
            return CacheLookup::Miss(Some(slot));
        };
        self.metrics.cache_hit();
        match self.check_revocation(&principal) {
            Err(err) => CacheLookup::Rejected(err, principal.metrics().cloned()),
            Ok(()) if uses.allows(principal.token_use()) => CacheLookup::Hit(principal),
            Ok(()) => CacheLookup::Rejected(
                AuthError::WrongTokenUse {
                    found: principal.token_use(),
                },
                principal.metrics().cloned(),
            ),
        }
    }

    /// Full verification of a token that missed the cache; caches the result on success.
    /// `tenant_seen` gets the metrics of the token's tenant once its issuer is found to be one,
    /// so that a refusal after that point is counted under it.
    pub(crate) async fn verify_uncached(
        &self,
        token: &str,
        slot: Option<CacheSlot>,
        uses: TokenUses,
        tenant_seen: &mut Option<TenantMetrics>,
    ) -> Result<Principal, AuthError> {
        self.verify_uncached_at(token, slot, uses, tenant_seen, SystemTime::now())
            .await
    }

    /// [`verify_uncached`](Self::verify_uncached) with time claims judged at `now` (the
    /// `explain` command's `--at`).
    pub(crate) async fn verify_uncached_at(
        &self,
        token: &str,
        slot: Option<CacheSlot>,
        uses: TokenUses,
        tenant_seen: &mut Option<TenantMetrics>,
        now: SystemTime,
    ) -> Result<Principal, AuthError> {
        let unverified = token::parse(token)?;
        let payload = unverified.claims()?;
        let iss = payload
            .iss
            .as_deref()
            .ok_or(AuthError::MissingClaim("iss"))?;
        let (tenant, answer_valid_until) = self.tenant(iss).await?;
        let metrics = tenant_seen.insert(self.metrics.tenant(tenant.id_arc()));
        let key = self.keys.key(&tenant, unverified.kid()).await?;
        if !key.verify_digest(&unverified.message_digest(token), unverified.signature()) {
            return Err(AuthError::InvalidSignature);
        }
        let (principal, valid_until) = self.validate(payload.claims?, &tenant, metrics, now)?;
        // Served no longer than the resolver's answer it was verified under holds: then the
        // token takes the slow path, which asks the resolver again (offboarding, new roles).
        let valid_until = answer_valid_until.map_or(valid_until, |until| valid_until.min(until));
        if let (Some(cache), Some(slot)) = (&self.cache, slot) {
            cache.insert(slot, principal.clone(), valid_until);
        }
        self.check_revocation(&principal)?;
        if !uses.allows(principal.token_use()) {
            return Err(AuthError::WrongTokenUse {
                found: principal.token_use(),
            });
        }
        Ok(principal)
    }

    /// Size limit, cache, then full verification.
    ///
    /// The full verification's future is boxed, as the layer's is: a hit would otherwise pay
    /// for moving a future sized for the cold path (before the resolver's part was boxed too, a
    /// tenth of a hit's instructions, measured with `scripts/callgrind-verify`). A miss pays one
    /// small allocation (under 1 KB) next to an RSA verification.
    pub(crate) async fn verify(
        &self,
        token: &str,
        uses: TokenUses,
    ) -> Result<Principal, AuthError> {
        match self.lookup(token.as_bytes(), uses) {
            CacheLookup::Hit(principal) => Ok(principal),
            CacheLookup::Rejected(err, _) => Err(err),
            CacheLookup::Miss(hashed) => {
                Box::pin(self.verify_uncached(token, hashed, uses, &mut None)).await
            }
        }
    }

    /// Revocation is checked on every request, hit or miss: a cached entry outlives a sign-out.
    /// A shared list whose store is unavailable (per its policy) refuses with 503.
    fn check_revocation(&self, principal: &Principal) -> Result<(), AuthError> {
        match &self.revocations {
            Some(revocations) => revocations.check(principal),
            None => Ok(()),
        }
    }

    /// The tenant owning `iss`, and for a resolver's tenant until when the answer holds.
    async fn tenant(&self, iss: &str) -> Result<(Arc<Tenant>, Option<Duration>), AuthError> {
        if let Some(tenant) = self.registry.get_by_issuer(iss) {
            return Ok((tenant.clone(), None));
        }
        let Some(resolver) = &self.resolver else {
            return Err(AuthError::UnknownIssuer);
        };
        // Boxed: inline, the resolver's state (a catalog read: 1.6 KB) would make every
        // verification's future, and every caller's, that large, and each move of it a copy.
        // Only issuers outside the registry pay the allocation.
        let Resolved {
            tenant,
            valid_until,
        } = Box::pin(resolver.resolve(iss)).await?;
        // Tenant ids are identities (`same_tenant_as`, data keyed by tenant): a runtime tenant
        // must not take the id of a configured one.
        if self.registry.get_by_id(tenant.id()).is_some() {
            tracing::error!(
                tenant = tenant.id(),
                "tenant resolver returned a tenant whose id belongs to a configured tenant; refusing"
            );
            return Err(AuthError::UnknownIssuer);
        }
        // Nor the pool of one: it could claim that pool's replica-region issuers, which the
        // configured tenant does not list, under an id of its own. The primary issuer is the
        // pool's (`Tenant::issuers` starts with it).
        if tenant
            .issuers()
            .first()
            .is_some_and(|primary| self.registry.get_by_issuer(primary).is_some())
        {
            tracing::error!(
                tenant = tenant.id(),
                user_pool_id = tenant.user_pool_id(),
                "tenant resolver returned a tenant whose user pool belongs to a configured tenant; refusing"
            );
            return Err(AuthError::UnknownIssuer);
        }
        Ok((tenant, Some(valid_until)))
    }

    /// Checks the claims of a token whose signature is valid; returns the principal data and
    /// when the token stops being valid (`exp` + leeway, since the Unix epoch).
    fn validate(
        &self,
        claims: token::Claims<'_>,
        tenant: &Arc<Tenant>,
        metrics: &TenantMetrics,
        now: SystemTime,
    ) -> Result<(Principal, Duration), AuthError> {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let leeway = self.settings.leeway.as_secs();
        let token_use = match claims.token_use.as_deref() {
            Some("access") => TokenUse::Access,
            Some("id") => TokenUse::Id,
            Some(_) => return Err(AuthError::InvalidClaim("token_use")),
            None => return Err(AuthError::MissingClaim("token_use")),
        };
        let (client_id, client_claim, username, username_claim) = match token_use {
            TokenUse::Access => (claims.client_id, "client_id", claims.username, "username"),
            TokenUse::Id => (
                claims.aud,
                "aud",
                claims.cognito_username,
                "cognito:username",
            ),
        };
        let client_id = client_id.ok_or(AuthError::MissingClaim(client_claim))?;
        // A client-credentials token has no `username`; whether it may be a machine is decided
        // below, once `sub` is known. A token with a user name needs a client of `client_ids`.
        let maybe_machine = token_use == TokenUse::Access && username.is_none();
        let client_allowed = if maybe_machine {
            tenant.owns_client(&client_id)
        } else {
            tenant.allows_client(&client_id)
        };
        if !client_allowed {
            return Err(AuthError::WrongClient);
        }
        let exp = claims.exp.ok_or(AuthError::MissingClaim("exp"))?;
        // Sub-second precision for the end of validity: the cache entry must not outlive
        // `exp` by the fraction of the current second.
        let valid_until = Duration::from_secs(exp.saturating_add(leeway));
        if valid_until <= now {
            return Err(AuthError::Expired);
        }
        let latest_allowed = now.as_secs().saturating_add(leeway);
        if claims.nbf.is_some_and(|nbf| nbf > latest_allowed) {
            return Err(AuthError::NotYetValid);
        }
        if claims.iat.is_some_and(|iat| iat > latest_allowed) {
            return Err(AuthError::IssuedInFuture);
        }
        let subject = claims.sub.ok_or(AuthError::MissingClaim("sub"))?;
        let kind = if maybe_machine {
            machine_kind(tenant, &subject, &client_id)?
        } else {
            PrincipalKind::User
        };
        let username = match (username, kind) {
            (Some(username), _) => username,
            (None, PrincipalKind::Machine) => Cow::Borrowed(""),
            (None, PrincipalKind::User) => return Err(AuthError::MissingClaim(username_claim)),
        };
        let groups = claims.groups.unwrap_or_default();
        let scope = match token_use {
            TokenUse::Access => claims.scope.as_deref().unwrap_or(""),
            TokenUse::Id => "",
        };
        let principal = Principal::new(
            PrincipalData::new(PrincipalClaims {
                tenant,
                subject: &subject,
                username: &username,
                client_id: &client_id,
                token_use,
                kind,
                groups: &groups,
                scope,
                expires_at: exp,
                issued_at: claims.iat,
                jti: claims.jti.as_deref(),
                origin_jti: claims.origin_jti.as_deref(),
            })
            .with_metrics(metrics.clone()),
        );
        // A machine has no account to self-manage, so no role lets it keep the scope.
        if let Some(guard) = &self.settings.self_service_guard
            && token_use == TokenUse::Access
            && principal.has_scope(SELF_SERVICE_SCOPE)
            && (principal.is_machine()
                || !guard.allowed_roles.iter().any(|r| principal.has_role(r)))
        {
            return Err(AuthError::SelfServiceScopeNotSuppressed);
        }
        Ok((principal, valid_until))
    }
}

/// Whether an access token without `username` (already known to come from one of `tenant`'s
/// clients) is a machine: only a client of `machine_client_ids`, and only with `sub` equal to
/// `client_id`, as Cognito issues client-credentials tokens. A user token that lost its
/// `username` (`sub` is the user's id) never becomes a machine.
fn machine_kind(
    tenant: &Tenant,
    subject: &str,
    client_id: &str,
) -> Result<PrincipalKind, AuthError> {
    match (
        tenant.allows_machine_client(client_id),
        subject == client_id,
    ) {
        (true, true) => Ok(PrincipalKind::Machine),
        (true, false) => Err(AuthError::MachineSubjectMismatch),
        (false, true) => Err(AuthError::MachineClientNotAllowed),
        (false, false) => Err(AuthError::MissingClaim("username")),
    }
}
