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

use std::borrow::Cow;
use std::time::SystemTime;

use crate::auth::CognitoAuth;
use crate::cedar::{Cedar, CedarRequest, Decision, Outcome};
use crate::config::{AuthConfig, RevocationsSetting};
use crate::error::{AuthError, ConfigError};
use crate::jwks::{FetchError, FixedKeys};
use crate::principal::Principal;
use crate::verify::{AuthTrace, CacheLookup, KeySource, TokenUses};

pub use crate::verify::{Step, StepOutcome};

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

/// A request as the layers see it: method, path, the route template it matched and the path
/// parameters taken from the path by that template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainRequest {
    method: String,
    path: String,
    route: String,
    params: Vec<(String, String)>,
    /// A parameter that is not UTF-8 once percent-decoded: the Cedar layer answers 400.
    undecodable: Option<String>,
}

impl ExplainRequest {
    /// `request` is `"METHOD PATH"` (a query string is ignored); `route` the matched route
    /// template, `"/tenants/{tenant}/orders"` or with the method, `"GET /tenants/{tenant}/orders"`.
    /// Without a route the path is the template and there are no path parameters. Template
    /// segments `{name}` take one path segment and a last `{*name}` the rest, percent-decoded,
    /// as axum's router does; one that is not UTF-8 once decoded is refused with 400 by the
    /// Cedar layer, and so in the explanation.
    pub fn parse(request: &str, route: Option<&str>) -> Result<Self, ExplainError> {
        let bad = |why: &str| ExplainError::Request(format!("--request {request:?}: {why}"));
        let (method, path) = request
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad("expected \"METHOD PATH\", for example \"GET /orders/7\""))?;
        let path = path.trim();
        if http::Method::from_bytes(method.as_bytes()).is_err()
            || method.bytes().any(|b| b.is_ascii_lowercase())
        {
            return Err(bad(
                "the method must be an HTTP method in capitals, such as GET",
            ));
        }
        let path = path.split_once('?').map_or(path, |(path, _query)| path);
        if !path.starts_with('/') || path.contains(' ') {
            return Err(bad("the path must start with / and contain no space"));
        }
        let template = match route.map(str::trim) {
            None => path.to_owned(),
            Some(route) => match route.split_once(' ') {
                Some((route_method, template)) if route_method == method => {
                    template.trim().to_owned()
                }
                Some((route_method, _)) => {
                    return Err(ExplainError::Request(format!(
                        "--route {route:?} is for {route_method}, the request is {method}"
                    )));
                }
                None => route.to_owned(),
            },
        };
        let Matched {
            params,
            undecodable,
        } = match_template(&template, path).map_err(|why| {
            ExplainError::Request(format!(
                "path {path:?} does not match route {template:?}: {why}"
            ))
        })?;
        Ok(ExplainRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            route: template,
            params,
            undecodable,
        })
    }

    /// The Cedar action id, `<METHOD> <route template>` (HEAD is decided as GET).
    pub fn action(&self) -> String {
        format!(
            "{} {}",
            crate::cedar::decided_method(&self.method),
            self.route
        )
    }

    /// The path parameters (`context.path`).
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

/// What a path gives a route template.
#[derive(Debug, PartialEq)]
struct Matched {
    params: Vec<(String, String)>,
    /// The first parameter that is not UTF-8 once percent-decoded (left out of `params`).
    undecodable: Option<String>,
}

/// Matches `path` against the route `template`, returning the parameters.
fn match_template(template: &str, path: &str) -> Result<Matched, String> {
    if !template.starts_with('/') {
        return Err("a route template starts with /".to_owned());
    }
    let mut params = Vec::new();
    let mut undecodable = None;
    let mut add = |name: &str, raw: &str| match percent_decode(raw) {
        Some(value) => params.push((name.to_owned(), value)),
        None => {
            undecodable.get_or_insert_with(|| name.to_owned());
        }
    };
    let mut segments = path[1..].split('/');
    let mut parts = template[1..].split('/').peekable();
    while let Some(part) = parts.next() {
        if let Some(name) = part.strip_prefix("{*").and_then(|p| p.strip_suffix('}')) {
            if parts.peek().is_some() {
                return Err(format!("{{*{name}}} must be the last segment"));
            }
            let rest: Vec<&str> = segments.by_ref().collect();
            if rest.is_empty() || rest == [""] {
                return Err(format!("{{*{name}}} needs at least one character"));
            }
            add(name, &rest.join("/"));
            return Ok(Matched {
                params,
                undecodable,
            });
        }
        let segment = segments
            .next()
            .ok_or_else(|| format!("the path has no segment for {part:?}"))?;
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => add(name, segment),
            Some(name) => return Err(format!("{{{name}}} matches no empty segment")),
            None if part == segment => {}
            None => return Err(format!("segment {segment:?} is not {part:?}")),
        }
    }
    match segments.next() {
        None => Ok(Matched {
            params,
            undecodable,
        }),
        Some(extra) => Err(format!("segment {extra:?} is not in the route")),
    }
}

