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
/// The guard item's only attribute besides the key: the pool its tenant id belongs to.
pub(crate) const OWNER_POOL_ID: &str = "owner_pool_id";

const TENANT_ATTRIBUTES: [&str; 7] = [
    KEY,
    TENANT_ID,
    REGION,
    CLIENT_IDS,
    ROLES,
    PROTECTED_ATTRIBUTES,
    JWKS_URL,
];

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
    let roles = match optional(item, ROLES) {
        None => BTreeMap::new(),
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(role, groups)| Ok((role.clone(), strings(&format!("{ROLES}.{role}"), groups)?)))
            .collect::<Result<_, ItemError>>()?,
        Some(other) => return Err(wrong_type(ROLES, "M", other)),
    };
    let protected_attributes = match optional(item, PROTECTED_ATTRIBUTES) {
        None => Vec::new(),
        Some(value) => strings(PROTECTED_ATTRIBUTES, value)?,
    };
    let jwks_url = match optional(item, JWKS_URL) {
        None => None,
        Some(AttributeValue::S(url)) => Some(url.clone()),
        Some(other) => return Err(wrong_type(JWKS_URL, "S", other)),
    };
    Ok(CatalogEntry {
        tenant_id: string(item, TENANT_ID)?,
        user_pool_id: string(item, KEY)?,
        region: string(item, REGION)?,
        client_ids,
        roles,
        protected_attributes,
        jwks_url,
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
    if !entry.roles.is_empty() {
        let roles = entry
            .roles
            .iter()
            .map(|(role, groups)| (role.clone(), string_list(groups)))
            .collect();
        item.insert(ROLES.to_owned(), AttributeValue::M(roles));
    }
    if let Some(url) = &entry.jwks_url {
        item.insert(JWKS_URL.to_owned(), AttributeValue::S(url.clone()));
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn l(values: &[&str]) -> AttributeValue {
        AttributeValue::L(values.iter().map(|v| s(v)).collect())
    }

    fn good() -> Item {
        Item::from([
            (KEY.to_owned(), s("us-east-1_AbC123")),
            (TENANT_ID.to_owned(), s("acme")),
            (REGION.to_owned(), s("us-east-1")),
            (CLIENT_IDS.to_owned(), l(&["client-a", "client-b"])),
            (
                ROLES.to_owned(),
                AttributeValue::M(HashMap::from([(
                    "admin".to_owned(),
                    l(&["admin", "Administrators"]),
                )])),
            ),
            (PROTECTED_ATTRIBUTES.to_owned(), l(&["custom:plan"])),
            (
                JWKS_URL.to_owned(),
                s("http://127.0.0.1:5000/us-east-1_AbC123/.well-known/jwks.json"),
            ),
        ])
    }

    fn with(name: &str, value: AttributeValue) -> Item {
        let mut item = good();
        item.insert(name.to_owned(), value);
        item
    }

    fn without(name: &str) -> Item {
        let mut item = good();
        item.remove(name);
        item
    }

    fn refused(item: &Item) -> ItemError {
        match parse_tenant(item) {
            Ok((entry, _)) => panic!("item accepted: {entry:?}"),
            Err(err) => err,
        }
    }

    #[test]
    fn a_complete_item_becomes_the_tenant_it_describes() {
        let (entry, tenant) = parse_tenant(&good()).unwrap();
        assert_eq!(entry.tenant_id, "acme");
        assert_eq!(entry.client_ids, ["client-a", "client-b"]);
        assert_eq!(tenant.id(), "acme");
        assert_eq!(tenant.user_pool_id(), "us-east-1_AbC123");
        assert_eq!(tenant.client_ids(), ["client-a", "client-b"]);
        assert!(tenant.is_protected_attribute("custom:plan"));
        assert_eq!(
            tenant.roles_for_groups(&["Administrators"]),
            [std::sync::Arc::from("admin")]
        );
        assert!(tenant.roles_for_groups(&["unmapped"]).is_empty());
        assert_eq!(
            tenant.jwks_url(),
            "http://127.0.0.1:5000/us-east-1_AbC123/.well-known/jwks.json"
        );
    }

    #[test]
    fn writing_then_reading_gives_the_same_entry() {
        let (entry, _) = parse_tenant(&good()).unwrap();
        assert_eq!(parse_entry(&to_item(&entry)).unwrap(), entry);
        let minimal = CatalogEntry {
            roles: BTreeMap::new(),
            protected_attributes: Vec::new(),
            jwks_url: None,
            ..entry
        };
        assert_eq!(parse_entry(&to_item(&minimal)).unwrap(), minimal);
    }

    #[test]
    fn optional_attributes_may_be_absent_or_null_and_sets_are_accepted() {
        for name in [ROLES, PROTECTED_ATTRIBUTES, JWKS_URL] {
            parse_tenant(&without(name)).unwrap();
            parse_tenant(&with(name, AttributeValue::Null(true))).unwrap();
        }
        let item = with(CLIENT_IDS, AttributeValue::Ss(vec!["only".into()]));
        assert_eq!(parse_tenant(&item).unwrap().1.client_ids(), ["only"]);
    }

    #[test]
    fn every_required_attribute_is_named_when_missing() {
        for name in [KEY, TENANT_ID, REGION, CLIENT_IDS] {
            assert_eq!(refused(&without(name)), ItemError::Missing(name), "{name}");
        }
        // NULL is not a value for a required attribute.
        assert_eq!(
            refused(&with(TENANT_ID, AttributeValue::Null(true))),
            ItemError::WrongType {
                attribute: TENANT_ID.into(),
                expected: "S",
                found: "NULL"
            }
        );
    }

    #[test]
    fn wrong_types_are_named_down_to_the_element() {
        let cases = [
            (
                with(TENANT_ID, AttributeValue::N("7".into())),
                TENANT_ID,
                "N",
            ),
            (with(REGION, l(&["us-east-1"])), REGION, "L"),
            (with(CLIENT_IDS, s("client-a")), CLIENT_IDS, "S"),
            (
                with(CLIENT_IDS, AttributeValue::Ns(vec!["1".into()])),
                CLIENT_IDS,
                "NS",
            ),
            (
                with(
                    CLIENT_IDS,
                    AttributeValue::L(vec![s("a"), AttributeValue::Bool(true)]),
                ),
                "client_ids[1]",
                "BOOL",
            ),
            (with(ROLES, l(&["admin"])), ROLES, "L"),
            (
                with(
                    ROLES,
                    AttributeValue::M(HashMap::from([("admin".into(), s("admin"))])),
                ),
                "roles.admin",
                "S",
            ),
            (
                with(PROTECTED_ATTRIBUTES, AttributeValue::M(HashMap::new())),
                PROTECTED_ATTRIBUTES,
                "M",
            ),
            (
                with(JWKS_URL, AttributeValue::Bool(false)),
                JWKS_URL,
                "BOOL",
            ),
        ];
        for (item, attribute, found) in cases {
            match refused(&item) {
                ItemError::WrongType {
                    attribute: a,
                    found: f,
                    ..
                } => assert_eq!((a.as_str(), f), (attribute, found)),
                other => panic!("{attribute}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_attributes_are_refused_by_name() {
        // The misspelling that would otherwise leave `custom:plan` writable by users.
        let mut item = without(PROTECTED_ATTRIBUTES);
        item.insert("protected_attribute".into(), l(&["custom:plan"]));
        assert_eq!(
            refused(&item),
            ItemError::UnknownAttribute("protected_attribute".into())
        );
        assert_eq!(
            refused(&with(OWNER_POOL_ID, s("us-east-1_AbC123"))),
            ItemError::UnknownAttribute(OWNER_POOL_ID.into())
        );
        assert_eq!(
            refused(&with("", s("x"))),
            ItemError::UnknownAttribute(String::new())
        );
    }

    #[test]
    fn values_follow_the_config_file_rules() {
        let invalid = |item: Item| match refused(&item) {
            ItemError::Invalid { attribute, .. } => attribute,
            other => panic!("{other:?}"),
        };
        assert_eq!(invalid(with(KEY, s("not-a-pool"))), "user_pool_id");
        assert_eq!(invalid(with(KEY, s("tenant#acme"))), "user_pool_id");
        assert_eq!(invalid(with(CLIENT_IDS, l(&[]))), "client_ids");
        assert_eq!(invalid(with(CLIENT_IDS, l(&["a", ""]))), "client_ids");
        assert_eq!(invalid(with(TENANT_ID, s(""))), "tenant_id");
        assert_eq!(invalid(with(REGION, s("eu-west-1"))), "region");
        assert_eq!(invalid(with(JWKS_URL, s("ftp://keys"))), "jwks_url");
        assert_eq!(
            invalid(with(
                ROLES,
                AttributeValue::M(HashMap::from([("admin".into(), l(&[]))]))
            )),
            "roles.admin"
        );
    }

    #[test]
    fn guard_items_name_their_pool_and_nothing_else() {
        let guard = guard_item("acme", "us-east-1_AbC123");
        assert_eq!(guard[KEY], s("tenant#acme"));
        assert_eq!(parse_guard(&guard).unwrap(), "us-east-1_AbC123");
        let mut extra = guard.clone();
        extra.insert(TENANT_ID.into(), s("acme"));
        assert_eq!(
            parse_guard(&extra),
            Err(ItemError::UnknownAttribute(TENANT_ID.into()))
        );
        let mut missing = guard;
        missing.remove(OWNER_POOL_ID);
        assert_eq!(
            parse_guard(&missing),
            Err(ItemError::Missing(OWNER_POOL_ID))
        );
        assert_eq!(guarded_tenant_id("tenant#acme"), Some("acme"));
        assert_eq!(guarded_tenant_id("us-east-1_AbC123"), None);
    }

    fn any_value() -> impl Strategy<Value = AttributeValue> {
        let leaf = prop_oneof![
            ".{0,12}".prop_map(AttributeValue::S),
            "[0-9]{1,3}".prop_map(AttributeValue::N),
            any::<bool>().prop_map(AttributeValue::Bool),
            any::<bool>().prop_map(AttributeValue::Null),
            proptest::collection::vec(".{0,6}", 0..3).prop_map(AttributeValue::Ss),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(AttributeValue::L),
                proptest::collection::hash_map(".{0,6}", inner, 0..3).prop_map(AttributeValue::M),
            ]
        })
    }

    proptest! {
        /// Whatever a table holds, reading it answers (a tenant or a typed refusal) and never
        /// panics; every name the reader knows is offered, so shapes near the real one occur.
        #[test]
        fn any_item_is_read_without_panicking(
            attributes in proptest::collection::vec(
                (prop_oneof![
                    Just(KEY.to_owned()), Just(TENANT_ID.to_owned()), Just(REGION.to_owned()),
                    Just(CLIENT_IDS.to_owned()), Just(ROLES.to_owned()),
                    Just(PROTECTED_ATTRIBUTES.to_owned()), Just(JWKS_URL.to_owned()),
                    Just(OWNER_POOL_ID.to_owned()), ".{0,8}",
                ], any_value()),
                0..9,
            )
        ) {
            let item: Item = attributes.into_iter().collect();
            let _ = parse_tenant(&item);
            let _ = parse_guard(&item);
        }
    }
}
