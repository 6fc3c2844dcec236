//! The Pre Token Generation trigger, fed with events in the shape AWS documents
//! (`tests/fixtures/pre_token_gen_*.json`), and checked against the layer's self-service guard.

#![cfg(feature = "lambda")]

use aws_lambda_events::event::cognito::CognitoEventUserPoolsPreTokenGenV2;
use cognito_authz::lambda::{PreTokenGeneration, TriggerError};
use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthConfig, AuthError, Tenant, TenantRegistry, verify::SELF_SERVICE_SCOPE};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Value {
    let path = format!("{FIXTURES}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn config() -> AuthConfig {
    AuthConfig::from_file(format!("{FIXTURES}/tenants.toml")).unwrap()
}

fn trigger() -> PreTokenGeneration {
    PreTokenGeneration::from_config(&config()).unwrap()
}

fn with_roles_claim() -> PreTokenGeneration {
    let text = std::fs::read_to_string(format!("{FIXTURES}/tenants.toml"))
        .unwrap()
        .replace("[triggers]\n", "[triggers]\nroles_claim = \"roles\"\n");
    PreTokenGeneration::from_config(&AuthConfig::from_toml(&text).unwrap()).unwrap()
}

/// Runs the trigger on raw JSON, as the Lambda runtime does, and also through the typed
/// handler, checking that both agree.
fn run(trigger: &PreTokenGeneration, event: Value) -> Value {
    let out = trigger.handle_json(event.clone()).expect("event handled");
    let typed: CognitoEventUserPoolsPreTokenGenV2 = serde_json::from_value(event).unwrap();
    let typed_out = serde_json::to_value(trigger.handle(typed).unwrap()).unwrap();
    assert_eq!(out, typed_out);
    out
}

fn suppressing(group_configuration: Value) -> Value {
    json!({
        "claimsAndScopeOverrideDetails": {
            "groupOverrideDetails": group_configuration,
            "idTokenGeneration": null,
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {},
                "claimsToSuppress": [],
                "scopesToAdd": [],
                "scopesToSuppress": ["aws.cognito.signin.user.admin"]
            }
        }
    })
}

#[test]
fn v2_admin_keeps_the_token_unchanged() {
    let event = fixture("pre_token_gen_v2_admin.json");
    let out = run(&trigger(), event.clone());
    assert_eq!(
        out["response"],
        json!({ "claimsAndScopeOverrideDetails": null })
    );
    assert_eq!(
        out["request"]["groupConfiguration"],
        event["request"]["groupConfiguration"]
    );
    assert_eq!(out["userPoolId"], "us-east-1_AbCdEf123");
    assert_eq!(out["triggerSource"], "TokenGeneration_Authentication");
    assert_eq!(out["version"], "2");
}

#[test]
fn v2_member_loses_the_self_service_scope_and_keeps_its_groups() {
    let out = run(&trigger(), fixture("pre_token_gen_v2_member.json"));
    assert_eq!(
        out["response"],
        suppressing(json!({
            "groupsToOverride": ["members"],
            "iamRolesToOverride": [],
            "preferredRole": null
        }))
    );
    assert_eq!(
        out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]["scopesToSuppress"],
        json!([SELF_SERVICE_SCOPE])
    );
}

#[test]
fn v3_user_events_are_handled_like_v2() {
    let out = run(&trigger(), fixture("pre_token_gen_v3_admin.json"));
    assert_eq!(
        out["response"],
        json!({ "claimsAndScopeOverrideDetails": null })
    );
    assert_eq!(out["triggerSource"], "TokenGeneration_RefreshTokens");

    let out = run(&trigger(), fixture("pre_token_gen_v3_member.json"));
    assert_eq!(
        out["response"],
        suppressing(json!({
            "groupsToOverride": [],
            "iamRolesToOverride": [],
            "preferredRole": null
        }))
    );
}

#[test]
fn v3_client_credentials_pass_unchanged_for_known_pools_only() {
    let event = fixture("pre_token_gen_v3_client_credentials.json");
    assert_eq!(trigger().handle_json(event.clone()).unwrap(), event);

    let mut unknown = event;
    unknown["userPoolId"] = json!("us-east-1_Unknown9");
    let err = trigger().handle_json(unknown).unwrap_err();
    assert!(
        matches!(err, TriggerError::UnknownUserPool { .. }),
        "{err:?}"
    );
}

