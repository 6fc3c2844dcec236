//! Authentication: bearer token in, [`Principal`] out (or a 401/503 answer).

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use super::bearer::{bearer_candidate, bearer_token};
use super::{AuthInner, ResponderExt, reject};
use crate::error::{AuthError, ErrorResponder};
use crate::metrics::{Pending, TenantMetrics, mark_counted};
use crate::principal::Principal;
use crate::verify::{CacheLookup, TokenUses};

/// Layer that authenticates requests with a Cognito bearer token; made by
/// [`CognitoAuth::layer`](crate::CognitoAuth::layer) or
/// [`CognitoAuth::optional_layer`](crate::CognitoAuth::optional_layer).
///
/// A request with a valid token goes on with a [`Principal`] in its extensions. Otherwise the
/// layer answers itself: 401 (`WWW-Authenticate: Bearer error="invalid_token"`) for missing or bad
/// credentials, 503 when the tenant's keys cannot be obtained.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{Router, routing::get};
/// use cognito_authz::{CognitoAuth, AuthzLayer, Principal, Tenant, TokenUses};
///
/// # fn build() -> Result<Router, cognito_authz::ConfigError> {
/// let auth = CognitoAuth::builder()
///     .tenant(Tenant::builder("acme", "us-east-1_AbCdEf123").client_id("client-a").build()?)?
///     .build()?;
/// let app = Router::new()
///     .route("/me", get(|p: Principal| async move { p.username().to_owned() }))
///     .route("/admin", get(|| async { "hi" }).layer(AuthzLayer::require("admin")))
///     .layer(auth.layer());
/// // A route that takes id tokens (for example a profile page of a single-page app):
/// let profile = Router::<()>::new()
///     .route("/profile", get(|p: Principal| async move { p.subject().to_owned() }))
///     .layer(auth.layer().accept(TokenUses::ID));
/// # Ok(app.merge(profile)) }
/// # }
/// ```
///
/// What it answers without a valid token (no key is fetched for any of these):
///
/// ```
/// # #[cfg(feature = "axum")]
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, body::Body, routing::get};
/// use cognito_authz::{CognitoAuth, Tenant};
/// use http::{Request, StatusCode, header};
/// use tower::ServiceExt;
///
/// let auth = CognitoAuth::builder()
///     .tenant(Tenant::builder("acme", "us-east-1_AbCdEf123").client_id("client-a").build()?)?
///     .build()?;
/// let app = Router::new().route("/", get(|| async { "hi" })).layer(auth.layer());
/// let challenge = |authorization: Option<&str>| {
///     let mut request = Request::get("/");
///     if let Some(value) = authorization {
///         request = request.header(header::AUTHORIZATION, value);
///     }
///     let app = app.clone();
///     async move {
///         let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
///         assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
///         response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().to_owned()
///     }
/// };
///
/// assert_eq!(
///     challenge(None).await,
///     r#"Bearer error="invalid_token", error_description="missing bearer token""#
/// );
/// assert_eq!(
///     challenge(Some("Basic YWxpY2U6c2VjcmV0")).await,
///     r#"Bearer error="invalid_token", error_description="authorization header is not a bearer token""#
/// );
/// // A well-formed token from an issuer that is no tenant: refused before any key fetch.
/// let foreign = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ\
///     .eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwidG9rZW5fdXNlIjoiYWNjZXNzIn0.c2ln";
/// assert_eq!(
///     challenge(Some(&format!("Bearer {foreign}"))).await,
///     r#"Bearer error="invalid_token", error_description="token issuer is not a known tenant""#
/// );
/// # Ok(()) }
/// # #[cfg(not(feature = "axum"))]
/// # fn main() {}
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthnLayer {
    auth: Arc<AuthInner>,
    optional: bool,
    uses: TokenUses,
}

