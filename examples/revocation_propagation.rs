//! Measures revocation propagation between replicas sharing one Redis: a user is revoked on
//! replica A, and the clock runs until replica B refuses that user's (cached) token.
//!
//! ```text
//! cargo run --release --example revocation_propagation --features redis,test-util -- \
//!     [--trials 200] [--redis-url redis://127.0.0.1:6379/0]
//! ```
//!
//! Without `--redis-url` it starts its own `redis-server` (from `REDIS_SERVER`, else `PATH`) on
//! a free 127.0.0.1 port, keeping nothing on disk, and stops it at the end. Prints p50, p90,
//! p99 and the maximum of the propagation time, and of the write on A alone.

use std::time::{Duration, Instant};

use cognito_authz::testing::LocalIssuer;
use cognito_authz::{AuthError, CognitoAuth, Tenant, revocation::RedisRevocations};

const POOL: &str = "us-east-1_Propagate1";
const CLIENT: &str = "propagation-client";

#[path = "support/redis.rs"]
mod redis_support;

use redis_support::start_redis;

fn replica(idp: &LocalIssuer, url: &str) -> CognitoAuth {
    let tenant = Tenant::builder("bench", POOL)
        .client_id(CLIENT)
        .jwks_url(idp.jwks_url(POOL))
        .build()
        .expect("tenant");
    CognitoAuth::builder()
        .tenant(tenant)
        .expect("tenant registers")
        .redis_revocations(RedisRevocations::new(url).key_prefix("propagation"))
        .build()
        .expect("replica builds")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: n={} p50={:.3} ms p90={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.90)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().expect("samples")),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut trials = 200;
    let mut url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--trials" => {
                trials = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--trials N")
            }
            "--redis-url" => url = Some(args.next().expect("--redis-url URL")),
            other => panic!("unknown argument {other}"),
        }
    }
    let (_server, url) = match url {
        Some(url) => (None, url),
        None => {
            let (server, url) = start_redis();
            (Some(server), url)
        }
    };
    let idp = LocalIssuer::start().await.expect("local issuer");
    let a = replica(&idp, &url);
    let b = replica(&idp, &url);
    for auth in [&a, &b] {
        auth.prefetch().await;
        tokio::time::timeout(Duration::from_secs(10), auth.revocations_loaded())
            .await
            .expect("replica loads the store");
    }
    let list = a.revocations().expect("shared list").clone();
    let (mut propagation, mut write) = (Vec::new(), Vec::new());
    for i in 0..trials {
        let user = format!("user{i}");
        let token = idp.mint(&idp.access_claims(POOL, CLIENT, &user, &[]));
        b.verify(&token).await.expect("valid before the revocation");
        let start = Instant::now();
        list.revoke_user_shared("bench", &format!("sub-{user}"))
            .await
            .expect("shared");
        write.push(start.elapsed());
        while b.verify(&token).await != Err(AuthError::TokenRevoked) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "never propagated"
            );
            tokio::task::yield_now().await;
        }
        propagation.push(start.elapsed());
    }
    report("write on A (ZADD+PUBLISH, MULTI)", write);
    report("revoke on A -> refused on B", propagation);
}
