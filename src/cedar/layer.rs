//! The layer: every request of the wrapped routes is decided by Cedar.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::entities::ResourceQuery;
use super::{Cedar, CedarRequest, Decision, Outcome};
use crate::error::AuthError;
use crate::layer::{ResponderExt, reject};
use crate::principal::Principal;

/// The route template of a request, for services that are not axum routers: insert it in the
/// request's extensions before the layer. An axum router's `MatchedPath` is used when present
/// and wins over this. Without either the request is refused (403): the action must name the
/// route, never the raw path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate(pub Arc<str>);

/// Layer that lets a request through only if the Cedar policies of its principal's tenant
/// permit it; made by [`Cedar::layer`].
///
/// Put it inside the authentication layer (`.layer(cedar.layer()).layer(auth.layer())` on an
/// axum router): with no [`Principal`] it answers 401, and it needs the matched route, which an
/// axum router knows only inside itself. Refusals are 403 `insufficient_scope` in the format of
/// the `CognitoAuth` that authenticated the request.
///
/// ```
/// # #[cfg(feature = "test-util")]
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, body::Body, routing::get};
/// use cognito_authz::{CognitoAuth, Tenant, cedar::Cedar, testing::LocalIssuer};
/// use http::{Request, StatusCode, header};
/// use tower::ServiceExt;
///
/// let idp = LocalIssuer::start().await?;
/// let pool = "us-east-1_Acme";
/// let tenant = Tenant::builder("acme", pool).client_id("web").jwks_url(idp.jwks_url(pool));
/// let auth = CognitoAuth::builder().tenant(tenant.build()?)?.build()?;
/// let policies = std::env::temp_dir().join(format!("cedar-doctest-{}", std::process::id()));
/// std::fs::create_dir_all(&policies)?;
/// std::fs::write(
///     policies.join("common.cedar"),
///     r#"permit(principal, action == App::Action::"GET /orders", resource)
///        when { context.roles.contains("clerk") };"#,
/// )?;
/// let cedar = Cedar::builder("App").policies(&policies).build()?;
/// let app = Router::new()
///     .route("/orders", get(|| async { "orders" }))
///     .layer(cedar.layer())
///     .layer(auth.layer());
/// let status = |groups: &[&str]| {
///     let token = idp.mint(&idp.access_claims(pool, "web", "ann", groups));
///     let request = Request::get("/orders")
///         .header(header::AUTHORIZATION, format!("Bearer {token}"))
///         .body(Body::empty())
///         .unwrap();
///     let app = app.clone();
///     async move { app.oneshot(request).await.unwrap() }
/// };
///
/// assert_eq!(status(&["clerk"]).await.status(), StatusCode::OK);
/// let refused = status(&["reader"]).await;
/// assert_eq!(refused.status(), StatusCode::FORBIDDEN);
/// assert!(
///     refused.headers()[header::WWW_AUTHENTICATE]
///         .to_str()?
///         .starts_with(r#"Bearer error="insufficient_scope""#)
/// );
/// let anonymous = app.clone().oneshot(Request::get("/orders").body(Body::empty())?).await?;
/// assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
/// std::fs::remove_dir_all(&policies)?;
/// # Ok(()) }
/// # #[cfg(not(feature = "test-util"))]
/// # fn main() {}
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct CedarLayer {
    cedar: Cedar,
}

impl CedarLayer {
    pub(crate) fn new(cedar: Cedar) -> Self {
        CedarLayer { cedar }
    }
}

impl<S> Layer<S> for CedarLayer {
    type Service = CedarService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CedarService {
            inner,
            cedar: self.cedar.clone(),
        }
    }
}

/// The service of [`CedarLayer`].
#[derive(Clone, Debug)]
pub struct CedarService<S> {
    inner: S,
    cedar: Cedar,
}

impl<S> CedarService<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn route_template(parts: &Parts) -> Option<Arc<str>> {
    if let Some(matched) = parts.extensions.get::<axum::extract::MatchedPath>() {
        return Some(Arc::from(matched.as_str()));
    }
    parts.extensions.get::<RouteTemplate>().map(|r| r.0.clone())
}

