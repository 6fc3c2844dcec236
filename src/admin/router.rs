//! The axum routes over [`TenantAdmin`] and [`SelfService`].

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;

use axum::extract::rejection::JsonRejection;
use axum::extract::{
    DefaultBodyLimit, FromRequestParts, Path, RawPathParams, RawQuery, Request, State,
};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use axum::{Json, Router};
use http::{HeaderValue, Method, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::audit::{Action, Event};
use super::ops::{ListUsersQuery, MfaPreference};
use super::{AdminApi, AdminError};
use crate::layer::CognitoAuthz;
use crate::metrics::TenantMetrics;
use crate::policy::Policy;
use crate::principal::Principal;

/// Request bodies are small JSON objects; anything larger is refused before parsing.
const BODY_LIMIT: usize = 16 * 1024;

/// One route of [`AdminApi::router`]. The router is built from [`ADMIN_ROUTES`] and
/// [`SELF_SERVICE_ROUTES`], and the OpenAPI tests compare the committed document with the same
/// lists, so a route cannot be added without documenting it.
#[derive(Debug, Clone)]
pub(crate) struct RouteSpec {
    pub(crate) method: Method,
    /// The axum path template (`{param}` segments, as in OpenAPI).
    pub(crate) path: &'static str,
    /// The action audited for the route; it also picks the handler.
    pub(crate) action: Action,
}

const fn route(method: Method, path: &'static str, action: Action) -> RouteSpec {
    RouteSpec {
        method,
        path,
        action,
    }
}

/// The routes behind the admin role.
pub(crate) static ADMIN_ROUTES: [RouteSpec; 9] = [
    route(Method::GET, "/admin/users", Action::ListUsers),
    route(Method::GET, "/admin/users/{username}", Action::GetUser),
    route(
        Method::PUT,
        "/admin/users/{username}/mfa",
        Action::SetMfaPreference,
    ),
    route(
        Method::PATCH,
        "/admin/users/{username}/attributes",
        Action::UpdateAttributes,
    ),
    route(
        Method::POST,
        "/admin/users/{username}/groups",
        Action::AddToGroup,
    ),
    route(
        Method::DELETE,
        "/admin/users/{username}/groups/{group}",
        Action::RemoveFromGroup,
    ),
    route(
        Method::POST,
        "/admin/users/{username}/disable",
        Action::DisableUser,
    ),
    route(
        Method::POST,
        "/admin/users/{username}/enable",
        Action::EnableUser,
    ),
    route(
        Method::POST,
        "/admin/users/{username}/signout",
        Action::GlobalSignOut,
    ),
];

/// The routes for any signed-in user.
pub(crate) static SELF_SERVICE_ROUTES: [RouteSpec; 1] = [route(
    Method::PATCH,
    "/me/attributes",
    Action::UpdateOwnAttributes,
)];

impl RouteSpec {
    /// The route's handler, for its method only.
    fn endpoint(&self) -> MethodRouter<AdminApi> {
        let method = MethodFilter::try_from(self.method.clone())
            .expect("the route table uses standard methods");
        match self.action {
            Action::ListUsers => on(method, list_users),
            Action::GetUser => on(method, get_user),
            Action::SetMfaPreference => on(method, set_mfa),
            Action::UpdateAttributes => on(method, update_attributes),
            Action::AddToGroup => on(method, add_to_group),
            Action::RemoveFromGroup => on(method, remove_from_group),
            Action::DisableUser => user_command_route(method, UserCommand::Disable),
            Action::EnableUser => user_command_route(method, UserCommand::Enable),
            Action::GlobalSignOut => user_command_route(method, UserCommand::SignOut),
            Action::UpdateOwnAttributes => on(method, update_own_attributes),
        }
    }
}

/// Response extension: this attempt has been audited already (by the operation or by an
/// inner middleware), so outer middlewares must not log it again.
#[derive(Clone, Copy)]
struct Audited;

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code(), "message": self.public_message() });
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

