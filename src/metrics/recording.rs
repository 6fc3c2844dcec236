//! Recording, with feature `metrics`: cached counter handles for the per-request metrics, plain
//! macro calls for the rare events (key fetches, admin actions).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use ::metrics::{Counter, Label, SharedString};
use http::Response;

use super::{
    ADMIN_ACTIONS_TOTAL, DECISIONS_TOTAL, JWKS_FETCH_DURATION_SECONDS, JWKS_FETCHES_TOTAL,
    TOKEN_CACHE_HITS_TOTAL, TOKEN_CACHE_MISSES_TOTAL, UNKNOWN_TENANT, outcome_of,
};
use crate::error::AuthError;

/// The metrics of one [`CognitoAuth`](crate::CognitoAuth): its handles, taken on first use.
pub(crate) struct Metrics {
    tenant_label: bool,
    /// Requests without a known tenant; with the tenant label off, every request.
    unknown: TenantMetrics,
    tenants: RwLock<HashMap<Arc<str>, TenantMetrics>>,
    cache_hits: OnceLock<Counter>,
    cache_misses: OnceLock<Counter>,
}

impl Metrics {
    pub(crate) fn new(tenant_label: bool) -> Self {
        Metrics {
            tenant_label,
            unknown: TenantMetrics::new(
                tenant_label.then(|| SharedString::const_str(UNKNOWN_TENANT)),
            ),
            tenants: RwLock::new(HashMap::new()),
            cache_hits: OnceLock::new(),
            cache_misses: OnceLock::new(),
        }
    }

    /// The handles of requests without a known tenant.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn unknown(&self) -> &TenantMetrics {
        &self.unknown
    }

    /// The handles of `tenant`, made on its first verification (not on the warm path: the
    /// principal carries them from then on).
    pub(crate) fn tenant(&self, id: &Arc<str>) -> TenantMetrics {
        if !self.tenant_label {
            return self.unknown.clone();
        }
        if let Some(found) = self
            .tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
        {
            return found.clone();
        }
        self.tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id.clone())
            .or_insert_with(|| TenantMetrics::new(Some(SharedString::from_shared(id.clone()))))
            .clone()
    }

    /// Counts a refusal by the authentication layer, under `tenant` if the token's issuer was
    /// a known tenant.
    pub(crate) fn refused(&self, tenant: Option<&TenantMetrics>, err: &AuthError) {
        tenant
            .unwrap_or(&self.unknown)
            .count(outcome_of(err), err.reason());
    }

    /// What to count when the response of a request let through comes back. `principal` is
    /// the principal's handles (`None`: no principal, or one made outside a `CognitoAuth`).
    pub(crate) fn pending(
        &self,
        principal: Option<&TenantMetrics>,
        count_allowed: bool,
    ) -> Pending {
        match principal {
            Some(tenant) => Pending {
                tenant: Some(tenant.clone()),
                count_allowed,
            },
            None => Pending {
                tenant: Some(self.unknown.clone()),
                count_allowed: false,
            },
        }
    }

    pub(crate) fn cache_hit(&self) {
        self.cache_hits
            .get_or_init(|| ::metrics::counter!(TOKEN_CACHE_HITS_TOTAL))
            .increment(1);
    }

    pub(crate) fn cache_miss(&self) {
        self.cache_misses
            .get_or_init(|| ::metrics::counter!(TOKEN_CACHE_MISSES_TOTAL))
            .increment(1);
    }
}

/// One tenant's decision counters (or the shared ones of unknown tenants / of every tenant
/// when the tenant label is off). Cloning is one reference count.
#[derive(Clone)]
pub(crate) struct TenantMetrics(Arc<TenantCounters>);

struct TenantCounters {
    /// The `tenant` label value; `None`: no tenant label.
    tenant: Option<SharedString>,
    allowed: OnceLock<Counter>,
    /// Keyed by (outcome, reason): both fixed strings, so this holds a few dozen at most.
    refused: RwLock<Vec<(&'static str, &'static str, Counter)>>,
}

/// The handles are not part of a principal's identity.
impl PartialEq for TenantMetrics {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for TenantMetrics {}

impl TenantMetrics {
    fn new(tenant: Option<SharedString>) -> Self {
        TenantMetrics(Arc::new(TenantCounters {
            tenant,
            allowed: OnceLock::new(),
            refused: RwLock::new(Vec::new()),
        }))
    }

    fn labels(&self, rest: [(&'static str, &'static str); 2]) -> Vec<Label> {
        let tenant = self.0.tenant.clone().map(|t| Label::new("tenant", t));
        tenant
            .into_iter()
            .chain(rest.map(|(key, value)| Label::new(key, value)))
            .collect()
    }