/// `None` when the decoded bytes are not UTF-8 (axum then has no value for the parameter).
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
            Some(token) => match verifier.lookup(token, uses) {
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

fn same_principal(a: &Principal, b: &Principal) -> bool {
    a.tenant() == b.tenant()
        && a.subject() == b.subject()
        && a.token_use() == b.token_use()
        && a.kind() == b.kind()
        && a.roles().eq(b.roles())
}

fn describe(result: &Result<Principal, AuthError>) -> String {
    match result {
        Ok(principal) => format!("valid, tenant {}", principal.tenant()),
        Err(err) => format!("{}: {err}", err.reason()),
    }
}

fn request_step(request: &ExplainRequest) -> Step {
    let mut params: Vec<String> = request
        .params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    if let Some(name) = &request.undecodable {
        params.push(format!("{name}=<not UTF-8 once percent-decoded>"));
    }
    Step {
        name: "request",
        outcome: StepOutcome::Passed,
        detail: format!(
            "{} {}; action \"{}\"; path parameters [{}]",
            request.method,
            request.path,
            request.action(),
            params.join(", ")
        ),
    }
}

fn skipped_decision() -> Step {
    Step {
        name: "decision",
        outcome: StepOutcome::Skipped,
        detail: "not reached".to_owned(),
    }
}

fn decision_step(decision: &Decision, principal: &Principal) -> (Step, Verdict) {
    let ids = |ids: &[String]| ids.join(", ");
    let action = decision.action();
    let detail = match decision.outcome() {
        Outcome::Allow => format!(
            "allow \"{action}\": permitted by {}",
            ids(decision.policies())
        ),
        Outcome::NoPermit => format!("deny \"{action}\": no permit matched"),
        Outcome::Forbidden => format!(
            "deny \"{action}\": forbidden by {}",
            ids(decision.policies())
        ),
        Outcome::EvaluationError => format!(
            "deny \"{action}\": evaluation errors in {}",
            ids(decision.errors())
        ),
        Outcome::NoPolicies => format!(
            "deny \"{action}\": no policy file for tenant {} and no common.cedar",
            principal.tenant()
        ),
        _ => format!("deny \"{action}\": the request could not be expressed in Cedar"),
    };
    if decision.is_allowed() {
        let step = Step {
            name: "decision",
            outcome: StepOutcome::Passed,
            detail,
        };
        return (step, Verdict::Allowed);
    }
    // The same 403 the Cedar layer answers.
    let err = AuthError::Forbidden(Cow::Borrowed(decision.outcome().description()));
    let step = Step {
        name: "decision",
        outcome: StepOutcome::Failed(err.clone()),
        detail,
    };
    (step, Verdict::Refused(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(template: &str, path: &str) -> Result<Vec<(String, String)>, String> {
        let matched = match_template(template, path)?;
        match matched.undecodable {
            None => Ok(matched.params),
            Some(name) => Err(format!("{name} is not UTF-8")),
        }
    }

    #[test]
    fn templates_take_segments_and_a_trailing_wildcard() {
        let p = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        assert_eq!(
            params("/tenants/{tenant}/orders/{order}", "/tenants/acme/orders/7"),
            Ok(vec![p("tenant", "acme"), p("order", "7")])
        );
        assert_eq!(
            params("/files/{*rest}", "/files/a/b%20c"),
            Ok(vec![p("rest", "a/b c")])
        );
        assert_eq!(params("/orders", "/orders"), Ok(vec![]));
        assert_eq!(params("/", "/"), Ok(vec![]));
    }

    #[test]
    fn paths_that_do_not_match_are_refused() {
        for (template, path) in [
            ("/orders/{id}", "/orders"),
            ("/orders/{id}", "/orders/"),
            ("/orders/{id}", "/orders/7/items"),
            ("/orders", "/users"),
            ("/files/{*rest}", "/files"),
            ("orders", "/orders"),
            ("/x/{id}", "/x/%FF"),
        ] {
            assert!(params(template, path).is_err(), "{template} {path}");
        }
    }

    #[test]
    fn request_syntax() {
        let r = ExplainRequest::parse("GET /t/acme/orders?x=1", Some("GET /t/{tenant}/orders"))
            .unwrap();
        assert_eq!(r.action(), "GET /t/{tenant}/orders");
        assert_eq!(r.params(), [("tenant".to_owned(), "acme".to_owned())]);
        let r = ExplainRequest::parse("DELETE /orders/7", None).unwrap();
        assert_eq!(r.action(), "DELETE /orders/7");
        assert!(r.params().is_empty());
        for bad in ["GET", "get /x", "GET x", "GET /a b", "G(T /x", ""] {
            assert!(ExplainRequest::parse(bad, None).is_err(), "{bad}");
        }
        assert!(ExplainRequest::parse("GET /x", Some("POST /x")).is_err());
    }
}
