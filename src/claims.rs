//! Facts about Cognito tokens that every layer shares, below the modules that use them:
//! what a token is for ([`TokenUse`], re-exported from [`principal`](crate::principal) and the
//! crate root) and the clock-skew bound ([`MAX_LEEWAY`], re-exported from the crate root).

use std::fmt;
use std::time::Duration;

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

/// The largest clock-skew leeway accepted.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
