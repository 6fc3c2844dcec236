//! A real `redis-server` for the shared-revocation tests, on a free 127.0.0.1 port.
//!
//! The binary is taken from `REDIS_SERVER`, else `redis-server` on `PATH`; without either the
//! tests fail with instructions rather than pass without having run. The server keeps nothing
//! on disk (`--save "" --appendonly no`), so a restart is a restart with an empty store.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server; killed when dropped.
pub struct RedisServer {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    /// Serving TLS only on `port`, with these `--tls-*` arguments.
    tls: Option<Vec<String>>,
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "REDIS_SERVER={} does not exist",
            path.display()
        );
        return path;
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "redis-server not found: install it (Debian: `apt-get install redis-server`; \
             `bash scripts/test` does) or set REDIS_SERVER to its path"
        )
    })
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> RedisServer {
        Self::start_with(None)
    }

    /// Starts a server that speaks TLS only, with these `--tls-*` arguments (see `tls.rs`).
    pub fn start_tls(tls_args: Vec<String>) -> RedisServer {
        Self::start_with(Some(tls_args))
    }

    fn start_with(tls: Option<Vec<String>>) -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut server = RedisServer {
            binary: binary(),
            child: None,
            port,
            tls,
        };
        server.restart();
        server
    }

    /// Restarts it on the same port with other `--tls-*` arguments (a new certificate).
    pub fn restart_tls(&mut self, tls_args: Vec<String>) {
        self.tls = Some(tls_args);
        self.restart();
    }

    /// `rediss://127.0.0.1:PORT/0`.
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0", self.port)
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A URL on which nothing listens (a closed port).
    pub fn unreachable_url() -> String {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        format!("redis://127.0.0.1:{port}/0")
    }

    /// Kills the server (SIGKILL: no shutdown, no save).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let ports = match &self.tls {
            Some(tls) => [
                vec![
                    "--port".to_owned(),
                    "0".to_owned(),
                    "--tls-port".to_owned(),
                    port,
                ],
                tls.clone(),
            ]
            .concat(),
            None => vec!["--port".to_owned(), port],
        };
        let child = Command::new(&self.binary)
            .args(ports)
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "local",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A plain connection, for the test to look at or disturb the store (no response timeout:
    /// `DEBUG SLEEP` must be able to take its time).
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
        redis::Client::open(self.url())
            .expect("url")
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .expect("connect to the test redis-server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
