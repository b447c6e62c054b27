//! A running simulated phone: its listeners (HTTPS, and HTTP where the profile has it) that close when it
//! reboots and reopen when it is back, the connections it serves, and the faults applied on the wire.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::TokioIo;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::SimNet;
use super::fetch::Image;
use super::lifecycle::Command;
use super::phone::{PhoneReport, PhoneState};
use super::tls;
use super::web::{self, Then};
use crate::clock::Clock;
use crate::fixture::Catalog;
use crate::mac::Mac;

/// Largest request body a phone accepts.
const MAX_BODY: usize = 64 * 1024;

/// One simulated phone while the simulator runs.
pub struct SimPhone {
    pub mac: Mac,
    pub clock: Clock,
    state: Mutex<PhoneState>,
    /// True while the phone is on the network.
    power: watch::Sender<bool>,
    commands: mpsc::UnboundedSender<Command>,
    /// Current certificate; swapped when the foreign-certificate fault changes.
    tls: Mutex<Arc<ServerConfig>>,
    /// Ports chosen at the first bind and reused after every reboot.
    ports: Mutex<(u16, u16)>,
    /// Page sets of other builds, for firmware updates that change the pages.
    catalog: Arc<Catalog>,
    /// Wall-clock time at phone time zero, for log timestamps.
    wall_epoch: SystemTime,
    /// The network as the phone sees it: its name table, the CAs it trusts, the simulated provisioning server.
    pub net: Arc<SimNet>,
}

impl SimPhone {
    pub(crate) fn new(
        state: PhoneState,
        catalog: Arc<Catalog>,
        ports: (u16, u16),
        net: Arc<SimNet>,
    ) -> Result<(Arc<SimPhone>, mpsc::UnboundedReceiver<Command>), tls::TlsError> {
        let tls = tls::server_config(&state.identity())?;
        let (commands, rx) = mpsc::unbounded_channel();
        let phone = SimPhone {
            mac: state.mac,
            clock: state.clock,
            power: watch::Sender::new(true),
            commands,
            tls: Mutex::new(tls),
            ports: Mutex::new(ports),
            catalog,
            wall_epoch: SystemTime::now(),
            net,
            state: Mutex::new(state),
        };
        Ok((Arc::new(phone), rx))
    }

    /// Run `f` on the phone's state (briefly: never across an await).
    pub fn with<R>(&self, f: impl FnOnce(&mut PhoneState) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The phone as the control endpoint reports it.
    pub fn report(&self) -> PhoneReport {
        let (https, http) = self.addrs();
        self.with(|p| p.report(https.map(|a| a.to_string()), http.map(|a| a.to_string())))
    }

    /// Current HTTPS and HTTP addresses (the phone's IP and its ports), where the profile serves them.
    pub fn addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        let (hs, h) = *self.ports.lock().unwrap_or_else(|e| e.into_inner());
        self.with(|p| {
            let http = &p.profile.http;
            (
                http.https.then_some(SocketAddr::new(p.ip, hs)),
                http.http.then_some(SocketAddr::new(p.ip, h)),
            )
        })
    }

    /// The phone's main web address: HTTPS where served, else HTTP.
    pub fn web_addr(&self) -> SocketAddr {
        let (hs, h) = self.addrs();
        hs.or(h)
            .unwrap_or_else(|| SocketAddr::new(self.with(|p| p.ip), 0))
    }

    pub(crate) fn power_down(&self) {
        self.power.send_replace(false);
    }

    pub(crate) fn power_up(&self) {
        self.power.send_replace(true);
    }

    /// Ask the lifecycle task to do something.
    pub fn command(&self, cmd: Command) {
        let _ = self.commands.send(cmd);
    }

    /// Replace the phone's faults (the certificate changes at once; a raised `factory-reset` resets the phone).
    pub fn set_faults(&self, faults: super::Faults) -> Result<(), tls::TlsError> {
        let (before, reset) = self.with(|p| {
            let before = p.identity();
            (before, faults.factory_reset > p.faults.factory_reset)
        });
        let after = tls::Identity {
            resets: faults.factory_reset,
            foreign: faults.foreign_cert,
            ..before
        };
        if after != before {
            let config = tls::server_config(&after)?;
            *self.tls.lock().unwrap_or_else(|e| e.into_inner()) = config;
        }
        self.with(|p| {
            p.faults = faults;
            if reset {
                p.factory_reset();
            }
        });
        Ok(())
    }

