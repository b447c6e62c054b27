//! The simulated provisioning server: a real HTTPS (and optionally HTTP) server that simulated phones fetch their
//! configuration from over the network, as real phones fetch theirs from a cloud service. It serves a [`Site`]
//! (a directory of files and per-MAC files generated for the phones it knows), demands server credentials when
//! configured, and shows the faults a real site meets on demand: unreachable, 404 for a MAC, 401/403, slow, wrong
//! content, an untrusted or expired certificate, going away mid-update. Every request is recorded, so tests assert
//! on what the phones really fetched.
//!
//! - `site`: what is served.

pub mod site;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::ca::{CaError, TestCa, Validity};
use super::runtime::SimBody;
use crate::mac::Mac;
pub use site::{Enrolled, FirmwareRef, Site};

/// Faults of the provisioning server, set at start or through the control endpoint (`PUT /prov/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default, deny_unknown_fields)]
pub struct ServerFaults {
    /// Nothing listens: connections are refused (a firewall, a server that is down).
    pub unreachable: bool,
    /// Delay every answer by this many wall-clock milliseconds.
    pub slow_ms: u64,
    /// Answer 403 Forbidden to everything.
    pub forbidden: bool,
    /// Answer every configuration file with an HTML page (a captive portal or a web server's default page).
    pub wrong_content: bool,
    /// Present a certificate from a CA the phones do not trust.
    pub untrusted_cert: bool,
    /// Present an expired certificate from the trusted CA.
    pub expired_cert: bool,
    /// Cut off the next firmware download half-way and go away (then unreachable).
    pub gone_mid_update: bool,
    /// MACs the service does not know: their files answer 404 (not entered in the admin console).
    pub unknown_macs: Vec<Mac>,
    /// MACs whose files answer 401 (the service refuses this device's credentials).
    pub refuse_macs: Vec<Mac>,
}

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ProvServerConfig {
    /// Host name in its certificate and in the simulated phones' name table.
    pub name: String,
    pub ip: IpAddr,
    /// HTTPS port (0: any free port).
    pub https_port: u16,
    /// Also serve plain HTTP on this port (0: any free port).
    pub http_port: Option<u16>,
    /// Path the files live under, with slashes (`/poly/`).
    pub root: String,
    /// Server user and password the phones must send (`device.prov.user` / `device.prov.password`).
    pub credentials: Option<(String, String)>,
    pub site: Site,
    pub faults: ServerFaults,
}

/// One answered request (the ground truth of what a phone fetched).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Served {
    /// Seconds since the server started (wall clock).
    pub at_secs: f64,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// The MAC a per-MAC file names.
    pub mac: Option<Mac>,
    /// The server user the request authenticated as.
    pub user: Option<String>,
    pub user_agent: String,
    /// The answer was cut off (gone mid-update).
    pub cut: bool,
}

/// What the control endpoint shows of the server.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServerReport {
    pub url: String,
    pub http_url: Option<String>,
    pub name: String,
    pub https: SocketAddr,
    pub http: Option<SocketAddr>,
    pub up: bool,
    pub faults: ServerFaults,
    pub requests: u64,
    /// The most recent requests, oldest first.
    pub served: Vec<Served>,
}

/// Requests kept in memory for the control endpoint.
const KEEP: usize = 20_000;

struct State {
    site: Site,
    faults: ServerFaults,
    served: VecDeque<Served>,
    requests: u64,
}

/// A running provisioning server.
pub struct ProvServer {
    name: String,
    root: String,
    credentials: Option<(String, String)>,
    https: SocketAddr,
    http: Option<SocketAddr>,
    state: Mutex<State>,
    tls: Mutex<Arc<rustls::ServerConfig>>,
    ca: Arc<TestCa>,
    up: watch::Sender<bool>,
    started: std::time::Instant,
}

impl std::fmt::Debug for ProvServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvServer")
            .field("name", &self.name)
            .field("https", &self.https)
            .finish()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProvServerError {
    #[error("provisioning server: cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ca(#[from] CaError),
}

fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, ProvServerError> {
    let l = std::net::TcpListener::bind(addr)
        .map_err(|source| ProvServerError::Listen { addr, source })?;
    l.set_nonblocking(true)
        .map_err(|source| ProvServerError::Listen { addr, source })?;
    Ok(l)
}

