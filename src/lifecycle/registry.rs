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

use super::{LifecycleError, pool_region};
use crate::catalog::{CatalogEntry, CatalogError, DynamoDbCatalog};
use crate::config::{AuthConfig, TenantSection};

/// A registered tenant: what the configuration file's `[[tenant]]` and a catalog item hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantEntry {
    /// Tenant id.
    pub tenant_id: String,
    /// User pool id.
    pub user_pool_id: String,
    /// The pool's region.
    pub region: String,
    /// Accepted app client ids.
    pub client_ids: Vec<String>,
    /// `role = [groups]`.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Admin-only attributes.
    pub protected_attributes: Vec<String>,
    /// JWKS URL override.
    pub jwks_url: Option<String>,
}

impl TenantEntry {
    /// An entry for pool `user_pool_id` (its region is taken from the id).
    pub fn new(tenant_id: impl Into<String>, user_pool_id: impl Into<String>) -> Self {
        let user_pool_id = user_pool_id.into();
        TenantEntry {
            tenant_id: tenant_id.into(),
            region: pool_region(&user_pool_id).to_owned(),
            user_pool_id,
            client_ids: Vec::new(),
            roles: BTreeMap::new(),
            protected_attributes: Vec::new(),
            jwks_url: None,
        }
    }

    fn from_section(tenant: &TenantSection) -> Self {
        TenantEntry {
            client_ids: tenant.client_ids.clone(),
            roles: tenant.roles.clone().unwrap_or_default(),
            protected_attributes: tenant.protected_attributes.clone(),
            jwks_url: tenant.jwks_url.clone(),
            ..TenantEntry::new(&tenant.id, &tenant.user_pool_id)
        }
    }

    /// The entry as a `[[tenant]]` table.
    fn to_table(&self) -> Table {
        let mut table = Table::new();
        table
            .decor_mut()
            .set_prefix("\n# Added by `cognito-authz tenant create`.\n");
        table["id"] = value(&self.tenant_id);
        table["user_pool_id"] = value(&self.user_pool_id);
        table["client_ids"] = value(strings(&self.client_ids));
        if let Some(url) = &self.jwks_url {
            table["jwks_url"] = value(url);
        }
        if !self.protected_attributes.is_empty() {
            table["protected_attributes"] = value(strings(&self.protected_attributes));
        }
        if !self.roles.is_empty() {
            let mut roles = Table::new();
            for (role, groups) in &self.roles {
                roles[role.as_str()] = value(strings(groups));
            }
            table["roles"] = Item::Table(roles);
        }
        table
    }
}

impl From<CatalogEntry> for TenantEntry {
    fn from(entry: CatalogEntry) -> Self {
        TenantEntry {
            tenant_id: entry.tenant_id,
            user_pool_id: entry.user_pool_id,
            region: entry.region,
            client_ids: entry.client_ids,
            roles: entry.roles,
            protected_attributes: entry.protected_attributes,
            jwks_url: entry.jwks_url,
        }
    }
}