impl AuthnLayer {
    pub(crate) fn new(auth: Arc<AuthInner>) -> Self {
        AuthnLayer {
            auth,
            optional: false,
            uses: TokenUses::ACCESS,
        }
    }

    pub(crate) fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Which token uses to accept. Default: access tokens only.
    pub fn accept(mut self, uses: TokenUses) -> Self {
        self.uses = uses;
        self
    }
}

impl<S> Layer<S> for AuthnLayer {
    type Service = AuthnService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthnService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`AuthnLayer`].
#[derive(Clone, Debug)]
pub struct AuthnService<S> {
    inner: S,
    layer: AuthnLayer,
}

impl<S> AuthnService<S> {
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

fn log_decision(result: Result<&Principal, &AuthError>) {
    match result {
        Ok(principal) => tracing::debug!(
            target: "cognito_authz::decision",
            tenant = principal.tenant(),
            decision = "authenticated",
        ),
        Err(err) => tracing::debug!(
            target: "cognito_authz::decision",
            decision = "rejected",
            reason = err.reason(),
            status = err.status().as_u16(),
        ),
    }
}

enum Outcome {
    Pass(Option<Principal>),
    /// The refusal, and the token's tenant's metrics if it is known.
    Reject(AuthError, Option<TenantMetrics>),
    Verify(String, Option<crate::verify::CacheSlot>),
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthnService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let verifier = &self.layer.auth.verifier;
        let outcome = match bearer_candidate(req.headers()) {
            Ok(None) if self.layer.optional => Outcome::Pass(None),
            Ok(None) => Outcome::Reject(AuthError::MissingToken, None),
            Err(err) => Outcome::Reject(err, None),
            // A hit needs no check of the token's text (see `bearer`); anything else gets it
            // first, so a malformed header is refused as one whatever the cache holds.
            Ok(Some(token)) => match verifier.lookup(token, self.layer.uses) {
                CacheLookup::Hit(principal) => Outcome::Pass(Some(principal)),
                CacheLookup::Rejected(err, tenant) => match bearer_token(req.headers()) {
                    Ok(_) => Outcome::Reject(err, tenant),
                    Err(malformed) => Outcome::Reject(malformed, None),
                },
                // The same token, checked: the slot computed over its bytes is its slot.
                CacheLookup::Miss(slot) => match bearer_token(req.headers()) {
                    Ok(Some(token)) => Outcome::Verify(token.to_owned(), slot),
                    Ok(None) => Outcome::Reject(AuthError::MissingToken, None),
                    Err(malformed) => Outcome::Reject(malformed, None),
                },
            },
        };
        let responder = self.layer.auth.responder.as_ref();
        // Under another authentication layer (it attached a principal already), that one
        // counts the allowed request: one request, one decision.
        let nested = req.extensions().get::<Principal>().is_some();
        match outcome {
            Outcome::Pass(principal) => {
                let pending = verifier
                    .metrics
                    .pending(principal.as_ref().and_then(Principal::metrics), !nested);
                if let Some(principal) = principal {
                    log_decision(Ok(&principal));
                    req.extensions_mut().insert(principal);
                }
                // Only a custom responder travels with the request: the default needs no
                // extension (and no allocation) on the warm path.
                if let Some(responder) = responder {
                    req.extensions_mut().insert(ResponderExt(responder.clone()));
                }
                ResponseFuture::inner(self.inner.call(req), pending)
            }
            Outcome::Reject(err, tenant) => {
                log_decision(Err(&err));
                verifier.metrics.refused(tenant.as_ref(), &err);
                let mut response = reject(responder, &err);
                mark_counted(&mut response, &err);
                ResponseFuture::rejected(response)
            }
            Outcome::Verify(token, slot) => {
                let auth = self.layer.auth.clone();
                let uses = self.layer.uses;
                let span = tracing::debug_span!(
                    "cognito_authz::authenticate",
                    tenant = tracing::field::Empty,
                    decision = tracing::field::Empty,
                    reason = tracing::field::Empty,
                );
                let verify = async move {
                    let verifier = &auth.verifier;
                    let mut tenant = None;
                    let result = verifier
                        .verify_uncached(&token, slot, uses, &mut tenant)
                        .await;
                    let span = tracing::Span::current();
                    match &result {
                        Ok(p) => {
                            span.record("tenant", p.tenant());
                            span.record("decision", "authenticated");
                        }
                        Err(e) => {
                            span.record("decision", "rejected");
                            span.record("reason", e.reason());
                        }
                    }
                    log_decision(result.as_ref());
                    match result {
                        Ok(principal) => {
                            let pending = verifier.metrics.pending(principal.metrics(), !nested);
                            Ok((principal, pending))
                        }
                        Err(err) => {
                            verifier.metrics.refused(tenant.as_ref(), &err);
                            Err(err)
                        }
                    }
                }
                .instrument(span);
                // The clone goes back to `self`; the instance polled ready serves this request.
                let clone = self.inner.clone();
                let service = mem::replace(&mut self.inner, clone);
                ResponseFuture {
                    state: State::Verifying {
                        verify: Box::pin(verify),
                        request: req,
                        service,
                        responder: responder.cloned(),
                    },
                }
            }
        }
    }
}

