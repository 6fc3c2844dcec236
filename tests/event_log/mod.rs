//! Every tracing event of the test process, to check that no secret is ever logged. Process-wide:
//! the servers under test run on their own tasks, so a per-test subscriber would not see them.
//! Call [`install`] before the first event that matters. Include with `mod event_log;`.

#![allow(dead_code)]

use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

struct Visitor<'a>(&'a mut String);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Log {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = event.metadata().target().to_owned();
        event.record(&mut Visitor(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let subscriber =
            tracing_subscriber::registry().with(log.clone().with_filter(EnvFilter::new("trace")));
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        log
    })
}

/// Starts recording every event of the process (once; later calls do nothing).
pub fn install() {
    log();
}

/// Fails naming the line if any event so far contains one of `secrets`.
pub fn assert_never_logged(secrets: &[&str]) {
    for line in log().0.lock().unwrap().iter() {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret was logged: {line}");
        }
    }
}
