//! [`Tenant`] and its builder: one user pool, its app clients, role mapping and replica regions.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use super::issuer::{is_region, parse_user_pool_id};
use crate::error::ConfigError;

/// One tenant: a Cognito user pool, its accepted app clients and its role mapping.
///
/// ```
/// use cognito_authz::Tenant;
///
/// let tenant = Tenant::builder("acme", "us-east-1_AbCdEf123")
///     .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
///     .role("admin", ["admin", "Administrators"])
///     .build()
///     .unwrap();
/// assert_eq!(tenant.region(), "us-east-1");
/// assert_eq!(
///     tenant.issuers()[0],
///     "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"
/// );
/// ```
pub struct Tenant {
    pub(super) id: Arc<str>,
    pub(super) user_pool_id: String,
    region: String,
    client_ids: Vec<String>,
    /// App clients whose client-credentials tokens are accepted as machine callers.
    machine_client_ids: Vec<String>,
    /// Roles of machine clients, sorted and deduplicated per client.
    client_roles: HashMap<String, Box<[Arc<str>]>>,
    /// `None`: a group's name is its role. `Some`: only mapped groups give roles.
    group_roles: Option<HashMap<String, Vec<Arc<str>>>>,
    jwks_url: String,
    /// Tried in order when the primary's JWKS endpoint fails (replicated pools).
    replica_jwks_urls: Box<[String]>,
    replica_regions: Box<[String]>,
    /// The primary's two issuer forms, then each replica region's original-form issuer.
    pub(super) issuers: Box<[String]>,
    protected_attributes: Vec<String>,
    /// This tenant's entry of the key cache, found on first use. Typed by the key cache
    /// (`jwks`), which sits above tenants: here it is opaque.
    pub(crate) key_slot: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("user_pool_id", &self.user_pool_id)
            .field("client_ids", &self.client_ids)
            .field("machine_client_ids", &self.machine_client_ids)
            .field("jwks_url", &self.jwks_url)
            .field("replica_regions", &self.replica_regions)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// Starts a tenant for user pool `user_pool_id` (`<region>_<id>`, for example
    /// `us-east-1_AbCdEf123`).
    pub fn builder(id: impl Into<String>, user_pool_id: impl Into<String>) -> TenantBuilder {
        TenantBuilder {
            id: id.into(),
            user_pool_id: user_pool_id.into(),
            client_ids: Vec::new(),
            machine_client_ids: Vec::new(),
            client_roles: Vec::new(),
            roles: None,
            jwks_url: None,
            replica_regions: Vec::new(),
            replica_jwks_urls: Vec::new(),
            protected_attributes: Vec::new(),
        }
    }

