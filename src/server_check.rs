//! The provisioning server from the agent's own vantage point, checked once per distinct URL before any phone is
//! touched: resolve its name (pins first; reserved names never), connect, complete a TLS handshake verified
//! against the system's roots plus `--server-ca`, and GET the URL as given. A real run stops at a failure with the
//! step, the reason and the fix; a dry run reports it and goes on; `--skip-server-check` skips it (for sites where
//! the phones' network reaches the server and the laptop's does not) and the report says so.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde::{Deserialize, Serialize};

use crate::resolve::{Pin, ResolveError, Resolver};
use crate::secret::Secret;

/// What to check.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The server address as it will be saved on the phones.
    pub url: String,
    /// Server type (`HTTPS`), for an address without a scheme.
    pub server_type: String,
    pub pins: Vec<Pin>,
    /// CAs to trust besides the system's (a private CA, the simulator's test CA).
    pub cas: Vec<CertificateDer<'static>>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub timeout: Duration,
}

/// The step a check failed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Address,
    Resolve,
    Connect,
    Tls,
    Get,
}

/// How the check ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Checked {
    /// Reachable; what was seen on the way.
    Ok { url: String, detail: String },
    Failed {
        url: String,
        step: Step,
        reason: String,
        fix: String,
    },
    /// Not checked (`--skip-server-check`).
    Skipped { url: String },
}

impl Checked {
    pub fn failed(&self) -> bool {
        matches!(self, Checked::Failed { .. })
    }

    /// One line for a person.
    pub fn line(&self) -> String {
        match self {
            Checked::Ok { url, detail } => {
                format!("provisioning server {url}: reachable ({detail})")
            }
            Checked::Failed {
                url,
                step,
                reason,
                fix,
            } => format!(
                "provisioning server {url}: {reason} (at the {} step). Fix: {fix}",
                serde_json::to_value(step)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            Checked::Skipped { url } => format!(
                "provisioning server {url}: not checked (--skip-server-check); the report cannot vouch for it"
            ),
        }
    }
}

/// Why a CA file could not be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "--server-ca {path}: {problem}. Fix: give a PEM file with the CA certificate(s) that signed the server's certificate"
)]
pub struct CaFileError {
    pub path: PathBuf,
    pub problem: String,
}

/// Read a PEM file of CA certificates.
pub fn read_cas(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let err = |problem: String| CaFileError {
        path: path.to_path_buf(),
        problem,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.len() > 1024 * 1024 {
        return Err(err("larger than 1 MB; not a CA file".into()));
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block in it".into()));
    }
    Ok(certs)
}

/// Parse PEM text of CA certificates (the simulator hands its CA over this way).
pub fn read_cas_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let err = |problem: String| CaFileError {
        path: PathBuf::from("(PEM text)"),
        problem,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block in it".into()));
    }
    Ok(certs)
}

/// The roots the check trusts: the system's (where they load) and the given CAs.
fn roots(cas: &[CertificateDer<'static>]) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for c in native.certs {
        let _ = roots.add(c);
    }
    for c in cas {
        let _ = roots.add(c.clone());
    }
    roots
}

fn tls_config(cas: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(cas))
        .with_no_client_auth())
}

/// A server address that carries a password (`scheme://user:password@host/`) is refused before anything is done
/// with it: the password would sit in argv, the journal and the report. The message never repeats the address.
pub fn refuse_password_in_url(url: &str) -> Result<(), String> {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => Err(
            "the provisioning server address carries a password (user:password@host): give the user with --server-user (or server-user in the site file) and the password in a file with --server-password-file, so it never appears on screen, in the journal or in the report".into(),
        ),
        _ => Ok(()),
    }
}

/// Longest provisioning-server address a phone's field takes.
pub const MAX_SERVER_URL: usize = 255;

/// A provisioning-server address as the phones' field takes it: no control characters or spaces, at most
/// [`MAX_SERVER_URL`] characters, no password, a host; the scheme may be absent (phones accept `host/path`) and
/// must otherwise be one the phones offer. Returns a warning when the scheme disagrees with the server type (real
/// deployments do that, so it is not refused).
pub fn check_server_url(url: &str, server_type: &str) -> Result<Option<String>, String> {
    if url.is_empty() {
        return Err("the provisioning server address is empty".into());
    }
    if let Some(c) = url.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "the provisioning server address contains {:?} (spaces and control characters are not allowed): check \
             what was pasted",
            c
        ));
    }
    if url.chars().count() > MAX_SERVER_URL {
        return Err(format!(
            "the provisioning server address is {} characters long; the phones' field takes at most {MAX_SERVER_URL}",
            url.chars().count()
        ));
    }
    refuse_password_in_url(url)?;
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if let Some(s) = &scheme
        && !crate::config::SERVER_TYPES.contains(&s.as_str())
    {
        return Err(format!(
            "the provisioning server address has the scheme {s:?}; the phones offer {}",
            crate::config::SERVER_TYPES.join(", ")
        ));
    }
    // `javascript:…`, `mailto:…`: a scheme without `//` is no host (a host's colon is followed by its port).
    if scheme.is_none()
        && let Some((head, rest)) = url.split_once(':')
        && !rest.starts_with(|c: char| c.is_ascii_digit())
        && !head.is_empty()
        && head.chars().all(|c| c.is_ascii_alphabetic())
    {
        return Err(format!(
            "the provisioning server address starts with {head:?}:, which is no host; give https://HOST/PATH"
        ));
    }
    effective_url(url, server_type)?;
    Ok(match scheme {
        Some(s) if !s.eq_ignore_ascii_case(server_type) => Some(format!(
            "the provisioning server address says {s}:// but the server type is {}: the phones use the address as \
             given",
            server_type.to_ascii_uppercase()
        )),
        _ => None,
    })
}

