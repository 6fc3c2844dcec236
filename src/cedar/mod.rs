//! Policies as data: Cedar policies per tenant, evaluated locally after authentication, with
//! the entities Amazon Verified Permissions (AVP) builds from a Cognito identity source
//! (feature `cedar`).
//!
//! For each request the layer asks Cedar whether
//! - the **principal** `NS::User::"<userPoolId>|<sub>"`, a member of
//!   `NS::UserGroup::"<userPoolId>|<group>"` for each `cognito:groups` entry, with the attribute
//!   `kind`: `"user"`, or `"machine"` for an app client with a client-credentials token (whose
//!   `sub` is its client id),
//! - may perform the **action** `NS::Action::"<METHOD> <route template>"` (the matched route,
//!   for example `"GET /tenants/{tenant}/orders"`, never the raw path; HEAD is decided as GET,
//!   and the schema's action groups apply as in AVP: see `actions`),
//! - on the **resource** `NS::Application::"NS"` (or what an [`EntityProvider`] loads),
//! - in the **context** `token` (the verified claims: `sub`, `username`, `client_id`, `scope`
//!   as a set, `token_use`, `exp`, and when present `iat`, `jti`, `origin_jti`,
//!   `cognito:groups`), `tenant` (the tenant id), `roles` (the mapped roles) and `path` (the
//!   matched path parameters).
//!
//! A policy written for AVP's principal, groups and `context.token` works here unchanged;
//! `context.tenant`, `context.roles` and `context.path` let one common policy serve every tenant.
//!
//! Policies live in a folder: `common.cedar` applies to every tenant and `<tenant id>.cedar` to
//! that tenant only. A tenant without a file gets the common policies alone; with neither, every
//! request is refused. An optional `.cedarschema` validates every file at load; a bad file fails
//! the load naming the file and line, and so does a policy naming an action no request can have.
//! [`Cedar::reload`] (and `reload_seconds`) load the folder again; a reload that finds the folder
//! invalid or incomplete (a file of the set in force missing or emptied: see `store`) keeps the
//! last good policies.
//!
//! A principal's entities are built on its first request and kept on the principal while the
//! verified-token cache keeps it, with its last context (and, once its path parameters changed,
//! the token part to build the next) and its last decision on the application resource (a
//! decision depends only on the principal, the request and the policies; a reload is never
//! answered from an older load).
//!
//! Fail closed: no permit, a forbid, an evaluation error in any policy, no policies for the
//! tenant, no matched route or a failed [`EntityProvider`] is 403 `insufficient_scope`, logged
//! with the ids of the policies involved (never token contents). A path parameter that is not
//! UTF-8 once percent-decoded is 400 [`AuthError::InvalidPathParameter`](crate::AuthError)
//! before any policy: `context.path` would lack it and `has` guards in forbids would not fire. Policy ids are
//! `<file stem>/<@id>` (or `<file stem>/policy<N>` without an `@id` annotation).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use cognito_authz::{AuthConfig, cedar::Cedar};
//!
//! let config = AuthConfig::from_file("tenants.toml")?; // with a [cedar] section
//! let auth = config.to_builder()?.build()?;
//! let cedar = Cedar::from_config(&config)?.expect("a [cedar] section");
//! let app: Router = Router::new()
//!     .route("/tenants/{tenant}/orders", get(|| async { "orders" }))
//!     .layer(cedar.layer()) // inside: runs after authentication, where the route is known
//!     .layer(auth.layer());
//! # Ok(()) }
//! ```

mod actions;
mod builder;
mod decision;
mod entities;
mod index;
mod layer;
mod prepared;
mod request;
mod store;

pub use cedar_policy;
pub use entities::{EntityProvider, ProviderError, Resource, ResourceQuery};
pub use layer::{CedarLayer, CedarService, ResponseFuture, RouteTemplate};

/// The former name of [`CedarLayer`].
#[deprecated(since = "0.1.0", note = "renamed to `CedarLayer`")]
pub type CedarAuthz = CedarLayer;
pub use builder::CedarBuilder;
pub use decision::{Decision, Outcome};
pub use request::CedarRequest;
pub use store::{PolicyError, PolicyErrorKind};

