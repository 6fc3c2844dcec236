//! The axum routes over [`TenantAdmin`] and [`SelfService`].

mod console;
mod enrollment;
mod handlers;
mod me;

use std::convert::Infallible;

use axum::extract::{DefaultBodyLimit, FromRequestParts, RawPathParams, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use axum::{Json, Router};
use http::{HeaderValue, Method, StatusCode, header};
use serde::Serialize;

use super::audit::{Action, Event};
use super::{AdminApi, AdminError};
use crate::layer::AuthzLayer;
use crate::metrics::TenantMetrics;
use crate::policy::Policy;
use crate::principal::Principal;

#[cfg(test)]
pub(super) use handlers::{AttributesBody, Done, GroupBody};
use handlers::{
    UserCommand, add_to_group, get_user, list_users, remove_from_group, set_mfa, update_attributes,
    update_own_attributes, user_command_route,
};
use me::{MeQuery, me_query_route};

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
pub(crate) static ADMIN_ROUTES: [RouteSpec; 16] = [
    route(Method::GET, "/admin/users", Action::ListUsers),
    route(Method::POST, "/admin/users", Action::CreateUser),
    route(Method::GET, "/admin/users/{username}", Action::GetUser),
    route(
        Method::DELETE,
        "/admin/users/{username}",
        Action::DeleteUser,
    ),
    route(
        Method::POST,
        "/admin/users/{username}/password-reset",
        Action::ResetPassword,
    ),
    route(
        Method::GET,
        "/admin/users/{username}/groups",
        Action::ListUserGroups,
    ),
    route(Method::GET, "/admin/groups", Action::ListGroups),
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
    route(
        Method::POST,
        "/admin/users/{username}/mfa/enrollment",
        Action::OpenMfaEnrollment,
    ),
    route(
        Method::DELETE,
        "/admin/users/{username}/mfa/enrollment",
        Action::CloseMfaEnrollment,
    ),
];

/// The routes for any signed-in user.
pub(crate) static SELF_SERVICE_ROUTES: [RouteSpec; 9] = [
    route(Method::GET, "/me/attributes", Action::GetOwnAttributes),
    route(Method::PATCH, "/me/attributes", Action::UpdateOwnAttributes),
    route(Method::GET, "/me/mfa", Action::GetOwnMfa),
    route(Method::POST, "/me/password", Action::ChangeOwnPassword),
    route(Method::POST, "/me/signout", Action::SignOutSelf),
    route(Method::GET, "/me/devices", Action::ListOwnDevices),
    route(
        Method::DELETE,
        "/me/devices/{device_key}",
        Action::ForgetOwnDevice,
    ),
    route(Method::POST, "/me/mfa/totp", Action::StartTotpEnrollment),
    route(
        Method::POST,
        "/me/mfa/totp/verify",
        Action::VerifyTotpEnrollment,
    ),
];

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
            Action::GetOwnAttributes => me_query_route(method, MeQuery::Attributes),
            Action::GetOwnMfa => me_query_route(method, MeQuery::Mfa),
            Action::ListOwnDevices => me_query_route(method, MeQuery::Devices),
            Action::SignOutSelf => me_query_route(method, MeQuery::SignOut),
            Action::ChangeOwnPassword => on(method, me::change_password),
            Action::ForgetOwnDevice => on(method, me::forget_device),
            Action::CreateUser => on(method, console::create_user),
            Action::DeleteUser => on(method, console::delete_user),
            Action::ResetPassword => on(method, console::reset_password),
            Action::ListUserGroups => on(method, console::user_groups),
            Action::ListGroups => on(method, console::list_groups),
            Action::OpenMfaEnrollment => on(method, enrollment::open_window),
            Action::CloseMfaEnrollment => on(method, enrollment::close_window),
            Action::StartTotpEnrollment => on(method, enrollment::start_totp),
            Action::VerifyTotpEnrollment => on(method, enrollment::verify_totp),
        }
    }
}

/// Response extension: this attempt has been audited already (by the operation or by an
/// inner middleware), so outer middlewares must not log it again.
#[derive(Clone, Copy)]
struct Audited;

