//! Where a tenant is registered: the configuration file, or a tenant catalog.
//!
//! [`Registry::ConfigFile`] edits the `[[tenant]]` tables of the TOML file with `toml_edit`,
//! keeping every comment and the layout, validates the result as a configuration before
//! writing, and replaces the file atomically (a temporary file in the same directory, then a
//! rename), so a crash leaves either the old file or the new one.
//!
//! [`Registry::Catalog`] is the DynamoDB tenant catalog (`--catalog dynamodb:TABLE`), a
//! [`DynamoDbCatalog`] reached as the configuration's `[aws]` section says. Registering creates
//! the table (on-demand) if it is missing; reading a missing table finds nothing and creates
//! nothing, so `--dry-run`, `list` and `remove` never create it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};

use super::LifecycleError;
use crate::catalog::{CatalogEntry, CatalogError, DynamoDbCatalog};
use crate::config::{AuthConfig, TenantSection};

/// A registered tenant: what the configuration file's `[[tenant]]` and a catalog item hold.
/// One type for both places, so a tenant moves between them with nothing lost.
pub type TenantEntry = CatalogEntry;

/// The `[[tenant]]` table `tenant` as an entry.
fn entry_from_section(tenant: &TenantSection) -> TenantEntry {
    TenantEntry {
        client_ids: tenant.client_ids.clone(),
        roles: tenant.roles.clone().unwrap_or_default(),
        protected_attributes: tenant.protected_attributes.clone(),
        jwks_url: tenant.jwks_url.clone(),
        machine_client_ids: tenant.machine_client_ids.clone(),
        client_roles: tenant.client_roles.clone(),
        replica_regions: tenant.replica_regions.clone(),
        replica_jwks_urls: tenant.replica_jwks_urls.clone(),
        ..TenantEntry::new(&tenant.id, &tenant.user_pool_id)
    }
}

/// `entry` as a `[[tenant]]` table (sub-tables after the plain keys, as TOML requires).
fn entry_table(entry: &TenantEntry) -> Table {
    let mut table = Table::new();
    table
        .decor_mut()
        .set_prefix("\n# Added by `cognito-authz tenant create`.\n");
    table["id"] = value(&entry.tenant_id);
    table["user_pool_id"] = value(&entry.user_pool_id);
    table["client_ids"] = value(strings(&entry.client_ids));
    if let Some(url) = &entry.jwks_url {
        table["jwks_url"] = value(url);
    }
    if !entry.protected_attributes.is_empty() {
        table["protected_attributes"] = value(strings(&entry.protected_attributes));
    }
    if !entry.machine_client_ids.is_empty() {
        table["machine_client_ids"] = value(strings(&entry.machine_client_ids));
    }
    if !entry.replica_regions.is_empty() {
        table["replica_regions"] = value(strings(&entry.replica_regions));
    }
    let lists = |map: &BTreeMap<String, Vec<String>>| {
        let mut sub = Table::new();
        for (key, list) in map {
            sub[key.as_str()] = value(strings(list));
        }
        Item::Table(sub)
    };
    if !entry.roles.is_empty() {
        table["roles"] = lists(&entry.roles);
    }
    if !entry.client_roles.is_empty() {
        table["client_roles"] = lists(&entry.client_roles);
    }
    if !entry.replica_jwks_urls.is_empty() {
        let mut urls = Table::new();
        for (region, url) in &entry.replica_jwks_urls {
            urls[region.as_str()] = value(url);
        }
        table["replica_jwks_urls"] = Item::Table(urls);
    }
    table
}

fn strings(items: &[String]) -> Array {
    items.iter().map(String::as_str).collect()
}

/// `--catalog dynamodb:TABLE`.
///
/// ```
/// use cognito_authz::lifecycle::CatalogTarget;
///
/// let target: CatalogTarget = "dynamodb:tenants".parse().unwrap();
/// assert_eq!(target.table(), "tenants");
/// assert!("dynamodb:".parse::<CatalogTarget>().is_err());
/// assert!("redis:tenants".parse::<CatalogTarget>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTarget {
    table: String,
}

impl CatalogTarget {
    /// The DynamoDB table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl FromStr for CatalogTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some(table) = s.strip_prefix("dynamodb:") else {
            return Err(format!("{s:?} is not a catalog (expected dynamodb:TABLE)"));
        };
        // DynamoDB's table name rules.
        let valid = (3..=255).contains(&table.len())
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return Err(format!(
                "{table:?} is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .)"
            ));
        }
        Ok(CatalogTarget {
            table: table.to_owned(),
        })
    }
}

/// What [`Registry::register`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The tenant was added.
    Added,
    /// The tenant was already registered with the same pool; nothing changed.
    AlreadyRegistered,
}

/// Where tenants are registered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Registry {
    /// The configuration file's `[[tenant]]` tables.
    ConfigFile(PathBuf),
    /// The DynamoDB tenant catalog (see [`Registry::catalog`]).
    Catalog(DynamoDbCatalog),
}

