//! Blueprint and plan rules on constructed values.

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, OAuthFlowType, SchemaAttributeType, TokenValidityUnitsType,
    UserPoolMfaType, UserPoolType,
};

use super::*;

const CONFIG: &str = r#"
[self_service_guard]
allowed_roles = ["admin", "owner"]
[admin]
self_service_attributes = ["name", "locale", "email_verified", "custom:team", "custom:plan", "Custom:Tier"]
[triggers]
mfa_required_attribute = "custom:must_mfa"
"#;

fn blueprint() -> Blueprint {
    let config = AuthConfig::from_toml(CONFIG).unwrap();
    let mut request = ProvisionRequest::new("acme", "eu-west-1");
    request.protected_attributes = vec!["custom:plan".into(), "locale".into()];
    request.pre_token_lambda = Some("arn:aws:lambda:eu-west-1:1:function:pre".into());
    request.post_auth_lambda = Some("arn:aws:lambda:eu-west-1:1:function:post".into());
    request.admin = Some(AdminUser {
        username: "alice".into(),
        email: "alice@example.com".into(),
    });
    Blueprint::new(&config, request).unwrap()
}

#[test]
fn the_write_list_never_holds_a_protected_or_custom_attribute() {
    let b = blueprint();
    assert_eq!(b.write_attributes, ["name"]);
    assert_eq!(b.mfa_required_attribute, "custom:must_mfa");
    assert_eq!(
        b.protected_attributes,
        ["custom:must_mfa", "custom:plan", "locale"]
    );
    assert_eq!(b.custom_attributes, ["custom:must_mfa", "custom:plan"]);
    assert_eq!(b.name, "cognito-authz-acme");
}

