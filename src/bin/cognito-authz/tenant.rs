//! `cognito-authz tenant create | list | remove`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use cognito_authz::AuthConfig;
use cognito_authz::aws::cognito_client;
use cognito_authz::lifecycle::provision::AdminUser;
use cognito_authz::lifecycle::registry::Registration;
use cognito_authz::lifecycle::removal::{PoolDeletion, delete_tenant_pool};
use cognito_authz::lifecycle::{
    Blueprint, CatalogTarget, LifecycleError, Plan, ProvisionRequest, Provisioner, Registry,
    TenantEntry,
};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create (or finish creating) a tenant's user pool, groups, app client and triggers (and,
    /// with `[triggers] mfa_enrollment_window_attribute`, its TOTP enrollment client), then
    /// register the tenant. Idempotent.
    Create(CreateArgs),
    /// List the registered tenants.
    List(ListArgs),
    /// Remove a tenant's registration (and its pool only with --delete-pool --yes, and only if
    /// the pool's `cognito-authz:tenant` tag names the tenant, unless --force).
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The configuration file (read for the settings; the tenant is appended to it unless
    /// --catalog is given).
    #[arg(long, value_name = "FILE", default_value = "tenants.toml")]
    config: PathBuf,
    /// Tenant id: ASCII letters, digits, '-' and '_', at most 64.
    #[arg(long)]
    id: String,
    /// The region the pool goes to.
    #[arg(long)]
    region: String,
    /// First administrator's user name (Cognito emails them a temporary password).
    #[arg(long, value_name = "USERNAME", requires = "admin_email")]
    admin: Option<String>,
    /// First administrator's email address.
    #[arg(long, value_name = "EMAIL", requires = "admin")]
    admin_email: Option<String>,
    /// Pre Token Generation Lambda (attached as event version V2_0).
    #[arg(long, value_name = "ARN")]
    pre_token_lambda: Option<String>,
    /// Post Authentication Lambda (the MFA drift guard).
    #[arg(long, value_name = "ARN")]
    post_auth_lambda: Option<String>,
    /// An admin-only attribute besides the drift guard's (repeatable); `custom:` ones are
    /// added to the pool's schema, none is ever on the app client's write list.
    #[arg(long = "protected-attribute", value_name = "ATTRIBUTE")]
    protected_attributes: Vec<String>,
    /// Register the tenant in this catalog instead of the configuration file (the table is
    /// created, on-demand, if missing; reached as `[aws]` says).
    #[arg(long, value_name = "dynamodb:TABLE")]
    catalog: Option<CatalogTarget>,
    /// Registers this JWKS URL instead of the pool's own (for emulators and tests, e.g. moto's
    /// http://127.0.0.1:PORT/<pool>/.well-known/jwks.json; `<pool>` is replaced by the pool id).
    #[arg(long, value_name = "URL")]
    jwks_url: Option<String>,
    /// Print the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE", default_value = "tenants.toml")]
    config: PathBuf,
    /// List the tenants of this catalog instead of the configuration file.
    #[arg(long, value_name = "dynamodb:TABLE")]
    catalog: Option<CatalogTarget>,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE", default_value = "tenants.toml")]
    config: PathBuf,
    /// The tenant id.
    #[arg(long)]
    id: String,
    /// Remove the tenant from this catalog instead of the configuration file.
    #[arg(long, value_name = "dynamodb:TABLE")]
    catalog: Option<CatalogTarget>,
    /// Also delete the tenant's user pool and every user in it (needs --yes).
    #[arg(long)]
    delete_pool: bool,
    /// Confirms --delete-pool.
    #[arg(long)]
    yes: bool,
    /// With --delete-pool: delete the pool even if its `cognito-authz:tenant` tag does not name
    /// this tenant (or it has none).
    #[arg(long, requires = "delete_pool")]
    force: bool,
}

