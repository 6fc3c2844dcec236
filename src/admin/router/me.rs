//! The handlers of the `/me` routes: the caller's own account. The user is always the
//! verified token's; a machine client gets 403 `not_a_user` from [`AdminApi::self_service`].

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;

use super::handlers::{json_body, run_with};
use crate::admin::audit::Action;
use crate::admin::ops::PasswordChange;
use crate::admin::{AdminApi, AdminError};
use crate::principal::Principal;

/// The `/me` routes without a body or path parameter.
#[derive(Clone, Copy)]
pub(super) enum MeQuery {
    Attributes,
    Mfa,
    Devices,
    SignOut,
}

pub(super) async fn me_query(query: MeQuery, api: AdminApi, principal: Principal) -> Response {
    let session = api.self_service(&principal).await;
    let username = principal.username();
    let (action, success) = match query {
        MeQuery::Attributes => (Action::GetOwnAttributes, StatusCode::OK),
        MeQuery::Mfa => (Action::GetOwnMfa, StatusCode::OK),
        MeQuery::Devices => (Action::ListOwnDevices, StatusCode::OK),
        MeQuery::SignOut => (Action::SignOutSelf, StatusCode::NO_CONTENT),
    };
    run_with(
        success,
        &principal,
        action,
        username,
        session,
        Ok(()),
        |me, ()| async move {
            Ok::<_, AdminError>(
                match query {
                    MeQuery::Attributes => serde_json::to_value(me.attributes().await?),
                    MeQuery::Mfa => serde_json::to_value(me.mfa().await?),
                    MeQuery::Devices => serde_json::to_value(me.devices().await?),
                    MeQuery::SignOut => {
                        me.sign_out().await?;
                        Ok(serde_json::Value::Null)
                    }
                }
                .unwrap_or_default(),
            )
        },
    )
    .await
}

pub(super) fn me_query_route(
    method: axum::routing::MethodFilter,
    query: MeQuery,
) -> axum::routing::MethodRouter<AdminApi> {
    axum::routing::on(
        method,
        move |State(api): State<AdminApi>, principal: Principal| me_query(query, api, principal),
    )
}

pub(super) async fn change_password(
    State(api): State<AdminApi>,
    principal: Principal,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Response {
    let session = api.self_service(&principal).await;
    run_with(
        StatusCode::NO_CONTENT,
        &principal,
        Action::ChangeOwnPassword,
        principal.username(),
        session,
        json_body(body),
        |me, change| async move { me.change_password(&change).await },
    )
    .await
}

pub(super) async fn forget_device(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(device_key): Path<String>,
) -> Response {
    let session = api.self_service(&principal).await;
    run_with(
        StatusCode::NO_CONTENT,
        &principal,
        Action::ForgetOwnDevice,
        principal.username(),
        session,
        Ok(()),
        |me, ()| async move { me.forget_device(&device_key).await },
    )
    .await
}