pub(crate) use actions::decided_method;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cedar_policy::{Authorizer, Entities, PolicyId, Request};

use crate::config::AuthConfig;
use crate::error::ConfigError;
use crate::principal::Principal;
use entities::Names;
use prepared::Prepared;
use store::PolicyStore;

/// The Cedar engine: namespace, policy store and optional entity provider. Cloning is one
/// reference count; clones share the policies.
#[derive(Clone)]
pub struct Cedar {
    inner: Arc<Engine>,
}

struct Engine {
    /// Tells this engine's entities from another's in a principal's slot.
    id: u64,
    names: Names,
    store: Arc<PolicyStore>,
    provider: Option<Arc<dyn EntityProvider>>,
    authorizer: Authorizer,
}

impl std::fmt::Debug for Cedar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cedar")
            .field("application", &self.inner.names.application.to_string())
            .field("provider", &self.inner.provider.is_some())
            .finish_non_exhaustive()
    }
}

impl Cedar {
    /// Starts a builder for namespace `namespace` (`App`: entity types `App::User`, ...).
    pub fn builder(namespace: impl Into<String>) -> CedarBuilder {
        CedarBuilder::new(namespace.into())
    }

    /// From the `[cedar]` section of a configuration, if it has one. Relative paths are
    /// relative to the configuration file's folder (to the working directory for a
    /// configuration parsed from a string). With `reload_seconds`, call this inside a Tokio
    /// runtime.
    pub fn from_config(config: &AuthConfig) -> Result<Option<Cedar>, ConfigError> {
        let Some(section) = &config.cedar else {
            return Ok(None);
        };
        let resolve = |path: &PathBuf| match config.base_dir() {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.clone(),
        };
        let mut builder =
            Cedar::builder(section.namespace.clone()).policies(resolve(&section.policies));
        if let Some(schema) = &section.schema {
            builder = builder.schema(resolve(schema));
        }
        if let Some(seconds) = section.reload_seconds {
            if seconds == 0 {
                return Err(ConfigError::invalid(
                    "cedar.reload_seconds",
                    "must be positive (leave it out to reload only on demand)",
                ));
            }
            builder = builder.reload_every(Duration::from_secs(seconds));
        }
        builder.build().map(Some)
    }

    /// The layer that authorizes every request of the routes it wraps with these policies.
    pub fn layer(&self) -> CedarLayer {
        CedarLayer::new(self.clone())
    }

    /// Loads the policy folder (and schema) again. On error, invalid policies or an incomplete
    /// folder ([`PolicyErrorKind`]), the last good policies stay in force; the error is
    /// returned, logged, and kept for [`last_reload_error`](Self::last_reload_error).
    pub fn reload(&self) -> Result<(), PolicyError> {
        self.inner.store.reload()
    }

    /// The error of the last reload, if it failed (cleared by a successful one).
    pub fn last_reload_error(&self) -> Option<PolicyError> {
        self.inner.store.last_error()
    }

    /// The tenants that have a policy file of their own, in no particular order.
    pub fn tenants_with_policies(&self) -> Vec<String> {
        self.inner
            .store
            .current()
            .tenants()
            .map(str::to_owned)
            .collect()
    }

    /// Decides `request` for `principal` with the default resource, as the layer does without
    /// an entity provider. Useful outside HTTP and to explain a decision.
    pub fn decide(&self, principal: &Principal, request: &CedarRequest) -> Decision {
        self.decide_with(principal, request, None)
    }

    pub(crate) fn provider(&self) -> Option<&Arc<dyn EntityProvider>> {
        self.inner.provider.as_ref()
    }

    pub(crate) fn names(&self) -> &Names {
        &self.inner.names
    }

