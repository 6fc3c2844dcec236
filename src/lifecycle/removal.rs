//! `tenant remove --delete-pool`: delete a tenant's pool only if it is provably the tenant's.
//!
//! A registration names a pool id, and whoever edited the file or the catalog item could have
//! named any pool: a typo, a copy-paste from another tenant, or a production pool. Deleting a
//! pool deletes every user in it, so the pool must carry the tag `tenant create` writes,
//! [`TENANT_TAG`], naming this very tenant. A pool without the tag, or tagged for another
//! tenant, is refused ([`LifecycleError::PoolNotOwned`]) unless the operator says `--force`.

use std::collections::HashMap;

use super::{LifecycleError, TENANT_TAG, pool_region, region_override};
use crate::aws::{CognitoClient, send_to_pool};

/// What [`delete_tenant_pool`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolDeletion {
    /// The pool was deleted.
    Deleted,
    /// There was no such pool.
    Missing,
}

/// Whether the pool's tags say it belongs to `tenant_id`; the refusal names the tag and what
/// it holds.
pub fn check_owner(
    user_pool_id: &str,
    tags: Option<&HashMap<String, String>>,
    tenant_id: &str,
) -> Result<(), LifecycleError> {
    let tag = tags.and_then(|t| t.get(TENANT_TAG));
    if tag.map(String::as_str) == Some(tenant_id) {
        return Ok(());
    }
    Err(LifecycleError::PoolNotOwned {
        user_pool_id: user_pool_id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        tag: tag.cloned(),
    })
}

/// Deletes pool `user_pool_id` of tenant `tenant_id` (in the region its id names), after
/// checking its [`TENANT_TAG`] unless `force`. A pool that does not exist is
/// [`PoolDeletion::Missing`], so a re-run after a partial removal finishes it.
pub async fn delete_tenant_pool(
    client: &CognitoClient,
    user_pool_id: &str,
    tenant_id: &str,
    force: bool,
) -> Result<PoolDeletion, LifecycleError> {
    let region = region_override(client, pool_region(user_pool_id));
    if !force {
        let described = send_to_pool!(
            &region,
            client.describe_user_pool().user_pool_id(user_pool_id)
        );
        let pool = match described {
            Ok(out) => out.user_pool,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(PoolDeletion::Missing);
            }
            Err(e) => return Err(LifecycleError::aws("DescribeUserPool", e)),
        };
        check_owner(
            user_pool_id,
            pool.as_ref().and_then(|p| p.user_pool_tags.as_ref()),
            tenant_id,
        )?;
    }
    let deleted = send_to_pool!(
        &region,
        client.delete_user_pool().user_pool_id(user_pool_id)
    );
    match deleted {
        Ok(_) => Ok(PoolDeletion::Deleted),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(PoolDeletion::Missing)
        }
        Err(e) => Err(LifecycleError::aws("DeleteUserPool", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pool_tagged_for_this_tenant_may_go() {
        let tags = |value: &str| HashMap::from([(TENANT_TAG.to_owned(), value.to_owned())]);
        assert!(check_owner("us-east-1_P", Some(&tags("acme")), "acme").is_ok());
        let other = check_owner("us-east-1_P", Some(&tags("globex")), "acme")
            .unwrap_err()
            .to_string();
        assert!(
            other.contains(TENANT_TAG) && other.contains("\"globex\"") && other.contains("--force"),
            "{other}"
        );
        for none in [None, Some(&HashMap::new())] {
            let err = check_owner("us-east-1_P", none, "acme")
                .unwrap_err()
                .to_string();
            assert!(err.contains("no cognito-authz:tenant tag"), "{err}");
        }
        // Case matters: tenant ids are identities.
        assert!(check_owner("us-east-1_P", Some(&tags("ACME")), "acme").is_err());
    }
}