pub async fn run(command: TenantCommand) -> ExitCode {
    let result = match command {
        TenantCommand::Create(args) => create(args).await,
        TenantCommand::List(args) => list(args).await,
        TenantCommand::Remove(args) => remove(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The registry named by `--catalog`, else the configuration file. A catalog is reached as the
/// file's `[aws]` says, so the file is read then.
fn registry(
    path: &Path,
    config: Option<&AuthConfig>,
    catalog: Option<CatalogTarget>,
) -> Result<Registry, LifecycleError> {
    Ok(match catalog {
        Some(target) => match config {
            Some(config) => Registry::catalog(&target, config),
            None => Registry::catalog(&target, &AuthConfig::from_file(path)?),
        },
        None => Registry::ConfigFile(path.to_owned()),
    })
}

async fn create(args: CreateArgs) -> Result<(), LifecycleError> {
    let config = AuthConfig::from_file(&args.config)?;
    let registry = registry(&args.config, Some(&config), args.catalog)?;
    let jwks_url = args.jwks_url;
    // Before anything changes: the registry must be usable.
    registry.check_available()?;
    if matches!(registry, Registry::Catalog(_)) && config.tenants.iter().any(|t| t.id == args.id) {
        // A service with both refuses catalog items that reuse a configured id.
        return Err(LifecycleError::Refused(format!(
            "tenant {:?} is a [[tenant]] of {}; a catalog tenant needs an id of its own \
             (nothing was changed)",
            args.id,
            args.config.display()
        )));
    }
    let mut request = ProvisionRequest::new(args.id, args.region);
    request.admin = args
        .admin
        .zip(args.admin_email)
        .map(|(username, email)| AdminUser { username, email });
    request.pre_token_lambda = args.pre_token_lambda;
    request.post_auth_lambda = args.post_auth_lambda;
    request.protected_attributes = args.protected_attributes;
    let blueprint = Blueprint::new(&config, request)?;
    let registered = registry.find(&blueprint.tenant_id).await?;

    let provisioner = Provisioner::new(cognito_client(&config.aws).await, &blueprint.region);
    let state = provisioner.discover(&blueprint).await?;
    let found = state.pool.as_ref().map(|p| p.id().to_owned());
    if let Some(registered) = registered
        .as_ref()
        .filter(|r| found.as_deref() != Some(r.user_pool_id.as_str()))
    {
        return Err(LifecycleError::Conflict {
            id: blueprint.tenant_id.clone(),
            registered: registered.user_pool_id.clone(),
            found: found.unwrap_or_else(|| {
                format!("a new pool {} in {}", blueprint.name, blueprint.region)
            }),
        });
    }
    let plan = Plan::new(&blueprint, &state);
    println!(
        "tenant {} in {} (registry: {})",
        blueprint.tenant_id,
        blueprint.region,
        registry.describe()
    );

    if args.dry_run {
        for line in plan.lines(&blueprint) {
            println!("{line}");
        }
        match &registered {
            Some(_) => println!("ok: tenant already registered in {}", registry.describe()),
            None => {
                println!("do: register the tenant in {}", registry.describe());
                let mut entry = entry(
                    &blueprint,
                    found.as_deref().unwrap_or("<new pool id>"),
                    jwks_url.as_deref(),
                );
                entry.client_ids = vec![
                    state
                        .pool
                        .as_ref()
                        .and_then(|p| p.client.as_ref())
                        .and_then(|c| c.client_id())
                        .unwrap_or("<new app client id>")
                        .to_owned(),
                ];
                if let Some(text) = registry.preview(&entry) {
                    println!("{}", text.trim_end());
                }
            }
        }
        println!("dry run: nothing was changed");
        return Ok(());
    }

    let done = provisioner
        .apply(&blueprint, &state, &plan, |line| println!("{line}"))
        .await?;
    let mut entry = entry(&blueprint, &done.user_pool_id, jwks_url.as_deref());
    entry.client_ids = vec![done.client_id.clone()];
    match registry.register(&entry).await? {
        Registration::Added => {
            println!(
                "done: registered tenant {} in {}",
                entry.tenant_id,
                registry.describe()
            );
        }
        Registration::AlreadyRegistered => {
            println!("ok: tenant already registered in {}", registry.describe());
            let listed = registered
                .as_ref()
                .is_some_and(|r| r.client_ids.contains(&done.client_id));
            if !listed {
                eprintln!(
                    "warning: the registration does not list app client {}; add it to client_ids",
                    done.client_id
                );
            }
        }
    }
    if let Some(enrollment) = &done.enrollment_client_id
        && registered
            .as_ref()
            .is_some_and(|r| r.client_ids.contains(enrollment))
    {
        eprintln!(
            "warning: the registration lists TOTP enrollment client {enrollment} in \
             client_ids; remove it (its tokens keep the self-service scope)"
        );
    }
    println!(
        "tenant {} ready: user pool {}, app client {}",
        entry.tenant_id, done.user_pool_id, done.client_id
    );
    if let Some(enrollment) = &done.enrollment_client_id {
        enrollment_instructions(
            &args.config,
            &config,
            &blueprint,
            &done.user_pool_id,
            enrollment,
        );
    }
    Ok(())
}

/// What the operator still does for the TOTP enrollment client: name it in
/// `[admin.totp_enrollment_clients]` and put its secret in `[admin.client_secrets]`. The file
/// is not edited: load refuses an enrollment client without its secret, and this tool never
/// reads, prints or writes a secret, so it says where to read it instead.
fn enrollment_instructions(
    path: &Path,
    config: &AuthConfig,
    blueprint: &Blueprint,
    user_pool_id: &str,
    client_id: &str,
) {
    let tenant = &blueprint.tenant_id;
    let configured = config.admin.totp_enrollment_clients.get(tenant);
    if configured.map(String::as_str) == Some(client_id)
        && config.admin.client_secrets.contains_key(client_id)
    {
        println!(
            "ok: {} names TOTP enrollment client {client_id} for tenant {tenant}, with its secret",
            path.display()
        );
        return;
    }
    if let Some(other) = configured.filter(|c| c.as_str() != client_id) {
        eprintln!(
            "warning: [admin.totp_enrollment_clients] names {other} for tenant {tenant}, not \
             its enrollment client {client_id}"
        );
    }
    println!(
        "todo: TOTP enrollment client {}: {client_id}; add to {} (the service and the trigger \
         read it):\n  [admin.totp_enrollment_clients]\n  {tenant} = \"{client_id}\"\n  \
         [admin.client_secrets]\n  \"{client_id}\" = \"<its secret>\"",
        blueprint.enrollment_client.as_deref().unwrap_or_default(),
        path.display()
    );
    println!(
        "todo: read the secret with: aws cognito-idp describe-user-pool-client --region {} \
         --user-pool-id {user_pool_id} --client-id {client_id} --query \
         UserPoolClient.ClientSecret --output text",
        blueprint.region
    );
}

fn entry(blueprint: &Blueprint, user_pool_id: &str, jwks_url: Option<&str>) -> TenantEntry {
    let mut entry = TenantEntry::new(&blueprint.tenant_id, user_pool_id);
    entry.region = blueprint.region.clone();
    // The pool id is known only once the pool exists: the URL may name it as `<pool>`.
    entry.jwks_url = jwks_url.map(|url| url.replace("<pool>", user_pool_id));
    entry.roles = blueprint.roles.clone();
    entry.protected_attributes = blueprint.protected_attributes.clone();
    entry
}

async fn list(args: ListArgs) -> Result<(), LifecycleError> {
    let registry = registry(&args.config, None, args.catalog)?;
    let tenants = registry.list().await?;
    if tenants.is_empty() {
        println!("no tenant in {}", registry.describe());
        return Ok(());
    }
    let id_width = tenants
        .iter()
        .map(|t| t.tenant_id.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let pool_width = tenants
        .iter()
        .map(|t| t.user_pool_id.len())
        .max()
        .unwrap_or(0)
        .max(9);
    println!(
        "{:id_width$}  {:pool_width$}  {:14}  CLIENT IDS",
        "ID", "USER POOL", "REGION"
    );
    for t in tenants {
        println!(
            "{:id_width$}  {:pool_width$}  {:14}  {}",
            t.tenant_id,
            t.user_pool_id,
            t.region,
            t.client_ids.join(",")
        );
    }
    Ok(())
}

async fn remove(args: RemoveArgs) -> Result<(), LifecycleError> {
    let registry = registry(&args.config, None, args.catalog)?;
    if args.delete_pool && !args.yes {
        return Err(LifecycleError::Refused(
            "--delete-pool deletes the tenant's user pool and every user in it: add --yes to \
             confirm (nothing was changed)"
                .to_owned(),
        ));
    }
    registry.check_available()?;
    let Some(entry) = registry.find(&args.id).await? else {
        return Err(LifecycleError::Refused(format!(
            "tenant {:?} is not registered in {}",
            args.id,
            registry.describe()
        )));
    };
    if args.delete_pool {
        // The pool goes first: if that fails, the registration stays and a re-run retries.
        let config = AuthConfig::from_file(&args.config)?;
        let client = cognito_client(&config.aws).await;
        match delete_tenant_pool(&client, &entry.user_pool_id, &entry.tenant_id, args.force).await?
        {
            PoolDeletion::Deleted => println!("done: deleted user pool {}", entry.user_pool_id),
            PoolDeletion::Missing => {
                println!("ok: user pool {} does not exist", entry.user_pool_id);
            }
        }
    }
    registry.remove(&args.id).await?;
    println!(
        "done: removed tenant {} (user pool {}) from {}",
        entry.tenant_id,
        entry.user_pool_id,
        registry.describe()
    );
    if !args.delete_pool {
        println!("ok: user pool {} kept", entry.user_pool_id);
    }
    announce_removal(&args.config, &entry.tenant_id).await;
    Ok(())
}

/// With a `[revocations]` store, every replica drops the tenant's cached tokens and resolver
/// answers at once (`Revocations::revoke_tenant_shared`). The registration is already gone, so
/// a failure only means replicas refuse the tenant once their resolver answers expire.
async fn announce_removal(config: &Path, tenant: &str) {
    let Ok(config) = AuthConfig::from_file(config) else {
        return;
    };
    let cognito_authz::config::RevocationsSetting::Shared(section) = config.revocations else {
        return;
    };
    match section.into_store().revoke_tenant(tenant).await {
        Ok(()) => println!("done: told every replica to drop tenant {tenant}'s cached tokens"),
        Err(e) => eprintln!(
            "warning: replicas were not told at once ({e}); they refuse tenant {tenant} once \
             their resolver answers expire (resolver_ttl)"
        ),
    }
}
