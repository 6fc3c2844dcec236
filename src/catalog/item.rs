//! Catalog items and [`CatalogEntry`] values, converted strictly both ways.
//!
//! Reading is strict on purpose: an unknown attribute is refused rather than ignored, because a
//! misspelt `protected_attributes` would otherwise silently leave a tenant's attributes open to
//! self-service.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::CatalogEntry;
use crate::error::ConfigError;
use crate::tenant::Tenant;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The table's partition key: a tenant item's pool id, or a guard item's `tenant#<id>`.
pub(crate) const KEY: &str = "user_pool_id";
pub(crate) const TENANT_ID: &str = "tenant_id";
const REGION: &str = "region";
const CLIENT_IDS: &str = "client_ids";
const ROLES: &str = "roles";
const PROTECTED_ATTRIBUTES: &str = "protected_attributes";
const JWKS_URL: &str = "jwks_url";
const MACHINE_CLIENT_IDS: &str = "machine_client_ids";
const CLIENT_ROLES: &str = "client_roles";
const REPLICA_REGIONS: &str = "replica_regions";
const REPLICA_JWKS_URLS: &str = "replica_jwks_urls";
/// The guard item's only attribute besides the key: the pool its tenant id belongs to.
pub(crate) const OWNER_POOL_ID: &str = "owner_pool_id";

const TENANT_ATTRIBUTES: [&str; 11] = [
    KEY,
    TENANT_ID,
    REGION,
    CLIENT_IDS,
    ROLES,
    PROTECTED_ATTRIBUTES,
    JWKS_URL,
    MACHINE_CLIENT_IDS,
    CLIENT_ROLES,
    REPLICA_REGIONS,
    REPLICA_JWKS_URLS,
];

/// The key of the catalog's version item. Every write of `put` and `remove` adds one to its
/// counter in the same transaction, so a service re-reads its index of the table only when the
/// table changed. `#` never occurs in a pool id, and the key is not a guard's.
pub(crate) const VERSION_KEY: &str = "catalog#version";
/// The version item's counter (`N`).
pub(crate) const VERSION: &str = "version";

/// Guard keys cannot collide with pool ids: `#` is never part of one.
const GUARD_PREFIX: &str = "tenant#";

/// The key of the item that reserves `tenant_id` for one pool.
pub(crate) fn guard_key(tenant_id: &str) -> String {
    format!("{GUARD_PREFIX}{tenant_id}")
}

/// The tenant id a guard key reserves, `None` for a tenant item's key.
pub(crate) fn guarded_tenant_id(key: &str) -> Option<&str> {
    key.strip_prefix(GUARD_PREFIX)
}

/// Why a catalog item was refused. The tenant it describes stays unknown until it is fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// A required attribute is absent.
    #[error("attribute `{0}` is missing")]
    Missing(&'static str),
    /// An attribute has the wrong DynamoDB type (`attribute` names the element of a list or
    /// map, for example `client_ids[1]` or `roles.admin`).
    #[error("attribute `{attribute}` is of type {found}, expected {expected}")]
    WrongType {
        /// The attribute, or the element of one.
        attribute: String,
        /// The type(s) accepted.
        expected: &'static str,
        /// The type found.
        found: &'static str,
    },
    /// An attribute that is not part of the item format (a misspelling, most likely).
    #[error("attribute `{0}` is not part of the catalog item format")]
    UnknownAttribute(String),
    /// A value the tenant rules refuse (bad pool id, empty client list, region not the pool's,
    /// role without groups, bad JWKS URL): the same rules as `[[tenant]]` in the config file.
    #[error("attribute `{attribute}`: {message}")]
    Invalid {
        /// The attribute.
        attribute: String,
        /// What is wrong with it.
        message: String,
    },
    /// The tenant id is a configured (`[[tenant]]`) tenant's: a runtime tenant must not take
    /// the identity of a configured one.
    #[error("tenant id {0:?} belongs to a tenant of the configuration file")]
    ConfiguredTenantId(String),
    /// The item's pool is a configured (`[[tenant]]`) tenant's: a runtime tenant must not claim
    /// that pool's issuers (its replica regions' ones included) under another tenant id.
    #[error("user pool {0:?} belongs to a tenant of the configuration file")]
    ConfiguredPool(String),
    /// A JWKS URL that is neither Cognito's own key URL for the item's pool and regions nor on
    /// a host of the service's `[catalog] allowed_jwks_hosts`.
    #[error(
        "attribute `{attribute}`: {url:?} is not Cognito's key URL for this pool and its regions, \
         and its host:port is not in [catalog] allowed_jwks_hosts"
    )]
    JwksUrlNotAllowed {
        /// `jwks_url` or `replica_jwks_urls.<region>`.
        attribute: String,
        /// The URL.
        url: String,
    },
    /// The item's tenant id is not reserved for this pool by its guard item (`tenant#<id>`):
    /// absent, or reserved for another pool. Two pools must never share a tenant id.
    #[error(
        "tenant id {tenant_id:?} is not reserved for this pool (its guard item {})",
        match owner { Some(pool) => format!("names user pool {pool:?}"), None => "is missing".to_owned() }
    )]
    Unclaimed {
        /// The item's tenant id.
        tenant_id: String,
        /// The pool the guard item names, if there is one.
        owner: Option<String>,
    },
}

