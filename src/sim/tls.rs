//! Certificates of simulated phones: self-signed, subject `CN=<MAC, 12 uppercase hex>, O=Polycom Inc.` like the
//! phones' own device certificates, or a foreign subject for the interception fault.

use std::sync::Arc;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::mac::Mac;

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the certificate of phone {mac}: {source}")]
    Generate { mac: Mac, source: rcgen::Error },
    #[error("cannot build the TLS configuration of phone {mac}: {source}")]
    Config { mac: Mac, source: rustls::Error },
}

/// The subject a phone's certificate carries.
pub fn subject(mac: Mac, foreign: bool) -> (String, String) {
    if foreign {
        (
            "intercept.example.test".into(),
            "Example Interception Ltd".into(),
        )
    } else {
        (mac.to_string(), "Polycom Inc.".into())
    }
}

/// A rustls server configuration presenting a fresh self-signed certificate for this phone.
pub fn server_config(mac: Mac, foreign: bool) -> Result<Arc<ServerConfig>, TlsError> {
    let (cn, org) = subject(mac, foreign);
    let key = KeyPair::generate().map_err(|source| TlsError::Generate { mac, source })?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|source| TlsError::Generate { mac, source })?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, org);
    params.distinguished_name = dn;
    let cert = params
        .self_signed(&key)
        .map_err(|source| TlsError::Generate { mac, source })?;
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Config { mac, source })?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|source| TlsError::Config { mac, source })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
