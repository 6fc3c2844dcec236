//! Certificates made by the test (rcgen): a CA, a server certificate for 127.0.0.1 and
//! `localhost`, a client certificate, and an unrelated CA; written as PEM files in a fresh
//! directory removed on drop. Include with `#[path = "redis_server/tls.rs"] mod tls;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

pub struct Pki {
    pub dir: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> (String, String) {
    leaf_with(
        CertificateParams::new(owned(names)).unwrap(),
        &[usage],
        issuer,
    )
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn leaf_with(
    mut params: CertificateParams,
    usages: &[ExtendedKeyUsagePurpose],
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> (String, String) {
    params
        .distinguished_name
        .push(DnType::CommonName, "test leaf");
    params.extended_key_usages = usages.to_vec();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    /// `ca.pem`, `server.pem` + `server.key` (127.0.0.1, localhost), `client.pem` +
    /// `client.key`, `other-ca.pem` (signs nothing used here), `wrong-name.pem` +
    /// `wrong-name.key` (signed by the CA for `cache.example.com` only), `expired.pem` +
    /// `expired.key` (signed by the CA for 127.0.0.1 and localhost, valid only in 2020),
    /// `node.pem` + `node.key` (as `server.pem`, also for client authentication: a cluster
    /// node's certificate on the bus).
    pub fn new() -> Pki {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("cognito-authz-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = ca("cognito-authz test CA");
        let other = self::ca("unrelated CA").pem();
        let (server, server_key) = leaf(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
        );
        let (client, client_key) = leaf(&["replica"], ExtendedKeyUsagePurpose::ClientAuth, &ca);
        let (wrong, wrong_key) = leaf(
            &["cache.example.com"],
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
        );
        let mut expired = CertificateParams::new(owned(&["127.0.0.1", "localhost"])).unwrap();
        expired.not_before = rcgen::date_time_ymd(2020, 1, 1);
        expired.not_after = rcgen::date_time_ymd(2020, 12, 31);
        let (expired, expired_key) =
            leaf_with(expired, &[ExtendedKeyUsagePurpose::ServerAuth], &ca);
        // Cluster nodes present their certificate to each other's bus as clients too.
        let (node, node_key) = leaf_with(
            CertificateParams::new(owned(&["127.0.0.1", "localhost"])).unwrap(),
            &[
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            &ca,
        );
        for (name, pem) in [
            ("ca.pem", ca.pem()),
            ("server.pem", server),
            ("server.key", server_key),
            ("client.pem", client),
            ("client.key", client_key),
            ("other-ca.pem", other),
            ("wrong-name.pem", wrong),
            ("wrong-name.key", wrong_key),
            ("expired.pem", expired),
            ("expired.key", expired_key),
            ("node.pem", node),
            ("node.key", node_key),
        ] {
            std::fs::write(dir.join(name), pem).unwrap();
        }
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// redis-server arguments serving TLS only with `cert`/`key`, requiring client
    /// certificates signed by the CA when `mutual`.
    pub fn server_args(&self, cert: &str, key: &str, mutual: bool) -> Vec<String> {
        let path = |name: &str| self.path(name).display().to_string();
        vec![
            "--tls-cert-file".into(),
            path(cert),
            "--tls-key-file".into(),
            path(key),
            "--tls-ca-cert-file".into(),
            path("ca.pem"),
            "--tls-auth-clients".into(),
            if mutual { "yes" } else { "no" }.into(),
        ]
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.dir));
    }
}
