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

/// A production file shares revocations through Redis: the CLI (which is built with feature
/// `redis` for this reason) must still validate it, without connecting anywhere.
#[test]
fn register_accepts_a_file_with_a_shared_revocation_store() {
    let file = format!("{FILE}\n[revocations]\nredis_url = \"redis://127.0.0.1:1/0\"\n");
    let (path, _guard) = temp_file(&file);
    let registry = Registry::ConfigFile(path.clone());
    assert_eq!(
        block_on(registry.register(&globex())).unwrap(),
        Registration::Added
    );
    assert_eq!(block_on(registry.list()).unwrap().len(), 2);
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
    entry.jwks_url = Some("http://127.0.0.1:5000/eu-west-1_Globex1/.well-known/jwks.json".into());
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
fn every_field_survives_a_round_trip_through_the_file() {
    let mut entry = globex();
    entry.machine_client_ids = vec!["sync".into()];
    entry.client_roles = [("sync".to_owned(), vec!["orders".to_owned()])].into();
    entry.replica_regions = vec!["eu-central-1".into()];
    entry.replica_jwks_urls =
        [("eu-central-1".to_owned(), "http://127.0.0.1:2/k".to_owned())].into();
    let mut doc = DocumentMut::new();
    let mut tables = ArrayOfTables::new();
    tables.push(entry_table(&entry));
    doc["tenant"] = Item::ArrayOfTables(tables);
    let config = AuthConfig::from_toml(&doc.to_string()).unwrap();
    assert_eq!(entry_from_section(&config.tenants[0]), entry);
    config.into_builder().unwrap().build().unwrap();
}
