//! The axum extractors: `Principal` (401 when absent) and `Option<Principal>`.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::Principal;
use crate::error::{AuthError, ErrorResponder, ResponderExt};

/// Rejection of the [`Principal`] extractor: no authentication layer attached one. Answers
/// 401 in the format of the `CognitoAuth` whose layer saw the request, if any.
pub struct MissingPrincipal(Option<ErrorResponder>);

impl std::fmt::Debug for MissingPrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MissingPrincipal")
    }
}

impl IntoResponse for MissingPrincipal {
    fn into_response(self) -> Response {
        let mut response = match self.0 {
            Some(responder) => responder(&AuthError::MissingToken),
            None => AuthError::MissingToken.to_response(),
        };
        // Counted by the (optional) authentication layer around the handler, if any.
        crate::metrics::mark_refused(&mut response, &AuthError::MissingToken);
        response.map(Into::into)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = MissingPrincipal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            MissingPrincipal(parts.extensions.get::<ResponderExt>().map(|r| r.0.clone()))
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}
