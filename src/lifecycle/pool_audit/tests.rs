//! The audit rules on constructed SDK values: one good pool, then one break per check.

use aws_sdk_cognitoidentityprovider::types::{
    PreTokenGenerationVersionConfigType, TokenValidityUnitsType,
};

use super::*;

const POOL: &str = "us-east-1_Pool1";
const CLIENT: &str = "client1";

fn policy() -> AuditPolicy {
    AuditPolicy {
        protected_attributes: vec!["custom:plan".into()],
        mfa_required_attribute: "custom:mfa_required".into(),
        client_ids: vec![CLIENT.into()],
        machine_client_ids: vec!["machine1".into()],
        admin_groups: vec!["admin".into(), "Administrators".into()],
        scope_guard_expected: true,
        me_password_enabled: true,
        enrollment_window_attribute: None,
        enrollment_client: None,
    }
}

fn pre_token(version: PreTokenGenerationLambdaVersionType) -> PreTokenGenerationVersionConfigType {
    PreTokenGenerationVersionConfigType::builder()
        .lambda_version(version)
        .lambda_arn("arn:aws:lambda:us-east-1:1:function:pre")
        .build()
        .unwrap()
}

fn good_lambda() -> LambdaConfigType {
    LambdaConfigType::builder()
        .pre_token_generation_config(pre_token(PreTokenGenerationLambdaVersionType::V20))
        .post_authentication("arn:aws:lambda:us-east-1:1:function:post")
        .build()
}

fn schema(names: &[&str]) -> Vec<SchemaAttributeType> {
    names
        .iter()
        .map(|n| SchemaAttributeType::builder().name(*n).build())
        .collect()
}

fn good_pool() -> UserPoolType {
    UserPoolType::builder()
        .id(POOL)
        .set_schema_attributes(Some(schema(&["sub", "email", "custom:mfa_required"])))
        .lambda_config(good_lambda())
        .build()
}

fn good_client() -> UserPoolClientType {
    UserPoolClientType::builder()
        .client_id(CLIENT)
        .set_write_attributes(Some(vec!["name".into(), "locale".into()]))
        .enable_token_revocation(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .access_token_validity(60)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Minutes)
                .build(),
        )
        .build()
}

/// A client-credentials app client, configured as a machine client.
fn machine_client() -> UserPoolClientType {
    let mut client = good_client();
    client.client_id = Some("machine1".into());
    client
}

fn good() -> PoolSnapshot {
    PoolSnapshot::new(
        good_pool(),
        vec![good_client(), machine_client()],
        vec!["Administrators".into()],
    )
}

/// The (check, severity, subject) of each finding.
fn found(policy: &AuditPolicy, snapshot: &PoolSnapshot) -> Vec<(&'static str, Severity, String)> {
    check_pool(policy, snapshot)
        .into_iter()
        .map(|f| (f.check.id(), f.severity, f.subject))
        .collect()
}

fn one(
    check: &'static str,
    severity: Severity,
    subject: &str,
) -> Vec<(&'static str, Severity, String)> {
    vec![(check, severity, subject.to_owned())]
}

#[test]
fn a_correct_pool_has_no_finding() {
    assert_eq!(found(&policy(), &good()), []);
}

#[test]
fn a_client_that_may_write_a_protected_or_the_drift_attribute_is_high() {
    for attribute in ["custom:plan", "custom:mfa_required", "CUSTOM:MFA_REQUIRED"] {
        let mut snapshot = good();
        snapshot.clients[0].write_attributes = Some(vec!["name".into(), attribute.into()]);
        assert_eq!(
            found(&policy(), &snapshot),
            one("client-writes-protected-attribute", Severity::High, CLIENT),
            "{attribute}"
        );
    }
}

#[test]
fn a_client_without_a_write_list_is_medium_and_high_if_a_standard_attribute_is_protected() {
    for writes in [None, Some(vec![])] {
        let mut snapshot = good();
        snapshot.clients[0].write_attributes = writes;
        assert_eq!(
            found(&policy(), &snapshot),
            one("client-write-attributes-default", Severity::Medium, CLIENT)
        );
        let mut strict = policy();
        strict.protected_attributes.push("email".into());
        let findings = found(&strict, &snapshot);
        assert_eq!(
            findings[0],
            (
                "client-writes-protected-attribute",
                Severity::High,
                CLIENT.into()
            )
        );
        assert_eq!(findings.len(), 2);
    }
}

