//! The simulator's test certificate authority: the CA simulated phones trust for HTTPS provisioning (as real phones
//! trust their built-in CA list), and the server certificates it issues to the simulated provisioning server —
//! valid ones, expired ones, and certificates from a second CA nobody trusts (the "untrusted certificate" fault).
//!
//! The agent is given the CA's PEM (`--server-ca`) exactly as a site would give it a private CA.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot generate a test certificate for {what}: {source}")]
    Generate { what: String, source: rcgen::Error },
    #[error("cannot build the TLS configuration for {what}: {source}")]
    Config { what: String, source: rustls::Error },
}

/// How a server certificate's validity period relates to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// 2020-01-01 to 2045-01-01.
    Current,
    /// 2019-01-01 to 2020-01-01: expired.
    Expired,
}

/// A certificate authority that exists only inside one simulator.
pub struct TestCa {
    name: String,
    der: CertificateDer<'static>,
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").field("name", &self.name).finish()
    }
}

fn generate(what: &str) -> impl Fn(rcgen::Error) -> CaError + '_ {
    move |source| CaError::Generate {
        what: what.to_string(),
        source,
    }
}

impl TestCa {
    /// A new CA named `name` (its subject CN).
    pub fn generate(name: &str) -> Result<TestCa, CaError> {
        let key = KeyPair::generate().map_err(generate(name))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(generate(name))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "polyprov simulator test CA");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2045, 1, 1);
        let cert = params.self_signed(&key).map_err(generate(name))?;
        Ok(TestCa {
            name: name.to_string(),
            der: cert.der().clone(),
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate, PEM (what `--server-ca` reads).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// A TLS server configuration presenting a certificate this CA issued for `names` (host names or IP
    /// addresses).
    pub fn server_config(
        &self,
        names: &[String],
        validity: Validity,
    ) -> Result<Arc<ServerConfig>, CaError> {
        let what = names.join(", ");
        let key = KeyPair::generate().map_err(generate(&what))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(generate(&what))?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.distinguished_name = dn;
        for n in names {
            let san = match n.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.clone().try_into().map_err(generate(&what))?),
            };
            params.subject_alt_names.push(san);
        }
        let (from, to) = match validity {
            Validity::Current => ((2020, 1, 1), (2045, 1, 1)),
            Validity::Expired => ((2019, 1, 1), (2020, 1, 1)),
        };
        params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(generate(&what))?;
        let chain = vec![cert.der().clone(), self.der.clone()];
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|source| CaError::Config {
                what: what.clone(),
                source,
            })?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .map_err(|source| CaError::Config {
                what: what.clone(),
                source,
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A root store trusting only this CA.
    pub fn roots(&self) -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        let _ = roots.add(self.der.clone());
        roots
    }
}
