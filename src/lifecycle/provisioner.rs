//! [`Provisioner`]: reads a tenant's pool and applies a [`Plan`] to it, in the pool's region.

use aws_sdk_cognitoidentityprovider::config::Region;
use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, AttributeDataType, AttributeType, DeliveryMediumType,
    PreventUserExistenceErrorTypes, SchemaAttributeType, TimeUnitsType, TokenValidityUnitsType,
    UserPoolClientType, UserPoolType,
};

use super::carry::{AccessLifetime, client_update, enrollment_update, mfa_update, triggers_update};
use super::provision::{
    ACCESS_TOKEN_MINUTES, AUTH_FLOWS, AdminState, AdminUser, Blueprint, ENROLLMENT_FLOWS,
    ENROLLMENT_TOKEN_MINUTES, ExistingPool, Plan, PlanItem, PlanStep, PoolState, enrollment_units,
    has_secret,
};
use super::reads::{describe_client, describe_pool, list_clients, list_groups};
use super::{LifecycleError, TENANT_TAG, region_override};
use crate::aws::{CognitoClient, send_to_pool};

/// What `tenant create` ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The pool id.
    pub user_pool_id: String,
    /// The app client id.
    pub client_id: String,
    /// The TOTP enrollment client's id, when the blueprint asks for one. Never a user client:
    /// it does not go into the tenant's `client_ids`.
    pub enrollment_client_id: Option<String>,
}

/// Reads and changes one tenant's pool through a Cognito client, in the pool's region.
#[derive(Debug, Clone)]
pub struct Provisioner {
    client: CognitoClient,
    region: Option<Region>,
}

impl Provisioner {
    /// Works in `region` through `client` (the client's own region is overridden if needed).
    pub fn new(client: CognitoClient, region: &str) -> Self {
        Provisioner {
            region: region_override(&client, region),
            client,
        }
    }

    /// Finds what exists for `blueprint`: the pool by name (all pages of `ListUserPools`),
    /// then its MFA settings, groups, app client (by name) and first administrator. Two pools
    /// or two clients with the tool's name are refused: which one is the tenant's is unknown.
    pub async fn discover(&self, blueprint: &Blueprint) -> Result<PoolState, LifecycleError> {
        let Some(pool_id) = self.find_pool(&blueprint.name).await? else {
            return Ok(PoolState { pool: None });
        };
        let c = &self.client;
        let pool = describe_pool(c, &self.region, &pool_id).await?;
        let mfa = send_to_pool!(
            &self.region,
            c.get_user_pool_mfa_config().user_pool_id(&pool_id)
        )
        .map_err(|e| LifecycleError::aws("GetUserPoolMfaConfig", e))?;
        let groups = list_groups(c, &self.region, &pool_id).await?;
        let client = self.find_client(&pool_id, &blueprint.name).await?;
        let enrollment_client = match &blueprint.enrollment_client {
            Some(name) => self.find_client(&pool_id, name).await?,
            None => None,
        };
        // Refused before anything changes: no update can give a client a secret.
        if let Some(current) = enrollment_client.as_ref().filter(|c| !has_secret(c)) {
            return Err(no_secret(blueprint, &pool_id, current));
        }
        let admin = match &blueprint.admin {
            None => AdminState::NotRequested,
            Some(admin) => self.admin_state(&pool_id, admin, blueprint).await?,
        };
        Ok(PoolState {
            pool: Some(ExistingPool {
                pool,
                mfa: mfa.mfa_configuration,
                totp_enabled: mfa
                    .software_token_mfa_configuration
                    .is_some_and(|s| s.enabled),
                groups: groups.into_iter().collect(),
                client,
                enrollment_client,
                admin,
            }),
        })
    }