    /// The tenant id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn id_arc(&self) -> &Arc<str> {
        &self.id
    }

    /// The user pool id.
    pub fn user_pool_id(&self) -> &str {
        &self.user_pool_id
    }

    /// The AWS region, taken from the user pool id's prefix.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The app client ids whose tokens are accepted.
    pub fn client_ids(&self) -> &[String] {
        &self.client_ids
    }

    /// The app clients whose client-credentials access tokens are accepted as machine callers
    /// ([`PrincipalKind::Machine`](crate::principal::PrincipalKind::Machine)).
    pub fn machine_client_ids(&self) -> &[String] {
        &self.machine_client_ids
    }

    /// The roles of machine client `client_id` (from `client_roles`), sorted; empty if none.
    pub fn client_roles(&self, client_id: &str) -> &[Arc<str>] {
        self.client_roles.get(client_id).map_or(&[], |r| r)
    }

    /// Where this tenant's signing keys are fetched from.
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// The regions holding replicas of this pool (multi-Region replication), in fallback order.
    pub fn replica_regions(&self) -> &[String] {
        &self.replica_regions
    }

    /// Where keys are fetched from when [`jwks_url`](Self::jwks_url) fails: one URL per
    /// replica region, in the order of [`replica_regions`](Self::replica_regions).
    pub fn replica_jwks_urls(&self) -> &[String] {
        &self.replica_jwks_urls
    }

    /// The issuer strings accepted for this pool: the primary region's original and updated
    /// forms, then the original form of each replica region. See [`TenantBuilder::replica_regions`].
    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    /// User attributes only admins may change (for example `custom:mfa_required`), through the
    /// server's admin operations; self-service routes refuse them.
    pub fn protected_attributes(&self) -> &[String] {
        &self.protected_attributes
    }

    /// True if `attribute` is protected for this tenant.
    pub fn is_protected_attribute(&self, attribute: &str) -> bool {
        self.protected_attributes.iter().any(|a| a == attribute)
    }

    /// True if user tokens issued to `client_id` are accepted.
    pub(crate) fn allows_client(&self, client_id: &str) -> bool {
        self.client_ids.iter().any(|c| c == client_id)
    }

    /// True if client-credentials tokens of `client_id` are accepted as machine callers.
    pub(crate) fn allows_machine_client(&self, client_id: &str) -> bool {
        self.machine_client_ids.iter().any(|c| c == client_id)
    }

    /// True if the tenant accepts tokens of `client_id` at all (users' or machines').
    pub(crate) fn owns_client(&self, client_id: &str) -> bool {
        self.allows_client(client_id) || self.allows_machine_client(client_id)
    }

    /// True if the tenant maps groups to roles (otherwise group names are role names).
    pub(crate) fn maps_groups(&self) -> bool {
        self.group_roles.is_some()
    }

    /// Maps Cognito groups to this tenant's roles: sorted, deduplicated, case-sensitive.
    pub fn roles_for_groups<G: AsRef<str>>(&self, groups: &[G]) -> Vec<Arc<str>> {
        let mut roles: Vec<Arc<str>> = match &self.group_roles {
            None => groups.iter().map(|g| Arc::from(g.as_ref())).collect(),
            Some(map) => groups
                .iter()
                .filter_map(|g| map.get(g.as_ref()))
                .flatten()
                .cloned()
                .collect(),
        };
        roles.sort_unstable();
        roles.dedup();
        roles
    }
}

/// Builder for [`Tenant`]; see [`Tenant::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TenantBuilder {
    id: String,
    user_pool_id: String,
    client_ids: Vec<String>,
    machine_client_ids: Vec<String>,
    client_roles: Vec<(String, Vec<String>)>,
    roles: Option<Vec<(String, Vec<String>)>>,
    jwks_url: Option<String>,
    replica_regions: Vec<String>,
    replica_jwks_urls: Vec<(String, String)>,
    protected_attributes: Vec<String>,
}

