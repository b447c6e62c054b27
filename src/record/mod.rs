//! The recorder: a local reverse proxy between a browser and one phone that writes every exchange to a HAR 1.2
//! fixture, redacted (passwords, `Authorization`, cookies, CSRF tokens; see `fixture::redact`). A technician with
//! a new firmware build runs `polyprov record --target https://IP`, opens the printed local address, uses the web
//! UI as usual, and stops with Ctrl-C; the HAR is rewritten after every exchange, so nothing is lost.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::fixture::har::{
    Content, Creator, Entry, Har, Log, NameValue, PostData, Request, Response,
};
use crate::fixture::redact;
use crate::phone::tls::{PhoneVerifier, Trust};

mod wire;
use wire::{RawAnswer, Upstream};

/// `polyprov record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The phone's web address, e.g. https://198.18.0.10 (the scheme decides HTTP or HTTPS).
    #[arg(long)]
    pub target: url::Url,
    /// Where the browser connects (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// HAR file to write.
    #[arg(long, short, default_value = "recording.har")]
    pub out: PathBuf,
}

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "the recorder listens on loopback only, not {0}: the proxy carries the phone's admin session"
    )]
    NotLoopback(SocketAddr),
    #[error("--target {0} must be an http:// or https:// address of a phone")]
    Target(url::Url),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS client: {0}")]
    Tls(String),
}

/// A running recorder.
pub struct Recorder {
    addr: SocketAddr,
    state: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    target: url::Url,
    out: PathBuf,
    upstream: Upstream,
    /// The HAR skeleton; entries are kept raw in memory and redacted on every write, so form names learned from
    /// a later page still redact earlier entries.
    har: Mutex<Har>,
    raw: Mutex<Vec<Entry>>,
    /// Form names the pages seen so far mark as passwords.
    /// What the session has shown to be secret (password fields, typed values), learned as it goes.
    secrets: Mutex<redact::Secrets>,
    verifier: Arc<PhoneVerifier>,
    last_error: Mutex<Option<String>>,
}

impl Recorder {
    /// Start proxying `listen` → `target`, writing `out`.
    pub async fn start(
        target: url::Url,
        listen: SocketAddr,
        out: PathBuf,
    ) -> Result<Recorder, RecordError> {
        crate::init_tls();
        if !listen.ip().is_loopback() {
            return Err(RecordError::NotLoopback(listen));
        }
        if !matches!(target.scheme(), "http" | "https") || target.host().is_none() {
            return Err(RecordError::Target(target));
        }
        let verifier = PhoneVerifier::new(Trust::RecordOnly);
        let tls = verifier
            .client_config()
            .map_err(|e| RecordError::Tls(e.to_string()))?;
        let upstream = Upstream {
            host: target.host_str().unwrap_or_default().to_string(),
            port: target.port_or_known_default().unwrap_or(443),
            tls: (target.scheme() == "https").then(|| Arc::new(tls)),
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| RecordError::Listen {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| RecordError::Listen {
                addr: listen,
                source,
            })?;
        let state = Arc::new(Shared {
            target,
            out,
            upstream,
            har: Mutex::new(Har {
                log: Log {
                    version: "1.2".into(),
                    creator: Creator {
                        name: "polyprov record".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                    },
                    pages: Vec::new(),
                    entries: Vec::new(),
                    comment: Some("Recorded with polyprov record; passwords, credentials, cookies and CSRF tokens redacted.".into()),
                },
            }),
            raw: Mutex::new(Vec::new()),
            secrets: Mutex::new(redact::Secrets::default()),
            verifier,
            last_error: Mutex::new(None),
        });
        state.write()?;
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| proxy(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Recorder { addr, state, task })
    }

    /// Where the browser connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The phone's certificate, once seen.
    pub fn certificate(&self) -> Option<crate::phone::tls::CertInfo> {
        self.state.verifier.seen()
    }

    /// Stop, write the HAR a last time and return its path and entry count.
    pub fn stop(self) -> Result<(PathBuf, usize), RecordError> {
        self.task.abort();
        self.state.write()?;
        let n = self
            .state
            .raw
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        if let Some(e) = self
            .state
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            tracing::warn!("last write error: {e}");
        }
        Ok((self.state.out.clone(), n))
    }
}

