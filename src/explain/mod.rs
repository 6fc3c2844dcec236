//! Why was a request allowed or refused? The pipeline of the layers, run on one request
//! without a server, step by step (feature `cli`; the `cognito-authz explain` command).
//!
//! The steps come from the functions the layers call: token parsing, the tenant lookup by
//! issuer, the key cache, the signature check, each claim rule, the role mapping and, with a
//! `[cedar]` section, [`Cedar::decide`]. As a guard, the verdict is computed a second time by
//! the verifier's own entry point; if the two ever disagree the explanation says so instead of
//! guessing ([`Verdict::Undecided`]). Revocation is not checked: the list lives in the running
//! service.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cognito_authz::AuthConfig;
//! use cognito_authz::explain::{ExplainRequest, Explainer, Verdict};
//!
//! let config = AuthConfig::from_file("tenants.toml")?;
//! let jwks = std::fs::read("jwks.json")?; // offline; `Explainer::new` fetches instead
//! let explainer = Explainer::offline(config, &jwks, "jwks.json")?;
//! let request = ExplainRequest::parse("GET /tenants/acme/orders", Some("/tenants/{tenant}/orders"))?;
//! let explanation = explainer.explain(&request, Some("eyJ...")).await;
//! for step in &explanation.steps {
//!     println!("{} {:?} {}", step.name, step.outcome, step.detail);
//! }
//! assert!(matches!(explanation.verdict, Verdict::Allowed));
//! # Ok(()) }
//! ```
//!
//! The files: this one runs the pipeline and holds its results; `request` reads the request
//! and matches its path against the route template as axum's router does; `steps` writes the
//! steps that are not the verifier's (the request, the decision).

mod request;
mod steps;

use std::time::SystemTime;

use crate::auth::CognitoAuth;
use crate::cedar::{Cedar, CedarRequest};
use crate::config::{AuthConfig, RevocationsSetting};
use crate::error::{AuthError, ConfigError};
use crate::jwks::{FetchError, FixedKeys};
use crate::verify::{AuthTrace, CacheLookup, KeySource, TokenUses};

pub use crate::verify::{Step, StepOutcome};
pub use request::ExplainRequest;

use steps::{decision_step, describe, request_step, same_principal, skipped_decision};

/// What an explanation concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The layers would let the request through.
    Allowed,
    /// The layers would refuse it: 401 for an authentication error, 403 for a policy.
    Refused(AuthError),
    /// No verdict: the tenant's keys or the tenant resolver could not be reached (the service
    /// would answer 503), or the step trace and the verifier disagreed (a bug; please report).
    Undecided(String),
}

/// The steps, in pipeline order, and the verdict.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// One entry per step, including those skipped.
    pub steps: Vec<Step>,
    /// The conclusion.
    pub verdict: Verdict,
}

/// Why an explanation could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// The configuration (or its `[cedar]` policies) is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The key set given for offline use is not usable.
    #[error("key set {source_name}: {error}")]
    Jwks {
        /// Where the key set came from.
        source_name: String,
        /// What is wrong with it.
        error: FetchError,
    },
    /// The request or route is not of the expected form.
    #[error("{0}")]
    Request(String),
}

/// Explains requests against one configuration. See the [module docs](self).
#[derive(Debug)]
pub struct Explainer {
    auth: CognitoAuth,
    cedar: Option<Cedar>,
    keys: KeySource,
    now: Option<SystemTime>,
}

impl Explainer {
    /// Keys are fetched from each tenant's JWKS URL, with the service's fetch code and limits.
    pub fn new(config: AuthConfig) -> Result<Self, ExplainError> {
        Self::build(config, KeySource::Fetch)
    }

    /// Keys come from `jwks` (a JWKS JSON document, read by the rules a fetched one follows)
    /// for whichever tenant the token's issuer names; nothing is fetched. `source_name` names
    /// it in the output (a file name).
    pub fn offline(
        mut config: AuthConfig,
        jwks: &[u8],
        source_name: &str,
    ) -> Result<Self, ExplainError> {
        let keys = FixedKeys::parse(jwks).map_err(|error| ExplainError::Jwks {
            source_name: source_name.to_owned(),
            error,
        })?;
        // An unknown kid must not fall back to a fetch: the installed set counts as the last
        // attempt, and no fetch may follow it while the explanation runs.
        config.jwks.cooldown_seconds = Some(24 * 60 * 60);
        Self::build(config, KeySource::Fixed(keys, source_name.to_owned()))
    }

