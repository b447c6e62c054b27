//! The HTTP(S) connection to one phone: its address, the certificate trust, timeouts, and transport failures as
//! typed values (refused = the phone is down, reset = it dropped the connection, TLS = wrong device).
//!
//! Everything a device sends is bounded before it is kept: the whole request in time, the body in bytes (its
//! profile's caps; a default before the phone is recognised), and an HTML page in tags and nesting depth (checked
//! in one linear pass, so no page can make the parsers that read it costly). A device that breaks a budget is not
//! a phone: the client refuses every later request to it, so it never receives a credential.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

use super::tls::{CertInfo, PhoneVerifier, Trust};

/// A transport-level failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error(
        "{target} refused the connection or is unreachable (phone off, rebooting, or a wrong address)"
    )]
    Down { target: String },
    #[error("{target} did not answer within {secs} s")]
    Timeout { target: String, secs: u64 },
    #[error("{target} dropped the connection mid-answer")]
    Reset { target: String },
    #[error("{target}: certificate refused: {reason}")]
    Certificate { target: String, reason: String },
    #[error("{target}: certificate refused: {changed}")]
    CertificateChanged {
        target: String,
        changed: Box<super::known::Changed>,
    },
    #[error(
        "{target}: TLS handshake failed ({reason}); old firmware may only speak TLS 1.0/3DES: retry with --http if the phone serves plain HTTP"
    )]
    Tls { target: String, reason: String },
    #[error(
        "{target}: answer too large (over {limit} bytes; no Poly phone's page is): not treated as a phone, nothing more is sent to it. Fix: check the address"
    )]
    TooLarge { target: String, limit: usize },
    #[error(
        "{target}: page too deep ({what}; no Poly phone's page is): not treated as a phone, nothing more is sent to it. Fix: check the address"
    )]
    TooComplex { target: String, what: String },
    #[error(
        "{target}: answer headers too large ({what}; no Poly phone sends such): not treated as a phone, nothing more is sent to it. Fix: check the address"
    )]
    HeadersTooLarge { target: String, what: String },
    #[error("{target}: {reason}")]
    Other { target: String, reason: String },
}

impl ClientError {
    /// Worth retrying the same request (the phone may be mid-reboot or flaky).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Down { .. } | ClientError::Timeout { .. } | ClientError::Reset { .. }
        )
    }
}

/// An answer from the phone.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One phone's web server.
#[derive(Debug, Clone)]
pub struct PhoneClient {
    base: url::Url,
    http: reqwest::Client,
    /// For "is it up": never reuses a connection, so an answer (however late) or a drop after the handshake always
    /// comes from a connection the phone accepted just now, never from one it held before a reboot.
    probe: reqwest::Client,
    verifier: Arc<PhoneVerifier>,
    timeout: Duration,
    /// `Set-Cookie` values of answers cut off mid-body: a session the phone opened for a login whose answer was
    /// lost, which the session layer ends so it does not hold the phone's single web session.
    cut_cookies: Arc<std::sync::Mutex<Vec<String>>>,
    /// The most bytes one answer may carry.
    max_body: usize,
    /// Set when the device broke a budget: every later request fails with it, unsent.
    refused: Arc<std::sync::OnceLock<ClientError>>,
    /// The switch port's ARP budget (`onboard --interface`): a request to an address the kernel may have to
    /// resolve first waits for room, like the sweep.
    arp: Option<Arc<crate::discover::budget::PortBudget>>,
}

/// Most tags an HTML page may hold: real phone pages have a few hundred.
pub const MAX_TAGS: usize = 20_000;
/// Headers an answer may carry (a phone sends about ten); the head as a whole is held to hyper's 400 KiB buffer.
pub const MAX_HEADERS: usize = 64;
/// Deepest an HTML page may nest: real phone pages nest a few dozen deep.
pub const MAX_DEPTH: usize = 256;

