//! One wrk run and what its text output says.

use std::path::Path;

use crate::cpu::CpuUse;
use crate::server::pinned;

pub(crate) struct Run {
    pub(crate) rps: f64,
    pub(crate) requests: u64,
    pub(crate) p50: String,
    pub(crate) p99: String,
    pub(crate) non_2xx: u64,
    /// CPU time the server process used during the timed run, and what the stores used (moto
    /// and redis-server, in every mode: only the whole stack should wake them).
    pub(crate) cpu: Option<CpuUse>,
}

pub(crate) fn wrk(addr: &str, script: &Path, seconds: u32) -> Run {
    let out = pinned(0, "wrk")
        .args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script)
        .arg(format!("http://{addr}/me"))
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_default()
    };
    // "  1234567 requests in 10.00s, 456.78MB read"
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Run {
        rps: field("Requests/sec:").parse().unwrap_or(0.0),
        requests,
        p50: field("50%"),
        p99: field("99%"),
        non_2xx: field("Non-2xx or 3xx responses:").parse().unwrap_or(0),
        cpu: None,
    }
}
