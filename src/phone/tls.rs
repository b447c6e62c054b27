//! Trusting a phone's self-signed certificate, deliberately.
//!
//! Phones present self-signed device certificates whose subject is `CN=<MAC, 12 hex>, O=Polycom Inc.`. There is
//! no CA to check, so trust is by subject: the certificate must look like a Poly phone's and, when the phone's
//! MAC is known (discovery, neighbour table), name that MAC. Anything else is a wrong device or an interception
//! and is refused with the reason. The certificate's SHA-256 fingerprint is kept for the report and, where the
//! verifier is given the user's [`KnownPhones`], checked against the one the phone presented first (trust on
//! first use): a different certificate for a known MAC fails the handshake, so nothing is sent to it.

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

use super::known::{Changed, KnownPhones, Refusal, Seen};
use crate::mac::Mac;

/// The subject fields that matter, read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub common_name: String,
    pub organization: String,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub sha256: String,
}

impl CertInfo {
    /// Read subject CN and O from a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<CertInfo, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("unreadable certificate: {e}"))?;
        let subject = cert.subject();
        let first = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue>| {
            it.next()
                .and_then(|a| a.as_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let common_name = first(&mut subject.iter_common_name());
        let organization = first(&mut subject.iter_organization());
        let sha256 = Sha256::digest(der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(CertInfo {
            common_name,
            organization,
            sha256,
        })
    }

    /// The MAC the certificate names, when its CN is one.
    pub fn mac(&self) -> Option<Mac> {
        (self.common_name.len() == 12)
            .then(|| self.common_name.parse().ok())
            .flatten()
    }

    /// Whether the subject is a Poly phone's.
    pub fn looks_like_poly(&self) -> bool {
        self.mac().is_some() && self.organization.to_ascii_lowercase().contains("polycom")
    }
}

impl fmt::Display for CertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CN={}, O={} (SHA-256 {})",
            self.common_name, self.organization, self.sha256
        )
    }
}

/// What to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// A Poly phone's subject; when a MAC is given, exactly that phone's.
    PolyPhone(Option<Mac>),
    /// Anything, recording what was seen (the recorder, where a person watches the session).
    RecordOnly,
}

/// A certificate verifier for phones; remembers the last certificate it saw.
#[derive(Debug)]
pub struct PhoneVerifier {
    trust: Trust,
    /// The fingerprints phones presented first, by MAC (`None`: not checked).
    known: Option<Arc<KnownPhones>>,
    provider: Arc<CryptoProvider>,
    seen: Mutex<Option<CertInfo>>,
    /// What the known-phones memory said of the last certificate it accepted.
    remembered: Mutex<Option<Seen>>,
    /// The last certificate refused because its MAC's remembered one differs.
    changed: Mutex<Option<Changed>>,
}

impl PhoneVerifier {
    pub fn new(trust: Trust) -> Arc<PhoneVerifier> {
        PhoneVerifier::remembering(trust, None)
    }

    /// A verifier that also holds each phone to the certificate it presented first (`known`).
    pub fn remembering(trust: Trust, known: Option<Arc<KnownPhones>>) -> Arc<PhoneVerifier> {
        Arc::new(PhoneVerifier {
            trust,
            known,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            seen: Mutex::new(None),
            remembered: Mutex::new(None),
            changed: Mutex::new(None),
        })
    }

    /// The known-phones memory this verifier checks against.
    pub fn known(&self) -> Option<&Arc<KnownPhones>> {
        self.known.as_ref()
    }

    /// The last certificate presented.
    pub fn seen(&self) -> Option<CertInfo> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the last accepted certificate was the remembered one (`Known`) or a first one (`First`); `None`
    /// when nothing is remembered.
    pub fn remembered(&self) -> Option<Seen> {
        *self.remembered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last certificate refused as not the one remembered for its MAC.
    pub fn changed(&self) -> Option<Changed> {
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Hold the certificate to the one remembered for the phone's MAC (or remember it, if it is the first).
    fn check_known(&self, info: &CertInfo) -> Result<(), rustls::Error> {
        let (Some(known), Trust::PolyPhone(expected)) = (&self.known, self.trust) else {
            return Ok(());
        };
        let Some(mac) = expected.or(info.mac()) else {
            return Ok(());
        };
        match known.check(mac, &info.sha256) {
            Ok(seen) => {
                *self.remembered.lock().unwrap_or_else(|e| e.into_inner()) = Some(seen);
                Ok(())
            }
            Err(Refusal::Changed(c)) => {
                let text = c.to_string();
                *self.changed.lock().unwrap_or_else(|e| e.into_inner()) = Some(c);
                Err(rustls::Error::General(text))
            }
            Err(Refusal::Unusable(e)) => Err(rustls::Error::General(format!(
                "the certificate could not be checked against the known phones: {e}"
            ))),
        }
    }

    /// A rustls client configuration using this verifier.
    pub fn client_config(self: &Arc<Self>) -> Result<rustls::ClientConfig, rustls::Error> {
        let mut config = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Judge a certificate against a trust policy; the error says why it is refused.
pub fn judge(info: &CertInfo, trust: Trust) -> Result<(), String> {
    match trust {
        Trust::RecordOnly => Ok(()),
        Trust::PolyPhone(expected) => {
            if !info.looks_like_poly() {
                return Err(format!(
                    "the certificate ({info}) is not a Poly phone's (CN = its MAC, O = Polycom): a different device, or something intercepting the connection"
                ));
            }
            match (expected, info.mac()) {
                (Some(want), Some(got)) if want != got => Err(format!(
                    "the certificate names MAC {got} but this phone's MAC is {want}: a different phone answered at this address, or the connection is intercepted"
                )),
                _ => Ok(()),
            }
        }
    }
}

impl ServerCertVerifier for PhoneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let info = CertInfo::from_der(end_entity).map_err(rustls::Error::General)?;
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.clone());
        judge(&info, self.trust).map_err(rustls::Error::General)?;
        self.check_known(&info)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(cn: &str, o: &str) -> CertInfo {
        CertInfo {
            common_name: cn.into(),
            organization: o.into(),
            sha256: "00".into(),
        }
    }

    /// A phone's own subject is accepted; with a known MAC it must be that MAC.
    #[test]
    fn poly_subject_accepted_and_pinned() {
        let mac: Mac = "0004F2A1B2C3".parse().unwrap();
        assert!(
            judge(
                &info("0004F2A1B2C3", "Polycom Inc."),
                Trust::PolyPhone(Some(mac))
            )
            .is_ok()
        );
        assert!(
            judge(
                &info("0004F2A1B2C3", "Polycom Inc."),
                Trust::PolyPhone(None)
            )
            .is_ok()
        );
        let e = judge(
            &info("0004F2000001", "Polycom Inc."),
            Trust::PolyPhone(Some(mac)),
        )
        .unwrap_err();
        assert!(
            e.contains("0004F2000001") && e.contains("0004F2A1B2C3"),
            "{e}"
        );
    }

    /// A foreign subject is refused with the reason, unless only recording.
    #[test]
    fn foreign_subject_refused() {
        let e = judge(
            &info("intercept.example.test", "Example"),
            Trust::PolyPhone(None),
        )
        .unwrap_err();
        assert!(e.contains("not a Poly phone's"), "{e}");
        assert!(judge(&info("x", "y"), Trust::RecordOnly).is_ok());
    }
}
