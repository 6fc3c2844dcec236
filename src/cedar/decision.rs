//! [`Decision`] and its [`Outcome`]: how Cedar decided a request and which policies decided it.
//! A decision is shared (one `Arc`): a principal remembers its last one.

use std::sync::Arc;

/// How a decision came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A permit matched and no forbid did.
    Allow,
    /// No permit matched.
    NoPermit,
    /// A forbid matched.
    Forbidden,
    /// A policy could not be evaluated (a missing attribute, a type error): refused whatever
    /// the other policies say.
    EvaluationError,
    /// Neither the tenant nor the common file exists.
    NoPolicies,
    /// The request could not be expressed in Cedar (an
    /// [`EntityProvider`](super::EntityProvider) failed or returned conflicting entities, or no
    /// route was matched).
    InvalidRequest,
}

impl Outcome {
    /// A stable name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::NoPermit => "no_permit",
            Outcome::Forbidden => "forbidden",
            Outcome::EvaluationError => "evaluation_error",
            Outcome::NoPolicies => "no_policies",
            Outcome::InvalidRequest => "invalid_request",
        }
    }

    /// The description sent to the client with the 403 (fixed text, no request data).
    pub(crate) fn description(self) -> &'static str {
        match self {
            Outcome::Allow => "allowed",
            Outcome::NoPermit => "no Cedar policy permits this request",
            Outcome::Forbidden => "a Cedar policy forbids this request",
            Outcome::EvaluationError => "a Cedar policy could not be evaluated",
            Outcome::NoPolicies => "no Cedar policies apply to this tenant",
            Outcome::InvalidRequest => "the request could not be evaluated by Cedar",
        }
    }
}

/// A Cedar decision and the ids of the policies behind it.
///
/// Cloning is one reference count: a principal remembers its last decision, and a request
/// answered from it gets a clone.
#[derive(Clone, PartialEq, Eq)]
pub struct Decision(Arc<DecisionData>);

#[derive(PartialEq, Eq)]
struct DecisionData {
    outcome: Outcome,
    /// Shared with the policy load's action index when a policy names the action.
    action: Arc<str>,
    policies: Vec<String>,
    errors: Vec<String>,
}

impl std::fmt::Debug for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decision")
            .field("outcome", &self.0.outcome)
            .field("action", &self.0.action)
            .field("policies", &self.0.policies)
            .field("errors", &self.0.errors)
            .finish()
    }
}

impl Decision {
    pub(super) fn new(
        outcome: Outcome,
        action: impl Into<Arc<str>>,
        policies: Vec<String>,
        errors: Vec<String>,
    ) -> Self {
        Decision(Arc::new(DecisionData {
            outcome,
            action: action.into(),
            policies,
            errors,
        }))
    }

    pub(super) fn refused(outcome: Outcome, action: impl Into<Arc<str>>) -> Self {
        Decision::new(outcome, action, Vec::new(), Vec::new())
    }

    /// True if both are the same decision, not equal copies (a remembered decision is shared).
    #[cfg(test)]
    pub(super) fn is_shared_with(&self, other: &Decision) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// True only for [`Outcome::Allow`].
    pub fn is_allowed(&self) -> bool {
        self.0.outcome == Outcome::Allow
    }

    /// How it came out.
    pub fn outcome(&self) -> Outcome {
        self.0.outcome
    }

    /// The action id evaluated (`GET /orders/{order}`).
    pub fn action(&self) -> &str {
        &self.0.action
    }

    /// The policies that decided: the permits that matched (allow) or the forbids that matched.
    pub fn policies(&self) -> &[String] {
        &self.0.policies
    }

    /// The policies whose evaluation failed.
    pub fn errors(&self) -> &[String] {
        &self.0.errors
    }
}
