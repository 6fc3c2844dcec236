//! From `[revocations]` settings to a Redis client: URL checks, TLS files, cluster or not.
//!
//! Rules:
//! - `rediss://` is TLS with rustls, verifying the server's certificate and name against the
//!   webpki roots, or against `tls_ca_file` alone when given. There is no way to turn
//!   verification off: a URL fragment (the `redis` crate's `#insecure`) is refused.
//! - Client certificate and key (mutual TLS) come together, and only with `rediss://`.
//! - Files are read once, here; their errors name the setting, never the file's content.
//! - Errors never quote the URL (it may hold a password).

use std::path::{Path, PathBuf};

use ::redis::{Client, ClientTlsConfig, TlsCertificates};

use crate::error::ConfigError;

/// The TLS files of the settings.
#[derive(Debug, Clone, Default)]
pub(super) struct TlsFiles {
    pub(super) ca: Option<PathBuf>,
    pub(super) client_cert: Option<PathBuf>,
    pub(super) client_key: Option<PathBuf>,
}

const URL_FORM: &str = "not a Redis URL (redis:// or rediss://[user:password@]host[:port][/db])";

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::invalid(key, reason)
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|err| {
        invalid(
            key,
            format!("cannot read {}: {}", path.display(), err.kind()),
        )
    })?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(invalid(
            key,
            format!("{} is not a PEM file", path.display()),
        ));
    }
    Ok(bytes)
}

/// Checks `url` and the TLS files, and makes the client.
pub(super) fn client(url: &str, tls: &TlsFiles) -> Result<Client, ConfigError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("revocations.redis_url", URL_FORM))?;
    let is_tls = match scheme {
        "redis" => false,
        "rediss" => true,
        _ => return Err(invalid("revocations.redis_url", URL_FORM)),
    };
    if rest.contains('#') {
        return Err(invalid(
            "revocations.redis_url",
            "no URL fragment: certificate verification cannot be turned off",
        ));
    }
    let certificates = certificates(tls, is_tls)?;
    if is_tls {
        install_crypto_provider();
    }
    // The `redis` crate's errors are not passed on: they may quote the URL, password included.
    match certificates {
        Some(certificates) => Client::build_with_tls(url, certificates),
        None => Client::open(url),
    }
    .map_err(|_| invalid("revocations.redis_url", URL_FORM))
}

fn certificates(tls: &TlsFiles, is_tls: bool) -> Result<Option<TlsCertificates>, ConfigError> {
    let any = tls.ca.is_some() || tls.client_cert.is_some() || tls.client_key.is_some();
    if !any {
        return Ok(None);
    }
    if !is_tls {
        let key = if tls.ca.is_some() {
            "revocations.tls_ca_file"
        } else {
            "revocations.tls_client_cert_file"
        };
        return Err(invalid(key, "needs a rediss:// redis_url (TLS)"));
    }
    let client_tls = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read("revocations.tls_client_cert_file", cert)?,
            client_key: read("revocations.tls_client_key_file", key)?,
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(invalid(
                "revocations.tls_client_key_file",
                "missing: tls_client_cert_file needs its key",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "revocations.tls_client_cert_file",
                "missing: tls_client_key_file needs its certificate",
            ));
        }
    };
    let root_cert = match &tls.ca {
        Some(ca) => Some(read("revocations.tls_ca_file", ca)?),
        None => None,
    };
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
}

/// rustls needs a process-wide crypto provider when more than one could be chosen. The crate
/// uses aws-lc-rs everywhere else; an application that installed its own keeps it.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may have installed one meanwhile: either is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(url: &str, tls: &TlsFiles) -> String {
        match client(url, tls) {
            Ok(_) => "accepted".to_owned(),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn verification_cannot_be_turned_off_and_tls_files_need_tls() {
        let none = TlsFiles::default();
        let e = reason("rediss://u:s3cret@127.0.0.1:6380/#insecure", &none);
        assert!(e.contains("cannot be turned off"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        assert_eq!(reason("rediss://127.0.0.1:6380/0", &none), "accepted");
        let e = reason("http://127.0.0.1:6380/0", &none);
        assert!(e.contains("revocations.redis_url"), "{e}");

        let ca = TlsFiles {
            ca: Some("ca.pem".into()),
            ..TlsFiles::default()
        };
        let e = reason("redis://127.0.0.1:6379/0", &ca);
        assert!(
            e.contains("revocations.tls_ca_file") && e.contains("rediss://"),
            "{e}"
        );
        let e = reason("rediss://127.0.0.1:6380/0", &ca);
        assert!(
            e.contains("revocations.tls_ca_file") && e.contains("cannot read ca.pem"),
            "{e}"
        );
        let half = TlsFiles {
            client_cert: Some("c.pem".into()),
            ..TlsFiles::default()
        };
        let e = reason("rediss://127.0.0.1:6380/0", &half);
        assert!(e.contains("revocations.tls_client_key_file"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_pem_is_named() {
        let path =
            std::env::temp_dir().join(format!("cognito-authz-notpem-{}", std::process::id()));
        std::fs::write(&path, b"secret key bytes").unwrap();
        let tls = TlsFiles {
            ca: Some(path.clone()),
            ..TlsFiles::default()
        };
        let e = reason("rediss://127.0.0.1:6380/0", &tls);
        let _ = std::fs::remove_file(&path);
        assert!(e.contains("is not a PEM file"), "{e}");
        assert!(!e.contains("secret key bytes"), "{e}");
    }
}