#[test]
fn roles_are_admin_and_the_roles_that_keep_the_scope() {
    let b = blueprint();
    let roles: Vec<(&str, Vec<&str>)> = b
        .roles
        .iter()
        .map(|(r, g)| (r.as_str(), g.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(roles, [("admin", vec!["admin"]), ("owner", vec!["owner"])]);
    assert_eq!(b.admin_group(), "admin");
}

#[test]
fn bad_requests_are_refused() {
    let config = AuthConfig::from_toml("").unwrap();
    let refuse =
        |request: ProvisionRequest| Blueprint::new(&config, request).unwrap_err().to_string();
    assert!(refuse(ProvisionRequest::new("a b", "us-east-1")).contains("invalid tenant id"));
    assert!(refuse(ProvisionRequest::new("acme", "mars")).contains("not an AWS region"));
    let mut arn = ProvisionRequest::new("acme", "us-east-1");
    arn.pre_token_lambda = Some("pre".into());
    assert!(refuse(arn).contains("not a Lambda function ARN"));
    let blank = AuthConfig::from_toml("[triggers]\nmfa_required_attribute = ' '").unwrap();
    let err = Blueprint::new(&blank, ProvisionRequest::new("acme", "us-east-1")).unwrap_err();
    assert!(
        err.to_string().contains("triggers.mfa_required_attribute"),
        "{err}"
    );
}

fn done_steps(plan: &Plan) -> Vec<PlanStep> {
    plan.items
        .iter()
        .filter_map(|i| match i {
            PlanItem::Do(step) => Some(step.clone()),
            PlanItem::Keep(_) => None,
        })
        .collect()
}

#[test]
fn without_a_pool_everything_is_made_in_order() {
    let plan = Plan::new(&blueprint(), &PoolState::default());
    assert_eq!(
        done_steps(&plan),
        [
            PlanStep::CreatePool,
            PlanStep::EnableTotpMfa,
            PlanStep::CreateGroup("admin".into()),
            PlanStep::CreateGroup("owner".into()),
            PlanStep::CreateClient,
            PlanStep::CreateAdminUser,
            PlanStep::AddAdminToGroup,
        ]
    );
}

/// The pool exactly as the blueprint wants it.
fn complete(b: &Blueprint) -> ExistingPool {
    let schema = b
        .custom_attributes
        .iter()
        .map(|a| SchemaAttributeType::builder().name(a).build())
        .collect();
    ExistingPool {
        pool: UserPoolType::builder()
            .id("eu-west-1_Acme1")
            .set_schema_attributes(Some(schema))
            .set_lambda_config(b.lambda_config(None))
            .build(),
        mfa: Some(UserPoolMfaType::Optional),
        totp_enabled: true,
        groups: ["admin".to_owned(), "owner".to_owned()].into(),
        client: Some(
            UserPoolClientType::builder()
                .client_id("c1")
                .set_write_attributes(Some(b.write_attributes.clone()))
                .enable_token_revocation(true)
                .set_explicit_auth_flows(Some(AUTH_FLOWS.to_vec()))
                .access_token_validity(1)
                .token_validity_units(TokenValidityUnitsType::builder().build())
                .build(),
        ),
        enrollment_client: None,
        admin: AdminState::Exists { in_group: true },
    }
}

#[test]
fn a_complete_pool_needs_nothing() {
    let b = blueprint();
    let plan = Plan::new(
        &b,
        &PoolState {
            pool: Some(complete(&b)),
        },
    );
    assert!(plan.is_empty(), "{:?}", plan.lines(&b));
    assert!(plan.lines(&b)[0].starts_with("ok: user pool cognito-authz-acme exists"));
}

/// Makes one part of a complete pool wrong.
type Break = fn(&mut ExistingPool);

#[test]
fn each_missing_part_is_the_only_step() {
    let b = blueprint();
    let cases: Vec<(Break, Vec<PlanStep>)> = vec![
        (
            |p| p.pool.schema_attributes = None,
            vec![PlanStep::AddCustomAttributes(vec![
                "custom:must_mfa".into(),
                "custom:plan".into(),
            ])],
        ),
        // Triggers go through UpdateUserPool, which can reset MFA: MFA is set again after.
        (
            |p| p.pool.lambda_config = None,
            vec![PlanStep::SetTriggers, PlanStep::EnableTotpMfa],
        ),
        (
            |p| {
                let lambda = p.pool.lambda_config.as_mut().unwrap();
                lambda
                    .pre_token_generation_config
                    .as_mut()
                    .unwrap()
                    .lambda_version = PreTokenGenerationLambdaVersionType::V10;
            },
            vec![PlanStep::SetTriggers, PlanStep::EnableTotpMfa],
        ),
        (|p| p.totp_enabled = false, vec![PlanStep::EnableTotpMfa]),
        (
            |p| p.mfa = Some(UserPoolMfaType::Off),
            vec![PlanStep::EnableTotpMfa],
        ),
        (
            |p| {
                p.groups.remove("owner");
            },
            vec![PlanStep::CreateGroup("owner".into())],
        ),
        (|p| p.client = None, vec![PlanStep::CreateClient]),
        (
            |p| {
                let client = p.client.as_mut().unwrap();
                client
                    .write_attributes
                    .as_mut()
                    .unwrap()
                    .push("custom:plan".into());
            },
            vec![PlanStep::UpdateClient],
        ),
        (
            |p| p.client.as_mut().unwrap().write_attributes = None,
            vec![PlanStep::UpdateClient],
        ),
        (
            |p| p.client.as_mut().unwrap().enable_token_revocation = Some(false),
            vec![PlanStep::UpdateClient],
        ),
        (
            |p| p.client.as_mut().unwrap().access_token_validity = Some(2),
            vec![PlanStep::UpdateClient],
        ),
        (
            |p| p.admin = AdminState::Missing,
            vec![PlanStep::CreateAdminUser, PlanStep::AddAdminToGroup],
        ),
        (
            |p| p.admin = AdminState::Exists { in_group: false },
            vec![PlanStep::AddAdminToGroup],
        ),
    ];
    for (i, (break_it, expected)) in cases.into_iter().enumerate() {
        let mut pool = complete(&b);
        break_it(&mut pool);
        let plan = Plan::new(&b, &PoolState { pool: Some(pool) });
        assert_eq!(done_steps(&plan), expected, "case {i}");
    }
}

#[test]
fn triggers_merge_over_the_existing_ones() {
    let b = blueprint();
    let current = LambdaConfigType::builder()
        .pre_sign_up("arn:aws:lambda:eu-west-1:1:function:signup")
        .pre_token_generation("arn:aws:lambda:eu-west-1:1:function:old")
        .build();
    let merged = b.lambda_config(Some(&current)).unwrap();
    assert_eq!(
        merged.pre_sign_up(),
        current.pre_sign_up(),
        "other triggers kept"
    );
    assert_eq!(merged.pre_token_generation(), None, "legacy field cleared");
    let pre = merged.pre_token_generation_config().unwrap();
    assert_eq!(
        pre.lambda_version(),
        &PreTokenGenerationLambdaVersionType::V20
    );
    assert_eq!(Some(pre.lambda_arn()), b.pre_token_lambda.as_deref());
    assert_eq!(
        b.lambda_config(Some(&merged)),
        None,
        "in place: nothing to do"
    );
}

#[test]
fn the_enrollment_window_attribute_is_created_and_never_user_writable() {
    let config = AuthConfig::from_toml(&CONFIG.replace(
        "[triggers]\n",
        "[triggers]\nmfa_enrollment_window_attribute = \"custom:mfa_enroll_until\"\n",
    ))
    .unwrap();
    let mut request = ProvisionRequest::new("acme", "eu-west-1");
    request.protected_attributes = vec!["custom:plan".into()];
    let b = Blueprint::new(&config, request).unwrap();
    assert_eq!(
        b.custom_attributes,
        ["custom:must_mfa", "custom:mfa_enroll_until", "custom:plan"]
    );
    assert!(
        b.protected_attributes
            .contains(&"custom:mfa_enroll_until".to_owned())
    );
    assert!(!b.write_attributes.iter().any(|a| a.contains("enroll")));
    // Without the setting, no such attribute is made.
    assert!(
        !blueprint()
            .custom_attributes
            .iter()
            .any(|a| a.contains("enroll"))
    );
}

fn enrollment_blueprint() -> Blueprint {
    let config = AuthConfig::from_toml(&CONFIG.replace(
        "[triggers]\n",
        "[triggers]\nmfa_enrollment_window_attribute = \"custom:mfa_enroll_until\"\n",
    ))
    .unwrap();
    Blueprint::new(&config, ProvisionRequest::new("acme", "eu-west-1")).unwrap()
}

/// The enrollment client exactly as the rules want it.
fn enrollment_client(b: &Blueprint) -> UserPoolClientType {
    UserPoolClientType::builder()
        .client_id("e1")
        .client_name("acme-totp-enrollment")
        .client_secret("s")
        .set_write_attributes(Some(b.write_attributes.clone()))
        .enable_token_revocation(true)
        .set_explicit_auth_flows(Some(ENROLLMENT_FLOWS.to_vec()))
        .allowed_o_auth_flows_user_pool_client(false)
        .access_token_validity(5)
        .id_token_validity(5)
        .token_validity_units(super::enrollment_units())
        .build()
}

#[test]
fn the_enrollment_client_is_planned_only_when_enrollment_is_configured() {
    assert_eq!(blueprint().enrollment_client, None);
    let b = enrollment_blueprint();
    assert_eq!(b.enrollment_client.as_deref(), Some("acme-totp-enrollment"));
    let new = Plan::new(&b, &PoolState { pool: None });
    let steps = done_steps(&new);
    let client = steps.iter().position(|s| *s == PlanStep::CreateClient);
    let enrollment = steps
        .iter()
        .position(|s| *s == PlanStep::CreateEnrollmentClient);
    assert!(client.unwrap() < enrollment.unwrap(), "{steps:?}");

    let mut pool = complete(&b);
    assert_eq!(
        done_steps(&Plan::new(
            &b,
            &PoolState {
                pool: Some(pool.clone())
            }
        )),
        [PlanStep::CreateEnrollmentClient]
    );
    pool.enrollment_client = Some(enrollment_client(&b));
    let plan = Plan::new(&b, &PoolState { pool: Some(pool) });
    assert!(plan.is_empty(), "{:?}", plan.lines(&b));
    assert!(
        plan.lines(&b)
            .contains(&"ok: TOTP enrollment client acme-totp-enrollment exists: e1".to_owned())
    );
}

#[test]
fn each_loosened_enrollment_setting_is_repaired() {
    let b = enrollment_blueprint();
    type Loosen = fn(&mut UserPoolClientType);
    let cases: Vec<(&str, Loosen)> = vec![
        ("SRP added", |c| {
            c.explicit_auth_flows
                .as_mut()
                .unwrap()
                .push(ExplicitAuthFlowsType::AllowUserSrpAuth)
        }),
        ("refresh dropped", |c| {
            c.explicit_auth_flows = Some(vec![ExplicitAuthFlowsType::AllowAdminUserPasswordAuth])
        }),
        ("no explicit flows", |c| c.explicit_auth_flows = None),
        ("protected write", |c| {
            c.write_attributes
                .as_mut()
                .unwrap()
                .push("custom:mfa_enroll_until".into())
        }),
        ("no write list", |c| c.write_attributes = None),
        ("hosted UI", |c| {
            c.allowed_o_auth_flows_user_pool_client = Some(true)
        }),
        ("OAuth flows", |c| {
            c.allowed_o_auth_flows = Some(vec![OAuthFlowType::Code])
        }),
        ("OAuth scopes", |c| {
            c.allowed_o_auth_scopes = Some(vec!["openid".into()])
        }),
        ("revocation off", |c| {
            c.enable_token_revocation = Some(false)
        }),
        ("one-hour token", |c| c.access_token_validity = Some(60)),
        ("no secret", |c| c.client_secret = None),
    ];
    for (name, loosen) in cases {
        let mut pool = complete(&b);
        let mut client = enrollment_client(&b);
        loosen(&mut client);
        pool.enrollment_client = Some(client);
        let plan = Plan::new(&b, &PoolState { pool: Some(pool) });
        assert_eq!(
            done_steps(&plan),
            [PlanStep::UpdateEnrollmentClient],
            "{name}"
        );
    }
}
