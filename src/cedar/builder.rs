//! [`CedarBuilder`]: the policy folder, schema, reload interval and entity provider of a
//! [`Cedar`] engine; [`build`](CedarBuilder::build) loads and validates the policies.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cedar_policy::Authorizer;

use super::entities::{EntityProvider, Names};
use super::store::{self, PolicyStore};
use super::{Cedar, Engine, prepared};
use crate::error::ConfigError;

/// Builder for [`Cedar`].
///
/// ```no_run
/// use std::time::Duration;
/// use cognito_authz::cedar::Cedar;
///
/// # async fn run() -> Result<(), cognito_authz::ConfigError> {
/// let cedar = Cedar::builder("App")
///     .policies("/etc/myapp/policies")
///     .schema("/etc/myapp/policies/schema.cedarschema")
///     .reload_every(Duration::from_secs(30))
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct CedarBuilder {
    namespace: String,
    policies: PathBuf,
    schema: Option<PathBuf>,
    reload_every: Option<Duration>,
    provider: Option<Arc<dyn EntityProvider>>,
}

impl CedarBuilder {
    pub(super) fn new(namespace: String) -> Self {
        CedarBuilder {
            namespace,
            policies: PathBuf::from("policies"),
            schema: None,
            reload_every: None,
            provider: None,
        }
    }

    /// The policy folder (`common.cedar`, `<tenant id>.cedar`). Default `policies`.
    pub fn policies(mut self, dir: impl Into<PathBuf>) -> Self {
        self.policies = dir.into();
        self
    }

    /// A Cedar schema (`.cedarschema`) every policy file must validate against (strict mode).
    pub fn schema(mut self, path: impl Into<PathBuf>) -> Self {
        self.schema = Some(path.into());
        self
    }

    /// Reloads the folder on this interval (on the Tokio runtime current at
    /// [`build`](Self::build)), keeping the last good policies when a reload fails.
    pub fn reload_every(mut self, every: Duration) -> Self {
        self.reload_every = Some(every);
        self
    }

    /// Loads each request's resource (default: `NS::Application::"NS"`).
    pub fn entity_provider(mut self, provider: impl EntityProvider) -> Self {
        self.provider = Some(Arc::new(provider));
        self
    }

    /// Loads and validates the policies; fails naming the file and line of the first problem.
    pub fn build(self) -> Result<Cedar, ConfigError> {
        let names = Names::new(&self.namespace)
            .map_err(|message| ConfigError::invalid("cedar.namespace", message))?;
        let schema = self.schema.clone();
        let store = PolicyStore::open(self.policies, self.schema, names.action_type().clone())
            .map_err(|err| {
                let field = if schema.as_deref() == Some(err.path()) {
                    "cedar.schema"
                } else {
                    "cedar.policies"
                };
                ConfigError::invalid(field, err.to_string())
            })?;
        let store = Arc::new(store);
        if let Some(every) = self.reload_every {
            if every.is_zero() {
                return Err(ConfigError::invalid(
                    "cedar.reload_seconds",
                    "must be positive",
                ));
            }
            store::spawn_reloader(&store, every).map_err(|_| {
                ConfigError::invalid(
                    "cedar.reload_seconds",
                    "reloading on an interval needs a Tokio runtime: build inside one",
                )
            })?;
        }
        Ok(Cedar {
            inner: Arc::new(Engine {
                id: prepared::next_engine_id(),
                names,
                store,
                provider: self.provider,
                authorizer: Authorizer::new(),
            }),
        })
    }
}
