//! Cedar policies through an axum router, with real tokens from a local issuer: AVP-style
//! group, scope and tenant policies, `forbid` over `permit`, per-tenant files that do not leak,
//! fail-closed evaluation errors, schema validation naming file and line, reloads that keep
//! the last good set, an entity provider, and the `[cedar]` configuration section.

#![cfg(feature = "cedar")]

#[path = "../cedar_support/mod.rs"]
mod cedar_support;
#[path = "../common/mod.rs"]
mod common;

mod avp_policies;
mod entity_provider;
mod example_policies;
mod fail_closed;
mod loading;
mod machines;
