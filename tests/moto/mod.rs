//! A real Cognito emulator for end-to-end tests: moto's server on a free 127.0.0.1 port.
//!
//! `scripts/test` installs moto into `.venv` (ignored by git). The server binary is taken from
//! `MOTO_SERVER`, else `.venv/bin/moto_server`; without either, tests fail with instructions
//! rather than pass without having run.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};

/// A running moto server; killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// The server's process id (a load test counts its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts moto on a free port and waits until it answers.
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// [`start`](Self::start) with moto checking TOTP codes against its fixed secret
    /// ([`MOTO_TOTP_SECRET`]) instead of accepting any code.
    pub fn start_checking_totp() -> Moto {
        Self::start_with(&[("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")])
    }

    fn start_with(env: &[(&str, &str)]) -> Moto {
        let binary = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server")
            });
        assert!(
            binary.exists(),
            "moto_server not found at {}: run `bash scripts/test` (it installs moto into .venv), \
             or set MOTO_SERVER",
            binary.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The JWKS URL moto serves for `pool`.
    pub fn jwks_url(&self, pool: &str) -> String {
        format!("{}/{pool}/.well-known/jwks.json", self.endpoint())
    }

    /// A Cognito client pointed at this server (region us-east-1, dummy credentials).
    pub fn client(&self) -> Client {
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .endpoint_url(self.endpoint())
            .build();
        Client::from_conf(config)
    }

    /// A DynamoDB client pointed at this server (same region and dummy credentials).
    #[cfg(feature = "dynamodb")]
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .endpoint_url(self.endpoint())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The base32 TOTP secret moto hands out and checks codes against
/// (`COGNITO_TOTP_MFA_SECRET` in moto's `cognitoidp/models.py`).
pub const MOTO_TOTP_SECRET: &str = "asdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdfasdf";

/// The current 6-digit TOTP code (RFC 6238: HMAC-SHA1, 30-second steps) of a base32 secret.
pub fn totp_code(secret: &str) -> String {
    use aws_lc_rs::hmac;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut key) = (0u32, 0u64, Vec::new());
    for c in secret.bytes() {
        let value = alphabet
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .expect("base32") as u64;
        acc = (acc << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            key.push((acc >> bits) as u8);
        }
    }
    let step = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 30;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let number = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!("{:06}", number % 1_000_000)
}

/// The password every moto user of these tests gets.
pub const PASSWORD: &str = "Passw0rd!Passw0rd";

/// A moto user pool and its app client.
pub struct Pool {
    pub id: String,
    pub client_id: String,
}

/// A pool `name` with the custom attributes of `schema` (if any), an app client `{name}-app`
/// allowed `flows`, and a group `admin`; no users.
pub async fn pool_with_client(
    cognito: &Client,
    name: &str,
    schema: &[aws_sdk_cognitoidentityprovider::types::SchemaAttributeType],
    flows: &[aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType],
) -> Pool {
    let id = cognito
        .create_user_pool()
        .pool_name(name)
        .set_schema((!schema.is_empty()).then(|| schema.to_vec()))
        .send()
        .await
        .expect("CreateUserPool")
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    let client_id = cognito
        .create_user_pool_client()
        .user_pool_id(&id)
        .client_name(format!("{name}-app"))
        .set_explicit_auth_flows(Some(flows.to_vec()))
        .send()
        .await
        .expect("CreateUserPoolClient")
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_owned();
    cognito
        .create_group()
        .user_pool_id(&id)
        .group_name("admin")
        .send()
        .await
        .expect("CreateGroup");
    Pool { id, client_id }
}

/// A pool `name` with an app client, a group `admin`, and `users` as `(name, is_admin)`, each
/// with [`PASSWORD`] set permanently.
pub async fn pool_with_users(cognito: &Client, name: &str, users: &[(&str, bool)]) -> Pool {
    use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
    let Pool { id, client_id } = pool_with_client(
        cognito,
        name,
        &[],
        &[ExplicitAuthFlowsType::AllowAdminUserPasswordAuth],
    )
    .await;
    let pool = Pool { id, client_id };
    for &(user, admin) in users {
        let groups: &[&str] = if admin { &["admin"] } else { &[] };
        create_user(cognito, &pool, user, Vec::new(), groups).await;
    }
    pool
}

/// A user attribute `name = value`.
pub fn attr(name: &str, value: &str) -> aws_sdk_cognitoidentityprovider::types::AttributeType {
    aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("attribute")
}

/// User `name` in `pool` with `attributes` (if any) and [`PASSWORD`] set permanently (no
/// invitation sent), added to `groups`.
pub async fn create_user(
    cognito: &Client,
    pool: &Pool,
    name: &str,
    attributes: Vec<aws_sdk_cognitoidentityprovider::types::AttributeType>,
    groups: &[&str],
) {
    use aws_sdk_cognitoidentityprovider::types::MessageActionType;
    cognito
        .admin_create_user()
        .user_pool_id(&pool.id)
        .username(name)
        .set_user_attributes((!attributes.is_empty()).then_some(attributes))
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .expect("AdminCreateUser");
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool.id)
        .username(name)
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
    for group in groups {
        cognito
            .admin_add_user_to_group()
            .user_pool_id(&pool.id)
            .username(name)
            .group_name(*group)
            .send()
            .await
            .expect("AdminAddUserToGroup");
    }
}

/// The tokens of `user` from moto (admin password flow, [`PASSWORD`]).
pub async fn sign_in(
    cognito: &Client,
    pool: &Pool,
    user: &str,
) -> aws_sdk_cognitoidentityprovider::types::AuthenticationResultType {
    use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
    cognito
        .admin_initiate_auth()
        .user_pool_id(&pool.id)
        .client_id(&pool.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", PASSWORD)
        .send()
        .await
        .expect("AdminInitiateAuth")
        .authentication_result
        .expect("tokens")
}

/// A real access token of `user` from moto (admin password flow).
pub async fn access_token(cognito: &Client, pool: &Pool, user: &str) -> String {
    sign_in(cognito, pool, user)
        .await
        .access_token
        .expect("access token")
}

/// The groups `user` is in, read from Cognito.
pub async fn groups_of(cognito: &Client, pool: &Pool, user: &str) -> Vec<String> {
    cognito
        .admin_list_groups_for_user()
        .user_pool_id(&pool.id)
        .username(user)
        .send()
        .await
        .expect("AdminListGroupsForUser")
        .groups()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_owned))
        .collect()
}
