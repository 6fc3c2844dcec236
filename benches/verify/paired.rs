//! Interleaved measurement: two sides timed in alternating chunks of 32 iterations, so that a
//! loaded machine slows both alike, with totals kept over every iteration (warm-up included)
//! and a ratio line printed after the group.

use std::time::Duration;

/// Times `iters` runs of `without` and of `with`, interleaved in chunks of 32 (alternating which
/// goes first) so that both see the same load on a shared machine.
fn paired(iters: u64, without: &mut dyn FnMut(), with: &mut dyn FnMut()) -> (Duration, Duration) {
    let time = |f: &mut dyn FnMut(), n: u64| {
        let start = std::time::Instant::now();
        for _ in 0..n {
            f();
        }
        start.elapsed()
    };
    let (mut base, mut measured) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(32);
        if (done / 32) % 2 == 0 {
            base += time(without, n);
            measured += time(with, n);
        } else {
            measured += time(with, n);
            base += time(without, n);
        }
        done += n;
    }
    (base, measured)
}

/// Totals of a paired bench: time without, time with, iterations.
#[derive(Default)]
pub struct Paired(std::cell::Cell<(Duration, Duration, u64)>);

impl Paired {
    /// Runs one criterion sample, reporting the time of `with`; keeps both totals.
    pub fn sample(
        &self,
        iters: u64,
        without: &mut dyn FnMut(),
        with: &mut dyn FnMut(),
    ) -> Duration {
        let (base, measured) = paired(iters, without, with);
        let (b, m, n) = self.0.get();
        self.0.set((b + base, m + measured, n + iters));
        measured
    }

    #[cfg(feature = "metrics")]
    pub fn report(&self, name: &str) {
        self.report_as(name, "without recorder", "with Prometheus recorder");
    }

    /// Prints both per-iteration means, their difference and ratio, over every iteration.
    pub fn report_as(&self, name: &str, without: &str, with: &str) {
        let (base, measured, n) = self.0.get();
        if n == 0 {
            // Filtered out of this run.
            return;
        }
        let per = |d: Duration| d.as_nanos() as f64 / n as f64;
        println!(
            "{name}: paired over {n} iterations: {without} {:.1} ns, {with} {:.1} ns, \
             delta {:+.1} ns, ratio {:.3}",
            per(base),
            per(measured),
            per(measured) - per(base),
            per(measured) / per(base),
        );
    }
}
