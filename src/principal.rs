//! The verified caller: [`Principal`].

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

pub use crate::claims::TokenUse;

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

/// A range of [`PrincipalData::text`].
#[derive(Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

#[derive(PartialEq, Eq)]
enum Roles {
    /// No mapping: the roles are the groups, as sorted, deduplicated indices into `groups`.
    Groups(Box<[u16]>),
    /// The tenant's mapping: shared role names, sorted and deduplicated.
    Mapped(Box<[Arc<str>]>),
}

/// Every string of a principal lives in one allocation (`text`), addressed by spans: the
/// verified-token cache holds up to 100,000 of these, so a dozen small allocations each would
/// cost tens of MiB.
#[derive(PartialEq, Eq)]
pub(crate) struct PrincipalData {
    tenant: Arc<str>,
    text: Box<str>,
    user_pool_id: Span,
    subject: Span,
    username: Span,
    client_id: Span,
    scope: Span,
    jti: Option<Span>,
    origin_jti: Option<Span>,
    groups: Box<[Span]>,
    roles: Roles,
    token_use: TokenUse,
    kind: PrincipalKind,
    expires_at: u64,
    issued_at: Option<u64>,
    /// The decision counters of the tenant, in the principal so that the warm path counts
    /// without a lookup; `None` for a principal made outside a `CognitoAuth`.
    metrics: Option<crate::metrics::TenantMetrics>,
    /// What the Cedar layer derives from this principal (entities, context), built on its first
    /// request and reused while the verified-token cache holds the principal.
    #[cfg(feature = "cedar")]
    derived: DerivedSlot,
}

/// A once-filled slot for data derived from a principal; not part of the principal's equality.
#[cfg(feature = "cedar")]
#[derive(Default)]
pub(crate) struct DerivedSlot(std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>);

#[cfg(feature = "cedar")]
impl PartialEq for DerivedSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(feature = "cedar")]
impl Eq for DerivedSlot {}

/// The verified claims a principal is made of.
pub(crate) struct PrincipalClaims<'a, G> {
    pub(crate) tenant: &'a crate::tenant::Tenant,
    pub(crate) subject: &'a str,
    pub(crate) username: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) token_use: TokenUse,
    /// For [`PrincipalKind::Machine`], `groups` are ignored and roles come from the tenant's
    /// `client_roles`.
    pub(crate) kind: PrincipalKind,
    pub(crate) groups: &'a [G],
    pub(crate) scope: &'a str,
    pub(crate) expires_at: u64,
    pub(crate) issued_at: Option<u64>,
    pub(crate) jti: Option<&'a str>,
    pub(crate) origin_jti: Option<&'a str>,
}

impl PrincipalData {
    pub(crate) fn new<G: AsRef<str>>(c: PrincipalClaims<'_, G>) -> Self {
        let machine = c.kind == PrincipalKind::Machine;
        // Machines have no groups: roles from `cognito:groups` would let a token claim them.
        let groups: &[G] = if machine { &[] } else { c.groups };
        let total = c.tenant.user_pool_id().len()
            + c.subject.len()
            + c.username.len()
            + c.client_id.len()
            + c.scope.len()
            + c.jti.map_or(0, str::len)
            + c.origin_jti.map_or(0, str::len)
            + groups.iter().map(|g| g.as_ref().len()).sum::<usize>();
        let mut text = String::with_capacity(total);
        // Tokens are at most a few KiB (the size limit applies first), so offsets fit in u32.
        let mut push = |s: &str| {
            let span = Span {
                start: text.len() as u32,
                len: s.len() as u32,
            };
            text.push_str(s);
            span
        };
        let user_pool_id = push(c.tenant.user_pool_id());
        let subject = push(c.subject);
        let username = push(c.username);
        let client_id = push(c.client_id);
        let scope = push(c.scope);
        let jti = c.jti.map(&mut push);
        let origin_jti = c.origin_jti.map(&mut push);
        let group_spans: Box<[Span]> = groups.iter().map(|g| push(g.as_ref())).collect();
        let roles = if machine {
            Roles::Mapped(c.tenant.client_roles(c.client_id).into())
        } else if c.tenant.maps_groups() {
            Roles::Mapped(c.tenant.roles_for_groups(groups).into_boxed_slice())
        } else {
            let mut order: Vec<u16> = (0..groups.len().min(u16::MAX as usize) as u16).collect();
            let name = |i: &u16| groups[*i as usize].as_ref();
            order.sort_unstable_by(|a, b| name(a).cmp(name(b)));
            order.dedup_by(|a, b| name(a) == name(b));
            Roles::Groups(order.into_boxed_slice())
        };
        PrincipalData {
            tenant: c.tenant.id_arc().clone(),
            text: text.into_boxed_str(),
            user_pool_id,
            subject,
            username,
            client_id,
            scope,
            jti,
            origin_jti,
            groups: group_spans,
            roles,
            token_use: c.token_use,
            kind: c.kind,
            expires_at: c.expires_at,
            issued_at: c.issued_at,
            metrics: None,
            #[cfg(feature = "cedar")]
            derived: DerivedSlot::default(),
        }
    }

