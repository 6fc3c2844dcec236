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

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cognito_authz::testing::LocalIssuer;

const POOL: &str = "us-east-1_LoadPool01";
const CLIENT: &str = "load-client";
const TENANT: &str = "load";
/// Users of the load: their tokens rotate through every request.
const USERS: usize = 1000;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// How the server is started in one mode.
struct Mode {
    label: &'static str,
    /// A short name for files (`LOAD_PERF`).
    file_label: &'static str,
    config: PathBuf,
    no_auth: bool,
    /// `Some(token)`: the whole stack, checked before the run with this revoked user's token
    /// and afterwards on its metrics endpoint.
    revoked_token: Option<String>,
}

struct Started {
    server: Server,
    addr: String,
    metrics_addr: Option<String>,
}

fn pinning() -> bool {
    std::env::var("LOAD_PIN").is_ok_and(|v| v == "1")
}

/// `LOAD_PIN=1`: the server on CPU 1 (its runtime then has one worker) and wrk on CPU 0, so
/// that the two do not take turns on the same core; without it both float over every core.
fn pinned(cpu: u8, program: impl AsRef<std::ffi::OsStr>) -> Command {
    if pinning() {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", &cpu.to_string()]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn start_server(bin: &Path, mode: &Mode) -> Started {
    let addr = free_addr();
    let mut cmd = pinned(1, bin);
    cmd.args(["--config", mode.config.to_str().unwrap(), "--bind", &addr])
        .env("RUST_LOG", "warn")
        // The catalog's DynamoDB client reads credentials from the standard chain: moto takes
        // any, and nothing may fall back to the instance metadata service.
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if mode.no_auth {
        cmd.arg("--no-auth");
    }
    let metrics_addr = mode.revoked_token.as_ref().map(|_| free_addr());
    if let Some(metrics) = &metrics_addr {
        cmd.args(["--metrics-bind", metrics]);
    }
    let server = Server(cmd.spawn().expect("start the server"));
    // The server binds its port only once the revocation list is loaded and the keys fetched.
    let deadline = Instant::now() + Duration::from_secs(40);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Started {
        server,
        addr,
        metrics_addr,
    }
}

/// One plain HTTP/1.1 GET; returns the status and the body.
fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_owned())
}

/// The value of an unlabelled counter in Prometheus text.
fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

struct Run {
    rps: f64,
    requests: u64,
    p50: String,
    p99: String,
    non_2xx: u64,
    /// CPU time the server process used during the timed run, and what the stores used (moto
    /// and redis-server, in every mode: only the whole stack should wake them).
    cpu: Option<CpuUse>,
}

/// CPU time over one timed run, from `/proc/<pid>/stat` (user + system, exited threads
/// included; Linux only).
#[derive(Clone, Copy)]
struct CpuUse {
    server: Duration,
    stores: Duration,
    wall: Duration,
}

