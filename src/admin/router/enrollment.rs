//! The handlers of TOTP enrollment: the administrator's window
//! (`POST`/`DELETE /admin/users/{username}/mfa/enrollment`) and the user's own enrollment
//! (`POST /me/mfa/totp`, `POST /me/mfa/totp/verify`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;

use super::handlers::{Done, json_body, run_with};
use crate::admin::audit::Action;
use crate::admin::ops::{EnrollmentWindowRequest, TotpEnrollmentStart, TotpVerification};
use crate::admin::{AdminApi, AdminError};
use crate::principal::Principal;

pub(super) async fn open_window(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
    body: Result<Json<EnrollmentWindowRequest>, JsonRejection>,
) -> Response {
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run_with(
        StatusCode::OK,
        &principal,
        Action::OpenMfaEnrollment,
        username,
        session,
        json_body(body),
        |admin, body| async move { admin.open_mfa_enrollment(username, body.minutes).await },
    )
    .await
}

pub(super) async fn close_window(
    State(api): State<AdminApi>,
    principal: Principal,
    Path(target): Path<String>,
) -> Response {
    let action = Action::CloseMfaEnrollment;
    let session = api.tenant_admin(&principal).await;
    let username = target.as_str();
    run_with(
        StatusCode::OK,
        &principal,
        action,
        username,
        session,
        Ok(()),
        |admin, ()| async move {
            admin.close_mfa_enrollment(username).await?;
            Ok::<_, AdminError>(Done {
                username,
                action: action.as_str(),
            })
        },
    )
    .await
}

pub(super) async fn start_totp(
    State(api): State<AdminApi>,
    principal: Principal,
    body: Result<Json<TotpEnrollmentStart>, JsonRejection>,
) -> Response {
    let session = api.self_service(&principal).await;
    run_with(
        StatusCode::OK,
        &principal,
        Action::StartTotpEnrollment,
        principal.username(),
        session,
        json_body(body),
        |me, start| async move { me.start_totp_enrollment(&start).await },
    )
    .await
}

pub(super) async fn verify_totp(
    State(api): State<AdminApi>,
    principal: Principal,
    body: Result<Json<TotpVerification>, JsonRejection>,
) -> Response {
    let session = api.self_service(&principal).await;
    run_with(
        StatusCode::NO_CONTENT,
        &principal,
        Action::VerifyTotpEnrollment,
        principal.username(),
        session,
        json_body(body),
        |me, verification| async move { me.verify_totp_enrollment(&verification).await },
    )
    .await
}
