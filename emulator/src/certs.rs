//! A certificate authority and a server certificate made when the server starts.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub(crate) struct TestCerts {
    pub(crate) ca_pem: String,
    /// The server certificate and its key in PEM, for other servers a test starts (openssl).
    pub(crate) leaf_pem: String,
    pub(crate) leaf_key_pem: String,
    leaf_der: CertificateDer<'static>,
    ca_der: CertificateDer<'static>,
    leaf_key: Vec<u8>,
    /// Signed by the same CA, for a name no test connects to: a wrong-host certificate.
    wrong_host_der: CertificateDer<'static>,
    wrong_host_key: Vec<u8>,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl TestCerts {
    pub(crate) fn generate() -> io::Result<TestCerts> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "concur-native test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(other)?;
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(other)?;

        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".into(),
            "::1".into(),
            crate::proxy::PROXY_ONLY_HOST.into(),
        ];
        let mut leaf_params = CertificateParams::new(names).map_err(other)?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().map_err(other)?;
        let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(other)?;

        let mut wrong_params =
            CertificateParams::new(vec!["wrong-host.example".to_string()]).map_err(other)?;
        wrong_params
            .distinguished_name
            .push(DnType::CommonName, "wrong-host.example");
        wrong_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let wrong_key = KeyPair::generate().map_err(other)?;
        let wrong = wrong_params.signed_by(&wrong_key, &ca).map_err(other)?;

        Ok(TestCerts {
            ca_pem: ca.pem(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
            ca_der: ca.der().clone(),
            leaf_der: leaf.der().clone(),
            leaf_key: leaf_key.serialize_der(),
            wrong_host_der: wrong.der().clone(),
            wrong_host_key: wrong_key.serialize_der(),
        })
    }

    /// Serves `cert_pem` (a chain, leaf first) with `key_pem` (PKCS#8, SEC1 or PKCS#1)
    /// instead of the generated certificate; the "CA" clients trust becomes the chain's last
    /// certificate (the leaf itself when it is self-signed).
    pub(crate) fn use_own(&mut self, cert_pem: &str, key_pem: &str) -> io::Result<()> {
        use rustls::pki_types::pem::PemObject;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| other(format!("the certificate file: {e}")))?;
        let (Some(leaf), Some(last)) = (chain.first(), chain.last()) else {
            return Err(other("the certificate file holds no certificate"));
        };
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| other(format!("the key file: {e}")))?;
        let PrivateKeyDer::Pkcs8(pkcs8) = key else {
            return Err(other(
                "the key file must hold a PKCS#8 key (BEGIN PRIVATE KEY)",
            ));
        };
        self.ca_pem = pem_of(last.as_ref());
        self.ca_der = last.clone();
        self.leaf_pem = cert_pem.to_string();
        self.leaf_key_pem = key_pem.to_string();
        self.leaf_der = leaf.clone();
        self.leaf_key = pkcs8.secret_pkcs8_der().to_vec();
        // Checked now, so that a mismatched key is a start-up error, not a failed handshake.
        self.server_config().map(|_| ())
    }

    pub(crate) fn server_config(&self) -> io::Result<rustls::ServerConfig> {
        self.config_for(&self.leaf_der, &self.leaf_key)
    }

    pub(crate) fn wrong_host_config(&self) -> io::Result<rustls::ServerConfig> {
        self.config_for(&self.wrong_host_der, &self.wrong_host_key)
    }

    fn config_for(
        &self,
        cert: &CertificateDer<'static>,
        key: &[u8],
    ) -> io::Result<rustls::ServerConfig> {
        let provider = rustls::crypto::ring::default_provider();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec()));
        rustls::ServerConfig::builder_with_provider(provider.into())
            .with_safe_default_protocol_versions()
            .map_err(other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone(), self.ca_der.clone()], key)
            .map_err(other)
    }
}

/// A DER certificate in PEM.
fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// Random enough for test tokens: std seeds each `RandomState` from the OS.
pub(crate) fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}
