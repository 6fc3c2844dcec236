//! The verification pipeline step by step, for `cognito-authz explain` (feature `cli`).
//!
//! Every step calls the function the layer calls: [`token::parse`], the tenant lookup by
//! issuer, the key cache, the signature check and [`Verifier::validate`]; nothing here checks
//! a claim itself. `validate` applies the claim rules in one call; the rule it refuses with is
//! named from its error, the rules before that one passed and those after it were not reached.
//! The normal path never runs this code.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::token::{self, Claims};
use super::{SELF_SERVICE_SCOPE, TokenUses, Verifier};
use crate::error::AuthError;
use crate::jwks::FixedKeys;
use crate::principal::Principal;
use crate::tenant::Tenant;

/// One step of the pipeline and how it came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's stable name: `request`, `token`, `tenant`, `key`, `signature`, `claims`,
    /// one per claim rule (`token_use`, `client`, `exp`, `nbf`, `iat`, `sub`, `username`,
    /// `self_service`), `revocation`, `accepted`, `roles`, `decision`.
    pub name: &'static str,
    /// Passed, failed (with the error the layer answers) or skipped.
    pub outcome: StepOutcome,
    /// What the step looked at, for a human: issuer, key id, claim values, policy ids. Never
    /// the token nor its signature.
    pub detail: String,
}

/// How a [`Step`] came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The check passed.
    Passed,
    /// The check refused the request with this error.
    Failed(AuthError),
    /// Not run: an earlier step failed, or it does not apply (for example revocation, which
    /// only the running service knows).
    Skipped,
}

/// Where the trace gets the tenant's keys.
pub(crate) enum KeySource {
    /// From the tenant's JWKS URL, with the cache's fetch code and limits.
    Fetch,
    /// A key set given up front (offline), and where it came from, for the output.
    Fixed(FixedKeys, String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Fetch => f.write_str("Fetch"),
            KeySource::Fixed(_, label) => f.debug_tuple("Fixed").field(label).finish(),
        }
    }
}

/// The authentication steps and their result.
pub(crate) struct AuthTrace {
    pub(crate) steps: Vec<Step>,
    pub(crate) result: Result<Principal, AuthError>,
}

/// The authentication steps in pipeline order. Steps not reached are reported as skipped.
const STEPS: &[&str] = &[
    "token",
    "tenant",
    "key",
    "signature",
    "claims",
    "token_use",
    "client",
    "exp",
    "nbf",
    "iat",
    "sub",
    "username",
    "self_service",
    "revocation",
    "accepted",
    "roles",
];

/// The rules [`Verifier::validate`] applies, in its order: the steps from `token_use` to
/// `self_service`.
const CLAIM_RULES: &[&str] = STEPS.split_at(5).1.split_at(8).0;

/// The claim rule an error of [`Verifier::validate`] comes from. An error this does not know
/// is reported under `claims`: still the verifier's answer, only less precisely placed.
fn rule_of(err: &AuthError) -> &'static str {
    match err {
        AuthError::MissingClaim("token_use") | AuthError::InvalidClaim("token_use") => "token_use",
        AuthError::MissingClaim("client_id" | "aud") | AuthError::WrongClient => "client",
        AuthError::MissingClaim("exp") | AuthError::Expired => "exp",
        AuthError::NotYetValid => "nbf",
        AuthError::IssuedInFuture => "iat",
        AuthError::MissingClaim("sub") => "sub",
        AuthError::MissingClaim("username" | "cognito:username")
        | AuthError::MachineClientNotAllowed
        | AuthError::MachineSubjectMismatch => "username",
        AuthError::SelfServiceScopeNotSuppressed => "self_service",
        _ => "claims",
    }
}

#[derive(Default)]
struct Recorder {
    steps: Vec<Step>,
}

impl Recorder {
    fn push(&mut self, name: &'static str, outcome: StepOutcome, detail: impl Into<String>) {
        self.steps.push(Step {
            name,
            outcome,
            detail: detail.into(),
        });
    }

    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, StepOutcome::Passed, detail);
    }

    fn skip(&mut self, name: &'static str, detail: impl Into<String>) {
        self.push(name, StepOutcome::Skipped, detail);
    }

    /// Records the failure, then every step not recorded yet as not reached.
    fn fail(mut self, name: &'static str, err: AuthError, detail: impl Into<String>) -> AuthTrace {
        self.push(name, StepOutcome::Failed(err.clone()), detail);
        for &rest in STEPS {
            if !self.steps.iter().any(|step| step.name == rest) {
                self.skip(rest, "not reached");
            }
        }
        AuthTrace {
            steps: self.steps,
            result: Err(err),
        }
    }
}

