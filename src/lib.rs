//! Multi-tenant AWS Cognito authentication and role-based authorization for tower and axum.
//!
//! A SaaS gives each customer (tenant) its own Cognito user pool; roles are Cognito groups in
//! the `cognito:groups` claim. This crate verifies each request's bearer token against the
//! right pool and enforces per-route role policies:
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::{get, put}};
//! use cognito_authz::{CognitoAuth, AuthzLayer, Principal};
//!
//! async fn me(principal: Principal) -> String {
//!     format!("{} ({})", principal.username(), principal.tenant())
//! }
//! async fn set_mfa() {}
//!
//! let auth = CognitoAuth::from_config_file("tenants.toml")?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin/users/{user}/mfa", put(set_mfa).layer(AuthzLayer::require("admin")))
//!     .layer(auth.layer());
//! # Ok(()) }
//! ```
//!
//! The layers are tower services, so they can be tried without a server: send requests with
//! `oneshot`. Here with the `test-util` feature's `testing::LocalIssuer`, which
//! mints Cognito-shaped tokens and serves their keys on `127.0.0.1`:
//!
//! ```
//! # #[cfg(feature = "test-util")]
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, body::Body, routing::get};
//! use cognito_authz::{CognitoAuth, AuthzLayer, Tenant, testing::LocalIssuer};
//! use http::{Request, StatusCode, header};
//! use tower::ServiceExt;
//!
//! let idp = LocalIssuer::start().await?;
//! let pool = "us-east-1_Acme";
//! let tenant = Tenant::builder("acme", pool).client_id("web").jwks_url(idp.jwks_url(pool));
//! let auth = CognitoAuth::builder().tenant(tenant.build()?)?.build()?;
//! let app = Router::new()
//!     .route("/admin", get(|| async { "hi" }).layer(AuthzLayer::require("admin")))
//!     .layer(auth.layer());
//! let get = |bearer: Option<String>| {
//!     let mut request = Request::get("/admin");
//!     if let Some(token) = bearer {
//!         request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
//!     }
//!     app.clone().oneshot(request.body(Body::empty()).unwrap())
//! };
//!
//! let response = get(None).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(
//!     response.headers()[header::WWW_AUTHENTICATE],
//!     r#"Bearer error="invalid_token", error_description="missing bearer token""#
//! );
//!
//! let admin = idp.mint(&idp.access_claims(pool, "web", "alice", &["admin"]));
//! assert_eq!(get(Some(admin)).await?.status(), StatusCode::OK);
//!
//! let reader = idp.mint(&idp.access_claims(pool, "web", "bob", &["reader"]));
//! let response = get(Some(reader)).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(
//!     response.headers()[header::WWW_AUTHENTICATE],
//!     r#"Bearer error="insufficient_scope", error_description="role `admin` required""#
//! );
//! # Ok(()) }
//! # #[cfg(not(feature = "test-util"))]
//! # fn main() {}
//! ```
//!
//! # Architecture
//! The modules form layers. A module imports from its own layer and the layers below it, never
//! from above, and never in a loop (`tests/module_layers.rs` checks both), bottom up:
//!
//! 0. vocabulary: [`error`], [`tenant`], [`metrics`], `claims`, `aws_section`
//! 1. keys: [`jwks`]
//! 2. verification and what it yields: [`principal`], [`revocation`], [`verify`], [`policy`]
//! 3. tower layers: [`layer`]
//! 4. AWS clients the configuration can build: `aws`, `catalog`
//! 5. the builder and the configuration file: `auth` ([`CognitoAuth`]), [`config`]
//! 6. features built on a `CognitoAuth` or the configuration: `admin`, `cedar`, `explain`,
//!    `lambda`, `lifecycle`, `testing`
//!
//! The private `claims` ([`TokenUse`](principal::TokenUse), [`MAX_LEEWAY`]) and `aws_section`
//! ([`config::AwsSection`]) hold what lower layers need of a higher module; their public paths
//! stay where they were.
//!
//! - [`tenant`]: which pool a token's `iss` belongs to ([`TenantRegistry`], [`TenantResolver`](tenant::TenantResolver));
//!   an unknown issuer is refused without any network request.
//! - [`jwks`]: each pool's keys (the key cache, configured by [`JwksConfig`](jwks::JwksConfig)): lazy fetch, refresh, cooldown, single flight,
//!   stale-while-error, size and time limits.
//! - [`verify`]: Cognito's rules (RS256 only, exact issuer, `token_use`, app client, time
//!   claims) and the verified-token cache.
//! - [`principal`], [`policy`]: the verified caller and what routes require of it.
//! - [`layer`]: [`AuthnLayer`] (authenticate) and [`AuthzLayer`] (authorize).
//! - [`error`]: [`AuthError`] and the HTTP contract (401 / 403 / 503, RFC 6750 headers).
//! - [`revocation`]: users and sessions refused before their tokens expire, in this process or
//!   shared by every replica through Redis (feature `redis`).
//! - [`config`]: the TOML file.
//! - [`metrics`]: decision, key-fetch and cache metrics through the `metrics` facade (feature
//!   `metrics`; no exporter installed).
//! - `admin` (feature `admin`): tenant-bound Cognito admin operations and an axum admin router.
//! - `catalog` (feature `dynamodb`): tenants added at runtime from a DynamoDB table.
//! - `lambda` (feature `lambda`): Cognito Lambda triggers built from the same configuration.
//! - the `cognito-authz` binary (feature `cli`): provisions tenant pools safely and audits
//!   them; its internals (`lifecycle`) are not part of the library's API.
//! - `explain` (feature `cli`): the pipeline run on one request without a server, step by
//!   step (`cognito-authz explain`).
//! - `cedar` (feature `cedar`): Cedar policies per tenant, in Amazon Verified Permissions'
//!   entity convention, as a layer.
//! - `testing` (feature `test-util`): a local issuer for tests and demos.
//!
//! # Security notes
//! Local verification cannot see revocation by itself: a token revoked by `RevokeToken` or
//! `GlobalSignOut` stays valid here until its `exp` unless the sign-out is recorded in a
//! [`Revocations`] list (the admin routes do so). Keep access-token lifetimes short, and see
//! README's security model and "Running several replicas".

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
// On docs.rs (`--cfg docsrs`), every feature-gated item gets its feature badge: `doc_cfg`
// includes what `doc_auto_cfg` did before nightly merged the two.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod aws_section;
mod claims;
pub mod config;
pub mod error;
pub mod jwks;
pub mod layer;
pub mod metrics;
pub mod policy;
pub mod principal;
pub mod revocation;
pub mod tenant;
pub mod verify;

