//! Loopback HTTP throughput of `examples/server.rs` on `GET /me`: without auth, with the layer,
//! and with the whole stack a production service runs.
//!
//! Run through `scripts/load-test`, which builds the server in release mode with the features
//! `metrics`, `redis` and `dynamodb`, installs `wrk` (Debian package) if needed and passes
//! `SERVER_BIN`. This binary starts a local issuer, mints access tokens for 1,000 users and
//! starts the server in each mode in turn, warms it up and runs `wrk -t2 -c64 --latency` with a
//! Lua script that rotates through the tokens, alternating the modes over `LOAD_ROUNDS` rounds
//! (default 5; each round starts with the next mode). The modes:
//!
//! - `--no-auth`: the same routes without any layer; `/me` serializes a static principal of the
//!   same shape, so the difference measured is the authentication;
//! - the layer, the tenant in the file (`[[tenant]]`);
//! - the whole stack (when this bench is built with `metrics`, `redis` and `dynamodb`): the
//!   Prometheus recorder installed (`--metrics-bind`), a `[revocations]` Redis store (a
//!   redis-server of its own) holding 10,000 revoked users, and the tenant known only from a
//!   `[catalog]` table on moto (`MOTO_SERVER`, else `.venv/bin/moto_server`).
//!
//! `LOAD_PIN=1` runs the server on CPU 1, and wrk, moto and redis-server on CPU 0 (`taskset`),
//! so that they do not take turns on the server's core.
//!
//! `LOAD_PERF=DIR` records a `perf` profile of the server over each timed run into
//! `DIR/<mode>-<round>.data`.
//!
//! Besides throughput it reports the server's CPU time per request and what the stores used
//! during each run (from `/proc`): on shared cores throughput moves with whatever else runs, the
//! CPU time a request costs the server much less.
//!
//! Before each whole-stack run it checks that the stack is really in the path: a revoked user's
//! token gets 401, and afterwards the Prometheus text counts a cache hit for every request wrk
//! made. Prints median requests per second and p50/p99 latency of each mode, each round's ratio
//! to the run without auth, and the median of those ratios.

mod cpu;
mod report;
mod server;
mod whole_stack;
mod wrk;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cognito_authz::testing::LocalIssuer;

use cpu::CpuSnapshot;
use report::report;
use server::{Mode, counter, get, pinned, start_server};
use wrk::{Run, wrk};

pub(crate) const POOL: &str = "us-east-1_LoadPool01";
pub(crate) const CLIENT: &str = "load-client";
pub(crate) const TENANT: &str = "load";
/// Users of the load: their tokens rotate through every request.
pub(crate) const USERS: usize = 1000;

/// One measured run of `mode`: a fresh server, a warm-up in which every token is verified once,
/// then the timed run; the whole stack is checked before and after.
fn measure(
    bin: &Path,
    mode: &Mode,
    script: &Path,
    seconds: u32,
    stores: &[u32],
    profile: Option<PathBuf>,
) -> Run {
    let started = start_server(bin, mode);
    if let Some(revoked) = &mode.revoked_token {
        let (status, _) = get(&started.addr, "/me", Some(revoked));
        assert_eq!(status, 401, "a revoked user's token must be refused");
    }
    wrk(&started.addr, script, 2);
    let server = started.server.0.id();
    let before = CpuSnapshot::take(server, stores);
    // `LOAD_PERF=DIR`: a `perf record` of the server over the timed run (on wrk's CPU when
    // pinned), for `perf report -i DIR/<mode>-<round>.data`.
    let perf = profile.map(|file| {
        pinned(0, "perf")
            .args(["record", "-q", "-e", "cpu-clock", "-F", "1999", "-g", "-p"])
            .arg(server.to_string())
            .arg("-o")
            .arg(file)
            .args(["--", "sleep", &seconds.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("run perf (apt-get install linux-perf)")
    });
    let mut run = wrk(&started.addr, script, seconds);
    if let Some(mut perf) = perf {
        let _ = perf.wait();
    }
    run.cpu = before.elapsed();
    if let Some(metrics) = &started.metrics_addr {
        let (status, text) = get(metrics, "/metrics", None);
        assert_eq!(status, 200, "metrics endpoint");
        let hits = counter(&text, "cognito_authz_token_cache_hits_total");
        assert!(
            hits >= run.requests as f64,
            "the recorder counted {hits} cache hits for {} requests",
            run.requests
        );
    }
    run
}

fn main() {
    if std::env::args().any(|a| a == "--bench") && std::env::var_os("SERVER_BIN").is_none() {
        eprintln!(
            "http_load: skipped (run scripts/load-test, which builds the server and sets SERVER_BIN)"
        );
        return;
    }
    let bin = PathBuf::from(std::env::var_os("SERVER_BIN").expect("SERVER_BIN"));
    let seconds: u32 = std::env::var("LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rounds: usize = std::env::var("LOAD_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let idp = runtime.block_on(LocalIssuer::start()).unwrap();
    let dir = std::env::temp_dir().join(format!("cognito-authz-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tenants.toml");
    std::fs::write(
        &config,
        format!(
            "[[tenant]]\nid = \"{TENANT}\"\nuser_pool_id = \"{POOL}\"\nclient_ids = [\"{CLIENT}\"]\njwks_url = \"{}\"\n",
            idp.jwks_url(POOL)
        ),
    )
    .unwrap();
    let tokens_file = dir.join("tokens.txt");
    let mut file = std::fs::File::create(&tokens_file).unwrap();
    for i in 0..USERS {
        let token = idp.mint(&idp.access_claims(POOL, CLIENT, &format!("user{i:04}"), &["member"]));
        writeln!(file, "{token}").unwrap();
    }
    drop(file);
    let script = dir.join("rotate.lua");
    std::fs::write(
        &script,
        format!(
            r#"local tokens = {{}}
for line in io.lines("{}") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/me", {{ ["Authorization"] = "Bearer " .. tokens[i] }})
end
"#,
            tokens_file.display()
        ),
    )
    .unwrap();

    let mut modes = vec![
        Mode {
            label: "without auth (--no-auth)",
            file_label: "no-auth",
            config: config.clone(),
            no_auth: true,
            revoked_token: None,
        },
        Mode {
            label: "with cognito-authz",
            file_label: "layer",
            config,
            no_auth: false,
            revoked_token: None,
        },
    ];
    // Kept alive until the end: the redis-server and moto of the whole stack.
    let stores = whole_stack::prepare(&runtime, &idp, &dir).map(|(mode, stores)| {
        modes.push(mode);
        stores
    });
    let store_pids = stores
        .as_ref()
        .map(whole_stack::Stores::pids)
        .unwrap_or_default();

    // Loopback load on two shared cores is noisy: alternate the modes over several rounds and
    // report each one's median run. Each round starts with the next mode, so that none always
    // runs at the same point of a round (the machine drifts within one too).
    let mut runs: Vec<Vec<Run>> = modes.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for offset in 0..modes.len() {
            let i = (round + offset) % modes.len();
            let profile = std::env::var_os("LOAD_PERF").map(|dir| {
                PathBuf::from(dir).join(format!("{}-{round}.data", modes[i].file_label))
            });
            runs[i].push(measure(
                &bin,
                &modes[i],
                &script,
                seconds,
                &store_pids,
                profile,
            ));
        }
    }
    report(&modes, runs, rounds, seconds);
    let _ = std::fs::remove_dir_all(&dir);
}