/// The URL the phones will fetch from: the address's own scheme, else the server type's.
pub fn effective_url(url: &str, server_type: &str) -> Result<url::Url, String> {
    let url = url.trim();
    let text = if url.contains("://") {
        url.to_string()
    } else {
        format!("{}://{url}", server_type.to_ascii_lowercase())
    };
    let parsed = url::Url::parse(&text).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} names no host"));
    }
    Ok(parsed)
}

/// Check each distinct URL of `urls` (as `server`, with its own address), or record that the check was skipped;
/// `each` is told every result as it is found.
pub async fn check_all(
    urls: &[String],
    server: &Spec,
    skip: bool,
    each: impl Fn(&Checked),
) -> Vec<Checked> {
    let mut distinct: Vec<&String> = Vec::new();
    for u in urls {
        if !distinct.contains(&u) {
            distinct.push(u);
        }
    }
    let mut out = Vec::new();
    for url in distinct {
        let checked = if skip {
            Checked::Skipped { url: url.clone() }
        } else {
            check(&Spec {
                url: url.clone(),
                ..server.clone()
            })
            .await
        };
        each(&checked);
        out.push(checked);
    }
    out
}

/// Check one server.
pub async fn check(spec: &Spec) -> Checked {
    crate::init_tls();
    let url_text = spec.url.clone();
    let fail = |step: Step, reason: String, fix: &str| Checked::Failed {
        url: url_text.clone(),
        step,
        reason,
        fix: fix.to_string(),
    };
    let url = match effective_url(&spec.url, &spec.server_type) {
        Ok(u) => u,
        Err(e) => {
            return fail(
                Step::Address,
                e,
                "give the server address as https://host/path",
            );
        }
    };
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_string();
    let Some(port) = url.port_or_known_default().or(match url.scheme() {
        "ftp" => Some(21),
        "ftps" => Some(990),
        "tftp" => Some(69),
        _ => None,
    }) else {
        return fail(
            Step::Address,
            format!("no port for scheme {}", url.scheme()),
            "give the port in the URL",
        );
    };
    let resolver = Resolver::pinned(&spec.pins, port);
    let ip = match resolver.lookup(&host).await {
        Ok(ip) => ip,
        Err(e @ ResolveError::Reserved { .. }) => {
            return fail(
                Step::Resolve,
                e.to_string(),
                &format!(
                    "pin the name with --resolve {host}:{port}:ADDR (or resolve = [...] in the site file), or correct the URL"
                ),
            );
        }
        Err(e) => {
            return fail(
                Step::Resolve,
                e.to_string(),
                "check the URL for typos; the name must resolve from this network",
            );
        }
    };
    let addr = SocketAddr::new(ip, port);
    if url.scheme() == "tftp" {
        return Checked::Ok {
            url: spec.url.clone(),
            detail: format!("{host} is {ip}; TFTP (UDP) is not probed"),
        };
    }
    let tcp = match tokio::time::timeout(spec.timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return fail(
                Step::Connect,
                format!("cannot connect to {addr}: {e}"),
                "check that the server is up and that a firewall lets this network reach it",
            );
        }
        Err(_) => {
            return fail(
                Step::Connect,
                format!("no answer from {addr} within {} s", spec.timeout.as_secs()),
                "check that a firewall lets this network reach the server",
            );
        }
    };
    if url.scheme() != "https" {
        drop(tcp);
        if url.scheme() != "http" {
            return Checked::Ok {
                url: spec.url.clone(),
                detail: format!("{host} is {ip}; port {port} accepts connections"),
            };
        }
    } else {
        let config = match tls_config(&spec.cas) {
            Ok(c) => Arc::new(c),
            Err(e) => return fail(Step::Tls, e.to_string(), "report this as a bug"),
        };
        let name = match ServerName::try_from(host.clone()) {
            Ok(n) => n,
            Err(e) => {
                return fail(
                    Step::Tls,
                    e.to_string(),
                    "give the server by a valid host name",
                );
            }
        };
        let handshake = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
        match tokio::time::timeout(spec.timeout, handshake).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let text = e.to_string();
                let fix = if text.contains("UnknownIssuer") || text.contains("issuer") {
                    "the certificate is not from a CA this machine trusts: give the service's CA with --server-ca FILE (phones trust a built-in list; a private CA must be on them too)"
                } else if text.contains("Expired") || text.contains("NotValidYet") {
                    "the certificate has expired or is not yet valid: renew it on the server, or check this machine's clock"
                } else if text.contains("NotValidForName") {
                    "the certificate does not name this host: use the name it was issued for"
                } else {
                    "check that the server speaks HTTPS on this port"
                };
                return fail(
                    Step::Tls,
                    format!("TLS handshake with {addr} failed: {text}"),
                    fix,
                );
            }
            Err(_) => {
                return fail(
                    Step::Tls,
                    format!(
                        "no TLS answer from {addr} within {} s",
                        spec.timeout.as_secs()
                    ),
                    "check that the server speaks HTTPS on this port",
                );
            }
        }
    }
    get(spec, &url, &resolver, &host, ip).await
}

