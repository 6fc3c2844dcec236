//! Roles and policies: what a verified [`Principal`] must have to reach a route.
//!
//! Policies combine with [`Policy::and`], [`Policy::or`], [`Policy::all`] and [`Policy::any`].
//! Empty lists allow no one, so a mistake fails closed.
//!
//! ```
//! use cognito_authz::Policy;
//!
//! let support_or_admin = Policy::any_role(["admin", "support"]);
//! let billing = Policy::role("billing").and(Policy::scope("billing/write"));
//! let either = support_or_admin.or(billing);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;

use crate::principal::Principal;

/// Why [`Policy::user`] denies a machine client.
const USER_REQUIRED: &str = "a user is required: machine clients have no account of their own";

type Predicate = dyn Fn(&Principal, &Parts) -> bool + Send + Sync;

/// An authorization rule over a [`Principal`] and the request head. Cheap to clone.
#[derive(Clone)]
pub struct Policy(Arc<Rule>);

enum Rule {
    Role(String),
    AnyRole(Vec<String>),
    AllRoles(Vec<String>),
    Scope(String),
    User,
    #[cfg(feature = "axum")]
    SameTenantAs(String),
    Custom(Cow<'static, str>, Box<Predicate>),
    All(Vec<Policy>),
    Any(Vec<Policy>),
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Rule::Role(r) => write!(f, "role({r})"),
            Rule::AnyRole(r) => write!(f, "any_role({r:?})"),
            Rule::AllRoles(r) => write!(f, "all_roles({r:?})"),
            Rule::Scope(s) => write!(f, "scope({s})"),
            Rule::User => f.write_str("user"),
            #[cfg(feature = "axum")]
            Rule::SameTenantAs(p) => write!(f, "same_tenant_as({p})"),
            Rule::Custom(name, _) => write!(f, "custom({name})"),
            Rule::All(ps) => f.debug_tuple("all").field(ps).finish(),
            Rule::Any(ps) => f.debug_tuple("any").field(ps).finish(),
        }
    }
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

impl Policy {
    fn new(rule: Rule) -> Self {
        Policy(Arc::new(rule))
    }

    /// The principal has `role` (exact, case-sensitive, after the tenant's group mapping).
    pub fn role(role: impl Into<String>) -> Self {
        Self::new(Rule::Role(role.into()))
    }

    /// The principal has at least one of `roles`.
    pub fn any_role<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Self {
        Self::new(Rule::AnyRole(strings(roles)))
    }

    /// The principal has every one of `roles` (and the list is not empty).
    pub fn all_roles<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Self {
        Self::new(Rule::AllRoles(strings(roles)))
    }

    /// The access token carries OAuth scope `scope`.
    pub fn scope(scope: impl Into<String>) -> Self {
        Self::new(Rule::Scope(scope.into()))
    }

    /// The caller is a user, not a machine client ([`PrincipalKind`](crate::principal::PrincipalKind)):
    /// for routes acting on the caller's own account. Denies machines with the fixed
    /// description "a user is required: machine clients have no account of their own".
    pub fn user() -> Self {
        Self::new(Rule::User)
    }

    /// The principal's tenant id equals the route's path parameter `param` (axum routes, for
    /// example `/tenants/{tenant}/...` with `param = "tenant"`). A missing parameter denies.
    #[cfg(feature = "axum")]
    pub fn same_tenant_as(param: impl Into<String>) -> Self {
        Self::new(Rule::SameTenantAs(param.into()))
    }

    /// Any rule of your own; `name` appears in the denial message.
    pub fn custom(
        name: impl Into<Cow<'static, str>>,
        predicate: impl Fn(&Principal, &Parts) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self::new(Rule::Custom(name.into(), Box::new(predicate)))
    }

    /// Every policy allows (and the list is not empty).
    pub fn all(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self::new(Rule::All(policies.into_iter().collect()))
    }

    /// At least one policy allows.
    pub fn any(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self::new(Rule::Any(policies.into_iter().collect()))
    }

    /// Both this and `other`.
    pub fn and(self, other: Policy) -> Self {
        Self::all([self, other])
    }

    /// This or `other`.
    pub fn or(self, other: Policy) -> Self {
        Self::any([self, other])
    }

