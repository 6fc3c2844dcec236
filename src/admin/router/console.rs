//! The handlers of the admin console routes: invite, delete, password reset, group listings.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;

use super::handlers::{json_body, run_with};
use crate::admin::AdminApi;
use crate::admin::audit::Action;
use crate::admin::ops::NewUser;
use crate::principal::Principal;

pub(super) async fn create_user(
    State(api): State<AdminApi>,
    principal: Principal,
    body: Result<Json<NewUser>, JsonRejection>,
) -> Response {
    let session = api.tenant_admin(&principal).await;
    let body = json_body(body);
    let target = body
        .as_ref()
        .map_or("", |new: &NewUser| new.username.as_str())
        .to_owned();
    run_with(
        StatusCode::CREATED,
        &principal,
        Action::CreateUser,
        &target,
        session,
        body,
        |admin, new| async move { admin.create_user(&new).await },
    )
    .await
}

pub(super) async fn delete_user(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
) -> Response {
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run_with(
        StatusCode::NO_CONTENT,
        &principal,
        Action::DeleteUser,
        username,
        session,
        Ok(()),
        |admin, ()| async move { admin.delete_user(username).await },
    )
    .await
}

pub(super) async fn reset_password(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
) -> Response {
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run_with(
        StatusCode::NO_CONTENT,
        &principal,
        Action::ResetPassword,
        username,
        session,
        Ok(()),
        |admin, ()| async move { admin.reset_password(username).await },
    )
    .await
}

pub(super) async fn user_groups(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
) -> Response {
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run_with(
        StatusCode::OK,
        &principal,
        Action::ListUserGroups,
        username,
        session,
        Ok(()),
        |admin, ()| async move { admin.user_groups(username).await },
    )
    .await
}

pub(super) async fn list_groups(State(api): State<AdminApi>, principal: Principal) -> Response {
    let session = api.tenant_admin(&principal).await;
    run_with(
        StatusCode::OK,
        &principal,
        Action::ListGroups,
        "*",
        session,
        Ok(()),
        |admin, ()| async move { admin.list_groups().await },
    )
    .await
}
