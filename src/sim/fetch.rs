//! A simulated phone fetching its configuration from the provisioning server it was given, for real, over the
//! network: name resolution through the simulator's own table (never the host's resolver), TCP, TLS verified
//! against the CA list the phone trusts (and its own clock), HTTP(S) with the server user and password, and the
//! files Poly phones ask for in the order they ask (`docs/provisioning-server.md`):
//!
//! 1. the master configuration: a `.cfg` named in the server address itself, else `<mac>.cfg`, else
//!    `000000000000.cfg`;
//! 2. the firmware image the master file names for this model (`APP_FILE_PATH_<MODEL>`, else `APP_FILE_PATH`):
//!    a version that differs from the running one is an update;
//! 3. otherwise the configuration files it names (`CONFIG_FILES`), whose parameters the phone applies (the file
//!    listed first wins).
//!
//! Pure network and parsing: what the phone does with the outcome (log lines, reboots, its line label) is
//! `lifecycle.rs`'s.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::mac::Mac;
use crate::resolve::Resolver;

/// What one phone needs to fetch its configuration.
#[derive(Debug, Clone)]
pub struct Request {
    /// The server address as configured (`https://prov.example.test/poly/`, or `host/path`).
    pub server: String,
    /// Server type name from the phone's form (`HTTPS`), used when the address has no scheme.
    pub server_type: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub mac: Mac,
    /// The model as master files name it (`VVX411`).
    pub model_key: String,
    pub firmware: String,
    /// `FileTransport PolycomVVX-VVX_411-UA/6.4.5.1210 Type/Application`.
    pub user_agent: String,
    /// Per request.
    pub timeout: Duration,
    /// The phone's name table.
    pub resolver: Resolver,
    /// The CAs the phone trusts.
    pub roots: Arc<rustls::RootCertStore>,
    /// The phone's clock is wrong (no time server): every certificate looks not yet valid.
    pub clock_wrong: bool,
}

/// A firmware image the server names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub file: String,
    pub version: String,
    /// Device profile whose pages the new firmware serves (`None`: the phone's own).
    pub profile: Option<String>,
}

/// What the fetch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The master file names an image other than the running firmware: install it.
    Update { master: String, image: Image },
    /// The configuration files, parameters merged (the first file listed wins).
    Loaded {
        master: String,
        files: Vec<String>,
        params: BTreeMap<String, String>,
    },
}

/// Why the fetch failed, as the phone can tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchFailure {
    #[error("the server address {0:?} cannot be used")]
    BadAddress(String),
    #[error("{scheme} transfers are not simulated")]
    Unsupported { scheme: String },
    #[error("could not resolve {host}")]
    Dns { host: String },
    #[error("could not connect to {host}:{port}")]
    Connect { host: String, port: u16 },
    #[error("TLS with {host} failed: {detail}")]
    Tls { host: String, detail: String },
    #[error("{host} did not answer in time")]
    Timeout { host: String },
    #[error("{file}: HTTP {status}")]
    Refused { file: String, status: u16 },
    #[error("{file}: HTTP {status}")]
    ServerError { file: String, status: u16 },
    #[error("{file} was not found")]
    Missing { file: String },
    #[error("{file} is not what it should be: {detail}")]
    Invalid { file: String, detail: String },
    #[error("the download of {file} broke off")]
    Cut { file: String },
    #[error("the firmware image {file} could not be used")]
    UpdateFailed { file: String },
}

/// Largest file a phone accepts.
const MAX_FILE: usize = 8 * 1024 * 1024;