    /// Run the firmware of `image` from now on (and, where that build has recorded pages — of another profile for
    /// an update that changes the login generation — serve those).
    pub(crate) fn install(&self, image: &Image) {
        self.with(|p| {
            let profile_id = image
                .profile
                .clone()
                .unwrap_or_else(|| p.profile.id.clone());
            if let (Some(profile), Some(pages)) = (
                self.catalog.profiles.get(&profile_id),
                self.catalog.page_set(&profile_id, &image.version),
            ) {
                for f in &pages.fields {
                    p.config
                        .entry(f.paramname.clone())
                        .or_insert_with(|| f.value.clone());
                }
                p.profile = Arc::new(super::variant::profile(
                    profile,
                    &image.version,
                    &p.variants,
                ));
                p.pages = Arc::new(super::variant::pages(&pages, &p.variants));
            }
            p.set_firmware(image.version.clone());
        });
    }

    /// Bind the listeners the current profile needs, on the phone's current address and its ports.
    pub(crate) fn bind(&self) -> std::io::Result<Listeners> {
        let (ip, https, http) = self.with(|p| (p.ip, p.profile.http.https, p.profile.http.http));
        let mut ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        let https = if https {
            Some(listen(SocketAddr::new(ip, ports.0))?)
        } else {
            None
        };
        let http = if http {
            Some(listen(SocketAddr::new(ip, ports.1))?)
        } else {
            None
        };
        if let Some(l) = &https {
            ports.0 = l.local_addr()?.port();
        }
        if let Some(l) = &http {
            ports.1 = l.local_addr()?.port();
        }
        Ok(Listeners { https, http })
    }
}

/// The phone's open listeners.
pub struct Listeners {
    https: Option<TcpListener>,
    http: Option<TcpListener>,
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr.ip() {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    socket.listen(1024)
}

async fn accept(l: &Option<TcpListener>) -> std::io::Result<tokio::net::TcpStream> {
    match l {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

/// Serve the phone while it is up; close everything while it is down.
pub async fn serve(phone: Arc<SimPhone>, mut listeners: Option<Listeners>) {
    let mut power = phone.power.subscribe();
    loop {
        let ls = match listeners.take() {
            Some(l) => l,
            None => {
                while !*power.borrow_and_update() {
                    if power.changed().await.is_err() {
                        return;
                    }
                }
                match phone.bind() {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(phone = %phone.mac, "rebinding after reboot failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
        };
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                r = accept(&ls.https) => if let Ok(s) = r {
                    let acceptor = TlsAcceptor::from(phone.tls.lock().unwrap_or_else(|e| e.into_inner()).clone());
                    let phone = phone.clone();
                    let legacy = phone.with(|p| p.faults.legacy_tls);
                    conns.spawn(async move {
                        if legacy {
                            refuse_modern_tls(s).await;
                        } else if let Ok(tls) = acceptor.accept(s).await {
                            serve_conn(phone, TokioIo::new(tls)).await;
                        }
                    });
                },
                r = accept(&ls.http) => if let Ok(s) = r {
                    conns.spawn(serve_conn(phone.clone(), TokioIo::new(s)));
                },
                _ = conns.join_next(), if !conns.is_empty() => {},
                r = power.changed() => {
                    if r.is_err() || !*power.borrow_and_update() {
                        break;
                    }
                }
            }
        }
        drop(ls);
        conns.shutdown().await;
    }
}

/// What a TLS 1.0-only phone answers a modern ClientHello: a fatal `protocol_version` alert, then close.
async fn refuse_modern_tls(mut s: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut hello = [0u8; 512];
    let _ = s.read(&mut hello).await;
    let _ = s
        .write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])
        .await;
    let _ = s.shutdown().await;
}

async fn serve_conn<I>(phone: Arc<SimPhone>, io: I)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| respond(phone.clone(), req));
    // No `Date`: no recorded phone answer carries one.
    let _ = hyper::server::conn::http1::Builder::new()
        .title_case_headers(true)
        .auto_date_header(false)
        .serve_connection(io, service)
        .await;
}

