//! The whole stack's stores, and its mode: metrics, a Redis revocation list of 10,000 users and
//! a DynamoDB catalog on moto (features `metrics`, `redis` and `dynamodb`).

#[cfg(all(feature = "metrics", feature = "redis", feature = "dynamodb"))]
#[path = "../../tests/moto/mod.rs"]
mod moto;
#[cfg(all(feature = "metrics", feature = "redis", feature = "dynamodb"))]
#[path = "../../examples/support/redis.rs"]
mod redis_support;

/// The whole stack: metrics, a Redis revocation list of 10,000 users and a DynamoDB catalog.
#[cfg(all(feature = "metrics", feature = "redis", feature = "dynamodb"))]
mod enabled {
    use std::path::Path;
    use std::process::{Command, Stdio};

    use cognito_authz::catalog::{CatalogEntry, DynamoDbCatalog};
    use cognito_authz::revocation::RedisRevocations;
    use cognito_authz::testing::LocalIssuer;
    use cognito_authz::{CognitoAuth, Tenant};

    use super::{moto, redis_support};
    use crate::server::{Mode, pinning};
    use crate::{CLIENT, POOL, TENANT};

    /// Revoked users in the shared list (none of them in the load).
    const REVOKED: usize = 10_000;
    const TABLE: &str = "load-tenants";

    pub(crate) struct Stores {
        redis: redis_support::Server,
        moto: moto::Moto,
    }

    impl Stores {
        /// Their processes, for the CPU time they use during each run.
        pub(crate) fn pids(&self) -> Vec<u32> {
            vec![self.redis.0.id(), self.moto.pid()]
        }
    }

    pub(crate) fn prepare(
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
mod disabled {
    use std::path::Path;

    use cognito_authz::testing::LocalIssuer;

    use crate::server::Mode;

    pub(crate) struct Stores;

    impl Stores {
        pub(crate) fn pids(&self) -> Vec<u32> {
            Vec::new()
        }
    }

    pub(crate) fn prepare(
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

#[cfg(not(all(feature = "metrics", feature = "redis", feature = "dynamodb")))]
pub(crate) use disabled::{Stores, prepare};
#[cfg(all(feature = "metrics", feature = "redis", feature = "dynamodb"))]
pub(crate) use enabled::{Stores, prepare};
