//! The verified caller: [`Principal`].
//!
//! Rules:
//! - A principal holds what the verified claims say and nothing of the token itself: no
//!   signature, no raw token, so neither its JSON nor its `Debug` can leak one (`Debug` also
//!   leaves out the scope list).
//! - A machine (client-credentials token) has no user: no user name, no groups, and roles only
//!   from the tenant's `client_roles`, whatever groups its token carries.
//! - Roles are sorted and deduplicated once, when the principal is built, so that `has_role` is
//!   a binary search on every request.
//!
//! The files: this one holds the public type and its accessors; `data` the compact storage
//! (one allocation per principal) and how verified claims become it; `format` its JSON and
//! `Debug` forms; `extract` the axum extractors (feature `axum`).

mod data;
#[cfg(feature = "axum")]
mod extract;
mod format;

use std::sync::Arc;

use serde::Serialize;

pub use crate::claims::TokenUse;
pub(crate) use data::{PrincipalClaims, PrincipalData};
#[cfg(feature = "axum")]
pub use extract::MissingPrincipal;

use data::Roles;

/// Who the caller is: a user signed in to the tenant's pool, or an app client calling on its
/// own behalf (the OAuth client-credentials grant, from one of the tenant's
/// `machine_client_ids`).
///
/// A machine has no user account: its [`subject`](Principal::subject) is its app client id,
/// its [`username`](Principal::username) is empty, it has no groups, and its roles come only
/// from the tenant's `client_roles`. Routes acting on "the caller's own user" refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A user of the tenant's pool.
    User,
    /// An app client with a client-credentials access token.
    Machine,
}

impl PrincipalKind {
    /// `"user"` or `"machine"`, as in the principal's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Machine => "machine",
        }
    }
}

/// The authenticated caller, attached to the request by the authentication layer.
///
/// Cloning is cheap (one reference count). Get it from request extensions
/// (`req.extensions().get::<Principal>()`) in plain tower/hyper services, or as an axum
/// extractor: `Principal` (401 when absent) or `Option<Principal>` (for optional routes).
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use cognito_authz::Principal;
///
/// async fn me(principal: Principal) -> String {
///     format!("{} of {}", principal.username(), principal.tenant())
/// }
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Principal(Arc<PrincipalData>);
impl Principal {
    pub(crate) fn new(data: PrincipalData) -> Self {
        Principal(Arc::new(data))
    }

    pub(crate) fn metrics(&self) -> Option<&crate::metrics::TenantMetrics> {
        self.0.metrics.as_ref()
    }

    /// The slot for what the Cedar layer derives from this principal (see `cedar::prepared`).
    #[cfg(feature = "cedar")]
    pub(crate) fn derived(&self) -> &std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>> {
        &self.0.derived.0
    }

    /// The tenant id (from the tenant registry, not from the token).
    pub fn tenant(&self) -> &str {
        &self.0.tenant
    }

    /// The user pool of the tenant that verified the token (`<region>_<id>`).
    pub fn user_pool_id(&self) -> &str {
        self.0.get(self.0.user_pool_id)
    }

    /// The caller's stable id (`sub`): the user's id, or a machine's app client id.
    pub fn subject(&self) -> &str {
        self.0.get(self.0.subject)
    }

    /// The user name (`username` in access tokens, `cognito:username` in id tokens); empty for
    /// a [machine](PrincipalKind::Machine), which has none (see [`username_if_user`](Self::username_if_user)).
    pub fn username(&self) -> &str {
        self.0.get(self.0.username)
    }

    /// The user name, or `None` for a [machine](PrincipalKind::Machine).
    pub fn username_if_user(&self) -> Option<&str> {
        (!self.is_machine()).then(|| self.username())
    }

    /// Whether the caller is a user or a machine client.
    pub fn kind(&self) -> PrincipalKind {
        self.0.kind
    }

    /// True for a machine client (client-credentials token), which is never a user.
    pub fn is_machine(&self) -> bool {
        self.0.kind == PrincipalKind::Machine
    }

    /// The app client the token was issued to (`client_id`, or `aud` for id tokens).
    pub fn client_id(&self) -> &str {
        self.0.get(self.0.client_id)
    }

    /// Whether this came from an access or an id token.
    pub fn token_use(&self) -> TokenUse {
        self.0.token_use
    }

    /// Roles after the tenant's group-to-role mapping (for a machine: its `client_roles`),
    /// sorted and without duplicates.
    pub fn roles(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let (groups, mapped): (&[u16], &[Arc<str>]) = match &self.0.roles {
            Roles::Groups(order) => (order, &[]),
            Roles::Mapped(roles) => (&[], roles),
        };
        let from_groups = groups
            .iter()
            .map(|&i| self.0.get(self.0.groups[i as usize]));
        RolesIter {
            len: groups.len() + mapped.len(),
            inner: from_groups.chain(mapped.iter().map(|r| &**r)),
        }
    }

    /// True if the principal has `role` (exact, case-sensitive).
    pub fn has_role(&self, role: &str) -> bool {
        match &self.0.roles {
            Roles::Groups(order) => order
                .binary_search_by(|&i| self.0.get(self.0.groups[i as usize]).cmp(role))
                .is_ok(),
            Roles::Mapped(roles) => roles.binary_search_by(|r| (**r).cmp(role)).is_ok(),
        }
    }

    /// The raw `cognito:groups` of the token, in token order; none for a machine.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.0.groups.iter().map(|&span| self.0.get(span))
    }

    /// The OAuth scopes of an access token (`scope`, space-separated in the token); none for id tokens.
    pub fn scopes(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.get(self.0.scope).split_whitespace()
    }

    /// True if the access token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// Expiry (`exp`), seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.0.expires_at
    }

    /// When the token was issued (`iat`, Unix seconds), when present (Cognito always sets it).
    pub fn issued_at(&self) -> Option<u64> {
        self.0.issued_at
    }

    /// The token id (`jti`), when present.
    pub fn jti(&self) -> Option<&str> {
        self.0.jti.map(|span| self.0.get(span))
    }

    /// The sign-in session id (`origin_jti`), stable across refreshes; useful for revocation lists.
    pub fn origin_jti(&self) -> Option<&str> {
        self.0.origin_jti.map(|span| self.0.get(span))
    }
}

struct RolesIter<I> {
    len: usize,
    inner: I,
}

impl<'a, I: Iterator<Item = &'a str>> Iterator for RolesIter<I> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let next = self.inner.next();
        if next.is_some() {
            self.len -= 1;
        }
        next
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<'a, I: Iterator<Item = &'a str>> ExactSizeIterator for RolesIter<I> {}

#[cfg(test)]
pub(crate) mod tests;