    /// `Ok` if the policy allows `principal` on this request; otherwise why not (safe to send
    /// to the client: it names the rule, not the principal's data).
    pub fn check(&self, principal: &Principal, parts: &mut Parts) -> Result<(), Cow<'static, str>> {
        match &*self.0 {
            Rule::Role(role) => principal
                .has_role(role)
                .then_some(())
                .ok_or_else(|| format!("role `{role}` required").into()),
            Rule::AnyRole(roles) => roles
                .iter()
                .any(|r| principal.has_role(r))
                .then_some(())
                .ok_or_else(|| format!("one of roles {} required", roles.join(", ")).into()),
            Rule::AllRoles(roles) => (!roles.is_empty()
                && roles.iter().all(|r| principal.has_role(r)))
            .then_some(())
            .ok_or_else(|| format!("all of roles {} required", roles.join(", ")).into()),
            Rule::Scope(scope) => principal
                .has_scope(scope)
                .then_some(())
                .ok_or_else(|| format!("scope `{scope}` required").into()),
            Rule::User => (!principal.is_machine())
                .then_some(())
                .ok_or(Cow::Borrowed(USER_REQUIRED)),
            #[cfg(feature = "axum")]
            Rule::SameTenantAs(param) => same_tenant(principal, parts, param),
            Rule::Custom(name, predicate) => predicate(principal, parts)
                .then_some(())
                .ok_or_else(|| format!("policy `{name}` refused the request").into()),
            Rule::All(policies) => {
                if policies.is_empty() {
                    return Err("empty policy list allows no one".into());
                }
                policies.iter().try_for_each(|p| p.check(principal, parts))
            }
            Rule::Any(policies) => {
                let mut last = Cow::Borrowed("empty policy list allows no one");
                for policy in policies {
                    match policy.check(principal, parts) {
                        Ok(()) => return Ok(()),
                        Err(why) => last = why,
                    }
                }
                Err(last)
            }
        }
    }
}

#[cfg(feature = "axum")]
fn same_tenant(
    principal: &Principal,
    parts: &mut Parts,
    param: &str,
) -> Result<(), Cow<'static, str>> {
    use axum::extract::{FromRequestParts, RawPathParams};
    use futures_util::FutureExt;

    // The extractor reads the route's already-matched parameters: it never awaits.
    let params = RawPathParams::from_request_parts(parts, &())
        .now_or_never()
        .and_then(Result::ok);
    let Some(value) = params.as_ref().and_then(|params| {
        params
            .iter()
            .find(|(name, _)| *name == param)
            .map(|(_, v)| v)
    }) else {
        tracing::error!(
            param,
            "same_tenant_as: the route has no such path parameter; denying"
        );
        return Err(format!("path parameter `{param}` missing").into());
    };
    if value == principal.tenant() {
        Ok(())
    } else {
        Err("tenant in the path is not the caller's tenant".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{PrincipalClaims, PrincipalData, PrincipalKind, TokenUse};

    fn principal(roles: &[&str], scopes: &[&str]) -> Principal {
        let tenant = crate::Tenant::builder("acme", "us-east-1_abc")
            .client_id("c")
            .build()
            .unwrap();
        let groups: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let scope = scopes.join(" ");
        Principal::new(PrincipalData::new(PrincipalClaims {
            tenant: &tenant,
            subject: "s",
            username: "u",
            client_id: "c",
            token_use: TokenUse::Access,
            kind: PrincipalKind::User,
            groups: &groups,
            scope: &scope,
            expires_at: 0,
            issued_at: None,
            jti: None,
            origin_jti: None,
        }))
    }

    fn parts() -> Parts {
        http::Request::new(()).into_parts().0
    }

    #[test]
    fn roles_any_all() {
        let p = principal(&["admin", "support"], &[]);
        assert!(Policy::role("admin").check(&p, &mut parts()).is_ok());
        assert!(Policy::role("Admin").check(&p, &mut parts()).is_err());
        assert!(
            Policy::any_role(["x", "support"])
                .check(&p, &mut parts())
                .is_ok()
        );
        assert!(
            Policy::all_roles(["admin", "support"])
                .check(&p, &mut parts())
                .is_ok()
        );
        assert!(
            Policy::all_roles(["admin", "x"])
                .check(&p, &mut parts())
                .is_err()
        );
    }

    #[test]
    fn empty_lists_fail_closed() {
        let p = principal(&["admin"], &[]);
        assert!(
            Policy::any_role(Vec::<String>::new())
                .check(&p, &mut parts())
                .is_err()
        );
        assert!(
            Policy::all_roles(Vec::<String>::new())
                .check(&p, &mut parts())
                .is_err()
        );
        assert!(Policy::all([]).check(&p, &mut parts()).is_err());
        assert!(Policy::any([]).check(&p, &mut parts()).is_err());
    }

    #[test]
    fn combinators_and_scopes() {
        let p = principal(&["billing"], &["billing/write"]);
        let policy =
            Policy::role("admin").or(Policy::role("billing").and(Policy::scope("billing/write")));
        assert!(policy.check(&p, &mut parts()).is_ok());
        let q = principal(&["billing"], &[]);
        assert_eq!(
            policy.check(&q, &mut parts()).unwrap_err(),
            "scope `billing/write` required"
        );
    }

    #[test]
    fn custom_sees_the_request() {
        let policy = Policy::custom("only GET", |_, parts| parts.method == http::Method::GET);
        let p = principal(&[], &[]);
        assert!(policy.check(&p, &mut parts()).is_ok());
        let mut post = parts();
        post.method = http::Method::POST;
        assert_eq!(
            policy.check(&p, &mut post).unwrap_err(),
            "policy `only GET` refused the request"
        );
    }
}
