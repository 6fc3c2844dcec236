use std::sync::Arc;

use super::*;

fn acme() -> TenantBuilder {
    Tenant::builder("acme", "us-east-1_AbCdEf123").client_id("client-a")
}

#[test]
fn pool_id_gives_region_and_both_issuer_forms() {
    let t = acme().build().unwrap();
    assert_eq!(t.region(), "us-east-1");
    assert_eq!(
        t.issuers(),
        &[
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123".to_string(),
            "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123".to_string()
        ]
    );
    assert_eq!(
        t.jwks_url(),
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123/.well-known/jwks.json"
    );
}

#[test]
fn bad_pool_ids_are_refused_naming_the_field() {
    for bad in [
        "",
        "acme",
        "us-east-1",
        "us-east-1_",
        "USEAST1_abc",
        "us-east-1_ab/c",
    ] {
        let err = Tenant::builder("acme", bad)
            .client_id("c")
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("tenant.user_pool_id"),
            "{bad}: {err}"
        );
    }
    assert!(parse_user_pool_id("us-gov-west-1_abc").is_some());
}

#[test]
fn empty_client_list_is_refused() {
    let err = Tenant::builder("acme", "us-east-1_abc")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("tenant.client_ids"), "{err}");
}

#[test]
fn without_mapping_groups_are_roles() {
    let t = acme().build().unwrap();
    let roles = t.roles_for_groups(&["b", "a", "a"]);
    assert_eq!(roles, vec![Arc::from("a"), Arc::from("b")]);
}

#[test]
fn mapping_is_many_groups_to_role_and_case_sensitive() {
    let t = acme()
        .role("admin", ["admin", "Administrators"])
        .role("support", ["helpdesk"])
        .build()
        .unwrap();
    assert_eq!(
        t.roles_for_groups(&["Administrators"]),
        vec![Arc::from("admin")]
    );
    assert!(t.roles_for_groups(&["Admin"]).is_empty());
    assert!(t.roles_for_groups(&["unmapped"]).is_empty());
}

#[test]
fn issuer_parse_is_exact() {
    let ok = Issuer::parse("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc").unwrap();
    assert_eq!(ok.user_pool_id, "us-east-1_abc");
    assert!(
        Issuer::parse("https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x").is_some()
    );
    for bad in [
        "http://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/",
        "https://cognito-idp.us-east-1.amazonaws.com.evil.com/us-east-1_abc",
        "https://issuer-cognito-idp.eu-west-1.amazonaws.com/us-east-1_abc",
        "https://cognito-idp.EU-west-1.amazonaws.com/us-east-1_abc",
        "https://cognito-idp.evil.amazonaws.com/us-east-1_abc",
        "https://evil.example/us-east-1_abc",
    ] {
        assert!(Issuer::parse(bad).is_none(), "{bad}");
    }
    // A replica region signs with the original form naming its own region.
    let replica =
        Issuer::parse("https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_abc").unwrap();
    assert_eq!(
        (replica.region, replica.user_pool_id),
        ("eu-west-1", "us-east-1_abc")
    );
}

#[test]
fn replica_regions_add_their_issuers_and_key_endpoints_only() {
    let t = acme()
        .replica_regions(["eu-west-1", "ap-south-1"])
        .build()
        .unwrap();
    assert_eq!(
        t.issuers(),
        [
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
            "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
            "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_AbCdEf123",
            "https://cognito-idp.ap-south-1.amazonaws.com/us-east-1_AbCdEf123",
        ]
    );
    assert_eq!(
        t.replica_jwks_urls(),
        [
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/us-east-1_AbCdEf123/.well-known/jwks.json",
            "https://issuer-cognito-idp.ap-south-1.amazonaws.com/us-east-1_AbCdEf123/.well-known/jwks.json",
        ]
    );
    let reg = TenantRegistry::from_tenants([t]).unwrap();
    let pool = "us-east-1_AbCdEf123";
    for region in ["eu-west-1", "ap-south-1"] {
        let iss = format!("https://cognito-idp.{region}.amazonaws.com/{pool}");
        assert_eq!(reg.get_by_issuer(&iss).unwrap().id(), "acme");
    }
    // Not a configured replica; and the updated form never names a replica region.
    for iss in [
        format!("https://cognito-idp.eu-central-1.amazonaws.com/{pool}"),
        format!("https://issuer-cognito-idp.eu-west-1.amazonaws.com/{pool}"),
    ] {
        assert!(reg.get_by_issuer(&iss).is_none(), "{iss}");
    }
    let plain = acme().build().unwrap();
    assert_eq!(plain.issuers().len(), 2);
    assert!(plain.replica_jwks_urls().is_empty());
}

#[test]
fn replica_jwks_url_overrides_one_region() {
    let t = acme()
        .replica_regions(["eu-west-1", "ap-south-1"])
        .replica_jwks_url("ap-south-1", "http://127.0.0.1:9/keys")
        .build()
        .unwrap();
    assert!(t.replica_jwks_urls()[0].starts_with("https://issuer-cognito-idp.eu-west-1."));
    assert_eq!(t.replica_jwks_urls()[1], "http://127.0.0.1:9/keys");
}

#[test]
fn bad_replica_settings_are_refused_by_name() {
    let err = |b: TenantBuilder| b.build().unwrap_err().to_string();
    let e = err(acme().replica_regions(["us-east-1"]));
    assert!(
        e.contains("tenant.replica_regions") && e.contains("primary"),
        "{e}"
    );
    let e = err(acme().replica_regions(["eu-west-1", "eu-west-1"]));
    assert!(e.contains("listed twice"), "{e}");
    let e = err(acme().replica_regions(["Europe"]));
    assert!(e.contains("not an AWS region"), "{e}");
    let e = err(acme().replica_jwks_url("eu-west-1", "http://127.0.0.1:9/k"));
    assert!(e.contains("tenant.replica_jwks_urls.eu-west-1"), "{e}");
    let e = err(acme()
        .replica_regions(["eu-west-1"])
        .replica_jwks_url("eu-west-1", "ftp://x"));
    assert!(e.contains("not an http(s) URL"), "{e}");
    let e = err(acme()
        .replica_regions(["eu-west-1"])
        .replica_jwks_url("eu-west-1", "http://a/k")
        .replica_jwks_url("eu-west-1", "http://b/k"));
    assert!(e.contains("given twice"), "{e}");
}

#[test]
fn registry_refuses_duplicate_pool_and_id() {
    let err = TenantRegistry::from_tenants([
        acme().build().unwrap(),
        Tenant::builder("other", "us-east-1_AbCdEf123")
            .client_id("x")
            .build()
            .unwrap(),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("tenant[1].user_pool_id"), "{err}");
    let err = TenantRegistry::from_tenants([
        acme().build().unwrap(),
        Tenant::builder("acme", "us-east-1_Other")
            .client_id("x")
            .build()
            .unwrap(),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("tenant[1].id"), "{err}");
}

#[test]
fn registry_matches_both_issuers_exactly() {
    let reg = TenantRegistry::from_tenants([acme().build().unwrap()]).unwrap();
    assert!(
        reg.get_by_issuer("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123")
            .is_some()
    );
    assert!(
        reg.get_by_issuer("https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123")
            .is_some()
    );
    assert!(
        reg.get_by_issuer("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abcdef123")
            .is_none()
    );
}
