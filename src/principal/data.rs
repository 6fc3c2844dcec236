//! A principal's storage: every string in one allocation, and how verified claims become it.

use std::sync::Arc;

use super::{PrincipalKind, TokenUse};

/// A range of [`PrincipalData::text`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    start: u32,
    len: u32,
}

#[derive(PartialEq, Eq)]
pub(super) enum Roles {
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
    pub(super) tenant: Arc<str>,
    text: Box<str>,
    pub(super) user_pool_id: Span,
    pub(super) subject: Span,
    pub(super) username: Span,
    pub(super) client_id: Span,
    pub(super) scope: Span,
    pub(super) jti: Option<Span>,
    pub(super) origin_jti: Option<Span>,
    pub(super) groups: Box<[Span]>,
    pub(super) roles: Roles,
    pub(super) token_use: TokenUse,
    pub(super) kind: PrincipalKind,
    pub(super) expires_at: u64,
    pub(super) issued_at: Option<u64>,
    /// The decision counters of the tenant, in the principal so that the warm path counts
    /// without a lookup; `None` for a principal made outside a `CognitoAuth`.
    pub(super) metrics: Option<crate::metrics::TenantMetrics>,
    /// What the Cedar layer derives from this principal (entities, context), built on its first
    /// request and reused while the verified-token cache holds the principal.
    #[cfg(feature = "cedar")]
    pub(super) derived: DerivedSlot,
}

/// A once-filled slot for data derived from a principal; not part of the principal's equality.
#[cfg(feature = "cedar")]
#[derive(Default)]
pub(crate) struct DerivedSlot(pub(super) std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>);

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

    pub(super) fn get(&self, span: Span) -> &str {
        &self.text[span.start as usize..(span.start + span.len) as usize]
    }
}