impl ItemError {
    /// A refusal of [`CatalogEntry::to_tenant`], naming the item attribute.
    pub(crate) fn from_config(err: ConfigError) -> Self {
        match err {
            ConfigError::Invalid { field, message } => ItemError::Invalid {
                attribute: field.strip_prefix("item.").unwrap_or(&field).to_owned(),
                message,
            },
            other => ItemError::Invalid {
                attribute: String::new(),
                message: other.to_string(),
            },
        }
    }
}

fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::L(_) => "L",
        AttributeValue::M(_) => "M",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        _ => "an unknown type",
    }
}

fn wrong_type(
    attribute: impl Into<String>,
    expected: &'static str,
    found: &AttributeValue,
) -> ItemError {
    ItemError::WrongType {
        attribute: attribute.into(),
        expected,
        found: type_name(found),
    }
}

/// An optional attribute: absent and `NULL` are the same.
fn optional<'a>(item: &'a Item, name: &str) -> Option<&'a AttributeValue> {
    item.get(name)
        .filter(|value| !matches!(value, AttributeValue::Null(true)))
}

fn string(item: &Item, name: &'static str) -> Result<String, ItemError> {
    match item.get(name) {
        None => Err(ItemError::Missing(name)),
        Some(AttributeValue::S(s)) => Ok(s.clone()),
        Some(other) => Err(wrong_type(name, "S", other)),
    }
}

/// A list of strings: `L` of `S` (kept in order) or `SS`.
fn strings(name: &str, value: &AttributeValue) -> Result<Vec<String>, ItemError> {
    match value {
        AttributeValue::Ss(set) => Ok(set.clone()),
        AttributeValue::L(list) => list
            .iter()
            .enumerate()
            .map(|(i, element)| match element {
                AttributeValue::S(s) => Ok(s.clone()),
                other => Err(wrong_type(format!("{name}[{i}]"), "S", other)),
            })
            .collect(),
        other => Err(wrong_type(name, "L of S, or SS", other)),
    }
}

/// An optional list of strings; absent is empty.
fn optional_strings(item: &Item, name: &str) -> Result<Vec<String>, ItemError> {
    optional(item, name).map_or(Ok(Vec::new()), |value| strings(name, value))
}

/// An optional map `M` whose values are lists of strings; absent is empty.
fn optional_string_lists(
    item: &Item,
    name: &str,
) -> Result<BTreeMap<String, Vec<String>>, ItemError> {
    match optional(item, name) {
        None => Ok(BTreeMap::new()),
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(key, list)| Ok((key.clone(), strings(&format!("{name}.{key}"), list)?)))
            .collect(),
        Some(other) => Err(wrong_type(name, "M", other)),
    }
}

/// The first attribute (by name, so the answer does not depend on hash order) that is not
/// one of `known`.
fn first_unknown(item: &Item, known: &[&str]) -> Option<String> {
    item.keys()
        .filter(|name| !known.contains(&name.as_str()))
        .min()
        .cloned()
}

