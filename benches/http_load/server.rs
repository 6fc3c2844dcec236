//! The server under load: started in one mode on a free port (pinned with `LOAD_PIN=1`), and
//! the plain HTTP/1.1 requests that check it before and after a run.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// How the server is started in one mode.
pub(crate) struct Mode {
    pub(crate) label: &'static str,
    /// A short name for files (`LOAD_PERF`).
    pub(crate) file_label: &'static str,
    pub(crate) config: PathBuf,
    pub(crate) no_auth: bool,
    /// `Some(token)`: the whole stack, checked before the run with this revoked user's token
    /// and afterwards on its metrics endpoint.
    pub(crate) revoked_token: Option<String>,
}

pub(crate) struct Started {
    pub(crate) server: Server,
    pub(crate) addr: String,
    pub(crate) metrics_addr: Option<String>,
}

pub(crate) fn pinning() -> bool {
    std::env::var("LOAD_PIN").is_ok_and(|v| v == "1")
}

/// `LOAD_PIN=1`: the server on CPU 1 (its runtime then has one worker) and wrk on CPU 0, so
/// that the two do not take turns on the same core; without it both float over every core.
pub(crate) fn pinned(cpu: u8, program: impl AsRef<std::ffi::OsStr>) -> Command {
    if pinning() {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", &cpu.to_string()]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

pub(crate) fn start_server(bin: &Path, mode: &Mode) -> Started {
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
pub(crate) fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
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
pub(crate) fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}