    fn allowed(&self) {
        self.0
            .allowed
            .get_or_init(|| {
                ::metrics::counter!(
                    DECISIONS_TOTAL,
                    self.labels([("outcome", "allowed"), ("reason", "ok")])
                )
            })
            .increment(1);
    }

    fn count(&self, outcome: &'static str, reason: &'static str) {
        let find = |counters: &[(&'static str, &'static str, Counter)]| {
            counters
                .iter()
                .find(|(o, r, _)| *o == outcome && *r == reason)
                .map(|(_, _, counter)| counter.clone())
        };
        let refused = &self.0.refused;
        let known = find(&refused.read().unwrap_or_else(PoisonError::into_inner));
        let counter = known.unwrap_or_else(|| {
            let mut counters = refused.write().unwrap_or_else(PoisonError::into_inner);
            find(&counters).unwrap_or_else(|| {
                let counter = ::metrics::counter!(
                    DECISIONS_TOTAL,
                    self.labels([("outcome", outcome), ("reason", reason)])
                );
                counters.push((outcome, reason, counter.clone()));
                counter
            })
        });
        counter.increment(1);
    }

    /// Counts one attempted admin action (rare: no cached handle).
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn admin_action(&self, action: &'static str, outcome: &'static str) {
        ::metrics::counter!(
            ADMIN_ACTIONS_TOTAL,
            self.labels([("action", action), ("outcome", outcome)])
        )
        .increment(1);
    }
}

/// Response extension: an authorization layer (or the `Principal` extractor) refused this
/// request. The authentication layer around it counts the refusal and sets `counted`.
#[derive(Clone, Copy)]
struct Refused {
    outcome: &'static str,
    reason: &'static str,
    counted: bool,
}

/// Marks a refusal made inside the authentication layer, for it to count on the way back.
pub(crate) fn mark_refused<B>(response: &mut Response<B>, err: &AuthError) {
    response.extensions_mut().insert(Refused {
        outcome: outcome_of(err),
        reason: err.reason(),
        counted: false,
    });
}

/// Marks a refusal the authentication layer counted itself, so no layer around it counts it
/// again.
pub(crate) fn mark_counted<B>(response: &mut Response<B>, err: &AuthError) {
    response.extensions_mut().insert(Refused {
        outcome: outcome_of(err),
        reason: err.reason(),
        counted: true,
    });
}

/// The decision of a request the authentication layer let through, counted when its response
/// comes back.
pub(crate) struct Pending {
    /// `None` once counted.
    tenant: Option<TenantMetrics>,
    count_allowed: bool,
}

impl Pending {
    /// Counts the decision: the refusal marked on `response`, or else `allowed`. `None`: the
    /// inner service failed after the request was let through, which counts as allowed.
    pub(crate) fn finish<B>(&mut self, response: Option<&mut Response<B>>) {
        let Some(tenant) = self.tenant.take() else {
            return;
        };
        let refused = response.and_then(|r| r.extensions_mut().get_mut::<Refused>());
        match refused {
            Some(refused) if !refused.counted => {
                tenant.count(refused.outcome, refused.reason);
                refused.counted = true;
            }
            Some(_) => {}
            None if self.count_allowed => tenant.allowed(),
            None => {}
        }
    }
}

/// Counts one key-set fetch that reached the network. `tenant`: `None` with the tenant label
/// off; `result`: the `result` label (`ok` or the failure, from the key cache).
pub(crate) fn jwks_fetch(tenant: Option<&str>, result: &'static str, took: Duration) {
    let tenant = tenant.map(|t| Label::new("tenant", t.to_owned()));
    let labels: Vec<Label> = tenant
        .into_iter()
        .chain([Label::new("result", result)])
        .collect();
    ::metrics::counter!(JWKS_FETCHES_TOTAL, labels).increment(1);
    ::metrics::histogram!(JWKS_FETCH_DURATION_SECONDS).record(took.as_secs_f64());
}

/// Counts an admin action by a caller without a principal (refused by authentication).
#[cfg_attr(not(feature = "admin"), allow(dead_code))]
pub(crate) fn admin_action(
    tenant: Option<&TenantMetrics>,
    action: &'static str,
    outcome: &'static str,
) {
    match tenant {
        Some(tenant) => tenant.admin_action(action, outcome),
        None => {
            ::metrics::counter!(
                ADMIN_ACTIONS_TOTAL,
                "tenant" => UNKNOWN_TENANT,
                "action" => action,
                "outcome" => outcome
            )
            .increment(1);
        }
    }
}