impl ProvServer {
    /// Bind the listeners and serve until the returned tasks are dropped.
    pub fn start(
        config: ProvServerConfig,
        ca: Arc<TestCa>,
        tasks: &mut JoinSet<()>,
    ) -> Result<Arc<ProvServer>, ProvServerError> {
        let https = bind(SocketAddr::new(config.ip, config.https_port))?;
        let https_addr = https
            .local_addr()
            .map_err(|source| ProvServerError::Listen {
                addr: SocketAddr::new(config.ip, config.https_port),
                source,
            })?;
        let http = match config.http_port {
            Some(p) => Some(bind(SocketAddr::new(config.ip, p))?),
            None => None,
        };
        let http_addr = http.as_ref().and_then(|l| l.local_addr().ok());
        let tls = certificate(&ca, &config.name, config.ip, &config.faults)?;
        let mut root = config.root.clone();
        if !root.starts_with('/') {
            root.insert(0, '/');
        }
        if !root.ends_with('/') {
            root.push('/');
        }
        let mut site = config.site;
        site.server_url = Some(format!(
            "https://{}:{}{root}",
            config.name,
            https_addr.port()
        ));
        let server = Arc::new(ProvServer {
            name: config.name.clone(),
            root,
            credentials: config.credentials.clone(),
            https: https_addr,
            http: http_addr,
            up: watch::Sender::new(!config.faults.unreachable),
            state: Mutex::new(State {
                site,
                faults: config.faults,
                served: VecDeque::new(),
                requests: 0,
            }),
            tls: Mutex::new(tls),
            ca,
            started: std::time::Instant::now(),
        });
        tasks.spawn(serve(server.clone(), Some((https, http))));
        Ok(server)
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// The URL phones are pointed at: `https://NAME:PORT/ROOT/`.
    pub fn url(&self) -> String {
        format!("https://{}:{}{}", self.name, self.https.port(), self.root)
    }

    /// The plain-HTTP URL, when the server also speaks HTTP.
    pub fn http_url(&self) -> Option<String> {
        self.http
            .map(|a| format!("http://{}:{}{}", self.name, a.port(), self.root))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ip(&self) -> IpAddr {
        self.https.ip()
    }

    /// The CA that issued its certificate (what phones, and the agent's `--server-ca`, trust).
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Change the service's data (enrol a phone, activate one).
    pub fn edit<R>(&self, f: impl FnOnce(&mut Site) -> R) -> R {
        self.with(|s| f(&mut s.site))
    }

    /// Replace the faults; certificates and listeners change at once.
    pub fn set_faults(&self, faults: ServerFaults) -> Result<(), CaError> {
        let tls = certificate(&self.ca, &self.name, self.ip(), &faults)?;
        *self.tls.lock().unwrap_or_else(|e| e.into_inner()) = tls;
        let unreachable = faults.unreachable;
        self.with(|s| s.faults = faults);
        self.up.send_replace(!unreachable);
        Ok(())
    }

    pub fn report(&self) -> ServerReport {
        self.with(|s| ServerReport {
            url: self.url(),
            http_url: self.http_url(),
            name: self.name.clone(),
            https: self.https,
            http: self.http,
            up: !s.faults.unreachable,
            faults: s.faults.clone(),
            requests: s.requests,
            served: s.served.iter().cloned().collect(),
        })
    }

    /// Every request that named this MAC's files, oldest first.
    pub fn served_to(&self, mac: Mac) -> Vec<Served> {
        self.with(|s| {
            s.served
                .iter()
                .filter(|r| r.mac == Some(mac))
                .cloned()
                .collect()
        })
    }

    fn answer(&self, method: &str, path: &str, auth: Option<&str>, ua: &str) -> Answer {
        let rel = path
            .split('?')
            .next()
            .unwrap_or("")
            .strip_prefix(self.root.as_str())
            .map(str::to_string);
        let mac = rel.as_deref().and_then(site::mac_file).map(|(m, _)| m);
        let user = auth
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| {
                t.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            });
        let mut a = self.with(|s| {
            s.requests += 1;
            let f = &s.faults;
            let status_only = |status: u16, body: &'static str| Answer {
                status,
                content_type: "text/html",
                body: Bytes::from_static(body.as_bytes()),
                cut: false,
                challenge: status == 401,
                slow_ms: f.slow_ms,
            };
            if method != "GET" && method != "HEAD" {
                return status_only(405, PAGE_405);
            }
            if f.forbidden {
                return status_only(403, PAGE_403);
            }
            if let Some((u, p)) = &self.credentials {
                if user.as_ref() != Some(&(u.clone(), p.clone())) {
                    return status_only(401, PAGE_401);
                }
            }
            if mac.is_some_and(|m| f.refuse_macs.contains(&m)) {
                return status_only(401, PAGE_401);
            }
            let Some(rel) = rel.as_deref() else {
                return status_only(404, PAGE_404);
            };
            if mac.is_some_and(|m| f.unknown_macs.contains(&m)) {
                return status_only(404, PAGE_404);
            }
            if f.wrong_content && rel.ends_with(".cfg") {
                return Answer {
                    status: 200,
                    content_type: "text/html",
                    body: Bytes::from_static(PORTAL.as_bytes()),
                    cut: false,
                    challenge: false,
                    slow_ms: f.slow_ms,
                };
            }
            match s.site.file(rel) {
                None => status_only(404, PAGE_404),
                Some(body) => {
                    let image = rel.ends_with(".ld");
                    let cut = image && f.gone_mid_update;
                    Answer {
                        status: 200,
                        content_type: if image {
                            "application/octet-stream"
                        } else {
                            "text/xml"
                        },
                        body,
                        cut,
                        challenge: false,
                        slow_ms: f.slow_ms,
                    }
                }
            }
        });
        let record = Served {
            at_secs: self.started.elapsed().as_secs_f64(),
            method: method.to_string(),
            path: path.to_string(),
            status: a.status,
            mac,
            user: user.map(|(u, _)| u),
            user_agent: ua.chars().take(200).collect(),
            cut: a.cut,
        };
        self.with(|s| {
            if s.served.len() >= KEEP {
                s.served.pop_front();
            }
            s.served.push_back(record);
        });
        if a.cut {
            // One download is cut: the next is not (until the server goes away, below).
            self.with(|s| s.faults.gone_mid_update = false);
        }
        if method == "HEAD" {
            a.body = Bytes::new();
        }
        a
    }
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: Bytes,
    cut: bool,
    challenge: bool,
    slow_ms: u64,
}

