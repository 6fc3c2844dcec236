//! Cedar's part of the shared bench set-up (feature `cedar`): 100 policies over 100 routes and
//! the two routes the benches request, each with one permit, and one forbid for every action.

use std::path::PathBuf;

use axum::Router;
use axum::routing::get;
use cognito_authz::cedar::{Cedar, CedarRequest};

use super::POOL;

pub const ROUTE: &str = "/tenants/{tenant}/orders";
pub const OTHER_ROUTE: &str = "/tenants/{tenant}/invoices";
/// The two routes' URIs for tenant `bench`.
pub const URIS: [&str; 2] = ["/tenants/bench/orders", "/tenants/bench/invoices"];

/// 20 common and 80 tenant policies over 100 routes; each of the two requests' routes has one
/// permit (by group, tenant and scope), and one forbid (suspended users) applies to every
/// action.
fn policy_folder() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("cognito-authz-cedar-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = |i: usize| {
        let route = match i {
            57 => ROUTE.to_owned(),
            58 => OTHER_ROUTE.to_owned(),
            _ => format!("/r{i}/{{id}}"),
        };
        format!(
            "@id(\"p{i}\")\npermit(principal in App::UserGroup::\"{POOL}|admin\", \
             action == App::Action::\"GET {route}\", resource)\n  when {{ context.path.tenant == context.tenant \
             && context.token.scope.contains(\"aws.cognito.signin.user.admin\") }};\n"
        )
    };
    let mut common: String = (0..19).map(policy).collect();
    common.push_str(
        "@id(\"suspended\")\nforbid(principal, action, resource) when { context.roles.contains(\"suspended\") };\n",
    );
    let own: String = (19..99).map(policy).collect();
    std::fs::write(dir.join("common.cedar"), common).unwrap();
    std::fs::write(dir.join("bench.cedar"), own).unwrap();
    dir
}

/// Cedar with namespace `App` and the policies above (read once: the folder is removed after).
pub fn cedar() -> Cedar {
    let folder = policy_folder();
    let cedar = Cedar::builder("App").policies(&folder).build().unwrap();
    let _ = std::fs::remove_dir_all(&folder);
    cedar
}

/// `GET` on each of the two routes for tenant `bench`, as Cedar requests.
pub fn requests() -> [CedarRequest; 2] {
    [
        CedarRequest::new("GET", ROUTE).param("tenant", "bench"),
        CedarRequest::new("GET", OTHER_ROUTE).param("tenant", "bench"),
    ]
}

/// A router answering `ok` on the two routes.
pub fn routes() -> Router {
    Router::new()
        .route(ROUTE, get(|| async { "ok" }))
        .route(OTHER_ROUTE, get(|| async { "ok" }))
}