/// The URL the phone fetches from: the address with its own scheme, else the server type's; always ending in `/`
/// unless it names a master file. `None` for a type the simulator does not speak.
pub fn base_url(server: &str, server_type: &str) -> Result<url::Url, FetchFailure> {
    let server = server.trim();
    if server.is_empty() {
        return Err(FetchFailure::BadAddress(server.into()));
    }
    let text = if server.contains("://") {
        server.to_string()
    } else {
        format!("{}://{server}", server_type.to_ascii_lowercase())
    };
    let mut url =
        url::Url::parse(&text).map_err(|_| FetchFailure::BadAddress(server.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(FetchFailure::Unsupported {
                scheme: other.to_ascii_uppercase(),
            });
        }
    }
    if url.host_str().is_none() {
        return Err(FetchFailure::BadAddress(server.to_string()));
    }
    if !url.path().ends_with('/') && !url.path().ends_with(".cfg") {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

#[derive(Debug)]
struct WrongClock;

impl rustls::time_provider::TimeProvider for WrongClock {
    fn current_time(&self) -> Option<rustls::pki_types::UnixTime> {
        // 2000-01-01: what a phone that never reached a time server believes.
        Some(rustls::pki_types::UnixTime::since_unix_epoch(
            Duration::from_secs(946_684_800),
        ))
    }
}

fn client(req: &Request) -> Result<reqwest::Client, FetchFailure> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = if req.clock_wrong {
        rustls::ClientConfig::builder_with_details(provider, Arc::new(WrongClock))
    } else {
        rustls::ClientConfig::builder_with_provider(provider)
    };
    let tls = builder
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchFailure::BadAddress(e.to_string()))?
        .with_root_certificates(req.roots.clone())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(req.resolver.clone().for_reqwest())
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(req.timeout)
        .connect_timeout(req.timeout)
        .user_agent(req.user_agent.clone())
        .build()
        .map_err(|e| FetchFailure::BadAddress(e.to_string()))
}

/// Fetch the master file, then the image or the configuration files.
pub async fn fetch(req: &Request) -> Result<Fetched, FetchFailure> {
    let url = base_url(&req.server, &req.server_type)?;
    let http = client(req)?;
    let mac_file = format!("{}.cfg", req.mac.plain_lower());
    let mut candidates = Vec::new();
    if url.path().ends_with(".cfg") {
        candidates.push(url.clone());
    }
    let dir = if url.path().ends_with(".cfg") {
        url.join("./")
            .map_err(|_| FetchFailure::BadAddress(req.server.clone()))?
    } else {
        url.clone()
    };
    for name in [mac_file.as_str(), "000000000000.cfg"] {
        candidates.push(
            dir.join(name)
                .map_err(|_| FetchFailure::BadAddress(req.server.clone()))?,
        );
    }
    let mut master = None;
    for c in &candidates {
        match get(&http, req, c).await? {
            Got::Body(b) => {
                master = Some((file_name(c), b));
                break;
            }
            Got::NotFound => continue,
        }
    }
    let Some((master_name, body)) = master else {
        return Err(FetchFailure::Missing { file: mac_file });
    };
    let m = parse_master(&master_name, &body, &req.model_key)?;
    if let Some(app) = m.app_file.filter(|a| !a.is_empty()) {
        let image_url = join(&dir, &app, req)?;
        // A missing, broken-off or unusable image is a failed update; the phone keeps its firmware.
        let failed = || FetchFailure::UpdateFailed { file: app.clone() };
        let bytes = match get(&http, req, &image_url).await {
            Ok(Got::Body(b)) => b,
            Ok(Got::NotFound) | Err(FetchFailure::Cut { .. }) => return Err(failed()),
            Err(e) => return Err(e),
        };
        let image = parse_image(&app, &bytes).map_err(|_| failed())?;
        if image.version != req.firmware {
            return Ok(Fetched::Update {
                master: master_name,
                image,
            });
        }
    }
    let mut params = BTreeMap::new();
    let mut files = Vec::new();
    for f in &m.config_files {
        let u = join(&dir, f, req)?;
        let body = match get(&http, req, &u).await? {
            Got::Body(b) => b,
            Got::NotFound => return Err(FetchFailure::Missing { file: f.clone() }),
        };
        for (k, v) in parse_config(f, &body)? {
            params.entry(k).or_insert(v);
        }
        files.push(f.clone());
    }
    Ok(Fetched::Loaded {
        master: master_name,
        files,
        params,
    })
}

fn join(dir: &url::Url, name: &str, req: &Request) -> Result<url::Url, FetchFailure> {
    if name.contains("://") {
        url::Url::parse(name)
    } else {
        dir.join(name)
    }
    .map_err(|_| FetchFailure::BadAddress(req.server.clone()))
}

