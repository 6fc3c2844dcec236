//! Loopback HTTP throughput of `examples/server.rs` on `GET /me`, with and without the layer.
//!
//! Run through `scripts/load-test`, which builds the server in release mode, installs `wrk`
//! (Debian package) if needed and passes `SERVER_BIN`. This binary starts a local issuer, writes
//! a config for it, mints access tokens for 1,000 users, starts the server twice (auth, then
//! `--no-auth`), warms it up, and runs `wrk -t2 -c64 --latency` with a Lua script that rotates
//! through the tokens, alternating the two servers over `LOAD_ROUNDS` rounds (default 5). Prints
//! median requests per second and p50/p99 latency both ways, and each round's ratio.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cognito_authz::testing::LocalIssuer;

const POOL: &str = "us-east-1_LoadPool01";
const CLIENT: &str = "load-client";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(bin: &Path, config: &Path, no_auth: bool) -> (Server, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(bin);
    cmd.args(["--config", config.to_str().unwrap(), "--bind", &addr])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if no_auth {
        cmd.arg("--no-auth");
    }
    let server = Server(cmd.spawn().expect("start the server"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, addr)
}

struct Run {
    rps: f64,
    p50: String,
    p99: String,
    non_2xx: u64,
}

fn wrk(addr: &str, script: &Path, seconds: u32) -> Run {
    let out = Command::new("wrk")
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
    Run {
        rps: field("Requests/sec:").parse().unwrap_or(0.0),
        p50: field("50%"),
        p99: field("99%"),
        non_2xx: field("Non-2xx or 3xx responses:").parse().unwrap_or(0),
    }
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
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let idp = runtime.block_on(LocalIssuer::start()).unwrap();
    let dir = std::env::temp_dir().join(format!("cognito-authz-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tenants.toml");
    std::fs::write(
        &config,
        format!(
            "[[tenant]]\nid = \"load\"\nuser_pool_id = \"{POOL}\"\nclient_ids = [\"{CLIENT}\"]\njwks_url = \"{}\"\n",
            idp.jwks_url(POOL)
        ),
    )
    .unwrap();
    let tokens_file = dir.join("tokens.txt");
    let mut file = std::fs::File::create(&tokens_file).unwrap();
    for i in 0..1000 {
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

    // Loopback load on two shared cores is noisy: alternate the two servers over several
    // rounds and report each one's median run.
    let rounds: usize = std::env::var("LOAD_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let modes = [
        ("without auth (--no-auth)", true),
        ("with cognito-authz", false),
    ];
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, (_, no_auth)) in modes.iter().enumerate() {
            let (server, addr) = start_server(&bin, &config, *no_auth);
            // Warm-up: every token verified once, connections established.
            wrk(&addr, &script, 2);
            runs[i].push(wrk(&addr, &script, seconds));
            drop(server);
        }
    }
    // Each round runs both servers back to back, so the machine's drift between rounds (it is
    // a shared VM) cancels in that round's ratio: the median of those is the robust figure.
    let mut paired: Vec<f64> = runs[0]
        .iter()
        .zip(&runs[1])
        .map(|(without, with)| with.rps / without.rps.max(1.0))
        .collect();
    paired.sort_by(f64::total_cmp);
    for r in &mut runs {
        r.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    }
    let medians: Vec<&Run> = runs.iter().map(|r| &r[r.len() / 2]).collect();
    println!(
        "| server | requests/s (median of {rounds}) | p50 | p99 | non-2xx | all runs (requests/s) |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, (label, _)) in modes.iter().enumerate() {
        let r = medians[i];
        let all: Vec<String> = runs[i].iter().map(|r| format!("{:.0}", r.rps)).collect();
        println!(
            "| {label} | {:.0} | {} | {} | {} | {} |",
            r.rps,
            r.p50,
            r.p99,
            r.non_2xx,
            all.join(", ")
        );
    }
    let ratio = medians[1].rps / medians[0].rps.max(1.0);
    let per_round: Vec<String> = paired.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "\nthroughput with auth / without: {ratio:.2} (ratio of medians; target >= 0.90), wrk -t2 -c64 -d{seconds}s x {rounds} rounds, 1,000 users' warm tokens"
    );
    println!(
        "per-round ratios (sorted): {}; median {:.2}",
        per_round.join(", "),
        paired[paired.len() / 2]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
