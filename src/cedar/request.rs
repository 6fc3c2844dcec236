//! [`CedarRequest`]: what Cedar is asked about one HTTP request (method, route template, path
//! parameters), HEAD decided as GET.
//!
//! Cheap to clone (no allocation for a standard method, two reference counts): a principal
//! remembers the request of its last decision, on every evaluated request.

use std::borrow::Cow;
use std::sync::Arc;

use super::decided_method;

/// The methods a request names without allocating (HEAD is decided as GET).
const STANDARD_METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// One request as Cedar sees it: method, route template and path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CedarRequest {
    pub(super) method: Cow<'static, str>,
    pub(super) route: Arc<str>,
    pub(super) path: Arc<Vec<(String, String)>>,
}

/// `method` as decided (HEAD as GET), borrowed from [`STANDARD_METHODS`] when it is one.
fn decided(method: &str) -> Cow<'static, str> {
    let method = decided_method(method);
    match STANDARD_METHODS.iter().find(|m| **m == method) {
        Some(standard) => Cow::Borrowed(standard),
        None => Cow::Owned(method.to_owned()),
    }
}

impl CedarRequest {
    /// `method` as in HTTP (`GET`), `route` the route template (`/orders/{order}`). HEAD is
    /// decided as GET (axum answers HEAD with the GET handler).
    pub fn new(method: impl Into<String>, route: impl Into<String>) -> Self {
        CedarRequest {
            method: decided(&method.into()),
            route: Arc::from(route.into()),
            path: Arc::default(),
        }
    }

    /// What the layer asks: the request's method, its matched route and path parameters.
    pub(crate) fn of_http(
        method: &http::Method,
        route: Arc<str>,
        path: Vec<(String, String)>,
    ) -> Self {
        CedarRequest {
            method: decided(method.as_str()),
            route,
            path: Arc::new(path),
        }
    }

    /// Adds a matched path parameter (`context.path.<name>`).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.path).push((name.into(), value.into()));
        self
    }

    /// All the path parameters at once (what `explain` reads from its command line).
    #[cfg(feature = "cli")]
    pub(crate) fn with_params(mut self, path: Vec<(String, String)>) -> Self {
        self.path = Arc::new(path);
        self
    }

    /// The action id, `<METHOD> <route>` (`GET` for a HEAD request).
    pub fn action(&self) -> String {
        format!("{} {}", self.method, self.route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_decided_as_get_and_other_methods_as_they_are() {
        assert_eq!(CedarRequest::new("HEAD", "/r").action(), "GET /r");
        assert_eq!(CedarRequest::new("PATCH", "/r").action(), "PATCH /r");
        assert_eq!(CedarRequest::new("PURGE", "/r").action(), "PURGE /r");
        assert_eq!(CedarRequest::new("get", "/r").action(), "get /r");
        let http = CedarRequest::of_http(&http::Method::HEAD, "/r".into(), Vec::new());
        assert_eq!(http, CedarRequest::new("GET", "/r"));
        let custom = http::Method::from_bytes(b"PURGE").unwrap();
        let http = CedarRequest::of_http(&custom, "/r".into(), vec![("a".into(), "1".into())]);
        assert_eq!(http, CedarRequest::new("PURGE", "/r").param("a", "1"));
    }

    #[test]
    fn a_clone_shares_the_route_and_parameters() {
        let request = CedarRequest::new("GET", "/r/{id}").param("id", "7");
        let clone = request.clone();
        assert!(Arc::ptr_eq(&request.route, &clone.route));
        assert!(Arc::ptr_eq(&request.path, &clone.path));
        assert!(matches!(clone.method, Cow::Borrowed("GET")));
    }
}