    async fn find_pool(&self, name: &str) -> Result<Option<String>, LifecycleError> {
        let c = &self.client;
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send_to_pool!(
                &self.region,
                c.list_user_pools()
                    .max_results(60)
                    .set_next_token(token.take())
            )
            .map_err(|e| LifecycleError::aws("ListUserPools", e))?;
            found.extend(
                page.user_pools()
                    .iter()
                    .filter(|p| p.name() == Some(name))
                    .filter_map(|p| p.id().map(str::to_owned)),
            );
            match page.next_token {
                Some(next) if !next.is_empty() => token = Some(next),
                _ => break,
            }
        }
        if found.len() > 1 {
            return Err(LifecycleError::Refused(format!(
                "{} user pools are named {name}: {}; delete the extra ones first",
                found.len(),
                found.join(", ")
            )));
        }
        Ok(found.pop())
    }

    async fn find_client(
        &self,
        pool_id: &str,
        name: &str,
    ) -> Result<Option<UserPoolClientType>, LifecycleError> {
        let ids: Vec<String> = list_clients(&self.client, &self.region, pool_id)
            .await?
            .into_iter()
            .filter(|c| c.client_name() == Some(name))
            .filter_map(|c| c.client_id)
            .collect();
        match ids.as_slice() {
            [] => Ok(None),
            [id] => describe_client(&self.client, &self.region, pool_id, id)
                .await
                .map(Some),
            _ => Err(LifecycleError::Refused(format!(
                "{} app clients are named {name} in pool {pool_id}: {}; delete the extra ones first",
                ids.len(),
                ids.join(", ")
            ))),
        }
    }

    async fn admin_state(
        &self,
        pool_id: &str,
        admin: &AdminUser,
        blueprint: &Blueprint,
    ) -> Result<AdminState, LifecycleError> {
        let c = &self.client;
        let user = send_to_pool!(
            &self.region,
            c.admin_get_user()
                .user_pool_id(pool_id)
                .username(&admin.username)
        );
        match user {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_user_not_found_exception()) =>
            {
                return Ok(AdminState::Missing);
            }
            Err(e) => return Err(LifecycleError::aws("AdminGetUser", e)),
        }
        let groups = send_to_pool!(
            &self.region,
            c.admin_list_groups_for_user()
                .user_pool_id(pool_id)
                .username(&admin.username)
                .limit(60)
        )
        .map_err(|e| LifecycleError::aws("AdminListGroupsForUser", e))?;
        let in_group = groups
            .groups()
            .iter()
            .any(|g| g.group_name() == Some(blueprint.admin_group()));
        Ok(AdminState::Exists { in_group })
    }

    /// Runs the plan's steps in order, calling `report` with a line for each item: `ok: ...`
    /// for a part in place, `done: ...` once a change is made. Stops at the first failure: what is done stays done, a re-run continues.
    pub async fn apply(
        &self,
        blueprint: &Blueprint,
        state: &PoolState,
        plan: &Plan,
        mut report: impl FnMut(&str),
    ) -> Result<Provisioned, LifecycleError> {
        let b = blueprint;
        let c = &self.client;
        let r = &self.region;
        let mut pool: Option<UserPoolType> = state.pool.as_ref().map(|p| p.pool.clone());
        let mut client_id = state
            .pool
            .as_ref()
            .and_then(|p| p.client.as_ref())
            .and_then(|c| c.client_id().map(str::to_owned));
        let mut enrollment_id = state
            .pool
            .as_ref()
            .and_then(|p| p.enrollment_client.as_ref())
            .and_then(|c| c.client_id().map(str::to_owned));
        for item in &plan.items {
            let step = match item {
                PlanItem::Do(step) => step,
                PlanItem::Keep(text) => {
                    report(&format!("ok: {text}"));
                    continue;
                }
            };
            let pool_id = pool.as_ref().and_then(|p| p.id().map(str::to_owned));
            let pool_id = pool_id.as_deref().unwrap_or_default();
            match step {
                PlanStep::CreatePool => {
                    let created = send_to_pool!(
                        r,
                        c.create_user_pool()
                            .pool_name(&b.name)
                            .user_pool_tags(TENANT_TAG, &b.tenant_id)
                            .set_schema(Some(schema(&b.custom_attributes)))
                            .set_lambda_config(b.lambda_config(None))
                            .admin_create_user_config(
                                AdminCreateUserConfigType::builder()
                                    .allow_admin_create_user_only(true)
                                    .build()
                            )
                    )
                    .map_err(|e| LifecycleError::aws("CreateUserPool", e))?;
                    pool = created.user_pool;
                    if pool.as_ref().and_then(UserPoolType::id).is_none() {
                        return Err(LifecycleError::Refused(
                            "CreateUserPool returned no pool id".to_owned(),
                        ));
                    }
                }
                PlanStep::AddCustomAttributes(names) => {
                    send_to_pool!(
                        r,
                        c.add_custom_attributes()
                            .user_pool_id(pool_id)
                            .set_custom_attributes(Some(schema(names)))
                    )
                    .map_err(|e| LifecycleError::aws("AddCustomAttributes", e))?;
                }
                PlanStep::SetTriggers => {
                    // Read right before the update: it sends every current field back.
                    let current = describe_pool(c, r, pool_id).await?;
                    send_to_pool!(r, triggers_update(c, b, &current))
                        .map_err(|e| LifecycleError::aws("UpdateUserPool", e))?;
                }
                PlanStep::EnableTotpMfa => {
                    // Read right before the update: it sends the other factors back.
                    let current =
                        send_to_pool!(r, c.get_user_pool_mfa_config().user_pool_id(pool_id))
                            .map_err(|e| LifecycleError::aws("GetUserPoolMfaConfig", e))?;
                    send_to_pool!(r, mfa_update(c, pool_id, &current))
                        .map_err(|e| LifecycleError::aws("SetUserPoolMfaConfig", e))?;
                }
                PlanStep::CreateGroup(group) => {
                    send_to_pool!(r, c.create_group().user_pool_id(pool_id).group_name(group))
                        .map_err(|e| LifecycleError::aws("CreateGroup", e))?;
                }
                PlanStep::CreateClient => {
                    let created = send_to_pool!(
                        r,
                        c.create_user_pool_client()
                            .user_pool_id(pool_id)
                            .client_name(&b.name)
                            .generate_secret(false)
                            .set_write_attributes(Some(b.write_attributes.clone()))
                            .set_explicit_auth_flows(Some(AUTH_FLOWS.to_vec()))
                            .enable_token_revocation(true)
                            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
                            .access_token_validity(ACCESS_TOKEN_MINUTES)
                            .id_token_validity(ACCESS_TOKEN_MINUTES)
                            .token_validity_units(minutes())
                    )
                    .map_err(|e| LifecycleError::aws("CreateUserPoolClient", e))?;
                    client_id = created.user_pool_client.and_then(|c| c.client_id);
                }
                PlanStep::UpdateClient => {
                    let id = client_id.as_deref().ok_or_else(no_pool)?;
                    // Read right before the update: it sends every current field back.
                    let current = describe_client(c, r, pool_id, id).await?;
                    send_to_pool!(r, client_update(c, b, &current, AccessLifetime::Capped))
                        .map_err(|e| LifecycleError::aws("UpdateUserPoolClient", e))?;
                }
                PlanStep::CreateEnrollmentClient => {
                    let name = b.enrollment_client.as_deref().ok_or_else(no_pool)?;
                    let created = send_to_pool!(
                        r,
                        c.create_user_pool_client()
                            .user_pool_id(pool_id)
                            .client_name(name)
                            .generate_secret(true)
                            .set_write_attributes(Some(b.write_attributes.clone()))
                            .set_explicit_auth_flows(Some(ENROLLMENT_FLOWS.to_vec()))
                            .allowed_o_auth_flows_user_pool_client(false)
                            .enable_token_revocation(true)
                            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
                            .access_token_validity(ENROLLMENT_TOKEN_MINUTES)
                            .id_token_validity(ENROLLMENT_TOKEN_MINUTES)
                            .token_validity_units(enrollment_units())
                    )
                    .map_err(|e| LifecycleError::aws("CreateUserPoolClient", e))?;
                    // The answer holds the secret: only the id is kept.
                    enrollment_id = created.user_pool_client.and_then(|c| c.client_id);
                }
                PlanStep::UpdateEnrollmentClient => {
                    let id = enrollment_id.as_deref().ok_or_else(no_pool)?;
                    // Read right before the update: it sends every current field back.
                    let current = describe_client(c, r, pool_id, id).await?;
                    if !has_secret(&current) {
                        return Err(no_secret(b, pool_id, &current));
                    }
                    send_to_pool!(r, enrollment_update(c, b, &current))
                        .map_err(|e| LifecycleError::aws("UpdateUserPoolClient", e))?;
                }
                PlanStep::CreateAdminUser => {
                    let admin = b.admin.as_ref().ok_or_else(no_pool)?;
                    send_to_pool!(
                        r,
                        c.admin_create_user()
                            .user_pool_id(pool_id)
                            .username(&admin.username)
                            .user_attributes(attribute("email", &admin.email))
                            .user_attributes(attribute("email_verified", "true"))
                            .desired_delivery_mediums(DeliveryMediumType::Email)
                    )
                    .map_err(|e| LifecycleError::aws("AdminCreateUser", e))?;
                }
                PlanStep::AddAdminToGroup => {
                    let admin = b.admin.as_ref().ok_or_else(no_pool)?;
                    send_to_pool!(
                        r,
                        c.admin_add_user_to_group()
                            .user_pool_id(pool_id)
                            .username(&admin.username)
                            .group_name(b.admin_group())
                    )
                    .map_err(|e| LifecycleError::aws("AdminAddUserToGroup", e))?;
                }
            }
            let mut line = format!("done: {}", step.describe(b));
            if *step == PlanStep::CreatePool {
                line.push_str(&format!(
                    ": {}",
                    pool.as_ref().and_then(|p| p.id()).unwrap_or_default()
                ));
            }
            if *step == PlanStep::CreateClient {
                line.push_str(&format!(": {}", client_id.as_deref().unwrap_or_default()));
            }
            if *step == PlanStep::CreateEnrollmentClient {
                line.push_str(&format!(
                    ": {}",
                    enrollment_id.as_deref().unwrap_or_default()
                ));
            }
            report(&line);
        }
        let user_pool_id = pool.and_then(|p| p.id).ok_or_else(no_pool)?;
        let client_id = client_id.ok_or_else(|| {
            LifecycleError::Refused(format!("pool {user_pool_id} has no app client {}", b.name))
        })?;
        if enrollment_id.as_deref() == Some(client_id.as_str()) {
            // Unreachable by name; checked because the two must never be the same client.
            return Err(LifecycleError::Refused(format!(
                "app client {client_id} is both the users' and the TOTP enrollment client"
            )));
        }
        Ok(Provisioned {
            user_pool_id,
            client_id,
            enrollment_client_id: b.enrollment_client.as_ref().and(enrollment_id),
        })
    }
}