#[test]
fn a_configured_client_missing_from_the_pool_is_high() {
    let mut policy = policy();
    policy.client_ids.push("gone".into());
    assert_eq!(
        found(&policy, &good()),
        one("unknown-client", Severity::High, "gone")
    );
}

#[test]
fn a_machine_client_missing_from_the_pool_is_high() {
    let mut snapshot = good();
    snapshot
        .clients
        .retain(|c| c.client_id() != Some("machine1"));
    assert_eq!(
        found(&policy(), &snapshot),
        one("machine-client-unknown", Severity::High, "machine1")
    );
    // A machine id that names an app client of another pool is just as unknown here.
    let mut policy = policy();
    policy.machine_client_ids = vec!["machine1".into(), "other-pool-client".into()];
    assert_eq!(
        found(&policy, &good()),
        one(
            "machine-client-unknown",
            Severity::High,
            "other-pool-client"
        )
    );
}

#[test]
fn a_catalog_entry_gives_the_policy_a_file_tenant_would() {
    let config =
        AuthConfig::from_toml("[triggers]\nmfa_required_attribute = 'custom:must'\n").unwrap();
    let mut entry = TenantEntry::new("newco", POOL);
    entry.client_ids = vec![CLIENT.into()];
    entry.machine_client_ids = vec!["m1".into()];
    entry.protected_attributes = vec!["custom:plan".into()];
    let policy = AuditPolicy::for_entry(&config, &entry, true);
    assert_eq!(policy.client_ids, [CLIENT]);
    assert_eq!(policy.machine_client_ids, ["m1"]);
    assert_eq!(policy.protected_attributes, ["custom:plan"]);
    assert_eq!(policy.mfa_required_attribute, "custom:must");
    assert_eq!(
        policy.admin_groups,
        ["admin"],
        "no mapping: the group named admin"
    );
    entry.roles = [("admin".to_owned(), vec!["Owners".to_owned()])].into();
    assert_eq!(
        AuditPolicy::for_entry(&config, &entry, true).admin_groups,
        ["Owners"]
    );
}

#[test]
fn a_users_client_without_the_admin_password_flow_is_medium_when_me_password_is_enabled() {
    let without = |flows: Option<Vec<ExplicitAuthFlowsType>>| {
        let mut snapshot = good();
        snapshot.clients[0].explicit_auth_flows = flows;
        snapshot
    };
    // Cognito's defaults (no list), and an operator's list without the flow.
    for flows in [
        None,
        Some(vec![
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowUserPasswordAuth,
        ]),
    ] {
        let snapshot = without(flows.clone());
        assert_eq!(
            found(&policy(), &snapshot),
            one("admin-password-auth-missing", Severity::Medium, CLIENT),
            "{flows:?}"
        );
        // /me/password not served: the client is fine as it is.
        assert_eq!(
            found(&policy().me_password(false), &snapshot),
            [],
            "{flows:?}"
        );
    }
    // The legacy name of the same flow is still honoured by Cognito.
    let legacy = without(Some(vec![ExplicitAuthFlowsType::AdminNoSrpAuth]));
    assert_eq!(found(&policy(), &legacy), []);
    // A machine client never calls /me/password (403 not_a_user), nor does a client the
    // configuration does not name.
    let mut snapshot = good();
    snapshot.clients[1].explicit_auth_flows = None;
    let mut other = good_client();
    other.client_id = Some("hosted-ui".into());
    other.explicit_auth_flows = None;
    snapshot.clients.push(other);
    assert_eq!(found(&policy(), &snapshot), []);
    let mut both = policy();
    both.client_ids.push("machine1".into());
    assert_eq!(found(&both, &snapshot), []);
}