    /// Decides with the resource an entity provider loaded (`None`: the application).
    pub(crate) fn decide_with(
        &self,
        principal: &Principal,
        request: &CedarRequest,
        resource: Option<Resource>,
    ) -> Decision {
        let names = &self.inner.names;
        let snapshot = self.inner.store.current();
        let Some(policies) = snapshot.for_tenant(principal.tenant()) else {
            return Decision::refused(Outcome::NoPolicies, request.action());
        };
        let Ok(prepared) = Prepared::of(self.inner.id, names, principal) else {
            return Decision::refused(Outcome::InvalidRequest, request.action());
        };
        // Only a decision on the application is remembered: an entity provider's entities are
        // data the decision depends on.
        let on_application = resource.is_none();
        if on_application && let Some(decision) = prepared.remembered(snapshot.generation, request)
        {
            return decision;
        }
        let (resource_uid, provided) = match resource {
            Some(resource) => (resource.uid, resource.entities),
            None => (names.application.clone(), Vec::new()),
        };
        let with_provided;
        let entities = if provided.is_empty() {
            &prepared.entities
        } else {
            // The principal comes from the verified token, and the action hierarchy from the
            // schema alone: a provider's entities replace neither.
            let provided = provided.into_iter().filter(|entity| {
                let uid = entity.uid();
                uid != prepared.uid && uid.type_name().basename() != "Action"
            });
            let Some(principal_entity) = prepared.entity() else {
                return Decision::refused(Outcome::InvalidRequest, request.action());
            };
            let all = std::iter::once(principal_entity.clone()).chain(provided);
            let Ok(entities) = Entities::from_entities(all, None) else {
                return Decision::refused(Outcome::InvalidRequest, request.action());
            };
            with_provided = entities;
            &with_provided
        };
        let Ok(context) = prepared.context(principal, &request.path) else {
            return Decision::refused(Outcome::InvalidRequest, request.action());
        };
        // An action some policy names was built at load; any other has only the policies for
        // any action.
        let (action, action_id, policies) = match policies.action(&request.method, &request.route) {
            Some(named) => (named.uid.clone(), named.id.clone(), &named.policies),
            None => (
                names.action(&request.method, &request.route),
                Arc::from(request.action()),
                policies.any_action(),
            ),
        };
        // No schema here: the schema checks the policies at load; requests carry whatever
        // path parameters their route has.
        let Ok(cedar_request) =
            Request::new(prepared.uid.clone(), action, resource_uid, context, None)
        else {
            return Decision::refused(Outcome::InvalidRequest, action_id);
        };
        let response = self
            .inner
            .authorizer
            .is_authorized(&cedar_request, policies, entities);
        let diagnostics = response.diagnostics();
        let errors: Vec<String> = diagnostics
            .errors()
            .map(|err| match err {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    policy_id(e.policy_id())
                }
            })
            .collect();
        let policies: Vec<String> = diagnostics.reason().map(policy_id).collect();
        // Cedar skips a policy that errs; a skipped forbid would let the request through, so
        // any error refuses.
        let outcome = if !errors.is_empty() {
            Outcome::EvaluationError
        } else if response.decision() == cedar_policy::Decision::Allow {
            Outcome::Allow
        } else if policies.is_empty() {
            Outcome::NoPermit
        } else {
            Outcome::Forbidden
        };
        let decision = Decision::new(outcome, action_id, policies, errors);
        if on_application {
            prepared.remember(snapshot.generation, request, &decision);
        }
        decision
    }
}

/// A policy id as Cedar displays it (`escape_debug`), without the formatting machinery for the
/// ids it leaves alone: printable ASCII but quotes and backslashes.
fn policy_id(id: &PolicyId) -> String {
    let raw: &str = id.as_ref();
    if raw
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && !matches!(b, b'"' | b'\'' | b'\\'))
    {
        raw.to_owned()
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_ids_read_as_cedar_displays_them() {
        let ids = [
            "common/p1",
            "acme/policy0",
            "t/with space",
            "t/\"quoted\"",
            "t/it's",
            "t/back\\slash",
            "t/tab\there",
            "t/line\nbreak",
            "t/é",
            "t/\u{301}combining",
            "t/\u{7f}",
            "",
        ];
        for raw in ids {
            let id = PolicyId::new(raw);
            assert_eq!(policy_id(&id), id.to_string(), "{raw:?}");
        }
    }
}