impl Verifier {
    /// Verifies `token` (`None`: an anonymous request) as [`verify_uncached_at`] does, keys
    /// from `keys`, recording each step. Revocation is not checked: the list lives in the
    /// running service.
    ///
    /// [`verify_uncached_at`]: Verifier::verify_uncached_at
    pub(crate) async fn trace(
        &self,
        token: Option<&str>,
        uses: TokenUses,
        keys: &KeySource,
        now: SystemTime,
    ) -> AuthTrace {
        let mut rec = Recorder::default();
        let Some(token) = token else {
            return rec.fail("token", AuthError::MissingToken, "no token given");
        };
        let size = format!("{} bytes", token.len());
        if token.len() > self.settings.max_token_bytes {
            let max = self.settings.max_token_bytes;
            return rec.fail("token", AuthError::TokenTooLarge { max }, size);
        }
        let unverified = match token::parse(token) {
            Ok(unverified) => unverified,
            Err(err) => return rec.fail("token", err, size),
        };
        let payload = match unverified.claims() {
            Ok(payload) => payload,
            Err(err) => return rec.fail("token", err, size),
        };
        let kid = unverified.kid();
        rec.pass("token", format!("{size}, alg RS256, kid {kid}"));

        let Some(iss) = payload.iss.as_deref() else {
            return rec.fail("tenant", AuthError::MissingClaim("iss"), "no iss claim");
        };
        let tenant = match self.tenant(iss).await {
            Ok((tenant, _)) => tenant,
            Err(err) => return rec.fail("tenant", err, format!("issuer {iss}")),
        };
        rec.pass("tenant", format!("{} (issuer {iss})", tenant.id()));

        let source = match keys {
            KeySource::Fetch => {
                if let Err(err) = self.keys.prefetch(&tenant).await {
                    let unavailable = AuthError::KeysUnavailable {
                        tenant: tenant.id_arc().clone(),
                    };
                    let detail = format!("fetching {} failed: {err}", tenant.jwks_url());
                    return rec.fail("key", unavailable, detail);
                }
                format!("fetched from {}", tenant.jwks_url())
            }
            KeySource::Fixed(fixed, label) => {
                self.keys.install(&tenant, fixed).await;
                format!("from {label}")
            }
        };
        let key = match self.keys.key(&tenant, kid).await {
            Ok(key) => key,
            Err(err) => return rec.fail("key", err, format!("kid {kid}, key set {source}")),
        };
        rec.pass("key", format!("kid {kid}, key set {source}"));

        if !key.verify_digest(&unverified.message_digest(token), unverified.signature()) {
            let detail = "RS256 signature does not verify with that key";
            return rec.fail("signature", AuthError::InvalidSignature, detail);
        }
        rec.pass("signature", "RS256, verified with that key");

        let claims = match payload.claims {
            Ok(claims) => claims,
            Err(err) => return rec.fail("claims", err, "a claim has the wrong type, or repeats"),
        };
        rec.pass("claims", "every claim read has the expected type");

        let details = self.claim_details(&claims, &tenant, now);
        let metrics = self.metrics.tenant(tenant.id_arc());
        let principal = match self.validate(claims, &tenant, &metrics, now) {
            Ok((principal, _)) => {
                for (&rule, detail) in CLAIM_RULES.iter().zip(details) {
                    match detail {
                        Some(detail) => rec.pass(rule, detail),
                        None => rec.skip(rule, "off: no [self_service_guard]"),
                    }
                }
                principal
            }
            Err(err) => {
                let failed = rule_of(&err);
                let Some(at) = CLAIM_RULES.iter().position(|rule| *rule == failed) else {
                    // Not placed on a rule: reported on the claims step instead of its pass.
                    rec.steps.retain(|step| step.name != "claims");
                    return rec.fail("claims", err, "refused by a claim rule");
                };
                let mut details = details.into_iter();
                for (&rule, detail) in CLAIM_RULES[..at].iter().zip(details.by_ref()) {
                    rec.pass(rule, detail.unwrap_or_default());
                }
                let detail = details.next().flatten().unwrap_or_default();
                return rec.fail(failed, err, detail);
            }
        };

        rec.skip(
            "revocation",
            "not checked: revocation lists live in the running service",
        );
        let accepted = accepted_uses(uses);
        if !uses.allows(principal.token_use()) {
            let found = principal.token_use();
            let err = AuthError::WrongTokenUse { found };
            return rec.fail("accepted", err, format!("{found} token; {accepted}"));
        }
        rec.pass(
            "accepted",
            format!("{} token; {accepted}", principal.token_use()),
        );
        rec.pass("roles", roles_detail(&principal));
        AuthTrace {
            steps: rec.steps,
            result: Ok(principal),
        }
    }
}

