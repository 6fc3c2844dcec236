//! One million shared revocations: a replica's heap, the time until a new replica is ready, a
//! request's latency on a replica while another writes the whole list back to an emptied
//! Redis, and the warm-path cost of the mirror.
//!
//! ```text
//! cargo run --release --example revocation_scale --features redis,test-util -- [--entries 1000000]
//! ```
//!
//! Starts its own `redis-server` (from `REDIS_SERVER`, else `PATH`) on a free 127.0.0.1 port,
//! fills the set directly, then starts the replicas. The heap is counted by a global allocator
//! wrapper (bytes allocated and not yet freed).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use cognito_authz::testing::LocalIssuer;
use cognito_authz::{CognitoAuth, Tenant, revocation::RedisRevocations};
use futures_util::FutureExt;

#[path = "support/redis.rs"]
mod redis_support;

const POOL: &str = "us-east-1_Scale1";
const CLIENT: &str = "scale-client";

struct Counting;

static HEAP: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to `System` unchanged; only the byte count is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HEAP.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HEAP.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HEAP.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn tenant(idp: &LocalIssuer) -> Tenant {
    Tenant::builder("bench", POOL)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(POOL))
        .build()
        .expect("tenant")
}

fn replica(idp: &LocalIssuer, url: &str) -> CognitoAuth {
    CognitoAuth::builder()
        .tenant(tenant(idp))
        .expect("tenant registers")
        .redis_revocations(RedisRevocations::new(url).max_staleness(Duration::from_secs(4)))
        .build()
        .expect("replica builds")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Nanoseconds per warm verification of `token` on `auth` (cached; no runtime needed).
fn warm_ns(auth: &CognitoAuth, token: &str, rounds: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        let outcome = auth.verify(std::hint::black_box(token)).now_or_never();
        assert!(matches!(outcome, Some(Ok(_))), "a warm hit");
    }
    start.elapsed().as_nanos() as f64 / f64::from(rounds)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut entries: usize = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--entries" => {
                entries = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--entries N")
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let (_server, url) = redis_support::start_redis();
    let client = redis::Client::open(url.as_str()).expect("url");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let fill = Instant::now();
    for chunk in (0..entries).collect::<Vec<_>>().chunks(10_000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            // Spread over the last hour, as sign-outs are.
            pipe.cmd("ZADD")
                .arg("cognito-authz:revoked")
                .arg(now - (*i as u64 % 3600))
                .arg(format!(
                    r#"["u","bench","{:08x}-7d1c-4c4f-9d7e-{:012x}"]"#,
                    i, i
                ))
                .ignore();
        }
        pipe.query_async::<()>(&mut con).await.expect("fill");
    }
    println!("filled {entries} entries in {:?}", fill.elapsed());

    let idp = LocalIssuer::start().await.expect("local issuer");
    let heap_before = HEAP.load(Ordering::Relaxed);
    let start = Instant::now();
    let a = replica(&idp, &url);
    a.prefetch().await;
    a.revocations_loaded().await;
    let ready = start.elapsed();
    let heap = HEAP.load(Ordering::Relaxed) - heap_before;
    assert_eq!(a.revocations().unwrap().len(), entries);
    println!(
        "new replica ready with {entries} entries: {:.2} s; its heap: {:.1} MiB",
        ready.as_secs_f64(),
        mib(heap)
    );

    let b = replica(&idp, &url);
    b.prefetch().await;
    b.revocations_loaded().await;
    let plain = CognitoAuth::builder()
        .tenant(tenant(&idp))
        .unwrap()
        .build()
        .unwrap();
    plain.prefetch().await;
    let token = idp.mint(&idp.access_claims(POOL, CLIENT, "someone", &[]));
    b.verify(&token).await.expect("not revoked");
    plain.verify(&token).await.expect("valid");
    let rounds = 2_000_000;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        without.push(warm_ns(&plain, &token, rounds));
        with.push(warm_ns(&b, &token, rounds));
    }
    with.sort_by(f64::total_cmp);
    without.sort_by(f64::total_cmp);
    println!(
        "warm hit: no list {:.0} ns, {entries} mirrored {:.0} ns (median of 3 x {rounds})",
        without[1], with[1]
    );

    // Redis loses everything while A and B stay connected: both detect it and write back.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (b, token, sampling) = (b.clone(), token.clone(), sampling.clone());
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                let start = Instant::now();
                let outcome = b.verify(&token).now_or_never();
                samples.push(start.elapsed());
                assert!(matches!(outcome, Some(Ok(_))), "{outcome:?}");
                std::thread::sleep(Duration::from_micros(500));
            }
            samples
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
    let flushed = Instant::now();
    loop {
        let held: usize = redis::cmd("ZCARD")
            .arg("cognito-authz:revoked")
            .query_async(&mut con)
            .await
            .unwrap();
        if held >= entries {
            break;
        }
        assert!(
            flushed.elapsed() < Duration::from_secs(120),
            "never written back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let written_back = flushed.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    sampling.store(false, Ordering::Relaxed);
    let mut samples = sampler.join().expect("sampler");
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "FLUSHALL -> {entries} written back in {:.2} s; requests on another replica meanwhile: n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        written_back.as_secs_f64(),
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap()),
    );
}
