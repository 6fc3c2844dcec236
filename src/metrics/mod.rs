//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (cargo feature `metrics`).
//!
//! The crate records; it installs no exporter. Install a recorder (for example
//! `metrics-exporter-prometheus`) **before the [`CognitoAuth`](crate::CognitoAuth) serves its
//! first request**: counter handles are taken from the recorder in force when a tenant (or the
//! verified-token cache) is first used and kept, so the warm path pays one atomic add instead
//! of a registry lookup. Handles taken before a recorder was installed stay no-ops for the life
//! of that `CognitoAuth`. Without the feature every recording call compiles to nothing.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | [`DECISIONS_TOTAL`] | counter | `tenant`, `outcome`, `reason` |
//! | [`JWKS_FETCHES_TOTAL`] | counter | `tenant`, `result` |
//! | [`JWKS_FETCH_DURATION_SECONDS`] | histogram | none |
//! | [`TOKEN_CACHE_HITS_TOTAL`] | counter | none |
//! | [`TOKEN_CACHE_MISSES_TOTAL`] | counter | none |
//! | [`ADMIN_ACTIONS_TOTAL`] | counter (feature `admin`) | `tenant`, `action`, `outcome` |
//!
//! # Label values
//! Every label value is a configured or resolved tenant's id or a fixed string of this crate,
//! never a part of a token: a token whose issuer is not a tenant is counted under
//! `tenant=""` ([`UNKNOWN_TENANT`]; tenant ids are never empty). With
//! [`CognitoAuthBuilder::metrics_tenant_label(false)`](crate::CognitoAuthBuilder::metrics_tenant_label)
//! (`[metrics] tenant_label = false`) no series has a `tenant` label, for services with
//! very many tenants.
//!
//! # Decisions
//! One request is one decision, counted once, by the authentication layer
//! ([`AuthnLayer`](crate::AuthnLayer)) that saw it:
//! - `unauthenticated` (401) and `unavailable` (503) when the authentication layer refuses;
//! - `forbidden` (403), and `unauthenticated` for a request without a principal, when a
//!   [`AuthzLayer`](crate::AuthzLayer) layer (or the `Principal` extractor) inside it
//!   refuses: the refusal travels back on the response and is counted as it passes the
//!   authentication layer, under the principal's tenant;
//! - `allowed` (`reason="ok"`) when the response of a request that the authentication layer let
//!   through with a principal comes back without such a refusal (whatever its status: a 404 of
//!   the handler is still an allowed request).
//!
//! So `sum by (outcome)` adds up to the requests decided, and a request refused by
//! authorization is never also counted as allowed. Not counted: a request that passes an
//! optional layer without a token and is not refused; a request dropped before its response
//! (client gone); refusals of a `AuthzLayer` with no authentication layer around it (it has
//! no `CognitoAuth` to count with); and [`CognitoAuth::verify`](crate::CognitoAuth::verify)
//! calls outside HTTP (they count only as cache hits or misses). With authentication layers
//! nested, the innermost one counts refusals and the outermost one counts `allowed`.

#[cfg(feature = "metrics")]
mod recording;
#[cfg(feature = "metrics")]
pub(crate) use recording::*;

#[cfg(not(feature = "metrics"))]
mod noop;
#[cfg(not(feature = "metrics"))]
pub(crate) use noop::*;

/// `cognito_authz_decisions_total{tenant, outcome, reason}`: requests decided, by outcome
/// (`allowed`, `unauthenticated`, `forbidden`, `unavailable`) and reason (`ok` for allowed,
/// otherwise [`AuthError::reason`](crate::AuthError::reason)).
pub const DECISIONS_TOTAL: &str = "cognito_authz_decisions_total";
/// `cognito_authz_jwks_fetches_total{tenant, result}`: key-set fetches that reached the network
/// (not those skipped by the cooldown), by result (`ok`, `timeout`, `transport`, `status`,
/// `too_large`, `invalid_json`, `no_usable_keys`).
pub const JWKS_FETCHES_TOTAL: &str = "cognito_authz_jwks_fetches_total";
/// `cognito_authz_jwks_fetch_duration_seconds`: how long each of those fetches took, failed
/// ones included.
pub const JWKS_FETCH_DURATION_SECONDS: &str = "cognito_authz_jwks_fetch_duration_seconds";
/// `cognito_authz_token_cache_hits_total`: tokens found in the verified-token cache.
pub const TOKEN_CACHE_HITS_TOTAL: &str = "cognito_authz_token_cache_hits_total";
/// `cognito_authz_token_cache_misses_total`: tokens looked up in the verified-token cache and
/// not found (then verified in full). Nothing is counted while the cache is off.
pub const TOKEN_CACHE_MISSES_TOTAL: &str = "cognito_authz_token_cache_misses_total";
/// `cognito_authz_admin_actions_total{tenant, action, outcome}` (feature `admin`): attempted
/// admin actions, one per audit event, with the audit event's `action` and `outcome`.
pub const ADMIN_ACTIONS_TOTAL: &str = "cognito_authz_admin_actions_total";
/// The `tenant` label value of requests whose token names no known tenant.
pub const UNKNOWN_TENANT: &str = "";

/// The `outcome` label of a refusal, from its HTTP status.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
fn outcome_of(err: &crate::AuthError) -> &'static str {
    match err.status().as_u16() {
        403 => "forbidden",
        503 => "unavailable",
        _ => "unauthenticated",
    }
}
