//! CPU time of the server and of the stores over one timed run, from `/proc` (Linux only): on
//! shared cores throughput moves with whatever else runs, the CPU time a request costs the
//! server much less.

use std::process::Command;
use std::time::{Duration, Instant};

/// CPU time over one timed run, from `/proc/<pid>/stat` (user + system, exited threads
/// included; Linux only).
#[derive(Clone, Copy)]
pub(crate) struct CpuUse {
    pub(crate) server: Duration,
    pub(crate) stores: Duration,
    pub(crate) wall: Duration,
}

/// CPU times of the server and of the stores at one instant, to subtract from later ones.
pub(crate) struct CpuSnapshot<'a> {
    server_pid: u32,
    store_pids: &'a [u32],
    server: Option<Duration>,
    stores: Option<Duration>,
    at: Instant,
}

impl<'a> CpuSnapshot<'a> {
    pub(crate) fn take(server_pid: u32, store_pids: &'a [u32]) -> Self {
        CpuSnapshot {
            server_pid,
            store_pids,
            server: cpu_time(server_pid),
            stores: cpu_of(store_pids),
            at: Instant::now(),
        }
    }

    /// What each used since the snapshot; `None` where `/proc` could not be read.
    pub(crate) fn elapsed(&self) -> Option<CpuUse> {
        let server = cpu_time(self.server_pid)?.checked_sub(self.server?)?;
        let stores = cpu_of(self.store_pids)?.checked_sub(self.stores?)?;
        Some(CpuUse {
            server,
            stores,
            wall: self.at.elapsed(),
        })
    }
}

impl CpuUse {
    pub(crate) fn per_request_us(&self, requests: u64) -> f64 {
        self.server.as_secs_f64() * 1e6 / requests.max(1) as f64
    }
}

/// A process's user + system CPU time so far; `None` where `/proc` is not Linux's.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces, so split at its closing paren):
    // state is field 3, utime 14 and stime 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks(),
    ))
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of `/proc` CPU times.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The CPU time of several processes together.
fn cpu_of(pids: &[u32]) -> Option<Duration> {
    pids.iter().map(|&pid| cpu_time(pid)).sum()
}