impl CpuUse {
    fn per_request_us(&self, requests: u64) -> f64 {
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

fn cpu_of(pids: &[u32]) -> Option<Duration> {
    pids.iter().map(|&pid| cpu_time(pid)).sum()
}

fn wrk(addr: &str, script: &Path, seconds: u32) -> Run {
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
    let before = (cpu_time(server), cpu_of(stores), Instant::now());
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
    run.cpu = match (before, cpu_time(server), cpu_of(stores)) {
        (
            (Some(server_before), Some(stores_before), at),
            Some(server_after),
            Some(stores_after),
        ) => Some(CpuUse {
            server: server_after.saturating_sub(server_before),
            stores: stores_after.saturating_sub(stores_before),
            wall: at.elapsed(),
        }),
        _ => None,
    };
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
    drop(stores);
    let _ = std::fs::remove_dir_all(&dir);
}

fn report(modes: &[Mode], mut runs: Vec<Vec<Run>>, rounds: usize, seconds: u32) {
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

#[cfg(all(feature = "metrics", feature = "redis", feature = "dynamodb"))]
#[path = "../tests/moto/mod.rs"]
mod moto;
#[cfg(all(feature = "metrics", feature = "redis", feature = "dynamodb"))]
#[path = "../examples/support/redis.rs"]
mod redis_support;

/// The whole stack: metrics, a Redis revocation list of 10,000 users and a DynamoDB catalog.
#[cfg(all(feature = "metrics", feature = "redis", feature = "dynamodb"))]
mod whole_stack {
    use super::*;
    use cognito_authz::catalog::{CatalogEntry, DynamoDbCatalog};
    use cognito_authz::revocation::RedisRevocations;
    use cognito_authz::{CognitoAuth, Tenant};

    use super::{moto, redis_support};

    /// Revoked users in the shared list (none of them in the load).
    const REVOKED: usize = 10_000;
    const TABLE: &str = "load-tenants";

    pub(super) struct Stores {
        redis: redis_support::Server,
        moto: moto::Moto,
    }

    impl Stores {
        /// Their processes, for the CPU time they use during each run.
        pub(super) fn pids(&self) -> Vec<u32> {
            vec![self.redis.0.id(), self.moto.pid()]
        }
    }

    pub(super) fn prepare(
        runtime: &tokio::runtime::Runtime,
        idp: &LocalIssuer,
        dir: &Path,
    ) -> Option<(Mode, Stores)> {
        let (redis, url) = redis_support::start_redis();
        let moto = moto::Moto::start();
        if pinning() {
            // With wrk, off the server's CPU: what the stores do for the server (catalog
            // refreshes, the revocation list's pings) must not take its core.
            for pid in [redis.0.id(), moto.pid()] {
                let status = Command::new("taskset")
                    .args(["-a", "-cp", "0", &pid.to_string()])
                    .stdout(Stdio::null())
                    .status()
                    .expect("taskset");
                assert!(status.success(), "taskset -a -cp 0 {pid}");
            }
        }
        runtime.block_on(async {
            let catalog = DynamoDbCatalog::new(moto.dynamodb(), TABLE)
                .allowed_jwks_hosts([idp.addr().to_string()]);
            catalog.ensure_table().await.expect("catalog table");
            let entry = CatalogEntry {
                client_ids: vec![CLIENT.to_owned()],
                jwks_url: Some(idp.jwks_url(POOL)),
                ..CatalogEntry::new(TENANT, POOL)
            };
            catalog.put(&entry).await.expect("catalog item");

            // Written as the service writes them (the shared store's own format).
            let writer = CognitoAuth::builder()
                .tenant(
                    Tenant::builder(TENANT, POOL)
                        .client_id(CLIENT)
                        .jwks_url(idp.jwks_url(POOL))
                        .build()
                        .expect("tenant"),
                )
                .expect("tenant registers")
                .redis_revocations(RedisRevocations::new(&url))
                .build()
                .expect("writer");
            writer.revocations_loaded().await;
            let list = writer.revocations().expect("a shared list");
            for i in 0..REVOKED {
                list.revoke_user_shared(TENANT, &format!("sub-revoked{i:05}"))
                    .await
                    .expect("revoke");
            }
        });
        let config = dir.join("whole-stack.toml");
        std::fs::write(
            &config,
            format!(
                "[catalog]\ndynamodb_table = \"{TABLE}\"\nallowed_jwks_hosts = [\"{}\"]\n\n\
                 [aws]\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n\n\
                 [revocations]\nredis_url = \"{url}\"\n",
                idp.addr(),
                moto.endpoint()
            ),
        )
        .unwrap();
        let mode = Mode {
            label: "whole stack: metrics, 10,000 Redis revocations, DynamoDB catalog (moto)",
            file_label: "whole-stack",
            config,
            no_auth: false,
            revoked_token: Some(idp.mint(&revoked_claims(idp))),
        };
        Some((mode, Stores { redis, moto }))
    }

    /// Claims of revoked user 42, issued a minute before the revocations were written: what a
    /// sign-out must refuse. (A token issued after them, within the clock margin, would be
    /// refused too, and the check would pass for the wrong reason.)
    fn revoked_claims(idp: &LocalIssuer) -> serde_json::Value {
        let mut claims = idp.access_claims(POOL, CLIENT, "revoked00042", &["member"]);
        let now = claims["iat"].as_u64().unwrap();
        claims["iat"] = (now - 60).into();
        claims["auth_time"] = (now - 60).into();
        claims
    }
}

/// Without the features of the whole stack, only the first two modes run.
#[cfg(not(all(feature = "metrics", feature = "redis", feature = "dynamodb")))]
mod whole_stack {
    use super::*;

    pub(super) struct Stores;

    impl Stores {
        pub(super) fn pids(&self) -> Vec<u32> {
            Vec::new()
        }
    }

    pub(super) fn prepare(
        _: &tokio::runtime::Runtime,
        _: &LocalIssuer,
        _: &Path,
    ) -> Option<(Mode, Stores)> {
        eprintln!(
            "http_load: the whole-stack mode needs --features metrics,redis,dynamodb (scripts/load-test sets them)"
        );
        None
    }
}
