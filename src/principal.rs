//! The verified caller: [`Principal`].

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// What a Cognito token is for, from its `token_use` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    /// An access token (`token_use = "access"`): what APIs should accept.
    Access,
    /// An id token (`token_use = "id"`): identity for the client; accepted only where configured.
    Id,
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        })
    }
}

/// The authenticated caller, attached to the request by the authentication layer.
///
/// Cloning is cheap (one reference count). Get it from request extensions
/// (`req.extensions().get::<Principal>()`) in plain tower/hyper services, or as an axum
/// extractor: `Principal` (401 when absent) or `Option<Principal>` (for optional routes).
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use cognito_authz::Principal;
///
/// async fn me(principal: Principal) -> String {
///     format!("{} of {}", principal.username(), principal.tenant())
/// }
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Principal(Arc<PrincipalData>);

#[derive(PartialEq, Eq, Serialize)]
pub(crate) struct PrincipalData {
    pub(crate) tenant: Arc<str>,
    pub(crate) subject: String,
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) token_use: TokenUse,
    pub(crate) roles: Vec<Arc<str>>,
    pub(crate) groups: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: u64,
    pub(crate) jti: Option<String>,
    pub(crate) origin_jti: Option<String>,
}

impl Principal {
    pub(crate) fn new(data: PrincipalData) -> Self {
        Principal(Arc::new(data))
    }

    /// The tenant id (from the tenant registry, not from the token).
    pub fn tenant(&self) -> &str {
        &self.0.tenant
    }

    /// The user's stable id (`sub`).
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The user name (`username` in access tokens, `cognito:username` in id tokens).
    pub fn username(&self) -> &str {
        &self.0.username
    }

    /// The app client the token was issued to (`client_id`, or `aud` for id tokens).
    pub fn client_id(&self) -> &str {
        &self.0.client_id
    }

    /// Whether this came from an access or an id token.
    pub fn token_use(&self) -> TokenUse {
        self.0.token_use
    }

    /// Roles after the tenant's group-to-role mapping, sorted and without duplicates.
    pub fn roles(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.roles.iter().map(|r| &**r)
    }

    /// True if the principal has `role` (exact, case-sensitive).
    pub fn has_role(&self, role: &str) -> bool {
        self.0.roles.binary_search_by(|r| (**r).cmp(role)).is_ok()
    }

    /// The raw `cognito:groups` of the token.
    pub fn groups(&self) -> &[String] {
        &self.0.groups
    }

    /// The OAuth scopes of an access token (`scope`, space-separated in the token); empty for id tokens.
    pub fn scopes(&self) -> &[String] {
        &self.0.scopes
    }

    /// True if the access token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.scopes.iter().any(|s| s == scope)
    }

    /// Expiry (`exp`), seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.0.expires_at
    }

    /// The token id (`jti`), when present.
    pub fn jti(&self) -> Option<&str> {
        self.0.jti.as_deref()
    }

    /// The sign-in session id (`origin_jti`), stable across refreshes; useful for revocation lists.
    pub fn origin_jti(&self) -> Option<&str> {
        self.0.origin_jti.as_deref()
    }
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

// Debug shows who, never token material (there is none stored) nor the full scope list.
impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("tenant", &self.0.tenant)
            .field("subject", &self.0.subject)
            .field("username", &self.0.username)
            .field("token_use", &self.0.token_use)
            .field("roles", &self.0.roles)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "axum")]
mod extract {
    use axum::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum::response::{IntoResponse, Response};
    use http::request::Parts;

    use super::Principal;
    use crate::error::{AuthError, ErrorResponder};
    use crate::layer::ResponderExt;

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
            let response = match self.0 {
                Some(responder) => responder(&AuthError::MissingToken),
                None => AuthError::MissingToken.to_response(),
            };
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

        async fn from_request_parts(
            parts: &mut Parts,
            _: &S,
        ) -> Result<Option<Self>, Self::Rejection> {
            Ok(parts.extensions.get::<Principal>().cloned())
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::MissingPrincipal;