impl TenantBuilder {
    /// Marks user attributes as admin-only (see [`Tenant::protected_attributes`]).
    pub fn protected_attributes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        attributes: I,
    ) -> Self {
        self.protected_attributes
            .extend(attributes.into_iter().map(Into::into));
        self
    }

    /// Accepts tokens issued to this app client. At least one is required.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_ids.push(client_id.into());
        self
    }

    /// Accepts tokens issued to each of these app clients.
    pub fn client_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.client_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Accepts client-credentials access tokens (machine to machine: no `username`, `sub` equal
    /// to `client_id`) from these app clients, as [machine](crate::principal::PrincipalKind::Machine)
    /// principals. A machine client is accepted in its own right: it need not (and, since
    /// Cognito does not let one app client combine the client-credentials grant with user
    /// flows, usually will not) also be in [`client_ids`](Self::client_ids). Tokens carrying a
    /// `username` from a client listed only here are refused.
    pub fn machine_client_ids<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        ids: I,
    ) -> Self {
        self.machine_client_ids
            .extend(ids.into_iter().map(Into::into));
        self
    }

    /// Gives machine client `client_id` these roles (machines have no groups). The client must
    /// be one of the [`machine_client_ids`](Self::machine_client_ids).
    pub fn client_roles<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        client_id: impl Into<String>,
        roles: I,
    ) -> Self {
        self.client_roles.push((
            client_id.into(),
            roles.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Grants `role` to members of any of `groups`. Once any role is mapped, groups without a
    /// mapping grant nothing; with no mapping at all, each group name is a role name.
    pub fn role<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        role: impl Into<String>,
        groups: I,
    ) -> Self {
        self.roles
            .get_or_insert_with(Vec::new)
            .push((role.into(), groups.into_iter().map(Into::into).collect()));
        self
    }

    /// Fetches keys from this URL instead of the pool's
    /// `https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json`. For emulators
    /// and tests; this is the only way to use plain `http`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Declares the regions holding replicas of this pool (Cognito multi-Region replication),
    /// in the order their key endpoints are tried when the primary's fails.
    ///
    /// Replicas share the pool id (and so its primary-region prefix). Tokens signed in a
    /// replica carry the updated issuer `https://issuer-cognito-idp.{primary}.amazonaws.com/{pool}`,
    /// which is always accepted, or, on pools still on the original issuer, the replica's own
    /// region `https://cognito-idp.{replica}.amazonaws.com/{pool}`, which is accepted only for
    /// the regions listed here: a token naming any other region stays an unknown issuer.
    /// Keys fall back to `https://issuer-cognito-idp.{replica}.amazonaws.com/{pool}/.well-known/jwks.json`,
    /// where updated issuers serve the same key set in every region.
    pub fn replica_regions<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        regions: I,
    ) -> Self {
        self.replica_regions
            .extend(regions.into_iter().map(Into::into));
        self
    }

    /// Fetches replica region `region`'s keys from `url` instead of its default endpoint. For
    /// emulators and tests, like [`jwks_url`](Self::jwks_url).
    pub fn replica_jwks_url(mut self, region: impl Into<String>, url: impl Into<String>) -> Self {
        self.replica_jwks_urls.push((region.into(), url.into()));
        self
    }

    /// Validates and builds the tenant.
    pub fn build(self) -> Result<Tenant, ConfigError> {
        self.build_at("tenant")
    }

    /// Builds, naming fields under `path` in errors (`tenant[3].client_ids`).
    pub(crate) fn build_at(self, path: &str) -> Result<Tenant, ConfigError> {
        if self.id.is_empty() {
            return Err(ConfigError::invalid(
                format!("{path}.id"),
                "must not be empty",
            ));
        }
        let region = parse_user_pool_id(&self.user_pool_id)
            .ok_or_else(|| {
                ConfigError::invalid(
                    format!("{path}.user_pool_id"),
                    format!(
                        "{:?} is not a Cognito user pool id (expected <region>_<id>, e.g. us-east-1_AbCdEf123)",
                        self.user_pool_id
                    ),
                )
            })?
            .to_owned();
        if self.client_ids.is_empty() && self.machine_client_ids.is_empty() {
            return Err(ConfigError::invalid(
                format!("{path}.client_ids"),
                "must list at least one app client id",
            ));
        }
        if let Some(bad) = self.client_ids.iter().find(|c| c.is_empty()) {
            return Err(ConfigError::invalid(
                format!("{path}.client_ids"),
                format!("{bad:?} is not an app client id"),
            ));
        }
        if let Some(bad) = self.machine_client_ids.iter().find(|c| c.is_empty()) {
            return Err(ConfigError::invalid(
                format!("{path}.machine_client_ids"),
                format!("{bad:?} is not an app client id"),
            ));
        }
        let mut client_roles: HashMap<String, Box<[Arc<str>]>> = HashMap::new();
        for (client, roles) in self.client_roles {
            let field = format!("{path}.client_roles.{client}");
            if !self.machine_client_ids.contains(&client) {
                return Err(ConfigError::invalid(
                    field,
                    "is not one of the tenant's machine_client_ids",
                ));
            }
            if roles.is_empty() || roles.iter().any(String::is_empty) {
                return Err(ConfigError::invalid(
                    field,
                    "a machine client needs at least one role, and roles need names",
                ));
            }
            if client_roles.contains_key(&client) {
                return Err(ConfigError::invalid(field, "roles given twice"));
            }
            let mut roles: Vec<Arc<str>> = roles.into_iter().map(Arc::from).collect();
            roles.sort_unstable();
            roles.dedup();
            client_roles.insert(client, roles.into_boxed_slice());
        }
        let group_roles = match self.roles {
            None => None,
            Some(roles) => {
                let mut map: HashMap<String, Vec<Arc<str>>> = HashMap::new();
                for (role, groups) in roles {
                    if role.is_empty() || groups.is_empty() {
                        return Err(ConfigError::invalid(
                            format!("{path}.roles.{role}"),
                            "a role needs a name and at least one group",
                        ));
                    }
                    let role: Arc<str> = role.into();
                    for group in groups {
                        map.entry(group).or_default().push(role.clone());
                    }
                }
                Some(map)
            }
        };
        let original = format!(
            "https://cognito-idp.{region}.amazonaws.com/{}",
            self.user_pool_id
        );
        let updated = format!(
            "https://issuer-cognito-idp.{region}.amazonaws.com/{}",
            self.user_pool_id
        );
        let jwks_url = match self.jwks_url {
            Some(url) => checked_url(url, &format!("{path}.jwks_url"))?,
            None => format!("{original}/.well-known/jwks.json"),
        };
        let mut issuers = vec![original, updated];
        let mut replica_jwks_urls = Vec::with_capacity(self.replica_regions.len());
        for (i, replica) in self.replica_regions.iter().enumerate() {
            let field = format!("{path}.replica_regions");
            if !is_region(replica) {
                return Err(ConfigError::invalid(
                    field,
                    format!("{replica:?} is not an AWS region (for example eu-west-1)"),
                ));
            }
            if *replica == region {
                return Err(ConfigError::invalid(
                    field,
                    format!("{replica:?} is the pool's primary region, not a replica"),
                ));
            }
            if self.replica_regions[..i].contains(replica) {
                return Err(ConfigError::invalid(
                    field,
                    format!("{replica:?} is listed twice"),
                ));
            }
            issuers.push(format!(
                "https://cognito-idp.{replica}.amazonaws.com/{}",
                self.user_pool_id
            ));
            replica_jwks_urls.push(format!(
                "https://issuer-cognito-idp.{replica}.amazonaws.com/{}/.well-known/jwks.json",
                self.user_pool_id
            ));
        }
        let mut overridden: Vec<&str> = Vec::new();
        for (replica, url) in self.replica_jwks_urls {
            let field = format!("{path}.replica_jwks_urls.{replica}");
            let Some(i) = self.replica_regions.iter().position(|r| *r == replica) else {
                return Err(ConfigError::invalid(
                    field,
                    "is not one of the tenant's replica_regions",
                ));
            };
            if overridden.contains(&self.replica_regions[i].as_str()) {
                return Err(ConfigError::invalid(field, "given twice"));
            }
            overridden.push(&self.replica_regions[i]);
            replica_jwks_urls[i] = checked_url(url, &field)?;
        }
        Ok(Tenant {
            id: self.id.into(),
            user_pool_id: self.user_pool_id,
            region,
            client_ids: self.client_ids,
            machine_client_ids: self.machine_client_ids,
            client_roles,
            group_roles,
            jwks_url,
            replica_jwks_urls: replica_jwks_urls.into_boxed_slice(),
            replica_regions: self.replica_regions.into_boxed_slice(),
            issuers: issuers.into_boxed_slice(),
            protected_attributes: self.protected_attributes,
            key_slot: OnceLock::new(),
        })
    }
}

/// `url` if it is an http(s) URL with a host, else an error naming `field`.
fn checked_url(url: String, field: &str) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(&url).ok();
    let usable = parsed
        .as_ref()
        .is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
    if !usable {
        return Err(ConfigError::invalid(
            field,
            format!("{url:?} is not an http(s) URL with a host"),
        ));
    }
    Ok(url)
}
