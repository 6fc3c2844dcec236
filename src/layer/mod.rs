//! The tower layers: [`AuthLayer`] authenticates, [`CognitoAuthz`] authorizes.
//!
//! Put `auth.layer()` around the whole router and a `CognitoAuthz` on each route that needs
//! more than "signed in". The authorization layer fails closed: with no [`Principal`](crate::Principal)
//! on the request (no authentication layer ran) it answers 401, never passes.

mod authn;
mod authz;

pub use authn::{AuthLayer, AuthService, ResponseFuture as AuthResponseFuture};
pub use authz::{AuthzService, CognitoAuthz, ResponseFuture as AuthzResponseFuture};

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