#[test]
fn roles_claim_is_added_for_everyone_and_groups_are_repeated() {
    let trigger = with_roles_claim();
    assert_eq!(trigger.roles_claim(), Some("roles"));

    let out = run(&trigger, fixture("pre_token_gen_v2_admin.json"));
    assert_eq!(
        out["response"],
        json!({
            "claimsAndScopeOverrideDetails": {
                "groupOverrideDetails": {
                    "groupsToOverride": ["Administrators", "members"],
                    "iamRolesToOverride": ["arn:aws:iam::123456789012:role/acme-admins"],
                    "preferredRole": "arn:aws:iam::123456789012:role/acme-admins"
                },
                "idTokenGeneration": null,
                "accessTokenGeneration": {
                    "claimsToAddOrOverride": { "roles": ["admin", "member"] },
                    "claimsToSuppress": [],
                    "scopesToAdd": [],
                    "scopesToSuppress": []
                }
            }
        })
    );

    let out = run(&trigger, fixture("pre_token_gen_v2_member.json"));
    let access = &out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"];
    assert_eq!(
        access["claimsToAddOrOverride"],
        json!({ "roles": ["member"] })
    );
    assert_eq!(access["scopesToSuppress"], json!([SELF_SERVICE_SCOPE]));

    let out = run(&trigger, fixture("pre_token_gen_v3_member.json"));
    let access = &out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"];
    assert_eq!(access["claimsToAddOrOverride"], json!({ "roles": [] }));
}

#[test]
fn tenant_without_mapping_uses_group_names_as_roles() {
    let trigger = trigger();
    let mut event = fixture("pre_token_gen_v2_member.json");
    event["userPoolId"] = json!("eu-west-1_Globex42");
    event["region"] = json!("eu-west-1");
    for (groups, keeps) in [
        (json!(["admin"]), true),
        (json!(["owner", "x"]), true),
        (json!(["Administrators"]), false),
        (json!(["Admin"]), false),
        (json!([]), false),
    ] {
        event["request"]["groupConfiguration"]["groupsToOverride"] = groups.clone();
        let out = run(&trigger, event.clone());
        let details = &out["response"]["claimsAndScopeOverrideDetails"];
        assert_eq!(details.is_null(), keeps, "{groups}: {details}");
    }
    assert!(
        trigger
            .may_self_manage("eu-west-1_Globex42", &["owner".to_owned()])
            .unwrap()
    );
    assert!(
        !trigger
            .may_self_manage("us-east-1_AbCdEf123", &["owner".to_owned()])
            .unwrap()
    );
}

#[test]
fn unknown_pool_fails_the_token_request() {
    let mut event = fixture("pre_token_gen_v2_admin.json");
    event["userPoolId"] = json!("us-east-1_Unknown9");
    let err = trigger().handle_json(event).unwrap_err();
    assert!(
        matches!(&err, TriggerError::UnknownUserPool { user_pool_id } if user_pool_id == "us-east-1_Unknown9"),
        "{err:?}"
    );
    assert_eq!(err.reason(), "UnknownUserPool");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "UnknownUserPool");
    assert!(diagnostic.error_message.contains("not a configured tenant"));
}

