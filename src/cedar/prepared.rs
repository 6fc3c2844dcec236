//! What Cedar needs of a principal, built on its first request and kept on the principal.
//!
//! Turning a principal into Cedar values is most of a decision's cost: Cedar evaluates every
//! context into its own values, about as costly as evaluating the policies. The principal's
//! entities and the values of `context.token`, `context.tenant` and `context.roles` depend only
//! on the verified token, so they are built once and kept in the principal's slot, which lives
//! exactly as long as the verified-token cache keeps the principal (no separate cache, nothing
//! keyed by request data). The context of the last request is kept too, by its path
//! parameters: a caller's requests mostly repeat them, or have none.
//!
//! The token part of the context (`token`, `tenant`, `roles` as expressions, about 2.7 KB) is
//! needed again only when a principal's path parameters change, so it is kept from its second
//! context on: a principal whose parameters never change (none, or its own tenant's) carries only
//! the evaluated context; one whose parameters change builds the token part once more, on the
//! first change, then keeps it.
//!
//! So is the last decision without an entity provider: it is a function of the principal, the
//! request (method, route, path parameters) and the policies alone (no clock, no other data), so
//! the same request under the same policy load gets the same answer. A reload starts a new
//! generation and no remembered decision of an older one is used.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cedar_policy::{Context, Entities, Entity, EntityUid, RestrictedExpression};

use super::entities::{self, Names};
use super::{CedarRequest, Decision};
use crate::principal::Principal;

/// Identifies an engine, so that a principal seen by two engines (two namespaces) never gets
/// the other's entities. Never reused, unlike an address.
pub(crate) fn next_engine_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One principal in one engine's namespace.
pub(crate) struct Prepared {
    engine: u64,
    /// `NS::User::"<userPoolId>|<sub>"`.
    pub(crate) uid: EntityUid,
    /// The principal alone, with its groups as parents: all a request without provided
    /// entities needs (one copy of the entity: a request that adds an entity provider's takes
    /// it from here).
    pub(crate) entities: Entities,
    /// `token`, `tenant` and `roles`: the context without `path`, kept from the second context
    /// built on (see the module docs).
    fixed: OnceLock<[(String, RestrictedExpression); 3]>,
    /// Whether a context was built already.
    built_one: AtomicBool,
    /// The last context built.
    last: Mutex<Option<LastContext>>,
    /// The last decision on the application resource.
    last_decision: Mutex<Option<Remembered>>,
}

/// A context and the path parameters it was built with.
struct LastContext {
    params: Arc<Vec<(String, String)>>,
    context: Context,
}

struct Remembered {
    generation: u64,
    request: CedarRequest,
    decision: Decision,
}