/// Elements that never hold content (no end tag).
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Whether an HTML page stays within [`MAX_TAGS`] and [`MAX_DEPTH`]; what it broke, if not. One linear pass.
pub fn html_budget(body: &str) -> Result<(), String> {
    let bytes = body.as_bytes();
    let (mut tags, mut depth, mut i) = (0usize, 0usize, 0usize);
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'<') {
        let start = i + off + 1;
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(bytes.len(), |e| start + e);
        let tag = &body[start..end];
        i = (end + 1).min(bytes.len());
        match tag.as_bytes().first() {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                tags += 1;
                let name = &tag[..tag.bytes().take_while(u8::is_ascii_alphanumeric).count()];
                if !tag.ends_with('/') && !VOID.iter().any(|v| v.eq_ignore_ascii_case(name)) {
                    depth += 1;
                }
            }
            _ => {}
        }
        if tags > MAX_TAGS {
            return Err(format!("more than {MAX_TAGS} tags"));
        }
        if depth > MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} deep"));
        }
        if i >= bytes.len() {
            break;
        }
    }
    Ok(())
}

impl PhoneClient {
    /// A client for `base` (`https://198.18.0.10:443/`) trusting certificates per `trust`.
    pub fn new(
        base: url::Url,
        trust: Trust,
        timeout: Duration,
    ) -> Result<PhoneClient, ClientError> {
        PhoneClient::remembering(base, trust, None, timeout)
    }

