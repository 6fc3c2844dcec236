//! Without feature `metrics`: the same calls, on zero-sized types, doing nothing.

use std::sync::Arc;
use std::time::Duration;

use http::Response;

use crate::error::AuthError;

pub(crate) struct Metrics;

impl Metrics {
    pub(crate) fn new(_tenant_label: bool) -> Self {
        Metrics
    }

    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn unknown(&self) -> &TenantMetrics {
        &TenantMetrics
    }

    pub(crate) fn tenant(&self, _: &Arc<str>) -> TenantMetrics {
        TenantMetrics
    }

    pub(crate) fn refused(&self, _: Option<&TenantMetrics>, _: &AuthError) {}

    pub(crate) fn pending(&self, _: Option<&TenantMetrics>, _: bool) -> Pending {
        Pending
    }

    pub(crate) fn cache_hit(&self) {}

    pub(crate) fn cache_miss(&self) {}
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TenantMetrics;

pub(crate) fn mark_refused<B>(_: &mut Response<B>, _: &AuthError) {}

pub(crate) fn mark_counted<B>(_: &mut Response<B>, _: &AuthError) {}

pub(crate) struct Pending;

impl Pending {
    pub(crate) fn finish<B>(&mut self, _: Option<&mut Response<B>>) {}
}

pub(crate) fn jwks_fetch(_: Option<&str>, _: &'static str, _: Duration) {}

#[cfg_attr(not(feature = "admin"), allow(dead_code))]
pub(crate) fn admin_action(_: Option<&TenantMetrics>, _: &'static str, _: &'static str) {}
