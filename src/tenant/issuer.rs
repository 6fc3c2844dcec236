//! Cognito issuer strings and user pool ids: parsing and the region checks behind them.

/// True if `region` looks like an AWS region name (`us-east-1`, `ap-southeast-2`).
pub(super) fn is_region(region: &str) -> bool {
    region.len() >= 6
        && region.split('-').count() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && region.bytes().last().is_some_and(|b| b.is_ascii_digit())
}

/// Returns the region of a user pool id `<region>_<id>`, or `None` if it is not one.
pub(crate) fn parse_user_pool_id(pool: &str) -> Option<&str> {
    let (region, id) = pool.split_once('_')?;
    let id_ok = !id.is_empty() && id.len() <= 55 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    (is_region(region) && id_ok).then_some(region)
}

/// A parsed Cognito issuer: `https://cognito-idp.{region}.amazonaws.com/{pool}` or
/// `https://issuer-cognito-idp.{region}.amazonaws.com/{pool}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issuer<'a> {
    /// The region in the host name: the pool's primary region, or for the original form, possibly
    /// a replica region of a replicated pool.
    pub region: &'a str,
    /// The user pool id in the path.
    pub user_pool_id: &'a str,
}

impl<'a> Issuer<'a> {
    /// Parses `iss`; `None` if it is not exactly one of the two Cognito issuer forms. The updated
    /// form always names the pool's primary region (the pool id's prefix); the original form may
    /// name another region, where a replica of the pool signs. Whether that region is one of the
    /// tenant's replicas is for [`Tenant::issuers`](super::Tenant::issuers) to say, not the parser.
    pub fn parse(iss: &'a str) -> Option<Self> {
        let (updated, rest) = match iss.strip_prefix("https://cognito-idp.") {
            Some(rest) => (false, rest),
            None => (true, iss.strip_prefix("https://issuer-cognito-idp.")?),
        };
        let (region, pool) = rest.split_once(".amazonaws.com/")?;
        let pool_region = parse_user_pool_id(pool)?;
        let region_ok = if updated {
            pool_region == region
        } else {
            is_region(region)
        };
        region_ok.then_some(Issuer {
            region,
            user_pool_id: pool,
        })
    }
}
