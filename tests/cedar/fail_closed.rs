//! Fail closed: an evaluation error refuses even when a permit matches, the layer answers 401
//! without authentication, and the action is the route template, never the raw path.

use axum::Router;
use axum::routing::get;
use cognito_authz::AuthError;
use cognito_authz::cedar::{CedarRequest, Outcome};
use http::StatusCode;

use crate::cedar_support::*;
use crate::common::*;

#[tokio::test]
async fn an_evaluation_error_refuses_even_when_a_permit_matches() {
    let fx = Fx::new().await;
    // Cedar skips a policy that errs: here the forbid, on a route without a `tenant` parameter,
    // which alone would let the permit through.
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action, resource);
           @id("other-tenant")
           forbid(principal, action, resource) when { context.path.tenant != context.tenant };"#,
    )]);
    let cedar = policies.cedar();
    let app = app(&fx.auth, &cedar);
    let alice = fx.acme("alice", &[], "");
    assert_refused(&call(&app, "/orders", Some(&alice)).await, EVAL_ERROR);
    assert_eq!(
        call(&app, "/tenants/acme/orders", Some(&alice))
            .await
            .status,
        StatusCode::OK
    );
    assert_refused(
        &call(&app, "/tenants/globex/orders", Some(&alice)).await,
        FORBIDS,
    );
    let principal = fx.auth.verify(&alice).await.unwrap();
    let decision = cedar.decide(&principal, &CedarRequest::new("GET", "/orders"));
    assert_eq!(decision.outcome(), Outcome::EvaluationError);
    assert_eq!(decision.errors(), ["common/other-tenant"]);
}

#[tokio::test]
async fn without_authentication_the_layer_answers_401() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[("common.cedar", "permit(principal, action, resource);")]);
    let app: Router = Router::new()
        .route("/orders", get(ok))
        .layer(policies.cedar().layer());
    let token = fx.acme("alice", &[], "");
    let reply = call(&app, "/orders", Some(&token)).await;
    assert_error_reply(&reply, StatusCode::UNAUTHORIZED, &AuthError::MissingToken);
}

#[tokio::test]
async fn the_action_is_the_route_template_never_the_raw_path() {
    let fx = Fx::new().await;
    let policies = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders/{order}", resource);
           permit(principal, action == App::Action::"GET /orders/42", resource);"#,
    )]);
    let app = app(&fx.auth, &policies.cedar());
    let alice = fx.acme("alice", &[], "");
    assert_eq!(
        call(&app, "/orders/7", Some(&alice)).await.status,
        StatusCode::OK
    );
    // A policy naming a raw path never matches anything: only the template is an action.
    let only_raw = Folder::new(&[(
        "common.cedar",
        r#"permit(principal, action == App::Action::"GET /orders/42", resource);"#,
    )]);
    let app = self::app(&fx.auth, &only_raw.cedar());
    assert_refused(&call(&app, "/orders/42", Some(&alice)).await, NO_PERMIT);
}
