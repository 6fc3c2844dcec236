//! A hard, global budget on the resolver's reads of tenant items, as defence in depth behind
//! the index: the index lets through only issuers of real tenants, but an attacker who knows
//! many real pool ids (they are in every token) could still cycle through more issuers than the
//! resolver cache holds and make each token cost a read. The budget caps that at a fixed rate,
//! whatever the traffic; over it, lookups fail as a store failure would (503 with
//! `Retry-After`), nothing is read and nothing is cached.

use std::sync::Mutex;
use std::time::Instant;

/// Lookups per second the catalog allows by default (`[catalog] lookups_per_second`). Each
/// costs two consistent `GetItem`s (the tenant item and its guard).
pub const DEFAULT_LOOKUPS_PER_SECOND: u32 = 100;

/// A token bucket: `per_second` tokens a second, holding at most one second's worth.
#[derive(Debug)]
pub(crate) struct Budget {
    per_second: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl Budget {
    pub(crate) fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Budget {
            per_second,
            bucket: Mutex::new((per_second, Instant::now())),
        }
    }

    /// Takes one lookup from the budget; `false` when it is spent.
    pub(crate) fn take(&self) -> bool {
        // The bucket is two numbers replaced together: a panic cannot leave it half-written.
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) = *bucket;
        let now = Instant::now();
        let refilled =
            (tokens + now.duration_since(at).as_secs_f64() * self.per_second).min(self.per_second);
        if refilled < 1.0 {
            *bucket = (refilled, now);
            return false;
        }
        *bucket = (refilled - 1.0, now);
        true
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new(DEFAULT_LOOKUPS_PER_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_gets_one_seconds_worth_then_the_rate() {
        let budget = Budget::new(10);
        let taken = (0..100).filter(|_| budget.take()).count();
        assert_eq!(taken, 10);
        std::thread::sleep(std::time::Duration::from_millis(220));
        let taken = (0..100).filter(|_| budget.take()).count();
        assert!((2..=3).contains(&taken), "{taken}");
    }
}