impl Verifier {
    /// What each claim rule looks at, in [`CLAIM_RULES`] order; `None` for a rule that is off.
    fn claim_details(
        &self,
        claims: &Claims<'_>,
        tenant: &Tenant,
        now: SystemTime,
    ) -> Vec<Option<String>> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let leeway = self.settings.leeway.as_secs();
        let or_absent =
            |value: Option<&str>| value.map_or_else(|| "absent".to_owned(), str::to_owned);
        let id_token = claims.token_use.as_deref() == Some("id");
        let client = if id_token {
            format!("aud {}", or_absent(claims.aud.as_deref()))
        } else {
            format!("client_id {}", or_absent(claims.client_id.as_deref()))
        };
        let mut client = format!(
            "{client}; {} allows {}",
            tenant.id(),
            join(tenant.client_ids().iter().map(String::as_str))
        );
        if !tenant.machine_client_ids().is_empty() {
            let machines = join(tenant.machine_client_ids().iter().map(String::as_str));
            client.push_str(&format!(" and machine clients {machines}"));
        }
        let username = match (
            id_token,
            claims.cognito_username.as_deref(),
            claims.username.as_deref(),
        ) {
            (true, name, _) => format!("cognito:username {}", or_absent(name)),
            (false, _, Some(name)) => format!("username {name}"),
            (false, _, None) => format!(
                "no username: a machine client's token needs sub = client_id and a client of \
                 machine_client_ids ({})",
                join(tenant.machine_client_ids().iter().map(String::as_str))
            ),
        };
        let self_service = self.settings.self_service_guard.as_ref().map(|guard| {
            let has_scope = !id_token
                && claims
                    .scope
                    .as_deref()
                    .is_some_and(|scope| scope.split_whitespace().any(|s| s == SELF_SERVICE_SCOPE));
            format!(
                "{SELF_SERVICE_SCOPE} {}; roles allowed to keep it: {}",
                if has_scope { "present" } else { "absent" },
                join(guard.allowed_roles.iter().map(String::as_str))
            )
        });
        vec![
            Some(or_absent(claims.token_use.as_deref())),
            Some(client),
            Some(
                claims
                    .exp
                    .map_or_else(|| "absent".to_owned(), |exp| instant(exp, now, leeway)),
            ),
            Some(
                claims
                    .nbf
                    .map_or_else(|| "absent".to_owned(), |nbf| instant(nbf, now, leeway)),
            ),
            Some(
                claims
                    .iat
                    .map_or_else(|| "absent".to_owned(), |iat| instant(iat, now, leeway)),
            ),
            Some(or_absent(claims.sub.as_deref())),
            Some(username),
            self_service,
        ]
    }
}

/// `at` relative to `now`: `1700003600 (in 3540 s)`, `1700000000 (60 s ago)`.
fn instant(at: u64, now: u64, leeway: u64) -> String {
    let relative = match at.cmp(&now) {
        std::cmp::Ordering::Greater => format!("in {} s", at - now),
        std::cmp::Ordering::Less => format!("{} s ago", now - at),
        std::cmp::Ordering::Equal => "now".to_owned(),
    };
    let leeway = if leeway > 0 {
        format!(", leeway {leeway} s")
    } else {
        String::new()
    };
    format!("{at} ({relative}{leeway})")
}

fn join<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    format!("[{}]", items.join(", "))
}

fn accepted_uses(uses: TokenUses) -> &'static str {
    match (uses.access, uses.id) {
        (true, true) => "access and id tokens accepted",
        (false, true) => "only id tokens accepted",
        _ => "only access tokens accepted",
    }
}

fn roles_detail(principal: &Principal) -> String {
    let roles = join(principal.roles());
    if principal.is_machine() {
        format!("machine client {} -> roles {roles}", principal.client_id())
    } else {
        format!("groups {} -> roles {roles}", join(principal.groups()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_rules_are_the_claim_steps() {
        assert_eq!(
            CLAIM_RULES,
            [
                "token_use",
                "client",
                "exp",
                "nbf",
                "iat",
                "sub",
                "username",
                "self_service"
            ]
        );
    }
}
