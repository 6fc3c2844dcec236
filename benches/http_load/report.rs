//! The tables printed at the end: throughput and latency of each mode with its per-round ratio
//! to the run without auth, then the server's CPU time per request.

use crate::USERS;
use crate::server::Mode;
use crate::wrk::Run;

pub(crate) fn report(modes: &[Mode], mut runs: Vec<Vec<Run>>, rounds: usize, seconds: u32) {
    // Each round runs every mode back to back, so the machine's drift between rounds (it is a
    // shared VM) cancels in that round's ratios: their median is the robust figure.
    let paired: Vec<Vec<f64>> = runs
        .iter()
        .map(|mode_runs| {
            let mut ratios: Vec<f64> = mode_runs
                .iter()
                .zip(&runs[0])
                .map(|(with, without)| with.rps / without.rps.max(1.0))
                .collect();
            ratios.sort_by(f64::total_cmp);
            ratios
        })
        .collect();
    // The same pairing for the server's CPU time per request (lower is better).
    let cpu_paired: Vec<Vec<f64>> = runs
        .iter()
        .map(|mode_runs| {
            let mut ratios: Vec<f64> = mode_runs
                .iter()
                .zip(&runs[0])
                .filter_map(|(with, without)| {
                    let with = with.cpu?.per_request_us(with.requests);
                    let without = without.cpu?.per_request_us(without.requests);
                    Some(with / without.max(f64::MIN_POSITIVE))
                })
                .collect();
            ratios.sort_by(f64::total_cmp);
            ratios
        })
        .collect();
    for r in &mut runs {
        r.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    }
    println!(
        "| server | requests/s (median of {rounds}) | p50 | p99 | non-2xx | / no auth, per round (sorted) | median ratio | all runs (requests/s) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (i, mode) in modes.iter().enumerate() {
        let r = &runs[i][runs[i].len() / 2];
        let all: Vec<String> = runs[i].iter().map(|r| format!("{:.0}", r.rps)).collect();
        let ratios: Vec<String> = paired[i].iter().map(|r| format!("{r:.3}")).collect();
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | **{:.3}** | {} |",
            mode.label,
            r.rps,
            r.p50,
            r.p99,
            r.non_2xx,
            ratios.join(", "),
            paired[i][paired[i].len() / 2],
            all.join(", ")
        );
    }
    // Throughput on shared cores moves with whatever else runs; the server's own CPU time per
    // request does much less, and the stores' CPU time shows whether they competed with it.
    println!(
        "\n| server | server CPU per request, µs (median; all runs) | / no auth, per round (median) | server busy (CPU / wall) | stores' CPU per run, ms (moto + redis-server) |"
    );
    println!("|---|---|---|---|---|");
    for (i, mode) in modes.iter().enumerate() {
        let mut per_request: Vec<f64> = runs[i]
            .iter()
            .filter_map(|r| Some(r.cpu?.per_request_us(r.requests)))
            .collect();
        if per_request.is_empty() {
            continue;
        }
        per_request.sort_by(f64::total_cmp);
        let busy: Vec<String> = runs[i]
            .iter()
            .filter_map(|r| {
                let cpu = r.cpu?;
                Some(format!(
                    "{:.2}",
                    cpu.server.as_secs_f64() / cpu.wall.as_secs_f64()
                ))
            })
            .collect();
        let stores: Vec<String> = runs[i]
            .iter()
            .filter_map(|r| Some(format!("{:.0}", r.cpu?.stores.as_secs_f64() * 1e3)))
            .collect();
        let all: Vec<String> = per_request.iter().map(|v| format!("{v:.2}")).collect();
        let ratio = cpu_paired[i]
            .get(cpu_paired[i].len() / 2)
            .map_or_else(String::new, |r| format!("{r:.3}"));
        println!(
            "| {} | **{:.2}**; {} | {} | {} | {} |",
            mode.label,
            per_request[per_request.len() / 2],
            all.join(", "),
            ratio,
            busy.join(", "),
            stores.join(", ")
        );
    }
    println!(
        "\nwrk -t2 -c64 -d{seconds}s, {rounds} alternated rounds, {USERS} users' warm tokens; target: the whole stack >= 0.95x the throughput without auth (median of the per-round ratios)"
    );
}