#[test]
fn me_password_is_off_unless_the_caller_turns_it_on() {
    let config = AuthConfig::from_toml("").unwrap();
    let entry = TenantEntry::new("newco", POOL);
    assert!(!AuditPolicy::for_entry(&config, &entry, true).me_password_enabled);
    assert!(
        AuditPolicy::for_entry(&config, &entry, true)
            .me_password(true)
            .me_password_enabled
    );
}

#[test]
fn a_missing_pre_token_trigger_is_high_only_when_the_config_relies_on_it() {
    let mut snapshot = good();
    snapshot.pool.lambda_config = Some(
        LambdaConfigType::builder()
            .post_authentication("arn:aws:lambda:us-east-1:1:function:post")
            .build(),
    );
    assert_eq!(
        found(&policy(), &snapshot),
        one("pre-token-trigger-missing", Severity::High, POOL)
    );
    let mut relaxed = policy();
    relaxed.scope_guard_expected = false;
    assert_eq!(
        found(&relaxed, &snapshot),
        one("pre-token-trigger-missing", Severity::Medium, POOL)
    );
}

#[test]
fn a_version_1_pre_token_trigger_is_high() {
    let legacy = LambdaConfigType::builder()
        .pre_token_generation("arn:aws:lambda:us-east-1:1:function:pre")
        .post_authentication("arn:aws:lambda:us-east-1:1:function:post")
        .build();
    let mut versioned_v1 = good_lambda();
    versioned_v1.pre_token_generation_config =
        Some(pre_token(PreTokenGenerationLambdaVersionType::V10));
    for lambda in [legacy, versioned_v1] {
        let mut snapshot = good();
        snapshot.pool.lambda_config = Some(lambda);
        assert_eq!(
            found(&policy(), &snapshot),
            one("pre-token-trigger-v1", Severity::High, POOL)
        );
    }
    let mut v3 = good();
    v3.pool
        .lambda_config
        .as_mut()
        .unwrap()
        .pre_token_generation_config = Some(pre_token(PreTokenGenerationLambdaVersionType::V30));
    assert_eq!(found(&policy(), &v3), []);
}

#[test]
fn a_missing_post_authentication_trigger_is_medium_when_the_attribute_exists() {
    let mut snapshot = good();
    snapshot
        .pool
        .lambda_config
        .as_mut()
        .unwrap()
        .post_authentication = None;
    assert_eq!(
        found(&policy(), &snapshot),
        one("post-auth-trigger-missing", Severity::Medium, POOL)
    );
    snapshot.pool.schema_attributes = Some(schema(&["sub"]));
    assert_eq!(
        found(&policy(), &snapshot),
        vec![
            (
                "mfa-required-attribute-missing",
                Severity::Medium,
                POOL.into()
            ),
            ("post-auth-trigger-missing", Severity::Low, POOL.into()),
        ]
    );
}

#[test]
fn no_group_mapped_to_admin_is_medium() {
    let mut snapshot = good();
    snapshot.groups = vec!["admins".into(), "members".into()];
    assert_eq!(
        found(&policy(), &snapshot),
        one("admin-group-missing", Severity::Medium, POOL)
    );
}

#[test]
fn a_missing_drift_attribute_is_medium() {
    let mut snapshot = good();
    snapshot.pool.schema_attributes = Some(schema(&["sub", "custom:mfa"]));
    let findings = found(&policy(), &snapshot);
    assert!(
        findings.contains(&(
            "mfa-required-attribute-missing",
            Severity::Medium,
            POOL.into()
        )),
        "{findings:?}"
    );
}

#[test]
fn token_revocation_off_is_medium() {
    let mut snapshot = good();
    snapshot.clients[0].enable_token_revocation = Some(false);
    assert_eq!(
        found(&policy(), &snapshot),
        one("token-revocation-disabled", Severity::Medium, CLIENT)
    );
}

