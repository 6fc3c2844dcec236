//! The policy folder: `common.cedar` plus one `<tenant id>.cedar` per tenant, an optional schema,
//! validated at load and swapped whole, so a request always sees one complete, valid set.
//!
//! **A reload sees a complete folder or changes nothing.** A deploy in progress or an editor's
//! rename-on-save can leave a file missing, or truncated to nothing, for a moment; loading that
//! would silently drop its policies (the common forbids, say). So a reload is *complete* only if
//! - every policy file of the set in force is still there (files may be added, never removed:
//!   a removed file takes effect at the next start), and
//! - none of them went from holding text to holding nothing but whitespace (a file being
//!   written). To retire a file's policies without a restart, leave a comment in it.
//!
//! The schema, when configured, is required at every load. An incomplete reload keeps the last
//! good set, logs a WARN and fails with [`PolicyErrorKind::Incomplete`] (counted as
//! `outcome="incomplete"` with feature `metrics`); the next reload tries again. Write files
//! elsewhere and rename them in, so that a reload never reads one half written.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use cedar_policy::{EntityTypeName, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use miette::Diagnostic;

use super::actions::ActionGroups;
use super::index::{ActionIndex, FastMap};

/// The file every tenant's policies are evaluated with.
pub(crate) const COMMON: &str = "common";

/// Why the policy folder or the schema could not be loaded: a file, where known the line, and
/// what is wrong. Shown as `path:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    kind: PolicyErrorKind,
    path: PathBuf,
    line: Option<u32>,
    policy: Option<String>,
    message: String,
}

/// What kind of failure a [`PolicyError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// A file cannot be read, parsed or validated, or a policy names an action no request has.
    Invalid,
    /// A reload found the folder incomplete: a file of the set in force is missing or was
    /// emptied (a deploy or a save in progress). See the module docs of `cedar`.
    Incomplete,
}