#[cfg(feature = "admin")]
pub mod admin;
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "dynamodb")]
pub mod catalog;
#[cfg(feature = "cedar")]
pub mod cedar;
#[cfg(feature = "cli")]
pub mod explain;
#[cfg(feature = "lambda")]
pub mod lambda;
// The `cognito-authz` tool's internals (provisioning, registry, pool audit): a binary cannot
// share modules with the library, so they live here, but they are not the library's API and
// follow no semver promise; hidden from the documentation.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod lifecycle;
#[cfg(feature = "test-util")]
pub mod testing;

// The root holds what a service needs in its first hour: build a `CognitoAuth`, put its layers
// on a router, read the `Principal`, answer errors. Everything else stays at its module path.
pub use auth::{CognitoAuth, CognitoAuthBuilder, MAX_TOKEN_CACHE_TTL};
pub use claims::MAX_LEEWAY;
pub use config::AuthConfig;
pub use error::{AuthError, ConfigError};
#[allow(deprecated)]
pub use layer::{AuthLayer, CognitoAuthz};
pub use layer::{AuthnLayer, AuthzLayer};
pub use policy::Policy;
pub use principal::Principal;
pub use revocation::Revocations;
pub use tenant::{Tenant, TenantRegistry};
pub use verify::TokenUses;