fn file_name(u: &url::Url) -> String {
    u.path_segments()
        .and_then(|mut s| s.next_back().map(str::to_string))
        .unwrap_or_default()
}

enum Got {
    Body(Vec<u8>),
    NotFound,
}

async fn get(http: &reqwest::Client, req: &Request, url: &url::Url) -> Result<Got, FetchFailure> {
    let host = url.host_str().unwrap_or("").to_string();
    let file = file_name(url);
    let mut r = http.get(url.clone());
    if let (Some(u), Some(p)) = (&req.user, &req.password) {
        if !u.is_empty() {
            r = r.basic_auth(u, Some(p));
        }
    }
    let resp = r
        .send()
        .await
        .map_err(|e| transport(&e, &host, url.port_or_known_default().unwrap_or(0), &file))?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => {}
        404 | 410 => return Ok(Got::NotFound),
        401 | 403 => return Err(FetchFailure::Refused { file, status }),
        500.. => return Err(FetchFailure::ServerError { file, status }),
        // A redirect or another client error is not a credentials problem: the phone got no usable file (it
        // follows no redirects). [I]
        300..=399 => {
            return Err(FetchFailure::Invalid {
                file,
                detail: format!("HTTP {status}: a redirect, which the phone does not follow"),
            });
        }
        _ => {
            return Err(FetchFailure::Invalid {
                file,
                detail: format!("HTTP {status}"),
            });
        }
    }
    let mut body = Vec::new();
    let mut resp = resp;
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_FILE {
                    return Err(FetchFailure::Invalid {
                        file,
                        detail: "larger than the phone accepts".into(),
                    });
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => break,
            Err(_) => return Err(FetchFailure::Cut { file }),
        }
    }
    Ok(Got::Body(body))
}

fn transport(e: &reqwest::Error, host: &str, port: u16, file: &str) -> FetchFailure {
    let mut chain = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(s) = cur {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        cur = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    let host = host.to_string();
    // The connection was made and then dropped mid-answer (checked first: rustls reports a peer that closes
    // without close_notify in words that mention TLS).
    if lower.contains("close_notify")
        || lower.contains("connection closed before")
        || lower.contains("incomplete")
        || lower.contains("unexpected eof")
        || lower.contains("connection reset")
    {
        return FetchFailure::Cut {
            file: file.to_string(),
        };
    }
    if lower.contains("dns error")
        || lower.contains("no address is known")
        || lower.contains("does not resolve")
        || lower.contains("reserved domain")
    {
        FetchFailure::Dns { host }
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        let detail = if lower.contains("expired") {
            "certificate verify failed (certificate has expired)"
        } else if lower.contains("notvalidyet") || lower.contains("not valid yet") {
            "certificate verify failed (certificate is not yet valid)"
        } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
            "certificate verify failed (unable to get local issuer certificate)"
        } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
            "certificate verify failed (hostname mismatch)"
        } else {
            "handshake failure"
        };
        FetchFailure::Tls {
            host,
            detail: detail.into(),
        }
    } else if e.is_timeout() {
        FetchFailure::Timeout { host }
    } else {
        FetchFailure::Connect { host, port }
    }
}

/// What a master file says for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Master {
    pub app_file: Option<String>,
    pub config_files: Vec<String>,
}

/// Parse a master configuration file (`<APPLICATION …>`), choosing the model's own attributes (`key`: `VVX411`)
/// over the defaults.
pub fn parse_master(file: &str, body: &[u8], key: &str) -> Result<Master, FetchFailure> {
    let invalid = |detail: String| FetchFailure::Invalid {
        file: file.to_string(),
        detail,
    };
    let text = std::str::from_utf8(body).map_err(|_| invalid("not UTF-8 text".into()))?;
    let doc = roxmltree::Document::parse(text).map_err(|e| invalid(format!("not XML ({e})")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "APPLICATION" {
        return Err(invalid(format!(
            "the root element is <{}>, not <APPLICATION>",
            root.tag_name().name()
        )));
    }
    let per_model = root
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == format!("APPLICATION_{key}"));
    let pick = |name: &str| -> Option<String> {
        per_model
            .and_then(|m| m.attribute(format!("{name}_{key}").as_str()))
            .filter(|v| !v.trim().is_empty())
            .or_else(|| root.attribute(name))
            .map(|v| v.trim().to_string())
    };
    let config_files = pick("CONFIG_FILES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Master {
        app_file: pick("APP_FILE_PATH"),
        config_files,
    })
}

