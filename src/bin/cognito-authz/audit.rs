//! `cognito-authz audit`: exit 0 with no high finding, 1 with at least one, 2 when the pools
//! could not be audited (bad configuration, no access), with a message naming the cause.
//!
//! Every tenant is audited: the file's `[[tenant]]`s and, with `[catalog]`, every catalog
//! tenant. A catalog that cannot be read (missing table, a refused item) is "could not audit",
//! never a clean report.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use cognito_authz::AuthConfig;
use cognito_authz::aws::cognito_client;
use cognito_authz::lifecycle::pool_audit::{
    AuditPolicy, AuditReport, PoolSnapshot, Severity, TenantReport, check_pool,
};
use cognito_authz::lifecycle::{CatalogTarget, Registry};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE", default_value = "tenants.toml")]
    config: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Audit only this tenant (of the file or of the `[catalog]`).
    #[arg(long, value_name = "ID")]
    tenant: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Exit status when the audit could not run.
const CANNOT_AUDIT: u8 = 2;

pub async fn run(args: AuditArgs) -> ExitCode {
    match audit(&args).await {
        Ok(report) => {
            match args.format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("a report serializes")
                ),
                Format::Text => print_text(&report),
            }
            if report.has_high() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("error: could not audit: {message}");
            ExitCode::from(CANNOT_AUDIT)
        }
    }
}

async fn audit(args: &AuditArgs) -> Result<AuditReport, String> {
    let path = args.config.display();
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("cannot read configuration {path}: {e}"))?;
    let config =
        AuthConfig::from_toml(&text).map_err(|e| format!("invalid configuration {path}: {e}"))?;
    // The same validation the service applies at startup.
    let _validated = config
        .to_builder()
        .map_err(|e| format!("invalid configuration {path}: {e}"))?;
    // `[self_service_guard]` or `[triggers]` present, even empty, means the deployment relies
    // on the Pre Token Generation trigger.
    let tables = text
        .parse::<toml::Table>()
        .map_err(|e| format!("invalid configuration {path}: {e}"))?;
    let scope_guard_expected =
        tables.contains_key("self_service_guard") || tables.contains_key("triggers");
    // `[admin]` present (even empty, or only as `[admin.client_secrets]`) means the admin API,
    // which serves `POST /me/password` for every tenant it accepts, is configured: each
    // tenant's users' app clients must then allow the flow that route signs in with.
    let me_password = tables.contains_key("admin");
    let catalog = match &config.catalog {
        Some(section) => {
            let target: CatalogTarget = format!("dynamodb:{}", section.dynamodb_table)
                .parse()
                .map_err(|e| format!("invalid configuration {path}: {e}"))?;
            Some(Registry::catalog(&target, &config))
        }
        None => None,
    };
    let file_tenants = config
        .tenants
        .iter()
        .filter(|t| args.tenant.as_ref().is_none_or(|id| &t.id == id));
    // Each tenant with the policy it is held to: the file's first, then the catalog's.
    let mut tenants: Vec<(TenantEntryRef, AuditPolicy)> = file_tenants
        .map(|t| {
            let policy =
                AuditPolicy::for_tenant(&config, t, scope_guard_expected).me_password(me_password);
            ((t.id.clone(), t.user_pool_id.clone()), policy)
        })
        .collect();
    if let Some(registry) = &catalog {
        let where_ = registry.describe();
        // `--tenant` found in the file needs no catalog read; otherwise the catalog is read
        // (one item for `--tenant`, every item without it). Unreadable: cannot audit.
        let entries = match &args.tenant {
            Some(_) if !tenants.is_empty() => Vec::new(),
            Some(id) => registry
                .find(id)
                .await
                .map_err(|e| format!("{where_}: {e}"))?
                .into_iter()
                .collect(),
            None => registry
                .list_existing()
                .await
                .map_err(|e| format!("{where_}: {e}"))?,
        };
        tenants.extend(entries.iter().map(|e| {
            let policy =
                AuditPolicy::for_entry(&config, e, scope_guard_expected).me_password(me_password);
            ((e.tenant_id.clone(), e.user_pool_id.clone()), policy)
        }));
    }
    if tenants.is_empty() {
        let catalog = catalog
            .as_ref()
            .map(|r| format!(" nor in {}", r.describe()))
            .unwrap_or_default();
        return Err(match &args.tenant {
            Some(id) => format!("tenant {id:?} is not in {path}{catalog}"),
            None if catalog.is_empty() => format!("{path} has no [[tenant]]"),
            None => format!("no tenant to audit: none in {path}{catalog}"),
        });
    }
    let client = cognito_client(&config.aws).await;
    let mut report = AuditReport::default();
    for ((id, user_pool_id), policy) in tenants {
        let snapshot = PoolSnapshot::read(&client, &user_pool_id)
            .await
            .map_err(|e| format!("tenant {id} (user pool {user_pool_id}): {e}"))?;
        report.tenants.push(TenantReport::new(
            &id,
            &user_pool_id,
            check_pool(&policy, &snapshot),
        ));
    }
    Ok(report)
}

/// A tenant's id and pool id.
type TenantEntryRef = (String, String);

fn print_text(report: &AuditReport) {
    let mut counts = [0usize; 3];
    for tenant in &report.tenants {
        if tenant.findings.is_empty() {
            println!(
                "tenant {} ({}): no findings",
                tenant.id, tenant.user_pool_id
            );
            continue;
        }
        println!(
            "tenant {} ({}): {} finding(s)",
            tenant.id,
            tenant.user_pool_id,
            tenant.findings.len()
        );
        for f in &tenant.findings {
            counts[f.severity as usize] += 1;
            println!(
                "  {:6}  {:34}  {}: {}",
                f.severity.to_string(),
                f.check.id(),
                f.subject,
                f.message
            );
        }
    }
    println!(
        "summary: {} high, {} medium, {} low",
        counts[Severity::High as usize],
        counts[Severity::Medium as usize],
        counts[Severity::Low as usize]
    );
}
