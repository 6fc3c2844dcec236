use super::*;

const GOOD: &str = r#"
leeway_seconds = 5
revocations = true
[jwks]
cooldown_seconds = 30
[self_service_guard]
[[tenant]]
id = "acme"
user_pool_id = "us-east-1_AbCdEf123"
client_ids = ["3n4b5urk1ft4fl3mg5e62d9ado"]
jwks_url = "http://127.0.0.1:5000/us-east-1_AbCdEf123/.well-known/jwks.json"
[tenant.roles]
admin = ["admin", "Administrators"]
[[tenant]]
id = "globex"
user_pool_id = "eu-west-1_Globex"
client_ids = ["a", "b"]
"#;

fn err(text: &str) -> String {
    match AuthConfig::from_toml(text)
        .and_then(AuthConfig::into_builder)
        .and_then(CognitoAuthBuilder::build)
    {
        Ok(_) => panic!("config accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn documented_format_loads() {
    let config = AuthConfig::from_toml(GOOD).unwrap();
    assert_eq!(config.leeway_seconds, 5);
    assert_eq!(config.jwks.cooldown_seconds, Some(30));
    assert_eq!(
        config.self_service_guard.as_ref().unwrap().allowed_roles,
        ["admin"]
    );
    let auth = config.into_builder().unwrap().build().unwrap();
    assert_eq!(auth.tenants().len(), 2);
    assert!(auth.revocations().is_some());
    let without = GOOD.replace("revocations = true\n", "");
    let auth = AuthConfig::from_toml(&without)
        .and_then(AuthConfig::into_builder)
        .and_then(CognitoAuthBuilder::build)
        .unwrap();
    assert!(auth.revocations().is_none(), "off by default");
}

#[test]
fn unknown_fields_are_named() {
    let e = err("leeway = 1\n[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']");
    assert!(e.contains("leeway"), "{e}");
    let e = err("[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\nclient='x'");
    assert!(e.contains("client"), "{e}");
}

#[test]
fn bad_values_name_the_field() {
    let e = err("[[tenant]]\nid='a'\nuser_pool_id='nope'\nclient_ids=['c']");
    assert!(e.contains("tenant[0].user_pool_id"), "{e}");
    let e = err("[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=[]");
    assert!(e.contains("tenant[0].client_ids"), "{e}");
    let e = err(
        "[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\n\
             [[tenant]]\nid='b'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']",
    );
    assert!(
        e.contains("tenant[1].user_pool_id") && e.contains("duplicate issuer"),
        "{e}"
    );
    let e =
        err("[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\njwks_url='ftp://x'");
    assert!(e.contains("tenant[0].jwks_url"), "{e}");
    let e = err(
        "[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\n[tenant.roles]\nadmin=[]",
    );
    assert!(e.contains("tenant[0].roles.admin"), "{e}");
}

const TENANT: &str = "[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']\n";

#[test]
fn revocations_take_a_bool_or_a_table_with_named_errors() {
    let local = AuthConfig::from_toml(&format!("revocations = true\n{TENANT}")).unwrap();
    assert!(matches!(local.revocations, RevocationsSetting::Local(true)));
    let shared = AuthConfig::from_toml(&format!(
        "{TENANT}[revocations]\nredis_url = 'redis://u:s3cret@127.0.0.1:1/0'\n\
             key_prefix = 'p'\nmax_staleness_seconds = 5\non_store_unavailable = 'refuse'\n\
             retention_seconds = 3600\nclock_margin_seconds = 7\ntls_ca_file = 'ca.pem'\n\
             tls_client_cert_file = 'c.pem'\ntls_client_key_file = 'c.key'\ncluster = true\n"
    ))
    .unwrap();
    let RevocationsSetting::Shared(section) = &shared.revocations else {
        panic!("table not read as a shared store: {:?}", shared.revocations);
    };
    assert_eq!(
        section.on_store_unavailable,
        crate::revocation::OnStoreUnavailable::Refuse
    );
    assert_eq!(section.retention_seconds, Some(3600));
    assert_eq!(section.clock_margin_seconds, Some(7));
    assert_eq!(section.tls_ca_file.as_deref(), Some("ca.pem".as_ref()));
    assert_eq!(
        section.tls_client_key_file.as_deref(),
        Some("c.key".as_ref())
    );
    let debug = format!("{shared:?}");
    assert!(
        !debug.contains("s3cret") && debug.contains("127.0.0.1:1/0"),
        "{debug}"
    );

    let e = err(&format!(
        "{TENANT}[revocations]\nredis_url = 'redis://h'\nprefix = 'x'\n"
    ));
    assert!(e.contains("unknown field") && e.contains("prefix"), "{e}");
    let e = err(&format!(
        "{TENANT}[revocations]\nredis_url = 'redis://h'\non_store_unavailable = 'ignore'\n"
    ));
    assert!(
        e.contains("ignore") && e.contains("serve_last_known"),
        "{e}"
    );
    let e = err(&format!("{TENANT}[revocations]\nkey_prefix = 'x'\n"));
    assert!(e.contains("redis_url"), "{e}");
    let e = err(&format!("revocations = 'yes'\n{TENANT}"));
    assert!(e.contains("revocations"), "{e}");
}

#[cfg(not(feature = "redis"))]
#[test]
fn a_revocations_table_without_feature_redis_names_the_feature() {
    let e = err(&format!(
        "{TENANT}[revocations]\nredis_url = 'redis://127.0.0.1/0'\n"
    ));
    assert!(e.contains("feature `redis`"), "{e}");
}

#[cfg(feature = "redis")]
#[test]
fn bad_shared_revocation_settings_name_the_key_and_hide_the_url() {
    let e = err(&format!(
        "{TENANT}[revocations]\nredis_url = 'http://u:s3cret@h/0'\n"
    ));
    assert!(
        e.contains("revocations.redis_url") && !e.contains("s3cret"),
        "{e}"
    );
    let e = err(&format!(
        "{TENANT}[revocations]\nredis_url = 'redis://h'\nmax_staleness_seconds = 0\n"
    ));
    assert!(e.contains("revocations.max_staleness_seconds"), "{e}");
    let e = err(&format!(
        "{TENANT}[revocations]\nredis_url = 'redis://h'\nkey_prefix = ''\n"
    ));
    assert!(e.contains("revocations.key_prefix"), "{e}");
    let e = err(&format!(
        "{TENANT}[revocations]\nredis_url = 'redis://h'\nretention_seconds = 1\n"
    ));
    assert!(e.contains("revocations.retention_seconds"), "{e}");
}

#[test]
fn catalog_section_is_checked_and_names_its_feature() {
    let catalog = "[catalog]\ndynamodb_table = 'tenants'\n";
    let config = AuthConfig::from_toml(catalog).unwrap();
    assert_eq!(config.catalog.as_ref().unwrap().dynamodb_table, "tenants");
    #[cfg(not(feature = "dynamodb"))]
    {
        let e = err(catalog);
        assert!(e.contains("catalog") && e.contains("`dynamodb`"), "{e}");
    }
    #[cfg(feature = "dynamodb")]
    {
        // No [[tenant]] needed: the catalog is the resolver.
        let auth = config.into_builder().unwrap().build().unwrap();
        assert!(auth.tenants().is_empty());
        let e = err("[catalog]\ndynamodb_table = 'a b'\n");
        assert!(e.contains("catalog.dynamodb_table"), "{e}");
        let e = err("[catalog]\ndynamodb_table = 'ab'\n");
        assert!(e.contains("catalog.dynamodb_table"), "{e}");
    }
    let e = err("[catalog]\ndynamodb_table = 'tenants'\ntable = 'x'\n");
    assert!(e.contains("table"), "{e}");
    let e = err("[catalog]\n");
    assert!(e.contains("dynamodb_table"), "{e}");
}

#[cfg(feature = "dynamodb")]
#[test]
fn catalog_keys_are_read_and_checked() {
    let text = "[catalog]\ndynamodb_table = 'tenants'\nrefresh_seconds = 5\n\
                resolver_ttl_seconds = 60\nallowed_jwks_hosts = ['127.0.0.1:5000', 'Keys.Example:443']\n";
    let config = AuthConfig::from_toml(text).unwrap();
    let section = config.catalog.as_ref().unwrap();
    assert_eq!(section.refresh_seconds, Some(5));
    assert_eq!(section.resolver_ttl_seconds, Some(60));
    assert_eq!(
        section.allowed_jwks_hosts,
        ["127.0.0.1:5000", "Keys.Example:443"]
    );
    let catalog = format!("{:?}", config.catalog("tenants"));
    assert!(
        catalog.contains("refresh_interval: 5s") && catalog.contains("\"keys.example:443\""),
        "{catalog}"
    );
    config.into_builder().unwrap().build().unwrap();

    for (keys, field) in [
        ("refresh_seconds = 0", "catalog.refresh_seconds"),
        ("resolver_ttl_seconds = 0", "catalog.resolver_ttl_seconds"),
        (
            "resolver_ttl_seconds = 86401",
            "catalog.resolver_ttl_seconds",
        ),
        (
            "allowed_jwks_hosts = ['127.0.0.1']",
            "catalog.allowed_jwks_hosts",
        ),
        (
            "allowed_jwks_hosts = ['http://127.0.0.1:5000']",
            "catalog.allowed_jwks_hosts",
        ),
        (
            "allowed_jwks_hosts = ['127.0.0.1:5000/x']",
            "catalog.allowed_jwks_hosts",
        ),
        (
            "allowed_jwks_hosts = ['*:443']",
            "catalog.allowed_jwks_hosts",
        ),
    ] {
        let e = err(&format!("[catalog]\ndynamodb_table = 'tenants'\n{keys}\n"));
        assert!(e.contains(field), "{keys}: {e}");
    }
}

/// The configured tenants' ids and pools (two in GOOD) are reserved in the catalog the file
/// builds.
#[cfg(feature = "dynamodb")]
#[test]
fn the_catalog_reserves_configured_tenants() {
    let config =
        AuthConfig::from_toml(&format!("{GOOD}[catalog]\ndynamodb_table = 'tenants'\n")).unwrap();
    let catalog = format!("{:?}", config.catalog("tenants"));
    assert!(
        catalog.contains("reserved_tenant_ids: 2") && catalog.contains("reserved_user_pool_ids: 2"),
        "{catalog}"
    );
}

#[test]
fn metrics_section_switches_the_tenant_label() {
    let config = AuthConfig::from_toml(GOOD).unwrap();
    assert!(config.metrics.tenant_label, "on by default");
    let off = AuthConfig::from_toml(&format!("{GOOD}[metrics]\ntenant_label = false\n")).unwrap();
    assert!(!off.metrics.tenant_label);
    let e = err(&format!("{GOOD}[metrics]\ntenant = false\n"));
    assert!(e.contains("unknown field `tenant`"), "{e}");
}

#[test]
fn replica_regions_and_their_key_urls_load() {
    let config = AuthConfig::from_toml(&format!(
            "{TENANT}replica_regions = ['eu-west-1', 'ap-south-1']\n[tenant.replica_jwks_urls]\n'ap-south-1' = 'http://127.0.0.1:9/keys'\n"
        ))
        .unwrap();
    let auth = config.into_builder().unwrap().build().unwrap();
    let tenant = auth.tenants().get_by_id("a").unwrap();
    assert_eq!(tenant.replica_regions(), ["eu-west-1", "ap-south-1"]);
    assert_eq!(tenant.replica_jwks_urls()[1], "http://127.0.0.1:9/keys");
    let replica_iss = "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_a";
    assert!(auth.tenants().get_by_issuer(replica_iss).is_some());
    let e = err(&format!("{TENANT}replica_regions = ['us-east-1']\n"));
    assert!(e.contains("tenant[0].replica_regions"), "{e}");
    let e = err(&format!(
        "{TENANT}[tenant.replica_jwks_urls]\n'eu-west-1' = 'http://127.0.0.1:9/k'\n"
    ));
    assert!(e.contains("tenant[0].replica_jwks_urls.eu-west-1"), "{e}");
}

#[test]
fn machine_clients_and_their_roles_load() {
    let config = AuthConfig::from_toml(&format!(
            "{TENANT}machine_client_ids = ['m1', 'm2']\n[tenant.client_roles]\nm1 = ['sync', 'admin', 'sync']\n"
        ))
        .unwrap();
    let auth = config.into_builder().unwrap().build().unwrap();
    let tenant = auth.tenants().get_by_id("a").unwrap();
    assert_eq!(tenant.machine_client_ids(), ["m1", "m2"]);
    let roles: Vec<&str> = tenant.client_roles("m1").iter().map(|r| &**r).collect();
    assert_eq!(roles, ["admin", "sync"]);
    assert!(tenant.client_roles("m2").is_empty() && tenant.client_roles("c").is_empty());
}

#[test]
fn bad_machine_client_settings_name_the_field() {
    let e = err(&format!("{TENANT}machine_client_ids = ['']\n"));
    assert!(e.contains("tenant[0].machine_client_ids"), "{e}");
    let e = err(&format!("{TENANT}machine_client_ids = 'm'\n"));
    assert!(e.contains("machine_client_ids"), "{e}");
    let e = err(&format!(
        "{TENANT}machine_client_ids = ['m']\n[tenant.client_roles]\nm = []\n"
    ));
    assert!(
        e.contains("tenant[0].client_roles.m") && e.contains("at least one role"),
        "{e}"
    );
    let e = err(&format!(
        "{TENANT}machine_client_ids = ['m']\n[tenant.client_roles]\nm = ['']\n"
    ));
    assert!(e.contains("tenant[0].client_roles.m"), "{e}");
    // Roles for a client that is not a machine client (a typo, or a user client).
    let e = err(&format!(
        "{TENANT}machine_client_ids = ['m']\n[tenant.client_roles]\nc = ['admin']\n"
    ));
    assert!(
        e.contains("tenant[0].client_roles.c") && e.contains("machine_client_ids"),
        "{e}"
    );
    // TOML type errors point at the line of the key.
    let e = err(&format!("{TENANT}[tenant.client_roles]\nm = 'admin'\n"));
    assert!(
        e.contains("m = 'admin'") && e.contains("expected a sequence"),
        "{e}"
    );
}

#[test]
fn no_tenant_is_an_error() {
    let e = err("leeway_seconds = 1");
    assert!(e.contains("tenant"), "{e}");
}