/// Reads a tenant item, checking its shape only (see [`CatalogEntry::to_tenant`] for values).
pub(crate) fn parse_entry(item: &Item) -> Result<CatalogEntry, ItemError> {
    if let Some(unknown) = first_unknown(item, &TENANT_ATTRIBUTES) {
        return Err(ItemError::UnknownAttribute(unknown));
    }
    let client_ids = match item.get(CLIENT_IDS) {
        None => return Err(ItemError::Missing(CLIENT_IDS)),
        Some(value) => strings(CLIENT_IDS, value)?,
    };
    let jwks_url = match optional(item, JWKS_URL) {
        None => None,
        Some(AttributeValue::S(url)) => Some(url.clone()),
        Some(other) => return Err(wrong_type(JWKS_URL, "S", other)),
    };
    let replica_jwks_urls = match optional(item, REPLICA_JWKS_URLS) {
        None => BTreeMap::new(),
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(region, url)| match url {
                AttributeValue::S(url) => Ok((region.clone(), url.clone())),
                other => Err(wrong_type(
                    format!("{REPLICA_JWKS_URLS}.{region}"),
                    "S",
                    other,
                )),
            })
            .collect::<Result<_, ItemError>>()?,
        Some(other) => return Err(wrong_type(REPLICA_JWKS_URLS, "M", other)),
    };
    Ok(CatalogEntry {
        tenant_id: string(item, TENANT_ID)?,
        user_pool_id: string(item, KEY)?,
        region: string(item, REGION)?,
        client_ids,
        roles: optional_string_lists(item, ROLES)?,
        protected_attributes: optional_strings(item, PROTECTED_ATTRIBUTES)?,
        jwks_url,
        machine_client_ids: optional_strings(item, MACHINE_CLIENT_IDS)?,
        client_roles: optional_string_lists(item, CLIENT_ROLES)?,
        replica_regions: optional_strings(item, REPLICA_REGIONS)?,
        replica_jwks_urls,
    })
}

/// Reads a tenant item and validates it as a tenant.
pub(crate) fn parse_tenant(item: &Item) -> Result<(CatalogEntry, Tenant), ItemError> {
    let entry = parse_entry(item)?;
    let tenant = entry.to_tenant().map_err(ItemError::from_config)?;
    Ok((entry, tenant))
}

/// Reads a guard item: the pool its tenant id is reserved for.
pub(crate) fn parse_guard(item: &Item) -> Result<String, ItemError> {
    if let Some(unknown) = first_unknown(item, &[KEY, OWNER_POOL_ID]) {
        return Err(ItemError::UnknownAttribute(unknown));
    }
    string(item, OWNER_POOL_ID)
}

fn string_list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().cloned().map(AttributeValue::S).collect())
}

/// The tenant item for `entry`. Lists are written as `L` (ordered, and may be empty, which a
/// DynamoDB set may not).
pub(crate) fn to_item(entry: &CatalogEntry) -> Item {
    let mut item = Item::from([
        (
            KEY.to_owned(),
            AttributeValue::S(entry.user_pool_id.clone()),
        ),
        (
            TENANT_ID.to_owned(),
            AttributeValue::S(entry.tenant_id.clone()),
        ),
        (REGION.to_owned(), AttributeValue::S(entry.region.clone())),
        (CLIENT_IDS.to_owned(), string_list(&entry.client_ids)),
        (
            PROTECTED_ATTRIBUTES.to_owned(),
            string_list(&entry.protected_attributes),
        ),
    ]);
    let string_lists = |map: &BTreeMap<String, Vec<String>>| {
        AttributeValue::M(
            map.iter()
                .map(|(key, list)| (key.clone(), string_list(list)))
                .collect(),
        )
    };
    if !entry.roles.is_empty() {
        item.insert(ROLES.to_owned(), string_lists(&entry.roles));
    }
    if let Some(url) = &entry.jwks_url {
        item.insert(JWKS_URL.to_owned(), AttributeValue::S(url.clone()));
    }
    if !entry.machine_client_ids.is_empty() {
        let clients = string_list(&entry.machine_client_ids);
        item.insert(MACHINE_CLIENT_IDS.to_owned(), clients);
    }
    if !entry.client_roles.is_empty() {
        item.insert(CLIENT_ROLES.to_owned(), string_lists(&entry.client_roles));
    }
    if !entry.replica_regions.is_empty() {
        let regions = string_list(&entry.replica_regions);
        item.insert(REPLICA_REGIONS.to_owned(), regions);
    }
    if !entry.replica_jwks_urls.is_empty() {
        let urls = entry
            .replica_jwks_urls
            .iter()
            .map(|(region, url)| (region.clone(), AttributeValue::S(url.clone())))
            .collect();
        item.insert(REPLICA_JWKS_URLS.to_owned(), AttributeValue::M(urls));
    }
    item
}

/// The guard item reserving `tenant_id` for `user_pool_id`.
pub(crate) fn guard_item(tenant_id: &str, user_pool_id: &str) -> Item {
    Item::from([
        (KEY.to_owned(), AttributeValue::S(guard_key(tenant_id))),
        (
            OWNER_POOL_ID.to_owned(),
            AttributeValue::S(user_pool_id.to_owned()),
        ),
    ])
}

#[cfg(test)]
mod tests;
