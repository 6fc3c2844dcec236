//! Authorization: a per-route [`Policy`] over the authenticated [`Principal`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{ResponderExt, reject};
use crate::error::AuthError;
use crate::metrics::mark_refused;
use crate::policy::Policy;
use crate::principal::Principal;

/// Layer that lets a request through only if its [`Principal`] satisfies a [`Policy`].
///
/// Answers 403 (`WWW-Authenticate: Bearer error="insufficient_scope"`) when the policy refuses,
/// and 401 when there is no principal at all: it never lets an unauthenticated request pass,
/// even if no authentication layer was installed.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{Router, routing::{get, put}};
/// use cognito_authz::{AuthzLayer, Policy};
///
/// let app: Router = Router::new()
///     .route("/admin/users/{user}/mfa", put(|| async {}).layer(AuthzLayer::require("admin")))
///     .route("/reports", get(|| async {}).layer(AuthzLayer::require_any(["admin", "auditor"])))
///     .route(
///         "/tenants/{tenant}/settings",
///         get(|| async {}).layer(AuthzLayer::policy(
///             Policy::role("admin").and(Policy::same_tenant_as("tenant")),
///         )),
///     );
/// # }
/// ```
///
/// Run behind the authentication layer, with tokens of the `test-util` feature's
/// `testing::LocalIssuer`:
///
/// ```
/// # #[cfg(feature = "test-util")]
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, body::Body, routing::get};
/// use cognito_authz::{CognitoAuth, AuthzLayer, Tenant, testing::LocalIssuer};
/// use http::{Request, StatusCode, header};
/// use tower::ServiceExt;
///
/// let idp = LocalIssuer::start().await?;
/// let pool = "us-east-1_Acme";
/// let tenant = Tenant::builder("acme", pool).client_id("web").jwks_url(idp.jwks_url(pool));
/// let auth = CognitoAuth::builder().tenant(tenant.build()?)?.build()?;
/// let app = Router::new()
///     .route("/reports", get(|| async {}).layer(AuthzLayer::require_any(["admin", "auditor"])))
///     .layer(auth.layer());
/// let status = |groups: &[&str]| {
///     let token = idp.mint(&idp.access_claims(pool, "web", "ann", groups));
///     let request = Request::get("/reports")
///         .header(header::AUTHORIZATION, format!("Bearer {token}"))
///         .body(Body::empty())
///         .unwrap();
///     let app = app.clone();
///     async move { app.oneshot(request).await.unwrap() }
/// };
///
/// assert_eq!(status(&["auditor"]).await.status(), StatusCode::OK);
/// let refused = status(&["reader"]).await;
/// assert_eq!(refused.status(), StatusCode::FORBIDDEN);
/// assert!(
///     refused.headers()[header::WWW_AUTHENTICATE]
///         .to_str()?
///         .starts_with(r#"Bearer error="insufficient_scope""#)
/// );
///
/// // Without an authentication layer in front it fails closed: 401, never through.
/// let bare = Router::new().route("/", get(|| async {})).layer(AuthzLayer::authenticated());
/// let response = bare.oneshot(Request::get("/").body(Body::empty())?).await?;
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// # Ok(()) }
/// # #[cfg(not(feature = "test-util"))]
/// # fn main() {}
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthzLayer {
    policy: Policy,
}

impl AuthzLayer {
    /// Any policy.
    pub fn policy(policy: Policy) -> Self {
        AuthzLayer { policy }
    }

    /// The principal has `role`.
    pub fn require(role: impl Into<String>) -> Self {
        Self::policy(Policy::role(role))
    }

    /// The principal has at least one of `roles`.
    pub fn require_any<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Self {
        Self::policy(Policy::any_role(roles))
    }

    /// The principal has all of `roles`.
    pub fn require_all<I: IntoIterator<Item = S>, S: Into<String>>(roles: I) -> Self {
        Self::policy(Policy::all_roles(roles))
    }

    /// The access token carries OAuth scope `scope`.
    pub fn require_scope(scope: impl Into<String>) -> Self {
        Self::policy(Policy::scope(scope))
    }

    /// The principal's tenant equals path parameter `param`.
    #[cfg(feature = "axum")]
    pub fn same_tenant_as(param: impl Into<String>) -> Self {
        Self::policy(Policy::same_tenant_as(param))
    }

    /// Only authenticated principals, whatever their roles (useful under an optional
    /// authentication layer).
    pub fn authenticated() -> Self {
        Self::policy(Policy::custom("authenticated", |_, _| true))
    }
}

impl<S> Layer<S> for AuthzLayer {
    type Service = AuthzService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthzService {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// The service of [`AuthzLayer`].
#[derive(Clone, Debug)]
pub struct AuthzService<S> {
    inner: S,
    policy: Policy,
}

impl<S> AuthzService<S> {
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthzService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let responder = parts.extensions.get::<ResponderExt>().map(|r| r.0.clone());
        let decision = match parts.extensions.get::<Principal>().cloned() {
            None => Err(AuthError::MissingToken),
            Some(principal) => self
                .policy
                .check(&principal, &mut parts)
                .map_err(AuthError::Forbidden)
                .inspect_err(|err| {
                    tracing::debug!(
                        target: "cognito_authz::decision",
                        tenant = principal.tenant(),
                        decision = "forbidden",
                        reason = %err,
                    );
                }),
        };
        let kind = match decision {
            Ok(()) => Kind::Inner {
                future: self.inner.call(Request::from_parts(parts, body)),
            },
            Err(err) => {
                let mut response = reject(responder.as_ref(), &err);
                // Counted by the authentication layer as the answer passes it.
                mark_refused(&mut response, &err);
                Kind::Rejected {
                    response: Some(response),
                }
            }
        };
        ResponseFuture { kind }
    }
}

pin_project! {
    /// Response future of [`AuthzService`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<Bytes>> },
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .expect("ResponseFuture polled after completion")
                .map(ResBody::from))),
        }
    }
}
