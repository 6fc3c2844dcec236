//! Paginated reads of a pool's parts, shared by the audit and the provisioner.

use aws_sdk_cognitoidentityprovider::config::Region;
use aws_sdk_cognitoidentityprovider::types::{
    UserPoolClientDescription, UserPoolClientType, UserPoolType,
};

use super::LifecycleError;
use crate::aws::{CognitoClient, send_to_pool};

/// Every app client of a pool (all pages).
pub(crate) async fn list_clients(
    client: &CognitoClient,
    region: &Option<Region>,
    pool_id: &str,
) -> Result<Vec<UserPoolClientDescription>, LifecycleError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = send_to_pool!(
            region,
            client
                .list_user_pool_clients()
                .user_pool_id(pool_id)
                .max_results(60)
                .set_next_token(token.take())
        )
        .map_err(|e| LifecycleError::aws("ListUserPoolClients", e))?;
        all.extend(page.user_pool_clients.unwrap_or_default());
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(all),
        }
    }
}

/// One pool's settings.
pub(crate) async fn describe_pool(
    client: &CognitoClient,
    region: &Option<Region>,
    pool_id: &str,
) -> Result<UserPoolType, LifecycleError> {
    send_to_pool!(region, client.describe_user_pool().user_pool_id(pool_id))
        .map_err(|e| LifecycleError::aws("DescribeUserPool", e))?
        .user_pool
        .ok_or_else(|| LifecycleError::Refused(format!("pool {pool_id} has no description")))
}

/// One app client's settings.
pub(crate) async fn describe_client(
    client: &CognitoClient,
    region: &Option<Region>,
    pool_id: &str,
    client_id: &str,
) -> Result<UserPoolClientType, LifecycleError> {
    send_to_pool!(
        region,
        client
            .describe_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(client_id)
    )
    .map_err(|e| LifecycleError::aws("DescribeUserPoolClient", e))?
    .user_pool_client
    .ok_or_else(|| LifecycleError::Refused(format!("app client {client_id} has no description")))
}

/// Every group name of a pool (all pages).
pub(crate) async fn list_groups(
    client: &CognitoClient,
    region: &Option<Region>,
    pool_id: &str,
) -> Result<Vec<String>, LifecycleError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = send_to_pool!(
            region,
            client
                .list_groups()
                .user_pool_id(pool_id)
                .limit(60)
                .set_next_token(token.take())
        )
        .map_err(|e| LifecycleError::aws("ListGroups", e))?;
        all.extend(
            page.groups()
                .iter()
                .filter_map(|g| g.group_name().map(str::to_owned)),
        );
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(all),
        }
    }
}