#[test]
fn access_tokens_over_an_hour_are_low() {
    let mut snapshot = good();
    snapshot.clients[0].access_token_validity = Some(61);
    assert_eq!(
        found(&policy(), &snapshot),
        one("access-token-validity-long", Severity::Low, CLIENT)
    );
    // No unit means hours.
    snapshot.clients[0].token_validity_units = None;
    snapshot.clients[0].access_token_validity = Some(2);
    assert_eq!(access_token_validity_seconds(&snapshot.clients[0]), 7200);
    snapshot.clients[0].access_token_validity = None;
    assert_eq!(access_token_validity_seconds(&snapshot.clients[0]), 3600);
    assert_eq!(found(&policy(), &snapshot), []);
}

#[test]
fn findings_are_sorted_and_serialize_to_the_contract() {
    let mut snapshot = good();
    snapshot.clients[0].access_token_validity = Some(600);
    snapshot.clients[0].write_attributes = Some(vec!["custom:plan".into()]);
    snapshot.groups.clear();
    let report = AuditReport {
        tenants: vec![TenantReport::new(
            "acme",
            POOL,
            check_pool(&policy(), &snapshot),
        )],
    };
    assert!(report.has_high());
    let json = serde_json::to_value(&report).unwrap();
    let findings = json["tenants"][0]["findings"].as_array().unwrap();
    let severities: Vec<&str> = findings
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["high", "medium", "low"]);
    assert_eq!(json["tenants"][0]["id"], "acme");
    assert_eq!(json["tenants"][0]["user_pool_id"], POOL);
    assert_eq!(findings[0]["check"], "client-writes-protected-attribute");
    assert_eq!(findings[0]["subject"], CLIENT);
    // Sorted: serde_json keeps insertion order when another crate turns on `preserve_order`.
    let mut keys: Vec<&String> = findings[0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["check", "message", "severity", "subject"]);
}

/// The enrollment settings on, with a server-only enrollment client in the pool.
fn enrolling() -> (AuditPolicy, PoolSnapshot) {
    let mut policy = policy();
    policy.enrollment_window_attribute = Some("custom:mfa_enroll_until".into());
    policy.enrollment_client = Some("enroll1".into());
    let enroll = UserPoolClientType::builder()
        .client_id("enroll1")
        .client_secret("s3cret")
        .set_write_attributes(Some(vec!["name".into()]))
        .enable_token_revocation(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .access_token_validity(5)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Minutes)
                .build(),
        )
        .build();
    let mut snapshot = good();
    snapshot.clients.push(enroll);
    (policy, snapshot)
}

#[test]
fn the_enrollment_window_attribute_is_admin_only() {
    let (policy, snapshot) = enrolling();
    assert_eq!(found(&policy, &snapshot), []);
    for attribute in ["custom:mfa_enroll_until", "Custom:MFA_Enroll_Until"] {
        let mut writable = snapshot.clone();
        writable.clients[0].write_attributes = Some(vec!["name".into(), attribute.into()]);
        assert_eq!(
            found(&policy, &writable),
            one("client-writes-protected-attribute", Severity::High, CLIENT),
            "{attribute}"
        );
    }
}

#[test]
fn an_enrollment_client_users_could_sign_in_to_is_high() {
    let (policy, snapshot) = enrolling();
    let broken = |change: &dyn Fn(&mut UserPoolClientType)| {
        let mut snapshot = snapshot.clone();
        change(&mut snapshot.clients[2]);
        found(&policy, &snapshot)
    };
    let unsafe_client = one("enrollment-client-unsafe", Severity::High, "enroll1");
    assert_eq!(
        broken(&|c| c.explicit_auth_flows = Some(vec![
            ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
            ExplicitAuthFlowsType::AllowUserSrpAuth,
        ])),
        unsafe_client
    );
    assert_eq!(
        broken(
            &|c| c.explicit_auth_flows = Some(vec![ExplicitAuthFlowsType::AllowUserPasswordAuth])
        ),
        unsafe_client
    );
    assert_eq!(broken(&|c| c.explicit_auth_flows = None), unsafe_client);
    assert_eq!(broken(&|c| c.client_secret = None), unsafe_client);
    assert_eq!(
        broken(&|c| c.allowed_o_auth_flows_user_pool_client = Some(true)),
        unsafe_client
    );
    assert_eq!(
        broken(&|c| c.client_id = Some("other".into())),
        unsafe_client,
        "configured but not in the pool"
    );
}
