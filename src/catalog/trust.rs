//! What a catalog item may claim beyond its shape: whoever can write one item must not be able to
//! borrow a configured tenant's identity or pool, nor make the service trust keys of their own.
//!
//! - The tenant id must not be a configured (`[[tenant]]`) tenant's.
//! - The pool must not be a configured tenant's: such an item could otherwise claim that pool's
//!   replica-region issuers (which the configured tenant does not list) under a new tenant id.
//! - `jwks_url` and `replica_jwks_urls` may only name Cognito's own key URLs for the item's pool,
//!   in its region or one of its replica regions, in the original or the updated issuer form
//!   (`https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json`,
//!   `https://issuer-cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json`). Any other
//!   URL needs its `host:port` in the service's `[catalog] allowed_jwks_hosts` (emulators).
//!
//! Both the reader (the resolver, its index, the admin lookup, `list`) and the writer (`put`)
//! apply these rules, so that a writer refuses what its readers would.

use std::collections::HashSet;

use super::CatalogEntry;
use super::item::ItemError;

/// The configuration-derived rules a catalog applies to every item.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustRules {
    /// Configured tenants' ids.
    pub(crate) reserved_tenant_ids: HashSet<String>,
    /// Configured tenants' user pool ids.
    pub(crate) reserved_user_pool_ids: HashSet<String>,
    /// `host:port` of JWKS URLs allowed besides Cognito's own (lowercase).
    pub(crate) allowed_jwks_hosts: HashSet<String>,
}

impl TrustRules {
    /// Refuses an entry (already valid as a tenant) that claims more than its own.
    pub(crate) fn check(&self, entry: &CatalogEntry) -> Result<(), ItemError> {
        if self.reserved_tenant_ids.contains(&entry.tenant_id) {
            return Err(ItemError::ConfiguredTenantId(entry.tenant_id.clone()));
        }
        if self.reserved_user_pool_ids.contains(&entry.user_pool_id) {
            return Err(ItemError::ConfiguredPool(entry.user_pool_id.clone()));
        }
        if let Some(url) = &entry.jwks_url {
            self.check_jwks_url(entry, "jwks_url".to_owned(), url)?;
        }
        for (region, url) in &entry.replica_jwks_urls {
            self.check_jwks_url(entry, format!("replica_jwks_urls.{region}"), url)?;
        }
        Ok(())
    }

    fn check_jwks_url(
        &self,
        entry: &CatalogEntry,
        attribute: String,
        url: &str,
    ) -> Result<(), ItemError> {
        let regions = std::iter::once(&entry.region).chain(&entry.replica_regions);
        let cognito = regions.into_iter().any(|region| {
            ["cognito-idp", "issuer-cognito-idp"].iter().any(|host| {
                url == format!(
                    "https://{host}.{region}.amazonaws.com/{}/.well-known/jwks.json",
                    entry.user_pool_id
                )
            })
        });
        if cognito
            || self
                .allowed_jwks_hosts
                .contains(&host_port(url).unwrap_or_default())
        {
            return Ok(());
        }
        Err(ItemError::JwksUrlNotAllowed {
            attribute,
            url: url.to_owned(),
        })
    }
}

/// `host:port` of an http(s) URL (the scheme's port when none is written), lowercase.
pub(crate) fn host_port(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(format!(
        "{}:{}",
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?
    ))
}