impl Shared {
    /// Write the HAR atomically (temporary file, then rename).
    fn write(&self) -> Result<(), RecordError> {
        let secrets = self
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let entries: Vec<Entry> = self
            .raw
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|e| {
                let mut e = e.clone();
                secrets.redact(&mut e);
                e
            })
            .collect();
        let text = {
            let mut har = self.har.lock().unwrap_or_else(|e| e.into_inner()).clone();
            har.log.entries = entries;
            serde_json::to_string_pretty(&har).unwrap_or_default()
        };
        write_atomic(&self.out, text.as_bytes()).map_err(|source| RecordError::Write {
            path: self.out.clone(),
            source,
        })
    }
}

/// Write the file whole or not at all, readable by its owner only (0600: a recording is a record of a session).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("har.partial");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Headers that belong to one hop and are not forwarded.
const HOP: [&str; 8] = [
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "accept-encoding",
];

async fn proxy(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let started = SystemTime::now();
    let t0 = Instant::now();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Some(url) = upstream_url(&shared.target, pq) else {
        return Ok(plain(
            400,
            format!("polyprov record: refusing path {pq:?} (only paths on the phone are proxied)"),
        ));
    };
    let origin = shared.target.origin().ascii_serialization();
    let local = format!(
        "http://{}",
        parts
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
    );
    let mut sent_headers = Vec::new();
    let mut head = format!(
        "{} {} HTTP/1.1\r\n",
        parts.method,
        &url[url::Position::BeforePath..]
    );
    let authority = &url[url::Position::BeforeHost..url::Position::AfterPort];
    head.push_str(&format!("Host: {authority}\r\n"));
    for (k, v) in &parts.headers {
        if HOP.contains(&k.as_str()) {
            continue;
        }
        let v = v.to_str().unwrap_or("").replace(&local, &origin);
        head.push_str(&format!("{}: {v}\r\n", k.as_str()));
        sent_headers.push(NameValue {
            name: k.as_str().to_string(),
            value: v,
        });
    }
    if !body.is_empty() || !matches!(parts.method.as_str(), "GET" | "HEAD") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let answer = match shared
        .upstream
        .exchange(parts.method.as_str(), head.as_bytes(), &body)
        .await
    {
        Ok(a) => a,
        Err(e) => {
            return Ok(plain(
                502,
                format!("polyprov record: the phone at {url} did not answer: {e}"),
            ));
        }
    };
    let RawAnswer {
        status,
        reason,
        headers,
        body: bytes,
    } = answer;
    let mime = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let text = String::from_utf8(bytes.to_vec()).ok();
    let entry = entry(
        &parts,
        &url,
        sent_headers,
        &body,
        (status, reason.as_str()),
        &headers,
        &bytes,
        text,
        mime,
        started,
        t0,
    );
    shared
        .secrets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .learn(&entry);
    shared
        .raw
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(entry);
    if let Err(e) = shared.write() {
        *shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
    }
    let mut builder = hyper::Response::builder().status(status);
    for (k, v) in &headers {
        if HOP.contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        // The browser talks plain HTTP to the proxy: a Secure cookie would never come back.
        let v = if k.eq_ignore_ascii_case("set-cookie") {
            v.replace("; Secure", "")
        } else {
            v.clone()
        };
        builder = builder.header(k.as_str(), v);
    }
    Ok(builder
        .body(Full::new(bytes))
        .unwrap_or_else(|_| plain(502, "unreadable answer".into())))
}

/// The phone's URL for a browser path: only the path and query change, never the host (`//other.host/x` is
/// refused rather than followed).
fn upstream_url(target: &url::Url, path_and_query: &str) -> Option<url::Url> {
    if !path_and_query.starts_with('/') || path_and_query.starts_with("//") {
        return None;
    }
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let mut url = target.clone();
    url.set_path(path);
    url.set_query(query);
    (url.host_str() == target.host_str() && url.port() == target.port()).then_some(url)
}

