//! [`CedarRequest`]: what Cedar is asked about one HTTP request (method, route template, path
//! parameters), HEAD decided as GET.

use super::decided_method;

/// One request as Cedar sees it: method, route template and path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CedarRequest {
    pub(super) method: String,
    pub(super) route: String,
    pub(super) path: Vec<(String, String)>,
}

impl CedarRequest {
    /// `method` as in HTTP (`GET`), `route` the route template (`/orders/{order}`). HEAD is
    /// decided as GET (axum answers HEAD with the GET handler).
    pub fn new(method: impl Into<String>, route: impl Into<String>) -> Self {
        let method = method.into();
        let method = match decided_method(&method) {
            decided if decided == method => method,
            decided => decided.to_owned(),
        };
        CedarRequest {
            method,
            route: route.into(),
            path: Vec::new(),
        }
    }

    /// Adds a matched path parameter (`context.path.<name>`).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.path.push((name.into(), value.into()));
        self
    }

    pub(crate) fn with_params(mut self, path: Vec<(String, String)>) -> Self {
        self.path = path;
        self
    }

    /// The action id, `<METHOD> <route>` (`GET` for a HEAD request).
    pub fn action(&self) -> String {
        format!("{} {}", self.method, self.route)
    }
}
