//! `cognito-authz`: provision tenant pools the safe way, list and remove tenants, and audit
//! every pool against the configuration, and explain why a request is allowed or refused
//! (feature `cli`).
//!
//! It reads the same configuration file as the service and reaches Cognito the same way
//! (`[aws] endpoint_url`, `AWS_ENDPOINT_URL`, the standard provider chain), so it runs
//! against an emulator such as moto as well as against AWS. See README "Onboarding a tenant"
//! and "Auditing pools".

mod audit;
mod explain;
mod tenant;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Provision, list, remove and audit the tenants of a cognito-authz configuration.
#[derive(Debug, Parser)]
#[command(name = "cognito-authz", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, list or remove tenants.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Check every tenant's user pool; exit 0: no high finding, 1: a high finding,
    /// 2: could not audit.
    Audit(audit::AuditArgs),
    /// Run one request through the authentication and Cedar pipeline, without a server, and
    /// print each step; exit 0: allowed, 1: refused (401 or 403), 2: could not evaluate.
    Explain(explain::ExplainArgs),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Tenant(command) => tenant::run(command).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Explain(args) => explain::run(args).await,
    }
}