    fn build(mut config: AuthConfig, keys: KeySource) -> Result<Self, ExplainError> {
        // One request: no verified-token cache, no shared revocation store to connect to, no
        // policy reloads.
        config.revocations = RevocationsSetting::Local(false);
        if let Some(cedar) = &mut config.cedar {
            cedar.reload_seconds = None;
        }
        let cedar = Cedar::from_config(&config)?;
        let auth = config.into_builder()?.token_cache_entries(0).build()?;
        Ok(Explainer {
            auth,
            cedar,
            keys,
            now: None,
        })
    }

    /// Judges time claims (`exp`, `nbf`, `iat`) at `at` instead of now.
    #[must_use]
    pub fn at(mut self, at: SystemTime) -> Self {
        self.now = Some(at);
        self
    }

    /// Explains `request` with `token` (`None`: an anonymous request) as the layers would
    /// decide it: authentication accepting access tokens, then the Cedar policies when the
    /// configuration has a `[cedar]` section.
    pub async fn explain(&self, request: &ExplainRequest, token: Option<&str>) -> Explanation {
        let now = self.now.unwrap_or_else(SystemTime::now);
        let uses = TokenUses::ACCESS;
        let verifier = &self.auth.inner.verifier;
        let mut steps = vec![request_step(request)];
        let AuthTrace {
            steps: auth_steps,
            result: traced,
        } = verifier.trace(token, uses, &self.keys, now).await;
        steps.extend(auth_steps);

        // The guard: the verifier's own entry point, on the same keys and at the same time.
        let verified = match token {
            None => Err(AuthError::MissingToken),
            Some(token) => match verifier.lookup(token.as_bytes(), uses) {
                CacheLookup::Hit(principal) => Ok(principal),
                CacheLookup::Rejected(err, _) => Err(err),
                CacheLookup::Miss(slot) => {
                    verifier
                        .verify_uncached_at(token, slot, uses, &mut None, now)
                        .await
                }
            },
        };
        let principal = match (traced, verified) {
            (Ok(traced), Ok(verified)) if same_principal(&traced, &verified) => traced,
            (Err(traced), Err(verified)) if traced == verified => {
                steps.push(skipped_decision());
                let verdict = if traced.status() == http::StatusCode::SERVICE_UNAVAILABLE {
                    Verdict::Undecided(format!("{traced} (the service would answer 503)"))
                } else {
                    Verdict::Refused(traced)
                };
                return Explanation { steps, verdict };
            }
            (traced, verified) => {
                steps.push(skipped_decision());
                let verdict = Verdict::Undecided(format!(
                    "the step trace ({}) and the verifier ({}) disagree; this is a bug in \
                     cognito-authz, please report it",
                    describe(&traced),
                    describe(&verified)
                ));
                return Explanation { steps, verdict };
            }
        };

        let (step, verdict) = match &self.cedar {
            // As the Cedar layer: refused before any policy is evaluated.
            Some(_) if let Some(name) = &request.undecodable => {
                let err = AuthError::InvalidPathParameter;
                let step = Step {
                    name: "decision",
                    outcome: StepOutcome::Failed(err.clone()),
                    detail: format!("path parameter {name:?} cannot be decoded"),
                };
                (step, Verdict::Refused(err))
            }
            None => (
                Step {
                    name: "decision",
                    outcome: StepOutcome::Passed,
                    detail: "authenticated; no [cedar] section: route role checks \
                             (AuthzLayer::require, Policy) live in the service's code"
                        .to_owned(),
                },
                Verdict::Allowed,
            ),
            Some(cedar) => {
                let cedar_request = CedarRequest::new(&request.method, &request.route)
                    .with_params(request.params.clone());
                decision_step(&cedar.decide(&principal, &cedar_request), &principal)
            }
        };
        steps.push(step);
        Explanation { steps, verdict }
    }
}