/// The matched path parameters, percent-decoded. A parameter that does not decode to UTF-8 is
/// refused (400): left out, `context.path` would lack it and `has` guards in forbids would stop
/// firing.
fn path_params(parts: &mut Parts) -> Result<Vec<(String, String)>, AuthError> {
    use axum::extract::rejection::RawPathParamsRejection;
    use axum::extract::{FromRequestParts, RawPathParams};
    use futures_util::FutureExt;

    // The extractor reads the route's already-matched parameters: it never awaits.
    match RawPathParams::from_request_parts(parts, &()).now_or_never() {
        Some(Ok(params)) => Ok(params
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()),
        // Not routed by an axum router (a `RouteTemplate` service): no parameters.
        Some(Err(RawPathParamsRejection::MissingPathParams(_))) => Ok(Vec::new()),
        // Invalid UTF-8, or anything axum adds later: never decide without the parameters.
        Some(Err(_)) | None => Err(AuthError::InvalidPathParameter),
    }
}

/// Logs a refusal with the policy ids involved (never token contents) and builds the error.
fn refusal(principal: &Principal, decision: &Decision) -> AuthError {
    let outcome = decision.outcome();
    match outcome {
        Outcome::NoPermit | Outcome::Forbidden => tracing::debug!(
            target: "cognito_authz::decision",
            tenant = principal.tenant(),
            action = decision.action(),
            decision = "forbidden",
            outcome = outcome.as_str(),
            policies = ?decision.policies(),
        ),
        // Policies or the application are wrong: worth an operator's attention.
        _ => tracing::warn!(
            target: "cognito_authz::decision",
            tenant = principal.tenant(),
            action = decision.action(),
            decision = "forbidden",
            outcome = outcome.as_str(),
            errors = ?decision.errors(),
        ),
    }
    AuthError::Forbidden(outcome.description().into())
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CedarService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let responder = parts.extensions.get::<ResponderExt>().map(|r| r.0.clone());
        let rejected = |err: &AuthError| ResponseFuture::rejected(reject(responder.as_ref(), err));
        let Some(principal) = parts.extensions.get::<Principal>().cloned() else {
            return rejected(&AuthError::MissingToken);
        };
        let Some(route) = route_template(&parts) else {
            let decision = Decision::refused(
                Outcome::InvalidRequest,
                format!("{} (no matched route)", parts.method),
            );
            return rejected(&refusal(&principal, &decision));
        };
        let params = match path_params(&mut parts) {
            Ok(params) => params,
            Err(err) => {
                tracing::debug!(
                    target: "cognito_authz::decision",
                    tenant = principal.tenant(),
                    route = &*route,
                    decision = "refused",
                    reason = err.reason(),
                );
                return rejected(&err);
            }
        };
        // HEAD is decided as GET (see `CedarRequest::new`).
        let request = CedarRequest::of_http(&parts.method, route, params);
        let Some(provider) = self.cedar.provider().cloned() else {
            let decision = self.cedar.decide(&principal, &request);
            if !decision.is_allowed() {
                return rejected(&refusal(&principal, &decision));
            }
            return ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)));
        };
        // The provider is asynchronous: take the service that was polled ready and leave a
        // clone in its place, as tower's `Service` contract asks.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cedar = self.cedar.clone();
        ResponseFuture::boxed(Box::pin(async move {
            let principal_uid = cedar.names().principal_uid(&principal);
            let query = ResourceQuery {
                principal: &principal,
                principal_uid: &principal_uid,
                method: &request.method,
                route: &request.route,
                path: &request.path,
            };
            let decision = match provider.resource(&query).await {
                Ok(resource) => cedar.decide_with(&principal, &request, resource),
                Err(err) => {
                    tracing::warn!(
                        target: "cognito_authz::cedar",
                        action = request.action(),
                        error = %err,
                        "entity provider failed"
                    );
                    Decision::refused(Outcome::InvalidRequest, request.action())
                }
            };
            if decision.is_allowed() {
                inner.call(Request::from_parts(parts, body)).await
            } else {
                let err = refusal(&principal, &decision);
                Ok(reject(responder.as_ref(), &err))
            }
        }))
    }
}

pin_project! {
    /// Response future of [`CedarService`].
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<Bytes>> },
        Provider { future: BoxFuture<'static, Result<Response<B>, E>> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    fn inner(future: F) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    fn rejected(response: Response<Bytes>) -> Self {
        ResponseFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    fn boxed(future: BoxFuture<'static, Result<Response<B>, E>>) -> Self {
        ResponseFuture {
            kind: Kind::Provider { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<Bytes>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Provider { future } => future.as_mut().poll(cx),
            KindProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion")
                .map(B::from))),
        }
    }
}