fn respond<T: Serialize>(result: Result<T, AdminError>) -> Response {
    let mut response = match result {
        Ok(value) => {
            let mut response = (StatusCode::OK, Json(value)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => err.into_response(),
    };
    response.extensions_mut().insert(Audited);
    response
}

/// What a successful change answers.
#[derive(Serialize)]
pub(super) struct Done<'a> {
    pub(super) username: &'a str,
    pub(super) action: &'static str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AttributesBody {
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GroupBody {
    group: String,
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, AdminError> {
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
    match session.and_then(|s| body.map(|b| (s, b))) {
        Ok((session, body)) => respond(op(session, body).await),
        Err(err) => {
            let result: Result<(), AdminError> = Err(err);
            Event::new(action, Some(principal), Some(target))
                .result(&result)
                .emit();
            respond(result)
        }
    }
}

async fn set_mfa(
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

async fn update_attributes(
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

async fn get_user(
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

async fn list_users(
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

async fn add_to_group(
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

async fn remove_from_group(
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
enum UserCommand {
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

fn user_command_route(method: MethodFilter, command: UserCommand) -> MethodRouter<AdminApi> {
    on(
        method,
        move |State(api): State<AdminApi>, principal: Principal, Path(target): Path<String>| {
            user_command(command, api, principal, target)
        },
    )
}

async fn update_own_attributes(
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

/// Audits attempts that were answered before reaching a handler: by the authentication layer
/// (401, no actor), by the authorization layer (403) or by an extractor (400, 405).
async fn audit_unanswered(
    State((action, anonymous)): State<(Action, TenantMetrics)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let principal = parts.extensions.get::<Principal>().cloned();
    let target = match action {
        Action::UpdateOwnAttributes => principal
            .as_ref()
            .and_then(Principal::user_name)
            .map(str::to_owned),
        Action::ListUsers => Some("*".to_owned()),
        _ => RawPathParams::from_request_parts(&mut parts, &())
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "username")
                    .map(|(_, value)| value.to_owned())
            }),
    };
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if response.extensions().get::<Audited>().is_none() {
        let status = response.status().as_u16();
        let reason = match status {
            403 => "policy",
            _ if principal.is_none() => "authentication",
            _ => "request",
        };
        Event::new(action, principal.as_ref(), target.as_deref())
            .status(status, reason)
            .anonymous(&anonymous)
            .emit();
        response.extensions_mut().insert(Audited);
    }
    response
}

impl AdminApi {
    /// Authenticates (access tokens only), audits and authorizes one route. The inner audit
    /// sees the principal and catches policy refusals; the outer one catches authentication
    /// failures, which have no principal.
    fn guard(
        &self,
        route: MethodRouter<AdminApi>,
        action: Action,
        policy: Policy,
    ) -> MethodRouter<AdminApi> {
        let anonymous = self.auth.inner.verifier.metrics.unknown().clone();
        let audit = middleware::from_fn_with_state((action, anonymous), audit_unanswered);
        route
            .layer::<_, Infallible>(CognitoAuthz::policy(policy))
            .layer::<_, Infallible>(audit.clone())
            .layer::<_, Infallible>(self.auth.layer())
            .layer::<_, Infallible>(audit)
    }

    /// The admin routes (each behind authentication and the admin role):
    ///
    /// | route | operation |
    /// |---|---|
    /// | `GET /admin/users?limit=&pagination_token=&filter=` | [`TenantAdmin::list_users`](super::TenantAdmin::list_users) |
    /// | `GET /admin/users/{username}` | [`TenantAdmin::get_user`](super::TenantAdmin::get_user) |
    /// | `PUT /admin/users/{username}/mfa` `{"sms": "preferred", "totp": "off"}` | [`TenantAdmin::set_mfa_preference`](super::TenantAdmin::set_mfa_preference) |
    /// | `PATCH /admin/users/{username}/attributes` `{"attributes": {"name": "v"}}` | [`TenantAdmin::update_attributes`](super::TenantAdmin::update_attributes) |
    /// | `POST /admin/users/{username}/groups` `{"group": "g"}` | [`TenantAdmin::add_to_group`](super::TenantAdmin::add_to_group) |
    /// | `DELETE /admin/users/{username}/groups/{group}` | [`TenantAdmin::remove_from_group`](super::TenantAdmin::remove_from_group) |
    /// | `POST /admin/users/{username}/disable` | [`TenantAdmin::disable_user`](super::TenantAdmin::disable_user) |
    /// | `POST /admin/users/{username}/enable` | [`TenantAdmin::enable_user`](super::TenantAdmin::enable_user) |
    /// | `POST /admin/users/{username}/signout` | [`TenantAdmin::global_sign_out`](super::TenantAdmin::global_sign_out) |
    ///
    /// Changes answer 200 `{"username": ..., "action": ...}`; reads answer the
    /// [`User`](super::User) or [`UserPage`](super::UserPage) as JSON.
    ///
    /// It also serves `GET /admin/openapi.json` without authentication: the OpenAPI 3.1
    /// document of [`router`](Self::router) ([`OPENAPI_JSON`](super::OPENAPI_JSON)). Routes
    /// authenticate one by one, so do not wrap this router in an authentication layer of your
    /// own, or the document needs a token too.
    pub fn admin_router(&self) -> Router {
        // Served without authentication: the contract is public, like the routes' paths.
        let router = Router::new().route(super::openapi::OPENAPI_PATH, get(super::openapi::serve));
        ADMIN_ROUTES
            .iter()
            .fold(router, |router, spec| {
                let policy = Policy::role(&*self.admin_role);
                router.route(spec.path, self.guard(spec.endpoint(), spec.action, policy))
            })
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }

    /// The self-service routes (any authenticated user of a tenant; machine clients get 403,
    /// they have no account of their own):
    /// `PATCH /me/attributes` `{"attributes": {"name": "v"}}` changes the caller's own
    /// attributes through [`SelfService::update_attributes`](super::SelfService::update_attributes):
    /// 403 and nothing changed if any of them is not open to self-service (not in
    /// [`self_service_attributes`](Self::self_service_attributes), or protected).
    pub fn self_service_router(&self) -> Router {
        SELF_SERVICE_ROUTES
            .iter()
            .fold(Router::new(), |router, spec| {
                router.route(
                    spec.path,
                    self.guard(spec.endpoint(), spec.action, Policy::user()),
                )
            })
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }

    /// Both [`admin_router`](Self::admin_router) and
    /// [`self_service_router`](Self::self_service_router).
    pub fn router(&self) -> Router {
        self.admin_router().merge(self.self_service_router())
    }
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

    #[test]
    fn error_answers_carry_status_code_and_headers() {
        let response = AdminError::Throttled.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let response = AdminError::UserNotFound.into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }
}