/// The answer to an operation: `success` with the value as JSON (no body for 204), or the
/// error; marked as audited.
fn respond_with<T: Serialize>(success: StatusCode, result: Result<T, AdminError>) -> Response {
    let mut response = match result {
        Ok(_) if success == StatusCode::NO_CONTENT => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(value) => {
            let mut response = (success, Json(value)).into_response();
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

/// True for the `/me` routes: their target is the caller.
fn is_self_service(action: Action) -> bool {
    SELF_SERVICE_ROUTES.iter().any(|spec| spec.action == action)
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
        action if is_self_service(action) => principal
            .as_ref()
            .and_then(Principal::username_if_user)
            .map(str::to_owned),
        Action::ListUsers | Action::ListGroups => Some("*".to_owned()),
        // The user to invite is in the body, which this layer does not read.
        Action::CreateUser => None,
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
        policy: Option<Policy>,
    ) -> MethodRouter<AdminApi> {
        let anonymous = self.auth.inner.verifier.metrics.unknown().clone();
        let audit = middleware::from_fn_with_state((action, anonymous), audit_unanswered);
        let route = match policy {
            Some(policy) => route.layer::<_, Infallible>(AuthzLayer::policy(policy)),
            None => route,
        };
        route
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
    /// | `POST /admin/users` `{"username", "email", "groups": []}` | [`TenantAdmin::create_user`](super::TenantAdmin::create_user), 201 with the [`User`](super::User) |
    /// | `DELETE /admin/users/{username}` | [`TenantAdmin::delete_user`](super::TenantAdmin::delete_user), 204 |
    /// | `POST /admin/users/{username}/password-reset` | [`TenantAdmin::reset_password`](super::TenantAdmin::reset_password), 204 |
    /// | `GET /admin/users/{username}/groups` | [`TenantAdmin::user_groups`](super::TenantAdmin::user_groups) |
    /// | `GET /admin/groups` | [`TenantAdmin::list_groups`](super::TenantAdmin::list_groups) |
    /// | `POST /admin/users/{username}/mfa/enrollment` `{"minutes": 15}` | [`TenantAdmin::open_mfa_enrollment`](super::TenantAdmin::open_mfa_enrollment), 200 `{"username", "action", "open_until"}` |
    /// | `DELETE /admin/users/{username}/mfa/enrollment` | [`TenantAdmin::close_mfa_enrollment`](super::TenantAdmin::close_mfa_enrollment) |
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
                router.route(
                    spec.path,
                    self.guard(spec.endpoint(), spec.action, Some(policy)),
                )
            })
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }

    /// The self-service routes, for any authenticated user of a tenant, on their own account
    /// (the user comes from the verified token). Machine clients get 403 `not_a_user` from
    /// [`self_service`](Self::self_service): they have no account of their own.
    ///
    /// | route | operation |
    /// |---|---|
    /// | `GET /me/attributes` | [`SelfService::attributes`](super::SelfService::attributes) |
    /// | `PATCH /me/attributes` `{"attributes": {"name": "v"}}` | [`SelfService::update_attributes`](super::SelfService::update_attributes): 403 and nothing changed if any of them is not open to self-service |
    /// | `GET /me/mfa` | [`SelfService::mfa`](super::SelfService::mfa) |
    /// | `POST /me/password` `{"current_password", "new_password", "mfa_code"?}` | [`SelfService::change_password`](super::SelfService::change_password), 204 |
    /// | `POST /me/signout` | [`SelfService::sign_out`](super::SelfService::sign_out), 204 |
    /// | `GET /me/devices` | [`SelfService::devices`](super::SelfService::devices) |
    /// | `DELETE /me/devices/{device_key}` | [`SelfService::forget_device`](super::SelfService::forget_device), 204 |
    /// | `POST /me/mfa/totp` `{"current_password", "mfa_code"?}` | [`SelfService::start_totp_enrollment`](super::SelfService::start_totp_enrollment), 200 `{"secret", "otpauth_uri"}` |
    /// | `POST /me/mfa/totp/verify` `{"code"}` | [`SelfService::verify_totp_enrollment`](super::SelfService::verify_totp_enrollment), 204 |
    pub fn self_service_router(&self) -> Router {
        SELF_SERVICE_ROUTES
            .iter()
            .fold(Router::new(), |router, spec| {
                // No policy layer: the operation's session refuses machines (`not_a_user`).
                router.route(spec.path, self.guard(spec.endpoint(), spec.action, None))
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
