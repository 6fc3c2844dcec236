//! The steps an explanation adds to the verifier's trace: the request, and the decision.

use std::borrow::Cow;

use super::{ExplainRequest, Verdict};
use crate::cedar::{Decision, Outcome};
use crate::error::AuthError;
use crate::principal::Principal;
use crate::verify::{Step, StepOutcome};

pub(super) fn same_principal(a: &Principal, b: &Principal) -> bool {
    a.tenant() == b.tenant()
        && a.subject() == b.subject()
        && a.token_use() == b.token_use()
        && a.kind() == b.kind()
        && a.roles().eq(b.roles())
}

pub(super) fn describe(result: &Result<Principal, AuthError>) -> String {
    match result {
        Ok(principal) => format!("valid, tenant {}", principal.tenant()),
        Err(err) => format!("{}: {err}", err.reason()),
    }
}

pub(super) fn request_step(request: &ExplainRequest) -> Step {
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

pub(super) fn skipped_decision() -> Step {
    Step {
        name: "decision",
        outcome: StepOutcome::Skipped,
        detail: "not reached".to_owned(),
    }
}

pub(super) fn decision_step(decision: &Decision, principal: &Principal) -> (Step, Verdict) {
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
