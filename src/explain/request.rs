//! The request as the layers see it, and its path matched against a route template.

use super::ExplainError;

/// A request as the layers see it: method, path, the route template it matched and the path
/// parameters taken from the path by that template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainRequest {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) route: String,
    pub(super) params: Vec<(String, String)>,
    /// A parameter that is not UTF-8 once percent-decoded: the Cedar layer answers 400.
    pub(super) undecodable: Option<String>,
}

impl ExplainRequest {
    /// `request` is `"METHOD PATH"` (a query string is ignored); `route` the matched route
    /// template, `"/tenants/{tenant}/orders"` or with the method, `"GET /tenants/{tenant}/orders"`.
    /// Without a route the path is the template and there are no path parameters. Template
    /// segments `{name}` take one path segment and a last `{*name}` the rest, percent-decoded,
    /// as axum's router does; one that is not UTF-8 once decoded is refused with 400 by the
    /// Cedar layer, and so in the explanation.
    pub fn parse(request: &str, route: Option<&str>) -> Result<Self, ExplainError> {
        let bad = |why: &str| ExplainError::Request(format!("--request {request:?}: {why}"));
        let (method, path) = request
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad("expected \"METHOD PATH\", for example \"GET /orders/7\""))?;
        let path = path.trim();
        if http::Method::from_bytes(method.as_bytes()).is_err()
            || method.bytes().any(|b| b.is_ascii_lowercase())
        {
            return Err(bad(
                "the method must be an HTTP method in capitals, such as GET",
            ));
        }
        let path = path.split_once('?').map_or(path, |(path, _query)| path);
        if !path.starts_with('/') || path.contains(' ') {
            return Err(bad("the path must start with / and contain no space"));
        }
        let template = match route.map(str::trim) {
            None => path.to_owned(),
            Some(route) => match route.split_once(' ') {
                Some((route_method, template)) if route_method == method => {
                    template.trim().to_owned()
                }
                Some((route_method, _)) => {
                    return Err(ExplainError::Request(format!(
                        "--route {route:?} is for {route_method}, the request is {method}"
                    )));
                }
                None => route.to_owned(),
            },
        };
        let Matched {
            params,
            undecodable,
        } = match_template(&template, path).map_err(|why| {
            ExplainError::Request(format!(
                "path {path:?} does not match route {template:?}: {why}"
            ))
        })?;
        Ok(ExplainRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            route: template,
            params,
            undecodable,
        })
    }

    /// The Cedar action id, `<METHOD> <route template>` (HEAD is decided as GET).
    pub fn action(&self) -> String {
        format!(
            "{} {}",
            crate::cedar::decided_method(&self.method),
            self.route
        )
    }

    /// The path parameters (`context.path`).
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

/// What a path gives a route template.
#[derive(Debug, PartialEq)]
struct Matched {
    params: Vec<(String, String)>,
    /// The first parameter that is not UTF-8 once percent-decoded (left out of `params`).
    undecodable: Option<String>,
}

/// Matches `path` against the route `template`, returning the parameters.
fn match_template(template: &str, path: &str) -> Result<Matched, String> {
    if !template.starts_with('/') {
        return Err("a route template starts with /".to_owned());
    }
    let mut params = Vec::new();
    let mut undecodable = None;
    let mut add = |name: &str, raw: &str| match percent_decode(raw) {
        Some(value) => params.push((name.to_owned(), value)),
        None => {
            undecodable.get_or_insert_with(|| name.to_owned());
        }
    };
    let mut segments = path[1..].split('/');
    let mut parts = template[1..].split('/').peekable();
    while let Some(part) = parts.next() {
        if let Some(name) = part.strip_prefix("{*").and_then(|p| p.strip_suffix('}')) {
            if parts.peek().is_some() {
                return Err(format!("{{*{name}}} must be the last segment"));
            }
            let rest: Vec<&str> = segments.by_ref().collect();
            if rest.is_empty() || rest == [""] {
                return Err(format!("{{*{name}}} needs at least one character"));
            }
            add(name, &rest.join("/"));
            return Ok(Matched {
                params,
                undecodable,
            });
        }
        let segment = segments
            .next()
            .ok_or_else(|| format!("the path has no segment for {part:?}"))?;
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => add(name, segment),
            Some(name) => return Err(format!("{{{name}}} matches no empty segment")),
            None if part == segment => {}
            None => return Err(format!("segment {segment:?} is not {part:?}")),
        }
    }
    match segments.next() {
        None => Ok(Matched {
            params,
            undecodable,
        }),
        Some(extra) => Err(format!("segment {extra:?} is not in the route")),
    }
}

/// `None` when the decoded bytes are not UTF-8 (axum then has no value for the parameter).
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(template: &str, path: &str) -> Result<Vec<(String, String)>, String> {
        let matched = match_template(template, path)?;
        match matched.undecodable {
            None => Ok(matched.params),
            Some(name) => Err(format!("{name} is not UTF-8")),
        }
    }

    #[test]
    fn templates_take_segments_and_a_trailing_wildcard() {
        let p = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        assert_eq!(
            params("/tenants/{tenant}/orders/{order}", "/tenants/acme/orders/7"),
            Ok(vec![p("tenant", "acme"), p("order", "7")])
        );
        assert_eq!(
            params("/files/{*rest}", "/files/a/b%20c"),
            Ok(vec![p("rest", "a/b c")])
        );
        assert_eq!(params("/orders", "/orders"), Ok(vec![]));
        assert_eq!(params("/", "/"), Ok(vec![]));
    }

    #[test]
    fn paths_that_do_not_match_are_refused() {
        for (template, path) in [
            ("/orders/{id}", "/orders"),
            ("/orders/{id}", "/orders/"),
            ("/orders/{id}", "/orders/7/items"),
            ("/orders", "/users"),
            ("/files/{*rest}", "/files"),
            ("orders", "/orders"),
            ("/x/{id}", "/x/%FF"),
        ] {
            assert!(params(template, path).is_err(), "{template} {path}");
        }
    }

    #[test]
    fn request_syntax() {
        let r = ExplainRequest::parse("GET /t/acme/orders?x=1", Some("GET /t/{tenant}/orders"))
            .unwrap();
        assert_eq!(r.action(), "GET /t/{tenant}/orders");
        assert_eq!(r.params(), [("tenant".to_owned(), "acme".to_owned())]);
        let r = ExplainRequest::parse("DELETE /orders/7", None).unwrap();
        assert_eq!(r.action(), "DELETE /orders/7");
        assert!(r.params().is_empty());
        for bad in ["GET", "get /x", "GET x", "GET /a b", "G(T /x", ""] {
            assert!(ExplainRequest::parse(bad, None).is_err(), "{bad}");
        }
        assert!(ExplainRequest::parse("GET /x", Some("POST /x")).is_err());
    }
}
