//! The update requests, field by field, against fully populated `Describe*` answers.
//!
//! The SDK types have no serializer, so the fields are compared through their `{:#?}` output
//! (one top-level field per line, indented four spaces). A fully populated answer must have
//! no `None` field: when an SDK upgrade adds a field, the fixture fails until it sets it, and
//! then the round trip fails until the update carries it (or the field is listed here as
//! read-only, after checking the API reference).
//!
//! This module holds what the checks share (the `{:#?}` reader, the fully populated app
//! client, [`assert_client_carried`], which `enrollment`'s tests use too); the tests are in
//! `client` (`UpdateUserPoolClient`), `pool` (`UpdateUserPool`, triggers) and `mfa`
//! (`SetUserPoolMfaConfig`).

use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::Config;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::UpdateUserPoolClientInput;
use aws_sdk_cognitoidentityprovider::primitives::DateTime;
use aws_sdk_cognitoidentityprovider::types::*;

use super::*;

mod client;
mod mfa;
mod pool;

pub(super) fn client() -> CognitoClient {
    CognitoClient::from_conf(
        Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::for_tests())
            .build(),
    )
}

/// The top-level fields of a `{:#?}` rendering, whitespace removed from each value.
pub(super) fn fields(debug: &str) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in debug.lines().skip(1) {
        if line == "}" {
            break;
        }
        let top = line
            .strip_prefix("    ")
            .filter(|rest| !rest.starts_with(' '))
            .and_then(|rest| rest.split_once(": "))
            .filter(|(name, _)| {
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            });
        if let Some((name, value)) = top {
            fields.insert(name.to_owned(), value.to_owned());
            current = Some(name.to_owned());
        } else if let Some(name) = &current {
            fields.get_mut(name).unwrap().push_str(line.trim());
        }
    }
    for value in fields.values_mut() {
        value.retain(|c| !c.is_whitespace());
        if let Some(stripped) = value.strip_suffix(',') {
            *value = stripped.to_owned();
        }
    }
    fields
}

#[track_caller]
pub(super) fn assert_fully_populated(fields: &BTreeMap<String, String>) {
    let unset: Vec<&String> = fields
        .iter()
        .filter(|(_, v)| *v == "None" || *v == "0")
        .map(|(k, _)| k)
        .collect();
    assert!(
        unset.is_empty(),
        "the fixture leaves {unset:?} unset: set every field"
    );
}

fn minutes_units(refresh: TimeUnitsType) -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Days)
        .id_token(TimeUnitsType::Minutes)
        .refresh_token(refresh)
        .build()
}

/// An operator's app client with every field set, some of the crate's settings wrong: a
/// one-day access token, revocation off, a write list with a protected attribute, a
/// hand-added password flow.
pub(super) fn operator_client() -> UserPoolClientType {
    UserPoolClientType::builder()
        .user_pool_id("eu-west-1_Acme1")
        .client_name("cognito-authz-acme")
        .client_id("c1")
        .client_secret("secret")
        .last_modified_date(DateTime::from_secs(1_700_000_000))
        .creation_date(DateTime::from_secs(1_600_000_000))
        .refresh_token_validity(12)
        .access_token_validity(1)
        .id_token_validity(30)
        .token_validity_units(minutes_units(TimeUnitsType::Hours))
        .read_attributes("email")
        .read_attributes("custom:plan")
        .write_attributes("name")
        .write_attributes("custom:mfa_required")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
        .supported_identity_providers("COGNITO")
        .supported_identity_providers("Google")
        .callback_urls("https://app.acme.example/callback")
        .logout_urls("https://app.acme.example/bye")
        .default_redirect_uri("https://app.acme.example/callback")
        .allowed_o_auth_flows(OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_scopes("email")
        .allowed_o_auth_flows_user_pool_client(true)
        .analytics_configuration(
            AnalyticsConfigurationType::builder()
                .application_id("pinpoint-app")
                .application_arn("arn:aws:mobiletargeting:eu-west-1:1:apps/x")
                .role_arn("arn:aws:iam::1:role/pinpoint")
                .external_id("ext")
                .user_data_shared(true)
                .build(),
        )
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Legacy)
        .enable_token_revocation(false)
        .enable_propagate_additional_user_context_data(true)
        .auth_session_validity(7)
        .refresh_token_rotation(
            RefreshTokenRotationType::builder()
                .feature(FeatureType::Disabled)
                .retry_grace_period_seconds(10)
                .build()
                .unwrap(),
        )
        .build()
}

/// Fields of `DescribeUserPoolClient` that `UpdateUserPoolClient` cannot take.
const CLIENT_READ_ONLY: [&str; 3] = ["client_secret", "creation_date", "last_modified_date"];

/// Checks that `input`, an `UpdateUserPoolClient` request made from `current` (a fully
/// populated `DescribeUserPoolClient` answer), sends back every field of `current` unchanged
/// except the read-only ones and `managed` (the fields the repair sets itself, which the
/// caller checks one by one), and that the request has no field this check does not know.
#[track_caller]
pub(super) fn assert_client_carried(
    current: &UserPoolClientType,
    input: &UpdateUserPoolClientInput,
    managed: &[&str],
) {
    let described = fields(&format!("{current:#?}"));
    assert_fully_populated(&described);
    let sent = fields(&format!("{input:#?}"));
    for (name, value) in &described {
        if CLIENT_READ_ONLY.contains(&name.as_str()) || managed.contains(&name.as_str()) {
            continue;
        }
        let carried = sent.get(name).unwrap_or_else(|| {
            panic!("{name} is in DescribeUserPoolClient but not in UpdateUserPoolClient")
        });
        // `refresh_token_validity` is a plain i32 in the answer, optional in the request.
        let expected = if name == "refresh_token_validity" {
            format!("Some({value},)")
        } else {
            value.clone()
        };
        assert_eq!(carried, &expected, "{name} was not sent back as it was");
    }
    for name in sent.keys() {
        assert!(
            described.contains_key(name),
            "UpdateUserPoolClient takes {name}, which the test does not know"
        );
    }
    // Client ids are redacted in Debug output: compare them directly.
    assert_eq!(input.client_id(), current.client_id());
}
