//! A real Redis Cluster for the tests: 3 primaries and 3 replicas (`redis-server
//! --cluster-enabled yes`, joined by `redis-cli --cluster create`), on free 127.0.0.1 ports
//! below 55536 (a node also listens on port + 10000, its cluster bus). Node timeout 2 s, so a
//! killed primary's replica takes over within seconds. Killed when dropped. Include with
//! `#[path = "redis_server/cluster.rs"] mod cluster;` next to `mod redis_server;`.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    dir: PathBuf,
    nodes: Vec<(u16, Option<Child>)>,
    /// redis-cli's TLS arguments (`--tls --cacert ...`); empty for a plaintext cluster.
    cli_tls: Vec<String>,
}

fn redis_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_CLI") {
        return PathBuf::from(path);
    }
    // Next to the server binary (Debian installs both in /usr/bin).
    let server = std::env::var_os("REDIS_SERVER").map(PathBuf::from);
    if let Some(cli) = server
        .as_ref()
        .and_then(|s| s.parent())
        .map(|dir| dir.join("redis-cli"))
        .filter(|cli| cli.is_file())
    {
        return cli;
    }
    PathBuf::from("redis-cli")
}

/// A free port whose cluster bus port (+10000) is free too.
fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        if port < 55_536 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl Cluster {
    pub fn start() -> Cluster {
        Self::start_with(Vec::new(), Vec::new())
    }

    /// A cluster that speaks TLS only, to clients and between nodes (`--tls-cluster`,
    /// `--tls-replication`), as ElastiCache Serverless and MemoryDB do. `server_tls`: the
    /// nodes' certificate arguments; `cli_tls`: redis-cli's (`--tls --cacert ca.pem`).
    pub fn start_tls(server_tls: Vec<String>, cli_tls: Vec<String>) -> Cluster {
        assert!(!server_tls.is_empty() && !cli_tls.is_empty());
        Self::start_with(server_tls, cli_tls)
    }

    fn start_with(server_tls: Vec<String>, cli_tls: Vec<String>) -> Cluster {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let server = std::env::var_os("REDIS_SERVER").unwrap_or_else(|| "redis-server".into());
        let dir =
            std::env::temp_dir().join(format!("cognito-authz-cluster-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let port = free_port();
            let listen = if server_tls.is_empty() {
                vec!["--port".to_owned(), port.to_string()]
            } else {
                let mut tls = vec!["--port", "0", "--tls-port"]
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>();
                tls.push(port.to_string());
                tls.extend(["--tls-cluster", "yes", "--tls-replication", "yes"].map(str::to_owned));
                tls.extend(server_tls.iter().cloned());
                tls
            };
            let child = Command::new(&server)
                .args(&listen)
                .args(["--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                // Fail over whatever the replica's data age (the test kills a primary at any
                // time), and sync replicas without an RDB file.
                .args(["--cluster-replica-validity-factor", "0"])
                .args([
                    "--repl-diskless-sync",
                    "yes",
                    "--repl-diskless-sync-delay",
                    "0",
                ])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--save", "", "--appendonly", "no"])
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server (cluster node)");
            nodes.push((port, Some(child)));
        }
        let cluster = Cluster {
            dir,
            nodes,
            cli_tls,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        for (port, _) in &cluster.nodes {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(Instant::now() < deadline, "cluster node did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let addresses: Vec<String> = cluster
            .nodes
            .iter()
            .map(|(port, _)| format!("127.0.0.1:{port}"))
            .collect();
        // Bounded: redis-cli waits forever for nodes that cannot reach each other's bus.
        let log = cluster.dir.join("cluster-create.log");
        let mut create = Command::new(redis_cli())
            .args(&cluster.cli_tls)
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("run redis-cli --cluster create (install redis-tools / redis-server)");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = create.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = create.kill();
                let _ = create.wait();
                panic!(
                    "redis-cli --cluster create did not finish in 60 s:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(
            status.success(),
            "redis-cli --cluster create failed: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        for (port, _) in &cluster.nodes {
            cluster.wait_ok(*port);
        }
        // Replicas in sync before any test kills their primary.
        let deadline = Instant::now() + Duration::from_secs(20);
        for (port, _) in &cluster.nodes {
            loop {
                let info = cluster.cli(*port, &["info", "replication"]);
                if info.contains("role:master") || info.contains("master_link_status:up") {
                    break;
                }
                assert!(Instant::now() < deadline, "replica {port} not in sync");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new(redis_cli())
            .args(&self.cli_tls)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_ok(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self
            .cli(port, &["cluster", "info"])
            .contains("cluster_state:ok")
        {
            assert!(Instant::now() < deadline, "cluster not ok on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `redis://127.0.0.1:PORT` (`rediss://` for a TLS cluster) of node `i` (0..6), as a seed
    /// URL.
    pub fn url(&self, i: usize) -> String {
        let scheme = if self.cli_tls.is_empty() {
            "redis"
        } else {
            "rediss"
        };
        format!("{scheme}://127.0.0.1:{}", self.nodes[i].0)
    }

    /// Indexes of two primaries: the one serving `key`'s slot, and another one.
    pub fn primaries_for(&self, key: &str) -> (usize, usize) {
        let live = self.live();
        let slot: u16 = self
            .cli(live, &["cluster", "keyslot", key])
            .trim()
            .parse()
            .expect("keyslot");
        let nodes = self.cli(live, &["cluster", "nodes"]);
        let mut owner = None;
        let mut other = None;
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let port: u16 = fields[1]
                .split(['@', ':'])
                .nth(1)
                .and_then(|p| p.parse().ok())
                .expect("node port");
            let index = self
                .nodes
                .iter()
                .position(|(p, _)| *p == port)
                .expect("ours");
            let serves = fields[8..].iter().any(|range| {
                let mut bounds = range.split('-').filter_map(|b| b.parse::<u16>().ok());
                match (bounds.next(), bounds.next()) {
                    (Some(lo), Some(hi)) => (lo..=hi).contains(&slot),
                    (Some(one), None) => one == slot,
                    _ => false,
                }
            });
            if serves {
                owner = Some(index);
            } else {
                other = Some(index);
            }
        }
        (owner.expect("slot owner"), other.expect("another primary"))
    }

    fn live(&self) -> u16 {
        self.nodes
            .iter()
            .find(|(_, child)| child.is_some())
            .expect("a live node")
            .0
    }

    /// Kills node `i` (SIGKILL) and waits until the cluster is ok again (its replica promoted).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].1.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let live: Vec<u16> = self
            .nodes
            .iter()
            .filter(|(_, c)| c.is_some())
            .map(|(p, _)| *p)
            .collect();
        // Until every live node sees it failed and its slots served again by its replica.
        let dead = self.nodes[i].0.to_string();
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in live {
            loop {
                let nodes = self.cli(port, &["cluster", "nodes"]);
                let failed = nodes
                    .lines()
                    .any(|l| l.contains(&format!(":{dead}@")) && l.contains("fail"));
                if failed
                    && self
                        .cli(port, &["cluster", "info"])
                        .contains("cluster_state:ok")
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "no failover seen by {port}:\n{nodes}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// A plain connection to node `i` (for `CLUSTER`-free looks at one node's data).
    pub async fn node_connection(&self, i: usize) -> redis::aio::MultiplexedConnection {
        assert!(self.cli_tls.is_empty(), "plaintext clusters only");
        redis::Client::open(self.url(i))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect to a cluster node")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