/// Parse the simulator's firmware image.
pub fn parse_image(file: &str, body: &[u8]) -> Result<Image, FetchFailure> {
    #[derive(serde::Deserialize)]
    struct Raw {
        version: String,
        profile: Option<String>,
    }
    let invalid = |detail: &str| FetchFailure::Invalid {
        file: file.to_string(),
        detail: detail.to_string(),
    };
    let text = std::str::from_utf8(body).map_err(|_| invalid("not an application image"))?;
    let raw: Raw = toml::from_str(text).map_err(|_| invalid("not an application image"))?;
    Ok(Image {
        file: file.to_string(),
        version: raw.version,
        profile: raw.profile,
    })
}

/// Every attribute of every element of a configuration file: the phone reads the dotted parameter names and
/// ignores the element names.
pub fn parse_config(file: &str, body: &[u8]) -> Result<Vec<(String, String)>, FetchFailure> {
    let invalid = |detail: String| FetchFailure::Invalid {
        file: file.to_string(),
        detail,
    };
    let text = std::str::from_utf8(body).map_err(|_| invalid("not UTF-8 text".into()))?;
    let doc = roxmltree::Document::parse(text).map_err(|e| invalid(format!("not XML ({e})")))?;
    Ok(doc
        .descendants()
        .filter(|n| n.is_element())
        .flat_map(|n| {
            n.attributes()
                .map(|a| (a.name().to_string(), a.value().to_string()))
                .collect::<Vec<_>>()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address's own scheme wins over the server type; a bare host takes the type's; paths end in `/`.
    #[test]
    fn base_urls() {
        assert_eq!(
            base_url("prov.example.test/594", "HTTPS").unwrap().as_str(),
            "https://prov.example.test/594/"
        );
        assert_eq!(
            base_url("http://prov.example.test", "HTTPS")
                .unwrap()
                .as_str(),
            "http://prov.example.test/"
        );
        assert_eq!(
            base_url("https://p.example.test/x/master.cfg", "HTTPS")
                .unwrap()
                .path(),
            "/x/master.cfg"
        );
        assert!(matches!(
            base_url("prov.example.test", "FTP"),
            Err(FetchFailure::Unsupported { .. })
        ));
        assert!(base_url("", "HTTPS").is_err());
    }

    /// The model's own attributes win; the defaults apply otherwise; a page that is not a master file says so.
    #[test]
    fn master_files() {
        let body = br#"<?xml version="1.0" standalone="yes"?>
<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="a.cfg, b.cfg">
  <APPLICATION_VVX411 APP_FILE_PATH_VVX411="firmware/6.4.7.4560/sip.ld" CONFIG_FILES_VVX411=""/>
</APPLICATION>"#;
        let m = parse_master("x.cfg", body, "VVX411").unwrap();
        assert_eq!(m.app_file.as_deref(), Some("firmware/6.4.7.4560/sip.ld"));
        assert_eq!(m.config_files, ["a.cfg", "b.cfg"]);
        let m = parse_master("x.cfg", body, "CCX500").unwrap();
        assert_eq!(m.app_file.as_deref(), Some("sip.ld"));
        let e = parse_master("x.cfg", b"<html><body>Welcome</body></html>", "VVX411").unwrap_err();
        assert!(e.to_string().contains("<html>"), "{e}");
        assert!(parse_master("x.cfg", b"\xff\xfe", "VVX411").is_err());
    }

    /// Parameters are read from attributes of any element.
    #[test]
    fn config_files() {
        let p = parse_config(
            "l.cfg",
            br#"<PHONE_CONFIG><reg reg.1.label="Inactive" reg.1.address=""/><x><device device.set="1"/></x></PHONE_CONFIG>"#,
        )
        .unwrap();
        assert!(p.contains(&("reg.1.label".into(), "Inactive".into())));
        assert!(p.contains(&("device.set".into(), "1".into())));
    }
}
