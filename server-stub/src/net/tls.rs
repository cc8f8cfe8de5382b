//! TLS for the embedded server: the certificate chain and key an
//! administrator gives (`--tls-cert`, `--tls-key`, PEM), served by rustls.
//! Agents' tokens must not cross a network in clear.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub type Acceptor = tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot use the certificate file {path}: {reason}")]
    Cert { path: String, reason: String },
    #[error("cannot use the key file {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("the certificate and the key do not go together: {0}")]
    Mismatch(String),
}

/// Reads the chain and the key now, so that a wrong file stops the server
/// at start with its name.
pub fn acceptor(cert: &Path, key: &Path) -> Result<Acceptor, TlsError> {
    let cert_err = |reason: String| TlsError::Cert {
        path: cert.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no PEM certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    // The provider is named: with two in the build, rustls would not pick.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Acceptor::from(Arc::new(config)))
}
