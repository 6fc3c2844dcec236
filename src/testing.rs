//! A local Cognito-like issuer for tests and demos (feature `test-util`).
//!
//! [`LocalIssuer`] generates RSA-2048 keys, serves them as a JWKS over real HTTP on
//! `127.0.0.1`, mints tokens in Cognito's shape, counts key fetches, and can be told to
//! misbehave (fail, hang, answer garbage) to test the key cache's fault handling. No AWS
//! account, no network beyond loopback.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cognito_authz::{CognitoAuth, Tenant, testing::LocalIssuer};
//!
//! let idp = LocalIssuer::start().await?;
//! let pool = "us-east-1_Acme";
//! let auth = CognitoAuth::builder()
//!     .tenant(Tenant::builder("acme", pool).client_id("client-a").jwks_url(idp.jwks_url(pool)).build()?)?
//!     .build()?;
//! let token = idp.mint(&idp.access_claims(pool, "client-a", "alice", &["admin"]));
//! let principal = auth.verify(&token).await?;
//! assert!(principal.has_role("admin"));
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// How the JWKS endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksBehavior {
    /// The published keys, 200.
    Normal,
    /// This status with an empty body.
    Status(u16),
    /// Never answers (until the client gives up).
    Hang,
    /// This body with status 200.
    Body(Vec<u8>),
    /// The connection is closed without an answer.
    Drop,
}

/// An RSA signing key with its `kid`.
pub struct SigningKey {
    kid: String,
    pair: KeyPair,
}

impl SigningKey {
    /// A fresh RSA-2048 key.
    pub fn generate(kid: impl Into<String>) -> Self {
        SigningKey {
            kid: kid.into(),
            pair: KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// Signs `header.payload` with RS256 and returns the compact token.
    pub fn sign_parts(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Signs `claims` with header `{"alg":"RS256","kid":<kid>}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_parts(
            &json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"}),
            claims,
        )
    }
}

struct Shared {
    keys: Mutex<Vec<Arc<SigningKey>>>,
    behavior: Mutex<JwksBehavior>,
    fetches: AtomicUsize,
    next_kid: AtomicU64,
}

/// A local identity provider; see the [module docs](self). Stops serving when dropped.
pub struct LocalIssuer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for LocalIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

impl LocalIssuer {
    /// Generates one key (`kid` `key-1`) and serves the JWKS on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            keys: Mutex::new(vec![Arc::new(SigningKey::generate("key-1"))]),
            behavior: Mutex::new(JwksBehavior::Normal),
            fetches: AtomicUsize::new(0),
            next_kid: AtomicU64::new(2),
        });
        let app = Router::new()
            .route("/{pool}/.well-known/jwks.json", get(serve_jwks))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(LocalIssuer {
            addr,
            shared,
            server,
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JWKS URL for `pool` (to set as the tenant's `jwks_url`).
    pub fn jwks_url(&self, pool: &str) -> String {
        format!("http://{}/{pool}/.well-known/jwks.json", self.addr)
    }

    /// The issuer Cognito would put in `pool`'s tokens.
    pub fn issuer(pool: &str) -> String {
        let region = pool.split('_').next().unwrap_or("us-east-1");
        format!("https://cognito-idp.{region}.amazonaws.com/{pool}")
    }

    /// How many times the JWKS has been requested.
    pub fn fetch_count(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    /// Changes how the JWKS endpoint answers.
    pub fn set_behavior(&self, behavior: JwksBehavior) {
        *self
            .shared
            .behavior
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = behavior;
    }

    /// The newest signing key.
    pub fn current_key(&self) -> Arc<SigningKey> {
        self.keys().last().cloned().expect("at least one key")
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, Vec<Arc<SigningKey>>> {
        self.shared.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes a new key and signs with it from now on (old keys stay published); returns its kid.
    pub fn rotate(&self) -> String {
        let n = self.shared.next_kid.fetch_add(1, Ordering::SeqCst);
        let key = Arc::new(SigningKey::generate(format!("key-{n}")));
        let kid = key.kid().to_owned();
        self.keys().push(key);
        kid
    }

    /// Stops publishing every key but the newest.
    pub fn retire_old_keys(&self) {
        let mut keys = self.keys();
        let newest = keys.pop().expect("at least one key");
        *keys = vec![newest];
    }

    /// Signs `claims` with the newest key.
    pub fn mint(&self, claims: &Value) -> String {
        self.current_key().sign(claims)
    }

    /// Access-token claims as Cognito issues them, valid for an hour.
    pub fn access_claims(
        &self,
        pool: &str,
        client_id: &str,
        username: &str,
        groups: &[&str],
    ) -> Value {
        let now = now();
        let mut claims = json!({
            "sub": format!("sub-{username}"),
            "iss": Self::issuer(pool),
            "client_id": client_id,
            "origin_jti": format!("origin-{username}-{now}"),
            "event_id": "e0b5c9d6-0000-4000-8000-000000000000",
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "jti": format!("jti-{username}-{}", self.shared.next_kid.fetch_add(1, Ordering::Relaxed)),
            "username": username,
            "version": 2,
        });
        if !groups.is_empty() {
            claims["cognito:groups"] = json!(groups);
        }
        claims
    }

    /// Client-credentials (machine to machine) access-token claims as Cognito issues them,
    /// valid for an hour: `sub` = `client_id`, resource-server `scopes`, no `username`, no
    /// groups.
    pub fn machine_claims(&self, pool: &str, client_id: &str, scopes: &[&str]) -> Value {
        let now = now();
        json!({
            "sub": client_id,
            "iss": Self::issuer(pool),
            "client_id": client_id,
            "token_use": "access",
            "scope": scopes.join(" "),
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "jti": format!("jti-{client_id}-{}", self.shared.next_kid.fetch_add(1, Ordering::Relaxed)),
            "version": 2,
        })
    }

    /// Id-token claims as Cognito issues them, valid for an hour.
    pub fn id_claims(&self, pool: &str, client_id: &str, username: &str, groups: &[&str]) -> Value {
        let now = now();
        let mut claims = json!({
            "sub": format!("sub-{username}"),
            "iss": Self::issuer(pool),
            "aud": client_id,
            "cognito:username": username,
            "token_use": "id",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "email": format!("{username}@example.com"),
            "at_hash": "x",
        });
        if !groups.is_empty() {
            claims["cognito:groups"] = json!(groups);
        }
        claims
    }
}

async fn serve_jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    let behavior = shared
        .behavior
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    match behavior {
        JwksBehavior::Normal => {
            let keys: Vec<Value> = shared
                .keys
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|k| k.jwk())
                .collect();
            (
                [(header::CONTENT_TYPE, "application/json")],
                json!({ "keys": keys }).to_string(),
            )
                .into_response()
        }
        JwksBehavior::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        JwksBehavior::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        JwksBehavior::Body(body) => {
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        JwksBehavior::Drop => {
            // Panicking in the handler makes hyper close the connection without a response.
            // Avoid that noise: answer with a body whose length lies, which the client sees as
            // a broken connection.
            Response::builder()
                .header(header::CONTENT_LENGTH, "100")
                .body(axum::body::Body::from("{"))
                .expect("static response")
        }
    }
}
