//! Tenant resolution: which user pool a token's `iss` belongs to.
//!
//! A [`Tenant`] is one customer's Cognito user pool with its app clients and group-to-role
//! mapping. A [`TenantRegistry`] holds the tenants known at startup, indexed by their exact issuer
//! strings; a [`TenantResolver`] finds tenants added at runtime. A token whose issuer matches
//! neither is refused before any key is fetched.

mod issuer;
mod model;
mod registry;
mod resolver;
#[cfg(test)]
mod tests;

pub use issuer::Issuer;
#[cfg(any(feature = "dynamodb", test))]
pub(crate) use issuer::parse_user_pool_id;
pub use model::{Tenant, TenantBuilder};
pub use registry::TenantRegistry;
pub use resolver::{ResolveError, ResolveFuture, ScreenFuture, TenantResolver};
pub(crate) use resolver::{Resolved, ResolverCache};