impl Registry {
    /// The catalog `target`, reached as `config.aws` says (the Cognito client's provider chain
    /// and endpoint). The configuration file's tenant ids and pools are reserved and its
    /// `[catalog]` rules apply (allowed JWKS hosts): the catalog refuses what a service with
    /// both would.
    pub fn catalog(target: &CatalogTarget, config: &AuthConfig) -> Self {
        Registry::Catalog(config.catalog(target.table()))
    }

    /// Says where, for messages.
    pub fn describe(&self) -> String {
        match self {
            Registry::ConfigFile(path) => format!("config file {}", path.display()),
            Registry::Catalog(catalog) => format!("DynamoDB catalog table {}", catalog.table()),
        }
    }

    /// Fails early, before anything is changed, if this registry cannot be used.
    pub fn check_available(&self) -> Result<(), LifecycleError> {
        match self {
            Registry::ConfigFile(_) | Registry::Catalog(_) => Ok(()),
        }
    }

    /// Every registered tenant.
    pub async fn list(&self) -> Result<Vec<TenantEntry>, LifecycleError> {
        match self {
            Registry::ConfigFile(path) => {
                let config = AuthConfig::from_file(path)?;
                Ok(config.tenants.iter().map(entry_from_section).collect())
            }
            Registry::Catalog(catalog) => {
                if !catalog.table_exists().await? {
                    return Ok(Vec::new());
                }
                Ok(catalog.list().await?)
            }
        }
    }

    /// Every registered tenant, for a reader that relies on the registry being there
    /// (`audit` of a `[catalog]` deployment): a missing catalog table is an error, not an
    /// empty list.
    pub async fn list_existing(&self) -> Result<Vec<TenantEntry>, LifecycleError> {
        match self {
            Registry::ConfigFile(_) => self.list().await,
            Registry::Catalog(catalog) => Ok(catalog.list().await?),
        }
    }

    /// The tenant registered under `id`, if any.
    pub async fn find(&self, id: &str) -> Result<Option<TenantEntry>, LifecycleError> {
        match self {
            Registry::ConfigFile(_) => {
                Ok(self.list().await?.into_iter().find(|t| t.tenant_id == id))
            }
            Registry::Catalog(catalog) => {
                if !catalog.table_exists().await? {
                    return Ok(None);
                }
                Ok(catalog.get_by_tenant(id).await?)
            }
        }
    }

    /// Registers `entry`. Registering the same id with the same pool again changes nothing;
    /// with another pool it is refused ([`LifecycleError::Conflict`]).
    pub async fn register(&self, entry: &TenantEntry) -> Result<Registration, LifecycleError> {
        match self {
            Registry::ConfigFile(path) => register_in_file(path, entry),
            Registry::Catalog(catalog) => register_in_catalog(catalog, entry).await,
        }
    }

    /// Removes the registration of `id` (not the pool); `None` if it was not registered.
    pub async fn remove(&self, id: &str) -> Result<Option<TenantEntry>, LifecycleError> {
        match self {
            Registry::ConfigFile(path) => remove_from_file(path, id),
            Registry::Catalog(catalog) => {
                let Some(entry) = self.find(id).await? else {
                    return Ok(None);
                };
                catalog.remove(id).await?;
                Ok(Some(entry))
            }
        }
    }

    /// What `register` would write, for `--dry-run`: the `[[tenant]]` text it would append, or
    /// the catalog item it would put.
    pub fn preview(&self, entry: &TenantEntry) -> Option<String> {
        match self {
            Registry::ConfigFile(_) => {
                let mut doc = DocumentMut::new();
                let mut tenants = ArrayOfTables::new();
                tenants.push(entry_table(entry));
                doc.insert("tenant", Item::ArrayOfTables(tenants));
                Some(doc.to_string().trim_start().to_owned())
            }
            Registry::Catalog(catalog) => Some(catalog_preview(catalog.table(), entry)),
        }
    }
}

/// The conflict rule of the configuration file (same id and pool: nothing to do; same id,
/// another pool: refused), then one `put`, whose conditions keep the rule under concurrent
/// writers.
async fn register_in_catalog(
    catalog: &DynamoDbCatalog,
    entry: &TenantEntry,
) -> Result<Registration, LifecycleError> {
    catalog.ensure_table().await?;
    if let Some(existing) = catalog.get_by_tenant(&entry.tenant_id).await? {
        if existing.user_pool_id == entry.user_pool_id {
            return Ok(Registration::AlreadyRegistered);
        }
        return Err(LifecycleError::Conflict {
            id: entry.tenant_id.clone(),
            registered: existing.user_pool_id,
            found: entry.user_pool_id.clone(),
        });
    }
    match catalog.put(entry).await {
        Ok(()) => Ok(Registration::Added),
        // A guard left by a half-removed tenant, or a concurrent `tenant create`.
        Err(CatalogError::TenantIdTaken {
            owner: Some(owner), ..
        }) => Err(LifecycleError::Conflict {
            id: entry.tenant_id.clone(),
            registered: owner,
            found: entry.user_pool_id.clone(),
        }),
        Err(err) => Err(err.into()),
    }
}