async fn respond(
    phone: Arc<SimPhone>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<SimBody>, Infallible> {
    let (parts, body) = req.into_parts();
    // Routes that take no body are answered on the request head: no `100 Continue`, no wait for a body that a
    // client may announce and never send (S9's chunked reboot).
    let path = parts.uri.path().to_string();
    let body = if phone.with(|p| web::reads_body(p, parts.method.as_str(), &path)) {
        match http_body_util::Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        }
    } else {
        Bytes::new()
    };
    let request = web::Request {
        method: parts.method.to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.to_string()),
        headers: parts.headers,
        body,
    };
    let (reply, extra_headers, server, slow_ms, cut, (reason, build)) = phone.with(|p| {
        let extra = p.profile.http.extra_headers.clone();
        let server = p.profile.http.server.clone();
        let reply = if p.faults.server_errors > 0 {
            p.faults.server_errors -= 1;
            p.stats.server_errors += 1;
            web::Reply {
                status: 500,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>".into(),
                then: None,
            }
        } else {
            web::handle(p, &request, phone.wall_epoch)
        };
        let is_save = request.method == "POST" && p.profile.pages.form_submit.as_deref() == Some(request.path_and_query.as_str());
        let is_login = request.method == "POST"
            && p.profile.pages.auth.as_deref() == Some(request.path_and_query.as_str());
        let cut = if is_save && p.faults.reset_saves > 0 {
            p.faults.reset_saves -= 1;
            true
        } else if is_login && p.faults.reset_logins > 0 {
            p.faults.reset_logins -= 1;
            true
        } else {
            p.draw_reset()
        };
        if cut {
            p.stats.responses_cut += 1;
        }
        let reason = p.pages.reason(reply.status).map(str::to_string);
        let build = (p.pages.profile.clone(), p.pages.firmware.clone());
        (reply, extra, server, p.faults.slow_ms, cut, (reason, build))
    });
    if slow_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(slow_ms)).await;
    }
    match reply.then {
        Some(Then::Provisioned) => phone.command(Command::Provisioned),
        Some(Then::Reboot) => phone.command(Command::Reboot),
        None => {}
    }
    // Header order as the phones send it: Server, Content-Type, the family's fixed headers, then the rest.
    let mut builder = hyper::Response::builder()
        .status(reply.status)
        .header("Server", server);
    let (content_type, rest): (Vec<_>, Vec<_>) = reply
        .headers
        .iter()
        .partition(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    for (k, v) in content_type
        .into_iter()
        .chain(extra_headers.iter())
        .chain(rest)
    {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let bytes = Bytes::from(reply.body);
    builder = builder.header("Content-Length", bytes.len().to_string());
    let body = if cut {
        SimBody::cut(bytes)
    } else {
        SimBody::full(bytes)
    };
    let mut response = builder
        .body(body)
        .unwrap_or_else(|_| hyper::Response::new(SimBody::full(Bytes::new())));
    if let Some(spelling) = phone.net.header_spelling.get(&build) {
        response.extensions_mut().extend(spelling.clone());
    }
    // The reason phrase as recorded, where it is not the one hyper would write.
    if let Some(reason) =
        reason.filter(|r| Some(r.as_str()) != response.status().canonical_reason())
        && let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason)
    {
        response.extensions_mut().insert(phrase);
    }
    Ok(response)
}

/// A response body, whole or cut off half-way (the connection then drops).
///
/// A cut answer reaches the client as a phone's does: the status line, the headers (a login's `Set-Cookie`) and
/// the first half of the body arrive, then the connection drops. hyper drops what it has buffered but not yet
/// written when a body fails, so the body waits one poll after its half (hyper flushes then) before it fails;
/// without that pause the client never saw a byte of a cut answer, not even the headers.
pub struct SimBody {
    chunk: Option<Bytes>,
    fail_after: bool,
    /// The half was handed over and one poll has passed (hyper flushed it).
    flushed: bool,
}

impl SimBody {
    pub(crate) fn full(b: Bytes) -> SimBody {
        SimBody {
            chunk: (!b.is_empty()).then_some(b),
            fail_after: false,
            flushed: false,
        }
    }

    pub(crate) fn cut(b: Bytes) -> SimBody {
        let half = b.slice(..b.len() / 2);
        SimBody {
            chunk: (!half.is_empty()).then_some(half),
            fail_after: true,
            flushed: false,
        }
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(c) = self.chunk.take() {
            return Poll::Ready(Some(Ok(Frame::data(c))));
        }
        if self.fail_after && !self.flushed {
            // Let hyper write the head and the half out before the connection drops.
            self.flushed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.fail_after {
            self.fail_after = false;
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.chunk.is_none() && !self.fail_after
    }
}
