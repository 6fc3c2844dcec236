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
