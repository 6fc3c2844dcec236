//! The handlers behind each admin and self-service route, with their bodies and query parsing.

use std::collections::BTreeMap;
use std::future::Future;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::respond_with;
use crate::admin::audit::{Action, Event};
use crate::admin::ops::{ListUsersQuery, MfaPreference};
use crate::admin::{AdminApi, AdminError};
use crate::principal::Principal;

/// What a successful change answers.
#[derive(Serialize)]
pub(in crate::admin) struct Done<'a> {
    pub(in crate::admin) username: &'a str,
    pub(in crate::admin) action: &'static str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::admin) struct AttributesBody {
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::admin) struct GroupBody {
    group: String,
}

pub(super) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AdminError> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(AdminError::BodyTooLarge)
        }
        // The text is serde's, about the client's own body; it goes back to the client only.
        Err(rejection) => Err(AdminError::InvalidRequest(rejection.body_text())),
    }
}

/// Runs `op` once the session (admin or self-service) and the body are ready. Failures before
/// the operation are audited here; the operation audits itself.
async fn run<S, B, T, Fut>(
    principal: &Principal,
    action: Action,
    target: &str,
    session: Result<S, AdminError>,
    body: Result<B, AdminError>,
    op: impl FnOnce(S, B) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<T, AdminError>>,
    T: Serialize,
{
    run_with(StatusCode::OK, principal, action, target, session, body, op).await
}

/// [`run`] answering `success` (200, 201, or 204 without a body) when the operation succeeds.
pub(super) async fn run_with<S, B, T, Fut>(
    success: StatusCode,
    principal: &Principal,
    action: Action,
    target: &str,
    session: Result<S, AdminError>,
    body: Result<B, AdminError>,
    op: impl FnOnce(S, B) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<T, AdminError>>,
    T: Serialize,
{
    match session.and_then(|s| body.map(|b| (s, b))) {
        Ok((session, body)) => respond_with(success, op(session, body).await),
        Err(err) => {
            let result: Result<(), AdminError> = Err(err);
            Event::new(action, Some(principal), Some(target))
                .result(&result)
                .emit();
            respond_with(success, result)
        }
    }
}

pub(super) async fn set_mfa(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
    body: Result<Json<MfaPreference>, JsonRejection>,
) -> Response {
    let action = Action::SetMfaPreference;
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run(
        &principal,
        action,
        username,
        session,
        json_body(body),
        |admin, preference| async move {
            admin.set_mfa_preference(username, &preference).await?;
            Ok(Done {
                username,
                action: action.as_str(),
            })
        },
    )
    .await
}

pub(super) async fn update_attributes(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
    body: Result<Json<AttributesBody>, JsonRejection>,
) -> Response {
    let action = Action::UpdateAttributes;
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run(
        &principal,
        action,
        username,
        session,
        json_body(body),
        |admin, body| async move {
            admin.update_attributes(username, &body.attributes).await?;
            Ok(Done {
                username,
                action: action.as_str(),
            })
        },
    )
    .await
}

pub(super) async fn get_user(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
) -> Response {
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run(
        &principal,
        Action::GetUser,
        username,
        session,
        Ok(()),
        |admin, ()| async move { admin.get_user(username).await },
    )
    .await
}

pub(super) async fn list_users(
    State(api): State<AdminApi>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Response {
    let session = api.tenant_admin(&principal).await;
    let query = parse_list_query(query.as_deref().unwrap_or(""));
    run(
        &principal,
        Action::ListUsers,
        "*",
        session,
        query,
        |admin, query| async move { admin.list_users(&query).await },
    )
    .await
}

pub(super) async fn add_to_group(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
    body: Result<Json<GroupBody>, JsonRejection>,
) -> Response {
    let action = Action::AddToGroup;
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run(
        &principal,
        action,
        username,
        session,
        json_body(body),
        |admin, body| async move {
            admin.add_to_group(username, &body.group).await?;
            Ok(Done {
                username,
                action: action.as_str(),
            })
        },
    )
    .await
}

pub(super) async fn remove_from_group(
    State(api): State<AdminApi>,
    principal: Principal,
    Path((target, group)): Path<(String, String)>,
) -> Response {
    let action = Action::RemoveFromGroup;
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run(
        &principal,
        action,
        username,
        session,
        Ok(()),
        |admin, ()| async move {
            admin.remove_from_group(username, &group).await?;
            Ok(Done {
                username,
                action: action.as_str(),
            })
        },
    )
    .await
}

/// The commands that take nothing but the target user.
#[derive(Clone, Copy)]
pub(super) enum UserCommand {
    Disable,
    Enable,
    SignOut,
}

impl UserCommand {
    fn action(self) -> Action {
        match self {
            UserCommand::Disable => Action::DisableUser,
            UserCommand::Enable => Action::EnableUser,
            UserCommand::SignOut => Action::GlobalSignOut,
        }
    }
}

/// Disable, enable and global sign-out: one handler, the command picks the Cognito call.
async fn user_command(
    command: UserCommand,
    api: AdminApi,
    principal: Principal,
    target: String,
) -> Response {
    let action = command.action();
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run(
        &principal,
        action,
        username,
        session,
        Ok(()),
        |admin, ()| async move {
            match command {
                UserCommand::Disable => admin.disable_user(username).await?,
                UserCommand::Enable => admin.enable_user(username).await?,
                UserCommand::SignOut => admin.global_sign_out(username).await?,
            }
            Ok(Done {
                username,
                action: action.as_str(),
            })
        },
    )
    .await
}

pub(super) fn user_command_route(
    method: MethodFilter,
    command: UserCommand,
) -> MethodRouter<AdminApi> {
    on(
        method,
        move |State(api): State<AdminApi>, principal: Principal, Path(target): Path<String>| {
            user_command(command, api, principal, target)
        },
    )
}

pub(super) async fn update_own_attributes(
    State(api): State<AdminApi>,
    principal: Principal,
    body: Result<Json<AttributesBody>, JsonRejection>,
) -> Response {
    let action = Action::UpdateOwnAttributes;
    let session = api.self_service(&principal).await;
    let username = principal.username();
    run(
        &principal,
        action,
        username,
        session,
        json_body(body),
        |me, body| async move {
            me.update_attributes(&body.attributes).await?;
            Ok(Done {
                username,
                action: action.as_str(),
            })
        },
    )
    .await
}

/// `limit`, `pagination_token` and `filter`, form-encoded; anything else is refused so that a
/// misspelt parameter is not silently ignored.
fn parse_list_query(query: &str) -> Result<ListUsersQuery, AdminError> {
    let mut parsed = ListUsersQuery::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value)?;
        match percent_decode(key)?.as_str() {
            "limit" => {
                parsed.limit = Some(value.parse().map_err(|_| {
                    AdminError::InvalidRequest("`limit` must be a number".to_owned())
                })?);
            }
            "pagination_token" => parsed.pagination_token = Some(value),
            "filter" => parsed.filter = Some(value),
            _ => {
                return Err(AdminError::InvalidRequest(
                    "query parameters are `limit`, `pagination_token` and `filter`".to_owned(),
                ));
            }
        }
    }
    Ok(parsed)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte (exactly two
/// ASCII hex digits), UTF-8 result.
fn percent_decode(input: &str) -> Result<String, AdminError> {
    let bad = || AdminError::InvalidRequest("malformed query string".to_owned());
    let hex_value = |digit: u8| char::from(digit).to_digit(16);
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                // Digit by digit: `u8::from_str_radix` would also take a sign (`%+1`).
                let (Some(high), Some(low)) = (
                    bytes.get(i + 1).and_then(|&d| hex_value(d)),
                    bytes.get(i + 2).and_then(|&d| hex_value(d)),
                ) else {
                    return Err(bad());
                };
                out.push(u8::try_from(high * 16 + low).map_err(|_| bad())?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_parsing() {
        let q = parse_list_query("limit=10&filter=email+%5E%3D+%22ann%22&pagination_token=a%2Fb")
            .unwrap();
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.filter.as_deref(), Some("email ^= \"ann\""));
        assert_eq!(q.pagination_token.as_deref(), Some("a/b"));
        assert_eq!(parse_list_query("").unwrap(), ListUsersQuery::default());
        for bad in [
            "limit=x",
            "user_pool_id=us-east-1_x",
            "filter=%zz",
            "filter=%e",
            "filter=%ff",
        ] {
            assert!(parse_list_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percent_decoding_takes_exactly_two_hex_digits() {
        assert_eq!(percent_decode("a%2Fb%2f%41+c").unwrap(), "a/b/A c");
        assert_eq!(percent_decode("%C3%A9").unwrap(), "\u{e9}");
        for bad in [
            "%+1", "%-1", "%+F", "%1", "%", "%g0", "%0g", "% 1", "%1 ", "%\u{e9}0", "%C3",
        ] {
            assert!(percent_decode(bad).is_err(), "{bad:?}");
        }
        assert!(parse_list_query("filter=%+1").is_err());
        assert!(parse_list_query("limit%3D1=2").is_err());
    }
}
