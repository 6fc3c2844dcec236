//! [`TenantRegistry`]: the tenants known at startup, indexed by issuer.

use std::collections::HashMap;
use std::sync::Arc;

use super::Tenant;
use crate::error::ConfigError;

/// The tenants known at startup, indexed by exact issuer string.
///
/// Lookup is one hash of the issuer, so its cost does not grow with the number of tenants.
/// foldhash rather than SipHash: every token not cached is looked up by its issuer, and the
/// keys are the configuration's issuers (a token's `iss` is only looked up, never inserted), so
/// there is no table an attacker fills.
#[derive(Debug, Default)]
pub struct TenantRegistry {
    by_issuer: HashMap<Box<str>, Arc<Tenant>, foldhash::fast::RandomState>,
    by_id: HashMap<Arc<str>, Arc<Tenant>>,
    tenants: Vec<Arc<Tenant>>,
}

impl TenantRegistry {
    /// An empty registry (use with a [`TenantResolver`](super::TenantResolver)).
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a registry; fails on two tenants with the same id or the same user pool.
    pub fn from_tenants(tenants: impl IntoIterator<Item = Tenant>) -> Result<Self, ConfigError> {
        let mut registry = Self::new();
        for (i, tenant) in tenants.into_iter().enumerate() {
            registry.insert_at(tenant, &format!("tenant[{i}]"))?;
        }
        Ok(registry)
    }

    /// Adds a tenant; fails if its id or its pool is already registered.
    pub fn insert(&mut self, tenant: Tenant) -> Result<(), ConfigError> {
        let path = format!("tenant[{}]", self.tenants.len());
        self.insert_at(tenant, &path)
    }

    fn insert_at(&mut self, tenant: Tenant, path: &str) -> Result<(), ConfigError> {
        if self.by_id.contains_key(&tenant.id) {
            return Err(ConfigError::invalid(
                format!("{path}.id"),
                format!("duplicate tenant id {:?}", tenant.id),
            ));
        }
        if tenant
            .issuers
            .iter()
            .any(|iss| self.by_issuer.contains_key(iss.as_str()))
        {
            return Err(ConfigError::invalid(
                format!("{path}.user_pool_id"),
                format!(
                    "duplicate issuer: user pool {:?} already belongs to another tenant",
                    tenant.user_pool_id
                ),
            ));
        }
        let tenant = Arc::new(tenant);
        for iss in &tenant.issuers {
            self.by_issuer.insert(iss.as_str().into(), tenant.clone());
        }
        self.by_id.insert(tenant.id.clone(), tenant.clone());
        self.tenants.push(tenant);
        Ok(())
    }

    /// The tenant whose pool issued `iss` (exact match), if registered.
    pub fn get_by_issuer(&self, iss: &str) -> Option<&Arc<Tenant>> {
        self.by_issuer.get(iss)
    }

    /// The tenant with id `id`, if registered.
    pub fn get_by_id(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.by_id.get(id)
    }

    /// All registered tenants.
    pub fn tenants(&self) -> &[Arc<Tenant>] {
        &self.tenants
    }

    /// The number of tenants.
    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    /// True if no tenant is registered.
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }
}