    pub(crate) fn with_metrics(mut self, metrics: crate::metrics::TenantMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn get(&self, span: Span) -> &str {
        &self.text[span.start as usize..(span.start + span.len) as usize]
    }
}

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

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Principal", 12)?;
        s.serialize_field("tenant", self.tenant())?;
        s.serialize_field("kind", &self.kind())?;
        s.serialize_field("subject", self.subject())?;
        s.serialize_field("username", &self.username_if_user())?;
        s.serialize_field("client_id", self.client_id())?;
        s.serialize_field("token_use", &self.token_use())?;
        s.serialize_field("roles", &Seq(|| self.roles()))?;
        s.serialize_field("groups", &Seq(|| self.groups()))?;
        s.serialize_field("scopes", &Seq(|| self.scopes()))?;
        s.serialize_field("expires_at", &self.expires_at())?;
        s.serialize_field("jti", &self.jti())?;
        s.serialize_field("origin_jti", &self.origin_jti())?;
        s.end()
    }
}

/// Serializes an iterator of strings as a JSON array without collecting it first.
struct Seq<F>(F);

impl<'a, F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator<Item = &'a str>,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

// Debug shows who, never token material (there is none stored) nor the full scope list.
impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("tenant", &self.tenant())
            .field("kind", &self.kind())
            .field("subject", &self.subject())
            .field("username", &self.username())
            .field("token_use", &self.token_use())
            .field("roles", &self.roles().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "axum")]
mod extract {
    use axum::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum::response::{IntoResponse, Response};
    use http::request::Parts;

    use super::Principal;
    use crate::error::{AuthError, ErrorResponder, ResponderExt};

    /// Rejection of the [`Principal`] extractor: no authentication layer attached one. Answers
    /// 401 in the format of the `CognitoAuth` whose layer saw the request, if any.
    pub struct MissingPrincipal(Option<ErrorResponder>);