    /// [`new`](Self::new), also holding each phone to the certificate it presented first (`known`).
    pub fn remembering(
        base: url::Url,
        trust: Trust,
        known: Option<Arc<super::known::KnownPhones>>,
        timeout: Duration,
    ) -> Result<PhoneClient, ClientError> {
        crate::init_tls();
        let target = base.to_string();
        let verifier = PhoneVerifier::remembering(trust, known);
        let tls = verifier.client_config().map_err(|e| ClientError::Other {
            target: target.clone(),
            reason: e.to_string(),
        })?;
        let build = |pooled: usize, total: Duration| {
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls.clone())
                // Names under the reserved domains (.test, .invalid, …) are never sent to a resolver.
                .dns_resolver(crate::resolve::Resolver::pinned(&[], 0).for_reqwest())
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .connect_timeout(connect_timeout(timeout))
                .timeout(total)
                .pool_max_idle_per_host(pooled)
                .http1_max_headers(MAX_HEADERS)
                .user_agent(concat!("polyprov/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| ClientError::Other {
                    target: target.clone(),
                    reason: e.to_string(),
                })
        };
        let http = build(2, timeout)?;
        // The whole answer is given longer than the connection: a probe that times out was connected.
        let probe = build(0, timeout.max(connect_timeout(timeout) + ANSWER_FLOOR))?;
        Ok(PhoneClient {
            base,
            http,
            probe,
            verifier,
            timeout,
            cut_cookies: Arc::default(),
            max_body: crate::profile::DEFAULT_MAX_PAGE_BYTES,
            refused: Arc::default(),
            arp: None,
        })
    }

    /// The same client, its requests paced by the port's ARP budget when a listener watches the port (`None`, or
    /// a budget nobody watches: not paced).
    pub fn paced(self, arp: Option<Arc<crate::discover::budget::PortBudget>>) -> PhoneClient {
        PhoneClient { arp, ..self }
    }

    /// The same client with answers capped at `bytes` (the recognised profile's page cap).
    pub fn with_max_body(&self, bytes: usize) -> PhoneClient {
        PhoneClient {
            max_body: bytes,
            ..self.clone()
        }
    }

    /// The `Set-Cookie` values of answers that were cut off since the last call (at most a few kept).
    pub fn take_cut_cookies(&self) -> Vec<String> {
        std::mem::take(&mut *self.cut_cookies.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// The same client, trusting only the certificate of the phone with this MAC from now on.
    pub fn pinned_to(&self, mac: crate::mac::Mac) -> Result<PhoneClient, ClientError> {
        let pinned = PhoneClient::remembering(
            self.base.clone(),
            Trust::PolyPhone(Some(mac)),
            self.verifier.known().cloned(),
            self.timeout,
        )?;
        Ok(PhoneClient {
            max_body: self.max_body,
            refused: self.refused.clone(),
            arp: self.arp.clone(),
            ..pinned
        })
    }

    /// The same client pointed at another address (the phone moved).
    pub fn moved_to(&self, host: std::net::IpAddr) -> PhoneClient {
        let mut base = self.base.clone();
        let _ = base.set_ip_host(host);
        PhoneClient {
            base,
            ..self.clone()
        }
    }

    /// The certificate the phone presented last.
    pub fn certificate(&self) -> Option<CertInfo> {
        self.verifier.seen()
    }

    /// Whether the last accepted certificate was the one remembered for the phone (`Known`) or its first
    /// (`First`, remembered now); `None` without a known-phones memory.
    pub fn remembered(&self) -> Option<super::known::Seen> {
        self.verifier.remembered()
    }

    /// Send a request; `headers` are added as given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> Result<Reply, ClientError> {
        self.send_on(&self.http, method, path, headers, body, self.max_body)
            .await
    }

    /// [`send`](Self::send) with the answer capped at `max_body` bytes (a log, which may be larger than a page).
    pub async fn send_capped(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        max_body: usize,
    ) -> Result<Reply, ClientError> {
        self.send_on(&self.http, method, path, headers, None, max_body)
            .await
    }

    async fn send_on(
        &self,
        http: &reqwest::Client,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<String>,
        max_body: usize,
    ) -> Result<Reply, ClientError> {
        if let Some(e) = self.refused.get() {
            return Err(e.clone());
        }
        if let (Some(arp), Some(url::Host::Ipv4(ip))) = (&self.arp, self.base.host()) {
            if arp.is_watched() {
                arp.resolve(ip).await;
            }
        }
        let result = self
            .exchange(http, method, path, headers, body, max_body)
            .await;
        if let Err(
            e @ (ClientError::TooLarge { .. }
            | ClientError::TooComplex { .. }
            | ClientError::HeadersTooLarge { .. }),
        ) = &result
        {
            let _ = self.refused.set(e.clone());
        }
        result
    }

    async fn exchange(
        &self,
        http: &reqwest::Client,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<String>,
        max_body: usize,
    ) -> Result<Reply, ClientError> {
        let target = self.base.to_string();
        let url = self.base.join(path).map_err(|e| ClientError::Other {
            target: target.clone(),
            reason: format!("bad path {path}: {e}"),
        })?;
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| ClientError::Other {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        let mut req = http.request(method, url);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(b);
        }
        let mut resp = req.send().await.map_err(|e| self.classify(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let too_large = || ClientError::TooLarge {
            target: target.clone(),
            limit: max_body,
        };
        if resp.content_length().is_some_and(|n| n > max_body as u64) {
            return Err(too_large());
        }
        let mut bytes: Vec<u8> = Vec::new();
        let read = loop {
            match resp.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() > max_body => return Err(too_large()),
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let body = match read {
            Ok(()) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                let set: Vec<String> = headers
                    .get_all("set-cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .take(4)
                    .map(str::to_string)
                    .collect();
                if !set.is_empty() {
                    let mut kept = self.cut_cookies.lock().unwrap_or_else(|e| e.into_inner());
                    kept.extend(set);
                    let over = kept.len().saturating_sub(8);
                    kept.drain(..over);
                }
                return Err(match self.classify(&e) {
                    ClientError::Other { target, .. } => ClientError::Reset { target },
                    other => other,
                });
            }
        };
        let html = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("html"))
            || body.trim_start().starts_with('<');
        if html {
            html_budget(&body).map_err(|what| ClientError::TooComplex {
                target: target.clone(),
                what,
            })?;
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Is the phone's web server there? Asked on a new connection: a phone that accepts it and completes the
    /// handshake is up, whether it then answers, answers late (a busy phone can take seconds), or drops the
    /// connection (flaky firmware, or a reboot starting right then — the next look sees it down). A connection
    /// refused, unreachable or not made in time is down, and so is a certificate for another device (whatever
    /// answers there now is not this phone). `None` when the handshake itself failed twice (inconclusive).
    pub async fn alive(&self, path: &str) -> Option<bool> {
        for _ in 0..2 {
            match self
                .send_on(&self.probe, "GET", path, &[], None, self.max_body)
                .await
            {
                // Something answered (a device over its budgets is there, and is refused at the next request).
                Ok(_)
                | Err(
                    ClientError::Timeout { .. }
                    | ClientError::Reset { .. }
                    | ClientError::TooLarge { .. }
                    | ClientError::TooComplex { .. },
                ) => {
                    return Some(true);
                }
                Err(ClientError::Down { .. } | ClientError::Certificate { .. }) => {
                    return Some(false);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        None
    }

    /// GET with retries on transient failures and server errors (up to `attempts`, short backoff).
    pub async fn get_retrying(
        &self,
        path: &str,
        headers: &[(&str, String)],
        attempts: u32,
    ) -> Result<Reply, ClientError> {
        let mut last = None;
        for i in 0..attempts.max(1) {
            match self.send("GET", path, headers, None).await {
                // A server error may pass (a phone still starting its web server): try again while tries are left.
                Ok(r) if r.status >= 500 && i + 1 < attempts.max(1) => {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(i + 1))).await;
                }
                Ok(r) => return Ok(r),
                Err(e) if e.is_transient() && !matches!(e, ClientError::Down { .. }) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(i + 1))).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(ClientError::Other {
            target: self.base.to_string(),
            reason: "no attempt made".into(),
        }))
    }

    fn classify(&self, e: &reqwest::Error) -> ClientError {
        let target = self.base.to_string();
        let chain = error_chain(e);
        if chain.contains("presented a different certificate than the one remembered")
            && let Some(changed) = self.verifier.changed()
        {
            return ClientError::CertificateChanged {
                target,
                changed: Box::new(changed),
            };
        }
        if chain.contains("not a Poly phone")
            || chain.contains("but this phone's MAC is")
            || chain.contains("could not be checked against the known phones")
        {
            let reason = chain
                .split("the certificate")
                .nth(1)
                .map(|r| format!("the certificate{r}"))
                .unwrap_or(chain.clone());
            return ClientError::Certificate { target, reason };
        }

        if chain.contains("never looked up") {
            let reason = chain.rsplit(": ").next().unwrap_or(&chain).to_string();
            return ClientError::Other {
                target,
                reason: format!("{reason}; give the phone by its IP address"),
            };
        }
        let lower = chain.to_ascii_lowercase();
        // hyper says the same of too many headers and of too many bytes of them.
        if lower.contains("message head is too large") || lower.contains("too many headers") {
            return ClientError::HeadersTooLarge {
                target,
                what: format!("over {MAX_HEADERS} headers or 400 KiB of them"),
            };
        }
        let tls_trouble = [
            "handshake",
            "protocol version",
            "protocolversion",
            "peer is incompatible",
            "alert",
        ]
        .iter()
        .any(|m| lower.contains(m));
        // A connection that cannot be made (refused, no route, connect timeout) means the phone is not there.
        if e.is_connect() && !tls_trouble {
            return ClientError::Down { target };
        }
        if e.is_timeout() {
            return ClientError::Timeout {
                target,
                secs: self.timeout.as_secs(),
            };
        }
        if tls_trouble {
            return ClientError::Tls {
                target,
                reason: chain,
            };
        }

        if lower.contains("reset")
            || lower.contains("connection closed")
            || lower.contains("incomplete")
            || lower.contains("unexpected eof")
            || e.is_body()
            || e.is_request()
        {
            return ClientError::Reset { target };
        }
        ClientError::Other {
            target,
            reason: chain,
        }
    }
}

/// How long a connection (TCP and TLS handshake) to a phone may take: longer means the phone is not there.
fn connect_timeout(timeout: Duration) -> Duration {
    timeout.min(Duration::from_secs(10))
}

/// What an "is it up" probe waits for an answer beyond its connection: a phone busy booting or provisioning can take
/// seconds to answer, and a connected phone that answers late is up.
const ANSWER_FLOOR: Duration = Duration::from_secs(5);

/// The whole `source()` chain of an error, joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