type VerifyFuture = Pin<Box<dyn Future<Output = Result<(Principal, Pending), AuthError>> + Send>>;

pin_project! {
    /// Response future of [`AuthnService`].
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateOwned]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Verifying {
            verify: VerifyFuture,
            request: Request<ReqBody>,
            service: S,
            responder: Option<ErrorResponder>,
        },
        Inner { #[pin] future: S::Future, pending: Pending },
        Rejected { response: Response<Bytes> },
        Done,
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn inner(future: S::Future, pending: Pending) -> Self {
        ResponseFuture {
            state: State::Inner { future, pending },
        }
    }

    fn rejected(response: Response<Bytes>) -> Self {
        ResponseFuture {
            state: State::Rejected { response },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.as_mut().project().state;
        match state.as_mut().project() {
            StateProj::Inner { future, pending } => return poll_inner(future, pending, cx),
            StateProj::Verifying { verify, .. } => {
                let result = ready!(verify.as_mut().poll(cx));
                let StateOwned::Verifying {
                    mut request,
                    mut service,
                    responder,
                    ..
                } = state.as_mut().project_replace(State::Done)
                else {
                    unreachable!("the state was Verifying a moment ago");
                };
                match result {
                    Ok((principal, pending)) => {
                        request.extensions_mut().insert(principal);
                        if let Some(responder) = responder {
                            request.extensions_mut().insert(ResponderExt(responder));
                        }
                        state.set(State::Inner {
                            future: service.call(request),
                            pending,
                        });
                    }
                    Err(err) => {
                        let mut response = reject(responder.as_ref(), &err);
                        mark_counted(&mut response, &err);
                        return Poll::Ready(Ok(response));
                    }
                }
            }
            StateProj::Rejected { .. } => {
                let StateOwned::Rejected { response } = state.project_replace(State::Done) else {
                    unreachable!("the state was Rejected a moment ago");
                };
                return Poll::Ready(Ok(response.map(ResBody::from)));
            }
            StateProj::Done => panic!("ResponseFuture polled after completion"),
        }
        // Verified: the inner service's future is polled right away.
        match state.project() {
            StateProj::Inner { future, pending } => poll_inner(future, pending, cx),
            _ => unreachable!("the state was set to Inner"),
        }
    }
}

/// Polls the inner service's future; once it is done, counts the request's decision.
fn poll_inner<F, B, E>(
    future: Pin<&mut F>,
    pending: &mut Pending,
    cx: &mut Context<'_>,
) -> Poll<Result<Response<B>, E>>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    let mut result = ready!(future.poll(cx));
    pending.finish(result.as_mut().ok());
    Poll::Ready(result)
}