impl PolicyError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        PolicyError {
            kind: PolicyErrorKind::Invalid,
            path: path.to_owned(),
            line: None,
            policy: None,
            message: message.into(),
        }
    }

    fn incomplete(path: &Path, message: impl Into<String>) -> Self {
        PolicyError {
            kind: PolicyErrorKind::Incomplete,
            ..PolicyError::new(path, message)
        }
    }

    /// Invalid policies, or an incomplete folder on reload.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }

    /// Points at the first labelled place of a Cedar diagnostic in `text` (the file's content).
    fn at(path: &Path, text: &str, diagnostic: &dyn Diagnostic, message: String) -> Self {
        PolicyError {
            line: first_line(text, diagnostic),
            ..PolicyError::new(path, message)
        }
    }

    /// The file at fault (the folder itself when it cannot be listed).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The 1-based line of the first problem, when Cedar located it.
    pub fn line(&self) -> Option<u32> {
        self.line
    }

    /// The id of the policy at fault, for validation errors.
    pub fn policy(&self) -> Option<&str> {
        self.policy.as_deref()
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(policy) = &self.policy {
            write!(f, ": policy `{policy}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PolicyError {}

fn first_line(text: &str, diagnostic: &dyn Diagnostic) -> Option<u32> {
    let label = diagnostic.labels().and_then(|mut labels| labels.next());
    let offset = match label {
        Some(label) => label.offset(),
        // Parse errors wrap their located errors as related diagnostics.
        None => diagnostic
            .related()
            .and_then(|mut related| related.next())
            .and_then(|inner| inner.labels().and_then(|mut labels| labels.next()))?
            .offset(),
    };
    let before = &text.as_bytes()[..offset.min(text.len())];
    Some(before.iter().filter(|&&b| b == b'\n').count() as u32 + 1)
}

/// One complete load of the folder.
#[derive(Default)]
pub(crate) struct Snapshot {
    /// Distinct for every load, so that a decision remembered under older policies is never
    /// reused (see `prepared`).
    pub(crate) generation: u64,
    common: Option<Arc<ActionIndex>>,
    /// `common` merged with each tenant's own file.
    tenants: FastMap<Arc<ActionIndex>>,
    /// Each policy file (by stem) and whether it held more than whitespace: what a reload must
    /// find again to be complete.
    files: HashMap<String, bool>,
}

impl Snapshot {
    /// The policies for `tenant`: common and its own, common alone without a file of its own,
    /// none without either.
    pub(crate) fn for_tenant(&self, tenant: &str) -> Option<&Arc<ActionIndex>> {
        self.tenants.get(tenant).or(self.common.as_ref())
    }

    pub(crate) fn tenants(&self) -> impl Iterator<Item = &str> {
        self.tenants.keys().map(|tenant| &**tenant)
    }
}

/// Reads the folder: every `*.cedar` file, `common.cedar` for all tenants and the others by
/// tenant id (the file stem). Policies are renamed `<file stem>/<@id or position>` so that the
/// ids in logs say which file a policy came from and never collide between files. `previous`,
/// the set in force on a reload, is what the folder must still hold (see the module docs).
pub(crate) fn load(
    dir: &Path,
    schema: Option<&Path>,
    action_type: &EntityTypeName,
    previous: Option<&Snapshot>,
) -> Result<Snapshot, PolicyError> {
    let schema = schema
        .map(|path| load_schema(path, previous.is_some()))
        .transpose()?;
    let groups = match &schema {
        Some((schema, path)) => {
            ActionGroups::from_schema(schema).map_err(|e| PolicyError::new(path, e))?
        }
        None => ActionGroups::default(),
    };
    let validator = schema.map(|(schema, _)| Validator::new(schema));
    let listing = match std::fs::read_dir(dir) {
        // The folder itself swapped out by a deploy.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && previous.is_some() => {
            return Err(PolicyError::incomplete(
                dir,
                "missing (a deploy in progress?)",
            ));
        }
        other => other.map_err(|e| PolicyError::new(dir, e.to_string()))?,
    };
    let mut files = Vec::new();
    for entry in listing {
        let path = entry
            .map_err(|e| PolicyError::new(dir, e.to_string()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "cedar") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut stems = Vec::with_capacity(files.len());
    for path in files {
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            return Err(PolicyError::new(&path, "file name is not UTF-8"));
        };
        stems.push((stem.to_owned(), path));
    }
    if let Some(previous) = previous {
        let mut missing: Vec<&String> = (previous.files.keys())
            .filter(|stem| !stems.iter().any(|(s, _)| s == *stem))
            .collect();
        missing.sort();
        if let Some(stem) = missing.first() {
            return Err(PolicyError::incomplete(
                &dir.join(format!("{stem}.cedar")),
                "missing, and the policies in force have it: a deploy or a save in \
                 progress? (a file is removed only by a restart; to retire its policies \
                 while running, leave a comment in it)",
            ));
        }
    }
    let mut common = None;
    let mut own = Vec::new();
    let mut seen = HashMap::with_capacity(stems.len());
    for (stem, path) in stems {
        let text = match std::fs::read_to_string(&path) {
            // Listed a moment ago: removed since, mid-deploy.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && previous.is_some() => {
                return Err(PolicyError::incomplete(&path, "removed while loading"));
            }
            other => other.map_err(|e| PolicyError::new(&path, e.to_string()))?,
        };
        let has_text = !text.trim().is_empty();
        if !has_text && previous.is_some_and(|p| p.files.get(&stem) == Some(&true)) {
            return Err(PolicyError::incomplete(
                &path,
                "empty, and the policies in force have text in it: a file being written? \
                 (to retire its policies while running, leave a comment in it)",
            ));
        }
        seen.insert(stem.clone(), has_text);
        let set = load_file(
            &path,
            &text,
            &stem,
            validator.as_ref(),
            &groups,
            action_type,
        )?;
        if stem == COMMON {
            common = Some(set);
        } else {
            own.push((path, stem, set));
        }
    }
    let mut tenants = FastMap::with_capacity_and_hasher(own.len(), Default::default());
    for (path, tenant, set) in own {
        let mut merged = common.clone().unwrap_or_default();
        merged
            .merge(&set, false)
            .map_err(|e| PolicyError::new(&path, e.to_string()))?;
        let index =
            ActionIndex::new(&merged, action_type).map_err(|e| PolicyError::new(&path, e))?;
        tenants.insert(tenant.into(), Arc::new(index));
    }
    let common = match common {
        Some(set) => Some(Arc::new(
            ActionIndex::new(&set, action_type).map_err(|e| PolicyError::new(dir, e))?,
        )),
        None => None,
    };
    static GENERATION: AtomicU64 = AtomicU64::new(1);
    Ok(Snapshot {
        generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        common,
        tenants,
        files: seen,
    })
}

fn load_schema(path: &Path, reloading: bool) -> Result<(Schema, &Path), PolicyError> {
    let text = match std::fs::read_to_string(path) {
        Err(e) if reloading && e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PolicyError::incomplete(
                path,
                "missing: the schema is required at every load (a deploy in progress?)",
            ));
        }
        other => other.map_err(|e| PolicyError::new(path, e.to_string()))?,
    };
    // Warnings (shadowed names and the like) do not make a schema unusable.
    Schema::from_cedarschema_str(&text)
        .map(|(schema, _warnings)| (schema, path))
        .map_err(|e| PolicyError::at(path, &text, &e, e.to_string()))
}