fn catalog_preview(table: &str, entry: &TenantEntry) -> String {
    let list = |items: &[String]| format!("{items:?}");
    let mut lines = vec![
        format!(
            "item in DynamoDB table {table} (created on demand if missing), with guard item \
             tenant#{}:",
            entry.tenant_id
        ),
        format!("  user_pool_id = {:?}", entry.user_pool_id),
        format!("  tenant_id = {:?}", entry.tenant_id),
        format!("  region = {:?}", entry.region),
        format!("  client_ids = {}", list(&entry.client_ids)),
    ];
    for (role, groups) in &entry.roles {
        lines.push(format!("  roles.{role} = {}", list(groups)));
    }
    if !entry.protected_attributes.is_empty() {
        lines.push(format!(
            "  protected_attributes = {}",
            list(&entry.protected_attributes)
        ));
    }
    if let Some(url) = &entry.jwks_url {
        lines.push(format!("  jwks_url = {url:?}"));
    }
    if !entry.machine_client_ids.is_empty() {
        let clients = list(&entry.machine_client_ids);
        lines.push(format!("  machine_client_ids = {clients}"));
    }
    for (client, roles) in &entry.client_roles {
        lines.push(format!("  client_roles.{client} = {}", list(roles)));
    }
    if !entry.replica_regions.is_empty() {
        let regions = list(&entry.replica_regions);
        lines.push(format!("  replica_regions = {regions}"));
    }
    for (region, url) in &entry.replica_jwks_urls {
        lines.push(format!("  replica_jwks_urls.{region} = {url:?}"));
    }
    lines.join("\n")
}

fn file_error(path: &Path, message: impl Into<String>) -> LifecycleError {
    LifecycleError::ConfigFile {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read_document(path: &Path) -> Result<DocumentMut, LifecycleError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e.to_string()))?;
    text.parse::<DocumentMut>()
        .map_err(|e| file_error(path, format!("not valid TOML: {e}")))
}

fn tenant_tables<'d>(
    doc: &'d mut DocumentMut,
    path: &Path,
) -> Result<Option<&'d mut ArrayOfTables>, LifecycleError> {
    match doc.get_mut("tenant") {
        None => Ok(None),
        Some(item) => item
            .as_array_of_tables_mut()
            .map(Some)
            .ok_or_else(|| file_error(path, "`tenant` is not an array of [[tenant]] tables")),
    }
}

fn position_of(tables: &ArrayOfTables, id: &str) -> Option<usize> {
    tables
        .iter()
        .position(|t| t.get("id").and_then(Item::as_str) == Some(id))
}

fn register_in_file(path: &Path, entry: &TenantEntry) -> Result<Registration, LifecycleError> {
    // The registered tenants as the service would load them, for the conflict rule.
    let config = AuthConfig::from_file(path)?;
    if let Some(existing) = config.tenants.iter().find(|t| t.id == entry.tenant_id) {
        if existing.user_pool_id == entry.user_pool_id {
            return Ok(Registration::AlreadyRegistered);
        }
        return Err(LifecycleError::Conflict {
            id: entry.tenant_id.clone(),
            registered: existing.user_pool_id.clone(),
            found: entry.user_pool_id.clone(),
        });
    }
    let mut doc = read_document(path)?;
    match tenant_tables(&mut doc, path)? {
        Some(tables) => tables.push(entry_table(entry)),
        None => {
            let mut tables = ArrayOfTables::new();
            tables.push(entry_table(entry));
            doc.insert("tenant", Item::ArrayOfTables(tables));
        }
    }
    let text = doc.to_string();
    // Never write a file the service would refuse to load.
    let _validated = AuthConfig::from_toml(&text)?.into_builder()?;
    write_atomically(path, &text)?;
    Ok(Registration::Added)
}

fn remove_from_file(path: &Path, id: &str) -> Result<Option<TenantEntry>, LifecycleError> {
    let config = AuthConfig::from_file(path)?;
    let Some(existing) = config.tenants.iter().find(|t| t.id == id) else {
        return Ok(None);
    };
    let entry = entry_from_section(existing);
    let mut doc = read_document(path)?;
    let Some(tables) = tenant_tables(&mut doc, path)? else {
        return Ok(None);
    };
    let Some(index) = position_of(tables, id) else {
        return Ok(None);
    };
    tables.remove(index);
    if tables.is_empty() {
        doc.remove("tenant");
    }
    write_atomically(path, &doc.to_string())?;
    Ok(Some(entry))
}

/// Writes `text` to a temporary file next to `path` (same permissions), flushes it to disk
/// and renames it over `path`.
fn write_atomically(path: &Path, text: &str) -> Result<(), LifecycleError> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Ok(metadata) = std::fs::metadata(&target) {
            std::fs::set_permissions(&temp, metadata.permissions())?;
        }
        std::fs::rename(&temp, &target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        file_error(path, format!("could not write: {e}"))
    })
}

#[cfg(test)]
mod tests;