/// Whether `entry` is a `host:port` an allowed-hosts list can hold: a host and a numeric port,
/// nothing else (no scheme, user or path).
pub(crate) fn is_host_port(entry: &str) -> bool {
    let Some((host, port)) = entry.rsplit_once(':') else {
        return false;
    };
    let Ok(url) = reqwest::Url::parse(&format!("http://{entry}/")) else {
        return false;
    };
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    let ipv6 = host.starts_with('[') && host.ends_with(']');
    !host.is_empty()
        && (plain || ipv6)
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && url.username().is_empty()
        && url.path() == "/"
        && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOL: &str = "us-east-1_AbC123";

    fn entry() -> CatalogEntry {
        CatalogEntry {
            client_ids: vec!["client".into()],
            replica_regions: vec!["eu-west-1".into()],
            ..CatalogEntry::new("acme", POOL)
        }
    }

    fn rules(hosts: &[&str]) -> TrustRules {
        TrustRules {
            allowed_jwks_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            ..TrustRules::default()
        }
    }

    #[test]
    fn cognito_key_urls_of_the_pools_own_regions_are_allowed() {
        for host in ["cognito-idp", "issuer-cognito-idp"] {
            for region in ["us-east-1", "eu-west-1"] {
                let url =
                    format!("https://{host}.{region}.amazonaws.com/{POOL}/.well-known/jwks.json");
                let mut e = entry();
                e.jwks_url = Some(url.clone());
                e.replica_jwks_urls = [("eu-west-1".to_owned(), url)].into();
                assert_eq!(rules(&[]).check(&e), Ok(()));
            }
        }
    }

    #[test]
    fn other_urls_need_an_allowed_host() {
        let bad = [
            "https://evil.example/keys.json",
            // Another pool's keys, another region, a look-alike host, http, a user part.
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other1/.well-known/jwks.json",
            "https://cognito-idp.ap-south-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json",
            "https://cognito-idp.us-east-1.amazonaws.com.evil.example/us-east-1_AbC123/.well-known/jwks.json",
            "http://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json",
            "https://x@cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json",
            "http://127.0.0.1:5001/us-east-1_AbC123/.well-known/jwks.json",
        ];
        for url in bad {
            let mut e = entry();
            e.jwks_url = Some(url.to_owned());
            assert_eq!(
                rules(&["127.0.0.1:5000"]).check(&e),
                Err(ItemError::JwksUrlNotAllowed {
                    attribute: "jwks_url".into(),
                    url: url.into()
                }),
                "{url}"
            );
            let mut e = entry();
            e.replica_jwks_urls = [("eu-west-1".to_owned(), url.to_owned())].into();
            assert_eq!(
                rules(&["127.0.0.1:5000"]).check(&e),
                Err(ItemError::JwksUrlNotAllowed {
                    attribute: "replica_jwks_urls.eu-west-1".into(),
                    url: url.into()
                }),
                "{url}"
            );
        }
        let mut e = entry();
        e.jwks_url = Some("http://127.0.0.1:5000/us-east-1_AbC123/.well-known/jwks.json".into());
        assert_eq!(rules(&["127.0.0.1:5000"]).check(&e), Ok(()));
        e.jwks_url = Some("https://KEYS.example/jwks.json".into());
        assert_eq!(rules(&["keys.example:443"]).check(&e), Ok(()));
    }

    #[test]
    fn configured_ids_and_pools_are_refused() {
        let reserved = TrustRules {
            reserved_tenant_ids: ["acme".to_owned()].into(),
            reserved_user_pool_ids: ["us-east-1_Conf1".to_owned()].into(),
            ..TrustRules::default()
        };
        assert_eq!(
            reserved.check(&entry()),
            Err(ItemError::ConfiguredTenantId("acme".into()))
        );
        let e = CatalogEntry {
            client_ids: vec!["c".into()],
            ..CatalogEntry::new("newco", "us-east-1_Conf1")
        };
        assert_eq!(
            reserved.check(&e),
            Err(ItemError::ConfiguredPool("us-east-1_Conf1".into()))
        );
    }

    #[test]
    fn allowed_hosts_are_host_and_port() {
        for good in [
            "127.0.0.1:5000",
            "localhost:4566",
            "keys.example:443",
            "[::1]:5000",
        ] {
            assert!(is_host_port(good), "{good}");
        }
        for bad in [
            "127.0.0.1",
            "http://127.0.0.1:5000",
            "127.0.0.1:5000/x",
            "u@127.0.0.1:5000",
            ":5000",
            "127.0.0.1:",
            "127.0.0.1:http",
            "*:443",
            "",
        ] {
            assert!(!is_host_port(bad), "{bad}");
        }
    }
}