fn plain(status: u16, text: String) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
    r
}

#[allow(clippy::too_many_arguments)]
fn entry(
    parts: &http::request::Parts,
    url: &url::Url,
    headers: Vec<NameValue>,
    body: &Bytes,
    (status, reason): (u16, &str),
    resp_headers: &[(String, String)],
    resp_bytes: &Bytes,
    text: Option<String>,
    mime: String,
    started: SystemTime,
    t0: Instant,
) -> Entry {
    use base64::Engine;
    let cookies = |value: Option<&str>| -> Vec<NameValue> {
        value
            .into_iter()
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .map(|(k, v)| NameValue {
                name: k.to_string(),
                value: v.to_string(),
            })
            .collect()
    };
    let req_cookie = parts.headers.get("cookie").and_then(|v| v.to_str().ok());
    let post_data = (!body.is_empty()).then(|| {
        let mime_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = String::from_utf8_lossy(body).into_owned();
        let params = if mime_type.starts_with("application/x-www-form-urlencoded") {
            url::form_urlencoded::parse(body)
                .map(|(k, v)| NameValue {
                    name: k.into_owned(),
                    value: v.into_owned(),
                })
                .collect()
        } else {
            Vec::new()
        };
        PostData {
            mime_type,
            text,
            params,
        }
    });
    let (content_text, encoding) = match text {
        Some(t) => (Some(t), None),
        None => (
            Some(base64::engine::general_purpose::STANDARD.encode(resp_bytes)),
            Some("base64".to_string()),
        ),
    };
    let set_cookies: Vec<NameValue> = resp_headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .flat_map(|(_, v)| cookies(v.split(';').next()))
        .collect();
    Entry {
        started_date_time: crate::clock::iso8601(started),
        time: t0.elapsed().as_secs_f64() * 1000.0,
        request: Request {
            method: parts.method.to_string(),
            url: url.to_string(),
            http_version: "HTTP/1.1".into(),
            cookies: cookies(req_cookie),
            headers,
            query_string: url
                .query_pairs()
                .map(|(k, v)| NameValue {
                    name: k.into_owned(),
                    value: v.into_owned(),
                })
                .collect(),
            post_data,
            headers_size: -1,
            body_size: body.len() as i64,
        },
        response: Response {
            status,
            status_text: reason.to_string(),
            http_version: "HTTP/1.1".into(),
            cookies: set_cookies,
            headers: resp_headers
                .iter()
                .map(|(k, v)| NameValue {
                    name: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            content: Content {
                size: resp_bytes.len() as i64,
                mime_type: mime,
                text: content_text,
                encoding,
            },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: resp_bytes.len() as i64,
        },
        cache: serde_json::json!({}),
        timings: serde_json::json!({ "send": 0, "wait": t0.elapsed().as_secs_f64() * 1000.0, "receive": 0 }),
        comment: None,
    }
}

/// `polyprov record`: run until Ctrl-C.
pub async fn run(args: RecordArgs) -> Result<(), RecordError> {
    let rec = Recorder::start(args.target.clone(), args.listen, args.out.clone()).await?;
    eprintln!(
        "Recording {} → {}. Open http://{}/ in a browser, use the web UI, then press Ctrl-C.",
        args.target,
        args.out.display(),
        rec.addr()
    );
    let _ = tokio::signal::ctrl_c().await;
    if let Some(c) = rec.certificate() {
        eprintln!("The phone presented the certificate {c}.");
    }
    let (path, n) = rec.stop()?;
    eprintln!("Wrote {n} exchanges to {} (redacted).", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Browser paths map onto the phone; a path naming another host is refused.
    #[test]
    fn upstream_stays_on_the_phone() {
        let t: url::Url = "https://198.18.0.10/".parse().unwrap();
        assert_eq!(
            upstream_url(&t, "/provConf.htm?x=1").unwrap().as_str(),
            "https://198.18.0.10/provConf.htm?x=1"
        );
        assert!(upstream_url(&t, "//evil.example.test/x").is_none());
        assert!(upstream_url(&t, "http://evil.example.test/").is_none());
    }
}
