//! The wall clock the verified-token cache judges its entries by.
//!
//! Rules:
//! - Entries end at wall-clock times (`exp` is one), so the clock is the wall clock, never a
//!   monotonic one (see `Entry::valid_until`).
//! - A hit reads the clock on every request. `SystemTime::now` costs 20 to 35 ns on the
//!   reference VM, a tenth of a hit; on Linux a hit reads `CLOCK_REALTIME_COARSE` instead
//!   (about 4 ns: libc's vDSO call, through rustix). That clock is the time of the last timer
//!   tick: it lags the true time by less than its resolution (one tick, 1 to 10 ms). The hit
//!   adds twice the resolution, so its reading is never earlier than the true time and an entry
//!   is never served past its end: it stops being served up to that much sooner, and the token
//!   then takes the exact path (a full verification against `SystemTime`).
//! - Inserts and sweeps read `SystemTime`: they are on the slow path.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time since the Unix epoch, the clock `exp` is read against.
pub(super) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// The clock of cache hits: cheap, and never behind the true time.
#[derive(Clone, Copy, Debug)]
pub(super) struct HitClock {
    /// Added to a coarse reading; `None`: read `SystemTime` (no usable coarse clock).
    coarse_slack: Option<Duration>,
}

/// A coarse clock ticking less often than this is not used (its entries would end that much
/// sooner).
const MAX_COARSE_RESOLUTION: Duration = Duration::from_millis(20);

impl HitClock {
    pub(super) fn new() -> Self {
        HitClock {
            coarse_slack: coarse::resolution()
                .filter(|res| !res.is_zero() && *res <= MAX_COARSE_RESOLUTION)
                .map(|res| res * 2),
        }
    }

    /// Time since the Unix epoch, at least the true time.
    pub(super) fn now_at_least(&self) -> Duration {
        match self.coarse_slack {
            Some(slack) => coarse::now().map_or_else(unix_now, |now| now + slack),
            None => unix_now(),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod coarse {
    use rustix::time::{ClockId, Timespec, clock_getres, clock_gettime};
    use std::time::Duration;

    fn duration(ts: Timespec) -> Option<Duration> {
        Some(Duration::new(
            u64::try_from(ts.tv_sec).ok()?,
            u32::try_from(ts.tv_nsec).ok()?,
        ))
    }

    pub(super) fn resolution() -> Option<Duration> {
        duration(clock_getres(ClockId::RealtimeCoarse))
    }

    pub(super) fn now() -> Option<Duration> {
        duration(clock_gettime(ClockId::RealtimeCoarse))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod coarse {
    use std::time::Duration;

    pub(super) fn resolution() -> Option<Duration> {
        None
    }

    pub(super) fn now() -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_reading_is_never_behind_the_true_time_nor_far_ahead() {
        let clock = HitClock::new();
        let slack = clock.coarse_slack.unwrap_or(Duration::ZERO);
        for _ in 0..200_000 {
            let before = unix_now();
            let hit = clock.now_at_least();
            let after = unix_now();
            // The true time when `hit` was read is at least `before`.
            assert!(hit >= before, "{hit:?} < {before:?}");
            assert!(hit <= after + slack, "{hit:?} > {after:?} + {slack:?}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_hits_read_the_coarse_clock() {
        let clock = HitClock::new();
        let slack = clock.coarse_slack.expect("a coarse clock on Linux");
        assert!(slack <= MAX_COARSE_RESOLUTION * 2);
    }
}
