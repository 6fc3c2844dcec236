//! The tower layers: [`AuthnLayer`] authenticates, [`AuthzLayer`] authorizes.
//!
//! Put `auth.layer()` around the whole router and an `AuthzLayer` on each route that needs
//! more than "signed in". The authorization layer fails closed: with no [`Principal`](crate::Principal)
//! on the request (no authentication layer ran) it answers 401, never passes.
//!
//! Names follow one rule, tower-http's: a concern's layer is `<Concern>Layer`, its service
//! `<Concern>Service`, and its response future `<module>::ResponseFuture`
//! ([`authn::ResponseFuture`], [`authz::ResponseFuture`]; Cedar's is
//! `cedar::ResponseFuture`).

pub mod authn;
pub mod authz;
mod bearer;

pub use authn::{AuthnLayer, AuthnService};
pub use authz::{AuthzLayer, AuthzService};

/// The former name of [`AuthnLayer`].
#[deprecated(since = "0.1.0", note = "renamed to `AuthnLayer`")]
pub type AuthLayer = AuthnLayer;
/// The former name of [`AuthnService`].
#[deprecated(since = "0.1.0", note = "renamed to `AuthnService`")]
pub type AuthService<S> = AuthnService<S>;
/// The former name of [`AuthzLayer`].
#[deprecated(since = "0.1.0", note = "renamed to `AuthzLayer`")]
pub type CognitoAuthz = AuthzLayer;

use bytes::Bytes;
use http::Response;

pub(crate) use crate::error::ResponderExt;
use crate::error::{AuthError, ErrorResponder};
use crate::verify::Verifier;

/// What the layers of one [`CognitoAuth`](crate::CognitoAuth) share; a `CognitoAuth` is a
/// handle on it.
pub(crate) struct AuthInner {
    pub(crate) verifier: Verifier,
    /// `None`: the default JSON answers ([`AuthError::to_response`]).
    pub(crate) responder: Option<ErrorResponder>,
}

impl std::fmt::Debug for AuthInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoAuth")
            .field("tenants", &self.verifier.registry.len())
            .field("resolver", &self.verifier.resolver.is_some())
            .finish_non_exhaustive()
    }
}

pub(crate) fn reject<B: From<Bytes>>(
    responder: Option<&ErrorResponder>,
    err: &AuthError,
) -> Response<B> {
    let response = match responder {
        Some(responder) => responder(err),
        None => err.to_response(),
    };
    response.map(B::from)
}