    impl std::fmt::Debug for MissingPrincipal {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("MissingPrincipal")
        }
    }

    impl IntoResponse for MissingPrincipal {
        fn into_response(self) -> Response {
            let mut response = match self.0 {
                Some(responder) => responder(&AuthError::MissingToken),
                None => AuthError::MissingToken.to_response(),
            };
            // Counted by the (optional) authentication layer around the handler, if any.
            crate::metrics::mark_refused(&mut response, &AuthError::MissingToken);
            response.map(Into::into)
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for Principal {
        type Rejection = MissingPrincipal;

        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
            parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
                MissingPrincipal(parts.extensions.get::<ResponderExt>().map(|r| r.0.clone()))
            })
        }
    }

    impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(
            parts: &mut Parts,
            _: &S,
        ) -> Result<Option<Self>, Self::Rejection> {
            Ok(parts.extensions.get::<Principal>().cloned())
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::MissingPrincipal;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Tenant;

    pub(crate) fn principal(tenant: &Tenant, groups: &[&str], scope: &str) -> Principal {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        Principal::new(PrincipalData::new(PrincipalClaims {
            tenant,
            subject: "sub-1",
            username: "alice",
            client_id: "client",
            token_use: TokenUse::Access,
            kind: PrincipalKind::User,
            groups: &groups,
            scope,
            expires_at: 42,
            issued_at: Some(40),
            jti: Some("j"),
            origin_jti: None,
        }))
    }

    #[test]
    fn unmapped_roles_are_the_sorted_distinct_groups() {
        let tenant = Tenant::builder("t", "us-east-1_a")
            .client_id("c")
            .build()
            .unwrap();
        let p = principal(&tenant, &["b", "a", "b", "Admin"], "x y");
        assert_eq!(p.roles().collect::<Vec<_>>(), ["Admin", "a", "b"]);
        assert_eq!(p.roles().len(), 3);
        assert!(p.has_role("a") && p.has_role("Admin") && !p.has_role("admin"));
        assert_eq!(p.groups().collect::<Vec<_>>(), ["b", "a", "b", "Admin"]);
        assert_eq!(p.scopes().collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(
            (p.subject(), p.username(), p.client_id()),
            ("sub-1", "alice", "client")
        );
        assert_eq!(
            (p.jti(), p.origin_jti(), p.expires_at()),
            (Some("j"), None, 42)
        );
        assert_eq!(p.user_pool_id(), "us-east-1_a");
    }

    #[test]
    fn a_machine_has_client_roles_only_and_no_user_name() {
        let tenant = Tenant::builder("t", "us-east-1_a")
            .client_id("c")
            .machine_client_ids(["m"])
            .client_roles("m", ["sync", "admin"])
            .role("admin", ["Administrators"])
            .build()
            .unwrap();
        // Groups in a machine token (a trigger could add them) must not give roles.
        let groups = ["Administrators".to_owned()];
        let p = Principal::new(PrincipalData::new(PrincipalClaims {
            tenant: &tenant,
            subject: "m",
            username: "",
            client_id: "m",
            token_use: TokenUse::Access,
            kind: PrincipalKind::Machine,
            groups: &groups,
            scope: "orders/read",
            expires_at: 42,
            issued_at: None,
            jti: None,
            origin_jti: None,
        }));
        assert_eq!(p.kind(), PrincipalKind::Machine);
        assert!(p.is_machine());
        assert_eq!(
            (p.subject(), p.username(), p.username_if_user()),
            ("m", "", None)
        );
        assert_eq!(p.roles().collect::<Vec<_>>(), ["admin", "sync"]);
        assert_eq!(p.groups().count(), 0);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["kind"], "machine");
        assert_eq!(json["username"], serde_json::Value::Null);
        let user = principal(&tenant, &["Administrators"], "");
        assert_eq!(user.kind(), PrincipalKind::User);
        assert_eq!(user.username_if_user(), Some("alice"));
        assert_eq!(serde_json::to_value(&user).unwrap()["kind"], "user");
    }

    #[test]
    fn mapped_roles_come_from_the_tenant() {
        let tenant = Tenant::builder("t", "us-east-1_a")
            .client_id("c")
            .role("admin", ["Administrators"])
            .build()
            .unwrap();
        let p = principal(&tenant, &["Administrators", "other"], "");
        assert_eq!(p.roles().collect::<Vec<_>>(), ["admin"]);
        assert!(p.has_role("admin") && !p.has_role("Administrators") && !p.has_role("other"));
        assert_eq!(p.scopes().count(), 0);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["roles"], serde_json::json!(["admin"]));
        assert_eq!(
            json["groups"],
            serde_json::json!(["Administrators", "other"])
        );
    }
}