/// Parses, renames, validates and checks the policies of one file, then rewrites action groups
/// (validation and errors see the policies as written).
fn load_file(
    path: &Path,
    text: &str,
    stem: &str,
    validator: Option<&Validator>,
    groups: &ActionGroups,
    action_type: &EntityTypeName,
) -> Result<PolicySet, PolicyError> {
    let parsed: PolicySet = text
        .parse()
        .map_err(|e: cedar_policy::ParseErrors| PolicyError::at(path, text, &e, e.to_string()))?;
    if let Some(template) = parsed.templates().next() {
        return Err(PolicyError {
            policy: Some(template.id().to_string()),
            ..PolicyError::new(
                path,
                "policy templates (?principal, ?resource) are not supported",
            )
        });
    }
    let mut set = PolicySet::new();
    for policy in parsed.policies() {
        let local = policy
            .annotation("id")
            .map_or_else(|| policy.id().to_string(), str::to_owned);
        let id = format!("{stem}/{local}");
        set.add(policy.new_id(PolicyId::new(&id)))
            .map_err(|_| PolicyError {
                policy: Some(id.clone()),
                ..PolicyError::new(path, "two policies have this @id")
            })?;
    }
    if let Some(validator) = validator {
        let result = validator.validate(&set, ValidationMode::Strict);
        if let Some(err) = result.validation_errors().next() {
            return Err(PolicyError {
                policy: Some(err.policy_id().to_string()),
                ..PolicyError::at(path, text, err, err.to_string())
            });
        }
    }
    let mut expanded = PolicySet::new();
    for policy in set.policies() {
        let at_policy = |message: String| PolicyError {
            policy: Some(policy.id().to_string()),
            ..PolicyError::new(path, message)
        };
        groups.check(policy, action_type).map_err(at_policy)?;
        let policy = groups.expand(policy).map_err(at_policy)?;
        expanded
            .add(policy)
            .map_err(|e| PolicyError::new(path, e.to_string()))?;
    }
    Ok(expanded)
}

/// The current policies and how to load them again.
pub(crate) struct PolicyStore {
    dir: PathBuf,
    schema: Option<PathBuf>,
    /// `NS::Action`: the only action type a request has.
    action_type: EntityTypeName,
    current: RwLock<Arc<Snapshot>>,
    last_error: Mutex<Option<PolicyError>>,
}

impl PolicyStore {
    /// Loads the folder once; an error here is a configuration error (there is no good set to
    /// keep yet).
    pub(crate) fn open(
        dir: PathBuf,
        schema: Option<PathBuf>,
        action_type: EntityTypeName,
    ) -> Result<Self, PolicyError> {
        let snapshot = load(&dir, schema.as_deref(), &action_type, None)?;
        Ok(PolicyStore {
            dir,
            schema,
            action_type,
            current: RwLock::new(Arc::new(snapshot)),
            last_error: Mutex::new(None),
        })
    }

    pub(crate) fn current(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn last_error(&self) -> Option<PolicyError> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the folder again and swaps the result in; on failure the last good set stays and
    /// the failure is logged (and counted with feature `metrics`).
    pub(crate) fn reload(&self) -> Result<(), PolicyError> {
        // Holding the lock through the load keeps concurrent reloads in order.
        let mut last_error = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let previous = self.current();
        let outcome = load(
            &self.dir,
            self.schema.as_deref(),
            &self.action_type,
            Some(&previous),
        );
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "cognito_authz_cedar_reloads_total",
            "outcome" => match &outcome {
                Ok(_) => "ok",
                Err(err) if err.kind() == PolicyErrorKind::Incomplete => "incomplete",
                Err(_) => "failed",
            }
        )
        .increment(1);
        match outcome {
            Ok(snapshot) => {
                tracing::info!(
                    target: "cognito_authz::cedar",
                    dir = %self.dir.display(),
                    tenants = snapshot.tenants.len(),
                    common = snapshot.common.is_some(),
                    "Cedar policies reloaded"
                );
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
                *last_error = None;
                Ok(())
            }
            // Expected for a moment during a deploy: the next reload tries again.
            Err(err) if err.kind() == PolicyErrorKind::Incomplete => {
                tracing::warn!(
                    target: "cognito_authz::cedar",
                    error = %err,
                    "Cedar policy folder incomplete; keeping the last good policies"
                );
                *last_error = Some(err.clone());
                Err(err)
            }
            Err(err) => {
                tracing::error!(
                    target: "cognito_authz::cedar",
                    error = %err,
                    "Cedar policy reload failed; keeping the last good policies"
                );
                *last_error = Some(err.clone());
                Err(err)
            }
        }
    }
}

/// Reloads `store` every `every` on the current Tokio runtime until the store is dropped.
pub(crate) fn spawn_reloader(
    store: &Arc<PolicyStore>,
    every: Duration,
) -> Result<(), tokio::runtime::TryCurrentError> {
    let handle = tokio::runtime::Handle::try_current()?;
    let store = Arc::downgrade(store);
    handle.spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; the store was just loaded
        loop {
            ticker.tick().await;
            let Some(store) = store.upgrade() else { break };
            // Reading and parsing files blocks; keep it off the request threads.
            let _ = tokio::task::spawn_blocking(move || store.reload()).await;
        }
    });
    Ok(())
}
