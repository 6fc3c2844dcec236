//! The in-process revocation table: the per-request lookup, and an index by revocation time.
//!
//! Rules:
//! - A lookup is one hash lookup per map (tenant, then user or session): the index is never
//!   read on the request path.
//! - Nothing scans the whole table under the write lock. Entries leave in time order: the index
//!   (`by_time`, revocation second -> entries recorded at that second) is popped from its front
//!   until the oldest kept second, so a prune costs what it removes. An entry moved later (a
//!   user signed out again) leaves a stale index slot behind, skipped when popped because the
//!   table no longer holds that time.
//! - Ids are `Arc<str>`, shared by the table and the index, so an entry's text is stored once.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use super::{Entry, Kind};

/// foldhash instead of SipHash: ids are looked up on every request, and they come from verified
/// tokens and from the operators' own store, not from an attacker choosing collisions freely
/// (the seed is random per process anyway).
type FastMap<V> = HashMap<Arc<str>, V, foldhash::fast::RandomState>;

/// One index slot: what was recorded at some second.
type Slot = (Kind, Arc<str>, Arc<str>);

#[derive(Default)]
pub(super) struct Mirror {
    tenants: FastMap<TenantRevocations>,
    by_time: BTreeMap<u64, Vec<Slot>>,
    len: usize,
}

#[derive(Default)]
struct TenantRevocations {
    /// `sub` -> Unix second of the revocation: tokens issued up to it (plus the clock margin)
    /// are refused.
    users: FastMap<u64>,
    /// `origin_jti` -> Unix second of the revocation (for dropping it a day later).
    sessions: FastMap<u64>,
}

impl TenantRevocations {
    fn map(&mut self, kind: Kind) -> &mut FastMap<u64> {
        match kind {
            Kind::User => &mut self.users,
            Kind::Session => &mut self.sessions,
        }
    }
}

impl Mirror {
    /// Adds `entry` unless the same id already has this or a later time; true if it changed.
    pub(super) fn insert(&mut self, entry: Entry) -> bool {
        let Entry {
            kind,
            tenant,
            id,
            at,
        } = entry;
        let tenant_key = match self.tenants.get_key_value(tenant.as_str()) {
            Some((key, _)) => key.clone(),
            None => {
                let key: Arc<str> = tenant.into();
                self.tenants
                    .insert(key.clone(), TenantRevocations::default());
                key
            }
        };
        let Some(t) = self.tenants.get_mut(&tenant_key) else {
            return false;
        };
        let map = t.map(kind);
        let id_key = match map.get_key_value(id.as_str()) {
            Some((key, &held)) => {
                if at <= held {
                    return false;
                }
                key.clone()
            }
            None => {
                self.len += 1;
                id.into()
            }
        };
        map.insert(id_key.clone(), at);
        self.by_time
            .entry(at)
            .or_default()
            .push((kind, tenant_key, id_key));
        true
    }

    /// Drops every entry recorded before `oldest_kept`; costs what it removes.
    pub(super) fn prune(&mut self, oldest_kept: u64) {
        while let Some(entry) = self.by_time.first_entry() {
            if *entry.key() >= oldest_kept {
                break;
            }
            let (at, slots) = entry.remove_entry();
            for (kind, tenant, id) in slots {
                let Some(t) = self.tenants.get_mut(&tenant) else {
                    continue;
                };
                let map = t.map(kind);
                // Moved later since: the later slot will drop it.
                if map.get(&id) == Some(&at) {
                    map.remove(&id);
                    self.len -= 1;
                    if t.users.is_empty() && t.sessions.is_empty() {
                        self.tenants.remove(&tenant);
                    }
                }
            }
        }
    }

    /// The revocation time of `tenant`'s user `sub`, if revoked.
    pub(super) fn user(&self, tenant: &str, sub: &str) -> Option<u64> {
        self.tenants.get(tenant)?.users.get(sub).copied()
    }

    /// True if `tenant`'s session `origin_jti` is revoked.
    pub(super) fn session(&self, tenant: &str, origin_jti: &str) -> bool {
        self.tenants
            .get(tenant)
            .is_some_and(|t| t.sessions.contains_key(origin_jti))
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Entries recorded at `since` or later.
    pub(super) fn count_since(&self, since: u64) -> usize {
        // Few seconds lie before `since` once pruned: count those and subtract.
        let mut before = 0;
        for (at, slots) in self.by_time.range(..since) {
            before += slots.iter().filter(|slot| self.holds(slot, *at)).count();
        }
        self.len - before
    }

    fn holds(&self, (kind, tenant, id): &Slot, at: u64) -> bool {
        self.tenants.get(tenant).is_some_and(|t| {
            let map = match kind {
                Kind::User => &t.users,
                Kind::Session => &t.sessions,
            };
            map.get(id) == Some(&at)
        })
    }

    /// Up to about `max` entries recorded after the second `after` (from the oldest if `after` is
    /// `None`), whole seconds at a time, and the last second read; `None` when there
    /// is nothing more. For paging through the table without holding its lock for long.
    pub(super) fn page(&self, after: Option<u64>, max: usize) -> Option<(Vec<Entry>, u64)> {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut out = Vec::new();
        let mut last = None;
        for (at, slots) in self.by_time.range((lower, Bound::Unbounded)) {
            out.extend(slots.iter().filter(|slot| self.holds(slot, *at)).map(
                |(kind, tenant, id)| Entry {
                    kind: *kind,
                    tenant: tenant.to_string(),
                    id: id.to_string(),
                    at: *at,
                },
            ));
            last = Some(*at);
            if out.len() >= max {
                break;
            }
        }
        last.map(|last| (out, last))
    }
}
