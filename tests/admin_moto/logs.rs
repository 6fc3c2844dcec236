//! Captured `tracing` events of this crate, one log per test: the subscriber follows the test's
//! future, so concurrent tests' events stay apart. Tests read the audit events of an action on a
//! target and assert that no field of any event holds a secret.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer};

/// One captured `tracing` event of this crate: its target and fields, formatted.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) target: String,
    pub(crate) fields: BTreeMap<String, String>,
}

impl Captured {
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<Captured>>>);

struct Visitor<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Visitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Log {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Visitor(&mut fields));
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
}

impl Log {
    pub(crate) fn events(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn audit(&self) -> Vec<Captured> {
        self.events()
            .into_iter()
            .filter(|e| e.target == "cognito_authz::audit")
            .collect()
    }

    /// The audit events of `action` on `target`.
    pub(crate) fn audit_of(&self, action: &str, target: &str) -> Vec<Captured> {
        self.audit()
            .into_iter()
            .filter(|e| e.get("action") == Some(action) && e.get("target") == Some(target))
            .collect()
    }

    /// Panics if any captured field of any event contains `secret`.
    pub(crate) fn assert_never_logged(&self, secret: &str) {
        for event in self.events() {
            for (name, value) in &event.fields {
                assert!(
                    !value.contains(secret),
                    "{name} of a {} event contains a secret: {value}",
                    event.target
                );
            }
        }
    }
}

/// Runs a test body with this crate's events captured. The subscriber follows the test's
/// future, and the routes run inside it (`oneshot`), so it works on a multi-thread runtime
/// and keeps concurrent tests' events apart.
pub(crate) async fn captured<F, Fut>(body: F)
where
    F: FnOnce(Log) -> Fut,
    Fut: Future<Output = ()>,
{
    let log = Log::default();
    let subscriber = tracing_subscriber::registry().with(
        log.clone()
            .with_filter(EnvFilter::new("cognito_authz=trace")),
    );
    body(log).with_subscriber(subscriber).await;
}