impl From<TenantEntry> for CatalogEntry {
    fn from(entry: TenantEntry) -> Self {
        CatalogEntry {
            tenant_id: entry.tenant_id,
            user_pool_id: entry.user_pool_id,
            region: entry.region,
            client_ids: entry.client_ids,
            roles: entry.roles,
            protected_attributes: entry.protected_attributes,
            jwks_url: entry.jwks_url,
        }
    }
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
    /// and endpoint). The configuration file's tenant ids are reserved: the catalog refuses
    /// them, as a service with both would.
    pub fn catalog(target: &CatalogTarget, config: &AuthConfig) -> Self {
        let catalog = DynamoDbCatalog::lazy(config.aws.clone(), target.table())
            .reserved_tenant_ids(config.tenants.iter().map(|t| t.id.clone()));
        Registry::Catalog(catalog)
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
                Ok(config
                    .tenants
                    .iter()
                    .map(TenantEntry::from_section)
                    .collect())
            }
            Registry::Catalog(catalog) => {
                if !catalog.table_exists().await? {
                    return Ok(Vec::new());
                }
                Ok(catalog.list().await?.into_iter().map(Into::into).collect())
            }
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
                Ok(catalog.get_by_tenant(id).await?.map(Into::into))
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
                tenants.push(entry.to_table());
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
    match catalog.put(&entry.clone().into()).await {
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
        Some(tables) => tables.push(entry.to_table()),
        None => {
            let mut tables = ArrayOfTables::new();
            tables.push(entry.to_table());
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
    let entry = TenantEntry::from_section(existing);
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
mod tests {
    use super::*;

    const FILE: &str = "# Tenants of the demo.\n\
        [self_service_guard] # scope guard on\n\
        \n\
        [[tenant]]\n\
        id = \"acme\" # first customer\n\
        user_pool_id = \"us-east-1_Acme1\"\n\
        client_ids = [\"c1\"]\n\
        \n\
        [aws]\n\
        endpoint_url = \"http://127.0.0.1:5000\" # moto\n";

    fn temp_file(text: &str) -> (PathBuf, impl Drop) {
        struct Remove(PathBuf);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let dir = std::env::temp_dir().join(format!(
            "cognito-authz-registry-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tenants.toml");
        std::fs::write(&path, text).unwrap();
        (path, Remove(dir))
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    fn globex() -> TenantEntry {
        let mut entry = TenantEntry::new("globex", "eu-west-1_Globex1");
        entry.client_ids = vec!["g1".into()];
        entry.protected_attributes = vec!["custom:mfa_required".into()];
        entry.roles.insert("admin".into(), vec!["admin".into()]);
        entry
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn register_appends_and_keeps_comments_and_layout() {
        let (path, _guard) = temp_file(FILE);
        let registry = Registry::ConfigFile(path.clone());
        assert_eq!(
            block_on(registry.register(&globex())).unwrap(),
            Registration::Added
        );
        let text = std::fs::read_to_string(&path).unwrap();
        // The new table follows the last [[tenant]]; every other byte is as it was.
        let start = text.find("\n# Added by").unwrap();
        let end = text.find("\n[aws]").unwrap();
        assert_eq!(
            format!("{}{}", &text[..start], &text[end..]),
            FILE,
            "{text}"
        );
        assert!(
            text[start..end].contains("[tenant.roles]\nadmin = [\"admin\"]"),
            "{text}"
        );
        let config = AuthConfig::from_toml(&text).unwrap();
        assert_eq!(config.tenants.len(), 2);
        assert_eq!(config.tenants[1].user_pool_id, "eu-west-1_Globex1");
        assert_eq!(
            config.aws.endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            block_on(registry.find("globex")).unwrap(),
            Some(globex()),
            "reads back what it wrote"
        );
        // Same id, same pool: nothing changes.
        assert_eq!(
            block_on(registry.register(&globex())).unwrap(),
            Registration::AlreadyRegistered
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn register_refuses_an_id_with_another_pool_and_writes_nothing() {
        let (path, _guard) = temp_file(FILE);
        let registry = Registry::ConfigFile(path.clone());
        let mut other = globex();
        other.tenant_id = "acme".into();
        let err = block_on(registry.register(&other)).unwrap_err();
        assert!(
            matches!(&err, LifecycleError::Conflict { registered, .. } if registered == "us-east-1_Acme1"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
    }

    #[test]
    fn register_refuses_an_entry_the_service_would_not_load() {
        let (path, _guard) = temp_file(FILE);
        let mut bad = globex();
        bad.client_ids.clear();
        let err = block_on(Registry::ConfigFile(path.clone()).register(&bad)).unwrap_err();
        assert!(err.to_string().contains("client_ids"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
        let dir_entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(dir_entries, 1, "no temporary file left behind");
    }

    #[test]
    fn remove_takes_out_only_that_tenant() {
        let (path, _guard) = temp_file(FILE);
        let registry = Registry::ConfigFile(path.clone());
        block_on(registry.register(&globex())).unwrap();
        let removed = block_on(registry.remove("globex")).unwrap();
        assert_eq!(removed, Some(globex()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, FILE);
        assert_eq!(block_on(registry.remove("globex")).unwrap(), None);
        assert_eq!(
            block_on(registry.remove("acme"))
                .unwrap()
                .unwrap()
                .user_pool_id,
            "us-east-1_Acme1"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# Tenants of the demo.") && text.contains("# moto"),
            "{text}"
        );
        assert!(!text.contains("[[tenant]]"), "{text}");
    }

    #[test]
    fn a_catalog_preview_shows_the_item_it_would_put() {
        let config = AuthConfig::from_toml(FILE).unwrap();
        let registry = Registry::catalog(&"dynamodb:tenants".parse().unwrap(), &config);
        assert_eq!(registry.describe(), "DynamoDB catalog table tenants");
        assert!(registry.check_available().is_ok());
        let mut entry = globex();
        entry.jwks_url =
            Some("http://127.0.0.1:5000/eu-west-1_Globex1/.well-known/jwks.json".into());
        let preview = registry.preview(&entry).unwrap();
        for line in [
            "item in DynamoDB table tenants (created on demand if missing), with guard item tenant#globex:",
            "  user_pool_id = \"eu-west-1_Globex1\"",
            "  tenant_id = \"globex\"",
            "  region = \"eu-west-1\"",
            "  client_ids = [\"g1\"]",
            "  roles.admin = [\"admin\"]",
            "  protected_attributes = [\"custom:mfa_required\"]",
            "  jwks_url = \"http://127.0.0.1:5000/eu-west-1_Globex1/.well-known/jwks.json\"",
        ] {
            assert!(preview.lines().any(|l| l == line), "{line}\n{preview}");
        }
    }

    #[test]
    fn entries_convert_to_catalog_entries_and_back() {
        let mut entry = globex();
        entry.jwks_url = Some("http://127.0.0.1:1/jwks.json".into());
        let catalog: CatalogEntry = entry.clone().into();
        assert_eq!(catalog.user_pool_id, "eu-west-1_Globex1");
        assert_eq!(catalog.jwks_url, entry.jwks_url);
        assert_eq!(TenantEntry::from(catalog), entry);
    }
}