/// GET the URL as given; any HTTP answer shows the server is there (a directory URL is often refused with 403/404:
/// the phones fetch files below it).
async fn get(
    spec: &Spec,
    url: &url::Url,
    resolver: &Resolver,
    host: &str,
    ip: std::net::IpAddr,
) -> Checked {
    let config = match tls_config(&spec.cas) {
        Ok(c) => c,
        Err(e) => {
            return Checked::Failed {
                url: spec.url.clone(),
                step: Step::Get,
                reason: e.to_string(),
                fix: "report this as a bug".into(),
            };
        }
    };
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .dns_resolver(resolver.clone().for_reqwest())
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(spec.timeout)
        .user_agent(concat!(
            "polyprov/",
            env!("CARGO_PKG_VERSION"),
            " (server check)"
        ))
        .build();
    let Ok(client) = client else {
        return Checked::Failed {
            url: spec.url.clone(),
            step: Step::Get,
            reason: "cannot build an HTTP client".into(),
            fix: "report this as a bug".into(),
        };
    };
    let mut req = client.get(url.clone());
    if let (Some(u), Some(p)) = (&spec.user, &spec.password) {
        req = req.basic_auth(u, Some(p.expose()));
    }
    let creds = spec.user.is_some() && spec.password.is_some();
    match req.send().await {
        Ok(r) if r.status().is_server_error() => Checked::Failed {
            url: spec.url.clone(),
            step: Step::Get,
            reason: format!("GET {url} answered HTTP {}: the server is failing", r.status()),
            fix: "the provisioning server has an internal problem; ask its operator, or try again later".into(),
        },
        Ok(r) if r.status().as_u16() == 401 && creds => Checked::Failed {
            url: spec.url.clone(),
            step: Step::Get,
            reason: format!(
                "GET {url} answered HTTP 401 to the server user and password given: the server refuses them"
            ),
            fix: "check --server-user and the server password file (the service's provisioning credentials, not the phones' admin password)".into(),
        },
        Ok(r) => Checked::Ok {
            url: spec.url.clone(),
            detail: format!(
                "{host} is {ip}{}; GET answered HTTP {}{}",
                if url.scheme() == "https" {
                    ", TLS verified"
                } else {
                    ""
                },
                r.status().as_u16(),
                if r.status().as_u16() == 401 {
                    " (it asks for credentials: give --server-user and --server-password-file if the service uses them)"
                } else {
                    ""
                }
            ),
        },
        Err(e) => Checked::Failed {
            url: spec.url.clone(),
            step: Step::Get,
            reason: format!("GET {url} failed: {e}"),
            fix: "check that the URL's server answers HTTP(S)".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the phones' field takes is taken, with a word where the scheme and the type disagree; what it does not
    /// take is refused saying why.
    #[test]
    fn server_addresses_are_parsed_at_the_edge() {
        for ok in [
            "https://prov.example.test/poly/",
            "voipt2.polycom.com/594",
            "prov.example.test:8443/p",
            "198.18.0.5/cfg",
        ] {
            assert_eq!(check_server_url(ok, "https"), Ok(None), "{ok}");
        }
        let w = check_server_url("http://prov.example.test/", "https").unwrap();
        assert!(w.is_some_and(|w| w.contains("HTTPS")));
        for (bad, said) in [
            ("", "empty"),
            ("https://prov.example.test/a b", "' '"),
            ("https://prov.example.test/\r\nX: y", "'\\r'"),
            ("javascript:alert(1)", "no host"),
            ("gopher://prov.example.test/", "gopher"),
            ("https://u:pw@prov.example.test/", "password"),
        ] {
            let e = check_server_url(bad, "https").unwrap_err();
            assert!(e.contains(said), "{bad:?}: {e}");
        }
        let long = format!("https://prov.example.test/{}", "a".repeat(300));
        assert!(
            check_server_url(&long, "https")
                .unwrap_err()
                .contains("at most 255")
        );
    }
}