impl Prepared {
    /// Fails only if Cedar refuses the entity or the token record (it does not for a verified
    /// principal, but the caller refuses the request if it ever does).
    fn new(engine: u64, names: &Names, principal: &Principal) -> Result<Self, &'static str> {
        let uid = names.principal_uid(principal);
        let entity = names.principal_entity(principal, uid.clone())?;
        let entities = Entities::from_entities([entity], None)
            .map_err(|_| "the principal entity could not be built")?;
        Ok(Prepared {
            engine,
            uid,
            entities,
            fixed: OnceLock::new(),
            built_one: AtomicBool::new(false),
            last: Mutex::new(None),
            last_decision: Mutex::new(None),
        })
    }

    /// The principal's prepared data for engine `engine`: from the principal's slot, or built
    /// (and kept there if the slot is free).
    pub(crate) fn of(
        engine: u64,
        names: &Names,
        principal: &Principal,
    ) -> Result<Arc<Prepared>, &'static str> {
        let slot = principal.derived();
        if let Some(kept) = slot.get() {
            if let Ok(prepared) = kept.clone().downcast::<Prepared>()
                && prepared.engine == engine
            {
                return Ok(prepared);
            }
            // Another engine's: build for this request only.
            return Prepared::new(engine, names, principal).map(Arc::new);
        }
        let prepared = Arc::new(Prepared::new(engine, names, principal)?);
        let kept: Arc<dyn Any + Send + Sync> = prepared.clone();
        // Two first requests may race: either result is the same.
        let _ = slot.set(kept);
        Ok(prepared)
    }

    /// The principal entity, with its groups as parents.
    pub(crate) fn entity(&self) -> Option<&Entity> {
        self.entities.get(&self.uid)
    }

    /// The context of `principal` (the one these data were prepared for) for a request with
    /// these path parameters.
    pub(crate) fn context(
        &self,
        principal: &Principal,
        path: &Arc<Vec<(String, String)>>,
    ) -> Result<Context, &'static str> {
        // A busy lock (the same token on another thread right now) means building anew.
        if let Ok(last) = self.last.try_lock()
            && let Some(last) = last.as_ref()
            && (Arc::ptr_eq(&last.params, path) || last.params == *path)
        {
            return Ok(last.context.clone());
        }
        let built;
        let fixed = match self.fixed.get() {
            Some(fixed) => fixed,
            None => {
                let fixed = entities::fixed_context(principal)?;
                if self.built_one.swap(true, Ordering::Relaxed) {
                    // Two racing requests may both build it: either result is the same.
                    let _ = self.fixed.set(fixed);
                    self.fixed
                        .get()
                        .ok_or("the request context could not be built")?
                } else {
                    built = fixed;
                    &built
                }
            }
        };
        let context = entities::context(fixed, path)?;
        if let Ok(mut last) = self.last.try_lock() {
            *last = Some(LastContext {
                params: path.clone(),
                context: context.clone(),
            });
        }
        Ok(context)
    }

    /// The decision made for `request` under policy load `generation`, if it was the last one.
    pub(crate) fn remembered(&self, generation: u64, request: &CedarRequest) -> Option<Decision> {
        let last = self.last_decision.try_lock().ok()?;
        let last = last.as_ref()?;
        (last.generation == generation && last.request == *request).then(|| last.decision.clone())
    }

    /// Remembers `decision` for `request` under policy load `generation`.
    pub(crate) fn remember(&self, generation: u64, request: &CedarRequest, decision: &Decision) {
        if let Ok(mut last) = self.last_decision.try_lock() {
            *last = Some(Remembered {
                generation,
                request: request.clone(),
                decision: decision.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tenant;
    use crate::cedar::Outcome;
    use crate::principal::tests::principal;

    #[test]
    fn the_token_part_is_kept_from_the_second_context_on_and_contexts_are_unchanged() {
        let tenant = Tenant::builder("t", "us-east-1_a")
            .client_id("c")
            .build()
            .unwrap();
        let names = Names::new("App").unwrap();
        let principal = principal(&tenant, &["g1", "g2"], "s");
        let prepared = Prepared::new(0, &names, &principal).unwrap();
        let params = |value: &str| Arc::new(vec![("order".to_owned(), value.to_owned())]);
        // What a context is, built from scratch.
        let fresh = |path: &Arc<Vec<(String, String)>>| {
            let fixed = entities::fixed_context(&principal).unwrap();
            entities::context(&fixed, path).unwrap().to_string()
        };
        let (one, two) = (params("1"), params("2"));
        let first = prepared.context(&principal, &one).unwrap();
        assert_eq!(first.to_string(), fresh(&one));
        assert!(prepared.fixed.get().is_none(), "kept for a single context");
        let again = prepared.context(&principal, &params("1")).unwrap();
        assert_eq!(again.to_string(), fresh(&one));
        assert!(
            prepared.fixed.get().is_none(),
            "the same parameters: the last context"
        );
        let second = prepared.context(&principal, &two).unwrap();
        assert_eq!(second.to_string(), fresh(&two));
        assert!(
            prepared.fixed.get().is_some(),
            "kept once the parameters changed"
        );
        let back = prepared.context(&principal, &one).unwrap();
        assert_eq!(back.to_string(), fresh(&one));
        assert_ne!(back.to_string(), second.to_string());
    }

    #[test]
    fn a_remembered_decision_is_shared_not_copied() {
        let tenant = Tenant::builder("t", "us-east-1_a")
            .client_id("c")
            .build()
            .unwrap();
        let names = Names::new("App").unwrap();
        let prepared = Prepared::new(0, &names, &principal(&tenant, &["g"], "s")).unwrap();
        let request = CedarRequest::new("GET", "/orders");
        let decision = Decision::new(
            Outcome::Allow,
            request.action(),
            vec!["p1".to_owned()],
            Vec::new(),
        );
        prepared.remember(3, &request, &decision);
        let again = prepared.remembered(3, &request).unwrap();
        assert_eq!(again, decision);
        assert!(again.is_shared_with(&decision), "the decision was copied");
        assert!(prepared.remembered(4, &request).is_none(), "another load");
        let other = CedarRequest::new("GET", "/invoices");
        assert!(prepared.remembered(3, &other).is_none(), "another request");
    }
}