const PAGE_401: &str =
    "<html><head><title>401 Unauthorized</title></head><body><h1>Unauthorized</h1></body></html>\n";
const PAGE_403: &str =
    "<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>\n";
const PAGE_404: &str =
    "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n";
const PAGE_405: &str = "<html><head><title>405 Method Not Allowed</title></head><body><h1>Method Not Allowed</h1></body></html>\n";
const PORTAL: &str = "<!DOCTYPE html>\n<html><head><title>Welcome - Guest network</title></head><body><form action=\"/login\"><p>Please accept the terms of use to continue.</p></form></body></html>\n";

fn certificate(
    ca: &TestCa,
    name: &str,
    ip: IpAddr,
    faults: &ServerFaults,
) -> Result<Arc<rustls::ServerConfig>, CaError> {
    let names = vec![name.to_string(), ip.to_string()];
    if faults.untrusted_cert {
        let stranger = TestCa::generate("Untrusted Example CA")?;
        return stranger.server_config(&names, Validity::Current);
    }
    let validity = if faults.expired_cert {
        Validity::Expired
    } else {
        Validity::Current
    };
    ca.server_config(&names, validity)
}

type Listeners = (std::net::TcpListener, Option<std::net::TcpListener>);

async fn accept(l: &Option<TcpListener>) -> std::io::Result<tokio::net::TcpStream> {
    match l {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

/// Serve while up; close the listeners while "unreachable" and reopen them on the same ports after.
async fn serve(server: Arc<ProvServer>, mut first: Option<Listeners>) {
    let mut up = server.up.subscribe();
    loop {
        if !*up.borrow_and_update() {
            // Closed ports refuse connections at once (a listener that never accepts would leave them hanging).
            first = None;
        }
        while !*up.borrow_and_update() {
            if up.changed().await.is_err() {
                return;
            }
        }
        let (https, http) = match first.take() {
            Some(l) => l,
            None => match (bind(server.https), server.http.map(bind).transpose()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (Ok(https), http) = (
            TcpListener::from_std(https),
            http.map(TcpListener::from_std).transpose().ok().flatten(),
        ) else {
            return;
        };
        let https = Some(https);
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                r = accept(&https) => if let Ok(s) = r {
                    let acceptor = TlsAcceptor::from(server.tls.lock().unwrap_or_else(|e| e.into_inner()).clone());
                    let server = server.clone();
                    conns.spawn(async move {
                        if let Ok(tls) = acceptor.accept(s).await {
                            serve_conn(server, TokioIo::new(tls)).await;
                        }
                    });
                },
                r = accept(&http) => if let Ok(s) = r {
                    conns.spawn(serve_conn(server.clone(), TokioIo::new(s)));
                },
                _ = conns.join_next(), if !conns.is_empty() => {},
                r = up.changed() => {
                    if r.is_err() || !*up.borrow_and_update() {
                        break;
                    }
                }
            }
        }
        drop(https);
        drop(http);
        conns.shutdown().await;
    }
}

async fn serve_conn<I>(server: Arc<ProvServer>, io: I)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| respond(server.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

async fn respond(
    server: Arc<ProvServer>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<SimBody>, Infallible> {
    let header = |n: http::header::HeaderName| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let auth = header(http::header::AUTHORIZATION);
    let ua = header(http::header::USER_AGENT).unwrap_or_default();
    let path = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    let a = server.answer(req.method().as_str(), &path, auth.as_deref(), &ua);
    if a.slow_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(a.slow_ms)).await;
    }
    let mut b = hyper::Response::builder()
        .status(a.status)
        .header("Server", "polyprov-sim-provisioning")
        .header("Content-Type", a.content_type)
        .header("Content-Length", a.body.len().to_string());
    if a.challenge {
        b = b.header(
            "WWW-Authenticate",
            "Basic realm=\"polyprov simulated provisioning\"",
        );
    }
    let body = if a.cut {
        // Half the image goes out, then the server goes away (unreachable): late enough that the half is sent
        // before the listeners and their connections close.
        let server = server.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let mut faults = server.with(|s| s.faults.clone());
            faults.unreachable = true;
            let _ = server.set_faults(faults);
        });
        SimBody::cut(a.body)
    } else {
        SimBody::full(a.body)
    };
    Ok(b.body(body)
        .unwrap_or_else(|_| hyper::Response::new(SimBody::full(Bytes::new()))))
}

/// Unused by the server itself; kept so `Full` stays one import away for the control endpoint's helpers.
#[allow(dead_code)]
type FullBody = Full<Bytes>;
