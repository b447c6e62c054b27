//! Certificates of simulated phones: self-signed, subject `CN=<MAC, 12 uppercase hex>, O=Polycom Inc.` like the
//! phones' own device certificates, or a foreign subject for the interception fault.
//!
//! A real phone keeps its device certificate across reboots and firmware updates and makes a new one only when
//! it is factory reset, so a simulated phone's certificate is a function of (simulator seed, MAC, factory
//! resets so far): the same bytes, the same SHA-256 fingerprint, after every restart of the simulator. The key is
//! an ECDSA P-256 key derived from those three, and the certificate is signed deterministically (RFC 6979), so
//! nothing random goes into it.

use std::sync::Arc;

use p256::ecdsa::signature::Signer;
use p256::pkcs8::EncodePrivateKey;
use rcgen::{CertificateParams, DistinguishedName, DnType, PublicKeyData, SigningKey};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::mac::Mac;

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the certificate of phone {mac}: {reason}")]
    Generate { mac: Mac, reason: String },
    #[error("cannot build the TLS configuration of phone {mac}: {source}")]
    Config { mac: Mac, source: rustls::Error },
}

/// What a phone's certificate is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub mac: Mac,
    /// The simulator's seed.
    pub seed: u64,
    /// Factory resets so far: each one gives the phone a new key and certificate.
    pub resets: u32,
    /// The subject is not a Poly phone's (an intercepting proxy, a wrong device).
    pub foreign: bool,
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

/// A P-256 key derived from the identity, with the public point rcgen writes into the certificate.
struct DeviceKey {
    key: p256::ecdsa::SigningKey,
    point: Vec<u8>,
}

impl DeviceKey {
    fn derive(id: &Identity) -> Result<DeviceKey, String> {
        // A hash is a valid scalar unless it is zero or not below the group order (odds ~2^-32): count on.
        for counter in 0u32..16 {
            let mut h = Sha256::new();
            h.update(b"polyprov simulated phone device key\0");
            h.update(id.seed.to_be_bytes());
            h.update(id.mac.to_string().as_bytes());
            h.update(id.resets.to_be_bytes());
            h.update([u8::from(id.foreign)]);
            h.update(counter.to_be_bytes());
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&h.finalize()) {
                let point = key
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec();
                return Ok(DeviceKey { key, point });
            }
        }
        Err("no valid P-256 key derived".into())
    }

    fn pkcs8(&self) -> Result<Vec<u8>, String> {
        let secret = p256::SecretKey::from(&self.key);
        secret
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }
}

impl PublicKeyData for DeviceKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for DeviceKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: p256::ecdsa::Signature = self.key.sign(msg);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// The phone's certificate (DER) and its private key (PKCS#8 DER): the same for the same identity, always.
pub fn certificate(id: &Identity) -> Result<(CertificateDer<'static>, Vec<u8>), TlsError> {
    let mac = id.mac;
    let generate = |reason: String| TlsError::Generate { mac, reason };
    let key = DeviceKey::derive(id).map_err(generate)?;
    let (cn, org) = subject(id.mac, id.foreign);
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| generate(e.to_string()))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, org);
    params.distinguished_name = dn;
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let cert = params
        .self_signed(&key)
        .map_err(|e| generate(e.to_string()))?;
    Ok((cert.der().clone(), key.pkcs8().map_err(generate)?))
}

/// A rustls server configuration presenting the phone's certificate.
pub fn server_config(id: &Identity) -> Result<Arc<ServerConfig>, TlsError> {
    let mac = id.mac;
    let (cert, key) = certificate(id)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Config { mac, source })?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key_der)
        .map_err(|source| TlsError::Config { mac, source })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::tls::CertInfo;

    fn id(resets: u32) -> Identity {
        Identity {
            mac: "0004F2A1B2C3".parse().unwrap(),
            seed: 7,
            resets,
            foreign: false,
        }
    }

    fn fingerprint(id: &Identity) -> CertInfo {
        CertInfo::from_der(&certificate(id).unwrap().0).unwrap()
    }

    /// A phone's certificate survives restarts: same seed and MAC, same bytes.
    #[test]
    fn same_identity_same_certificate() {
        assert_eq!(certificate(&id(0)).unwrap(), certificate(&id(0)).unwrap());
        let info = fingerprint(&id(0));
        assert_eq!(info.common_name, "0004F2A1B2C3");
        assert_eq!(info.organization, "Polycom Inc.");
    }

    /// A factory reset, another seed or another MAC makes another certificate.
    #[test]
    fn reset_seed_and_mac_change_it() {
        let base = fingerprint(&id(0)).sha256;
        assert_ne!(fingerprint(&id(1)).sha256, base);
        assert_ne!(fingerprint(&Identity { seed: 8, ..id(0) }).sha256, base);
        let other = Identity {
            mac: "0004F2A1B2C4".parse().unwrap(),
            ..id(0)
        };
        assert_ne!(fingerprint(&other).sha256, base);
    }

    /// The configuration builds (the key matches the certificate).
    #[test]
    fn server_config_builds() {
        server_config(&id(0)).unwrap();
        server_config(&Identity {
            foreign: true,
            ..id(2)
        })
        .unwrap();
    }
}