#[test]
fn bad_events_are_errors_not_panics() {
    let trigger = trigger();
    let good = fixture("pre_token_gen_v2_member.json");
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut event = good.clone();
        f(&mut event);
        trigger.handle_json(event).unwrap_err()
    };

    let err = edit(&|e| e["version"] = json!("9"));
    assert!(
        matches!(&err, TriggerError::UnsupportedVersion { version, .. } if version == "9"),
        "{err:?}"
    );
    let err = edit(&|e| e["version"] = json!("1"));
    assert!(err.to_string().contains("V2_0 or V3_0"), "{err}");
    let err = edit(&|e| e["version"] = json!(2));
    assert!(matches!(err, TriggerError::InvalidEvent { .. }), "{err:?}");
    let err = edit(&|e| {
        e.as_object_mut().unwrap().remove("version");
    });
    assert!(
        matches!(
            err,
            TriggerError::MissingField {
                field: "version",
                ..
            }
        ),
        "{err:?}"
    );
    let err = edit(&|e| {
        e.as_object_mut().unwrap().remove("triggerSource");
    });
    assert!(
        matches!(
            err,
            TriggerError::MissingField {
                field: "triggerSource",
                ..
            }
        ),
        "{err:?}"
    );
    let err = edit(&|e| {
        e.as_object_mut().unwrap().remove("userPoolId");
    });
    assert!(
        matches!(
            err,
            TriggerError::MissingField {
                field: "userPoolId",
                ..
            }
        ),
        "{err:?}"
    );
    let err = edit(&|e| {
        e["request"].as_object_mut().unwrap().remove("scopes");
    });
    assert_eq!(
        err.to_string(),
        "not a valid PreTokenGeneration event: missing field `scopes`"
    );
    let err = edit(&|e| e["request"]["groupConfiguration"]["groupsToOverride"] = json!("members"));
    assert!(matches!(err, TriggerError::InvalidEvent { .. }), "{err:?}");
    // A value of the wrong type is never quoted back (Cognito shows the message to the user).
    let err = edit(&|e| e["request"]["userAttributes"]["custom:pin"] = json!(987654321));
    assert!(!err.to_string().contains("987654321"), "{err}");
    let err = edit(&|e| e["triggerSource"] = json!("TokenGeneration_Unheard"));
    assert!(matches!(err, TriggerError::WrongTrigger { .. }), "{err:?}");

    // Another trigger's event.
    let err = trigger.handle_json(fixture("post_auth.json")).unwrap_err();
    assert!(
        matches!(err, TriggerError::UnsupportedVersion { .. }),
        "{err:?}"
    );
    let mut post_auth = fixture("post_auth.json");
    post_auth["version"] = json!("2");
    let err = trigger.handle_json(post_auth).unwrap_err();
    assert!(
        matches!(&err, TriggerError::WrongTrigger { found, .. } if found == "PostAuthentication_Authentication"),
        "{err:?}"
    );

    for not_an_event in [json!(null), json!([]), json!("event"), json!({})] {
        assert!(trigger.handle_json(not_an_event).is_err());
    }

    // The typed handler checks what the typed event cannot enforce.
    let err = trigger
        .handle(CognitoEventUserPoolsPreTokenGenV2::default())
        .unwrap_err();
    assert!(
        matches!(
            err,
            TriggerError::MissingField {
                field: "version",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn configuration_errors_name_the_field() {
    let base = std::fs::read_to_string(format!("{FIXTURES}/tenants.toml")).unwrap();

    let mismatch = base.replace(
        "[triggers]\n",
        "[triggers]\nself_manage_roles = [\"admin\"]\n",
    );
    let err =
        PreTokenGeneration::from_config(&AuthConfig::from_toml(&mismatch).unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("triggers.self_manage_roles"),
        "{err}"
    );

    let same = base.replace(
        "[triggers]\n",
        "[triggers]\nself_manage_roles = [\"owner\", \"admin\"]\n",
    );
    PreTokenGeneration::from_config(&AuthConfig::from_toml(&same).unwrap()).unwrap();

    for reserved in ["sub", "scope", "cognito:groups", "token_use", ""] {
        let text = base.replace(
            "[triggers]\n",
            &format!("[triggers]\nroles_claim = {reserved:?}\n"),
        );
        let err =
            PreTokenGeneration::from_config(&AuthConfig::from_toml(&text).unwrap()).unwrap_err();
        assert!(err.to_string().contains("triggers.roles_claim"), "{err}");
    }

    // Without a guard section the trigger's own list (or ["admin"]) is used.
    let no_guard =
        AuthConfig::from_toml("[[tenant]]\nid='a'\nuser_pool_id='us-east-1_a'\nclient_ids=['c']")
            .unwrap();
    assert_eq!(
        PreTokenGeneration::from_config(&no_guard)
            .unwrap()
            .self_manage_roles(),
        ["admin"]
    );

    let missing = PreTokenGeneration::from_config_file(format!("{FIXTURES}/missing.toml"));
    assert!(missing.is_err());
}

#[test]
fn builder_tenants_work_too() {
    let registry = TenantRegistry::from_tenants([Tenant::builder("acme", "us-east-1_AbCdEf123")
        .client_id("3n4b5urk1ft4fl3mg5e62d9ado")
        .role("admin", ["Administrators"])
        .build()
        .unwrap()])
    .unwrap();
    let trigger = PreTokenGeneration::new(&registry, ["admin"]);
    let out = run(&trigger, fixture("pre_token_gen_v2_admin.json"));
    assert!(out["response"]["claimsAndScopeOverrideDetails"].is_null());
    let out = run(&trigger, fixture("pre_token_gen_v2_member.json"));
    assert!(!out["response"]["claimsAndScopeOverrideDetails"].is_null());
}

const ACME: &str = "us-east-1_AbCdEf123";
const ACME_CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";
const GLOBEX: &str = "eu-west-1_Globex42";
const GLOBEX_CLIENT: &str = "7f1globexclient";

/// The acceptance criterion: for one configuration, the trigger removes the scope exactly
/// for the users whose untouched tokens the layer's guard refuses, and the tokens Cognito
/// issues after applying the trigger's response pass the layer.
#[tokio::test]
async fn trigger_suppresses_exactly_where_the_layer_guard_refuses() {
    let issuer = LocalIssuer::start().await.unwrap();
    let config = AuthConfig::from_toml(&format!(
        r#"
[self_service_guard]
allowed_roles = ["admin", "owner"]

[[tenant]]
id = "acme"
user_pool_id = "{ACME}"
client_ids = ["{ACME_CLIENT}"]
jwks_url = "{acme_jwks}"
[tenant.roles]
admin = ["admin", "Administrators"]
owner = ["owners"]
member = ["members"]

[[tenant]]
id = "globex"
user_pool_id = "{GLOBEX}"
client_ids = ["{GLOBEX_CLIENT}"]
jwks_url = "{globex_jwks}"
"#,
        acme_jwks = issuer.jwks_url(ACME),
        globex_jwks = issuer.jwks_url(GLOBEX),
    ))
    .unwrap();
    let auth = config.to_builder().unwrap().build().unwrap();
    let trigger = PreTokenGeneration::from_config(&config).unwrap();

    let requested = ["openid", "email", SELF_SERVICE_SCOPE];
    let group_sets: &[&[&str]] = &[
        &[],
        &["admin"],
        &["Administrators"],
        &["Admin"],
        &["owners"],
        &["owner"],
        &["members"],
        &["member"],
        &["members", "owners"],
        &["support"],
        &["admin", "members"],
    ];
    let (mut kept, mut suppressed) = (0, 0);
    for (pool, client) in [(ACME, ACME_CLIENT), (GLOBEX, GLOBEX_CLIENT)] {
        for groups in group_sets {
            let mut event = fixture("pre_token_gen_v2_member.json");
            event["userPoolId"] = json!(pool);
            event["request"]["groupConfiguration"]["groupsToOverride"] = json!(groups);
            event["request"]["scopes"] = json!(requested);
            let out = trigger.handle_json(event).unwrap();
            let to_suppress: Vec<String> = serde_json::from_value(
                out["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
                    ["scopesToSuppress"]
                    .clone(),
            )
            .unwrap_or_default();

            // The token Cognito would issue without the trigger.
            let mut claims = issuer.access_claims(pool, client, "user", groups);
            claims["scope"] = json!(requested.join(" "));
            let verdict = auth.verify(&issuer.mint(&claims)).await;
            let refused = match verdict {
                Ok(_) => false,
                Err(AuthError::SelfServiceScopeNotSuppressed) => true,
                Err(other) => panic!("{pool} {groups:?}: unexpected {other:?}"),
            };
            assert_eq!(
                to_suppress == [SELF_SERVICE_SCOPE],
                refused,
                "{pool} {groups:?}: trigger suppresses {to_suppress:?}, layer refuses: {refused}"
            );
            assert!(to_suppress.is_empty() || to_suppress == [SELF_SERVICE_SCOPE]);
            if refused {
                suppressed += 1;
            } else {
                kept += 1;
            }

            // The token Cognito issues with the trigger's response applied.
            let issued: Vec<&str> = requested
                .iter()
                .copied()
                .filter(|s| !to_suppress.iter().any(|x| x == s))
                .collect();
            claims["scope"] = json!(issued.join(" "));
            claims["jti"] = json!(format!("{}-after", claims["jti"].as_str().unwrap()));
            let principal = auth
                .verify(&issuer.mint(&claims))
                .await
                .unwrap_or_else(|e| panic!("{pool} {groups:?}: {e:?}"));
            assert_eq!(principal.has_scope(SELF_SERVICE_SCOPE), !refused);
            assert_eq!(
                trigger
                    .may_self_manage(
                        pool,
                        &groups.iter().map(|g| g.to_string()).collect::<Vec<_>>()
                    )
                    .unwrap(),
                !refused
            );
        }
    }
    assert!(
        kept >= 6 && suppressed >= 6,
        "kept {kept}, suppressed {suppressed}"
    );
}
