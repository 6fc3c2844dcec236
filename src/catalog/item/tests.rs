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
        (MACHINE_CLIENT_IDS.to_owned(), l(&["sync-client"])),
        (
            CLIENT_ROLES.to_owned(),
            AttributeValue::M(HashMap::from([("sync-client".to_owned(), l(&["sync"]))])),
        ),
        (REPLICA_REGIONS.to_owned(), l(&["eu-west-1"])),
        (
            REPLICA_JWKS_URLS.to_owned(),
            AttributeValue::M(HashMap::from([(
                "eu-west-1".to_owned(),
                s("http://127.0.0.1:5001/us-east-1_AbC123/.well-known/jwks.json"),
            )])),
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
    assert_eq!(tenant.machine_client_ids(), ["sync-client"]);
    assert_eq!(&*tenant.client_roles("sync-client")[0], "sync");
    assert_eq!(tenant.replica_regions(), ["eu-west-1"]);
    assert_eq!(
        tenant.replica_jwks_urls(),
        ["http://127.0.0.1:5001/us-east-1_AbC123/.well-known/jwks.json"]
    );
    assert!(
        tenant
            .issuers()
            .contains(&"https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_AbC123".into())
    );
}

#[test]
fn writing_then_reading_gives_the_same_entry() {
    let (entry, _) = parse_tenant(&good()).unwrap();
    assert_eq!(parse_entry(&to_item(&entry)).unwrap(), entry);
    let minimal = CatalogEntry {
        client_ids: entry.client_ids.clone(),
        ..CatalogEntry::new(&entry.tenant_id, &entry.user_pool_id)
    };
    assert_eq!(parse_entry(&to_item(&minimal)).unwrap(), minimal);
}

#[test]
fn optional_attributes_may_be_absent_or_null_and_sets_are_accepted() {
    // Client roles name machine clients, URL overrides name replica regions: they go with
    // what they name.
    let groups: [&[&str]; 7] = [
        &[ROLES],
        &[PROTECTED_ATTRIBUTES],
        &[JWKS_URL],
        &[CLIENT_ROLES],
        &[REPLICA_JWKS_URLS],
        &[MACHINE_CLIENT_IDS, CLIENT_ROLES],
        &[REPLICA_REGIONS, REPLICA_JWKS_URLS],
    ];
    for names in groups {
        let (mut absent, mut null) = (good(), good());
        for name in names {
            absent.remove(*name);
            null.insert((*name).to_owned(), AttributeValue::Null(true));
        }
        parse_tenant(&absent).unwrap_or_else(|e| panic!("{names:?} absent: {e}"));
        parse_tenant(&null).unwrap_or_else(|e| panic!("{names:?} null: {e}"));
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
        (with(MACHINE_CLIENT_IDS, s("m")), MACHINE_CLIENT_IDS, "S"),
        (with(CLIENT_ROLES, l(&["m"])), CLIENT_ROLES, "L"),
        (
            with(
                CLIENT_ROLES,
                AttributeValue::M(HashMap::from([("m".to_owned(), s("sync"))])),
            ),
            "client_roles.m",
            "S",
        ),
        (with(REPLICA_REGIONS, s("eu-west-1")), REPLICA_REGIONS, "S"),
        (
            with(
                REPLICA_JWKS_URLS,
                AttributeValue::M(HashMap::from([("eu-west-1".to_owned(), l(&["u"]))])),
            ),
            "replica_jwks_urls.eu-west-1",
            "L",
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
    let mut no_clients = with(CLIENT_IDS, l(&[]));
    no_clients.remove(MACHINE_CLIENT_IDS);
    no_clients.remove(CLIENT_ROLES);
    assert_eq!(invalid(no_clients), "client_ids");
    // A tenant of machine clients only needs no user app client.
    parse_tenant(&with(CLIENT_IDS, l(&[]))).unwrap();
    assert_eq!(
        invalid(with(MACHINE_CLIENT_IDS, l(&[""]))),
        "machine_client_ids"
    );
    assert_eq!(
        invalid(with(
            CLIENT_ROLES,
            AttributeValue::M(HashMap::from([("other".into(), l(&["sync"]))]))
        )),
        "client_roles.other"
    );
    assert_eq!(
        invalid(with(REPLICA_REGIONS, l(&["us-east-1"]))),
        "replica_regions"
    );
    assert_eq!(
        invalid(with(
            REPLICA_JWKS_URLS,
            AttributeValue::M(HashMap::from([("ap-south-1".into(), s("http://a/k"))]))
        )),
        "replica_jwks_urls.ap-south-1"
    );
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