/// The refusal of an enrollment client without a secret (Cognito sets one only at creation).
fn no_secret(b: &Blueprint, pool_id: &str, client: &UserPoolClientType) -> LifecycleError {
    let id = client.client_id().unwrap_or_default();
    LifecycleError::Refused(format!(
        "TOTP enrollment client {} ({id}) has no secret, and Cognito sets one only at creation; \
         nothing was changed: delete it (aws cognito-idp delete-user-pool-client --user-pool-id \
         {pool_id} --client-id {id}) and re-run",
        b.enrollment_client.as_deref().unwrap_or_default()
    ))
}

fn no_pool() -> LifecycleError {
    LifecycleError::Refused("the plan is out of order: no pool yet".to_owned())
}

fn minutes() -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Minutes)
        .id_token(TimeUnitsType::Minutes)
        .refresh_token(TimeUnitsType::Days)
        .build()
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("name is set")
}

/// Mutable string attributes for `custom:name` entries (the prefix is Cognito's, not part of
/// the name it takes).
fn schema(custom_attributes: &[String]) -> Vec<SchemaAttributeType> {
    custom_attributes
        .iter()
        .map(|a| {
            SchemaAttributeType::builder()
                .name(a.strip_prefix("custom:").unwrap_or(a))
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build()
        })
        .collect()
}
