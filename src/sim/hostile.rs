//! Devices that pose as phones and attack whatever talks to them, for the tests and benchmarks of the agent's
//! defences: each presents a Poly-looking self-signed certificate (`CN=<MAC>, O=Polycom Inc.`, which anyone on the
//! LAN can copy) and then answers every request with its [`Attack`]. It counts what it was sent, so a test can
//! assert that no credential — or no byte at all — reached it. Loopback only, like every simulator part.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::tls::{Identity, TlsError};
use crate::mac::Mac;

/// What a hostile device answers to every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// A body that never ends (chunked, as fast as the client reads).
    EndlessBody,
    /// A page whose `Content-Length` says a gigabyte, then bytes as fast as the client reads.
    HugeLength,
    /// A page of 60,000 nested tags (under the size cap, as deep as a parser can be made to go).
    DeepPage,
    /// The heaviest page the budgets let through: just under 1 MiB, 19,000 tags nested 200 deep, 95 times over
    /// (what parsing may cost at most; the device is then not recognised as any phone).
    HeaviestAllowed,
    /// Headers without end (`X-Filler-N: …`, as fast as the client reads).
    HeaderFlood,
    /// A thousand small headers, then a small page.
    ManyHeaders,
    /// A plain small page that looks like nothing in particular: an impostor that only wants the password.
    Quiet,
}

/// What the device was sent.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests that carried a credential (`Authorization` or `Cookie`), or a body (a login form).
    pub credentials: AtomicUsize,
    /// Bytes of requests received after a completed handshake.
    pub bytes: AtomicUsize,
}

impl Seen {
    pub fn credentials(&self) -> usize {
        self.credentials.load(Ordering::SeqCst)
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::SeqCst)
    }
}

/// A hostile device on 127.0.0.1 with the subject of phone `mac` (its own key: `seed` picks it).
pub async fn serve(
    attack: Attack,
    mac: Mac,
    seed: u64,
) -> Result<(SocketAddr, Arc<Seen>), TlsError> {
    let config = super::tls::server_config(&Identity {
        mac,
        seed,
        resets: 0,
        foreign: false,
    })?;
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| TlsError::Generate {
            mac,
            reason: format!("cannot listen on loopback: {e}"),
        })?;
    let addr = listener.local_addr().map_err(|e| TlsError::Generate {
        mac,
        reason: e.to_string(),
    })?;
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counts) = (acceptor.clone(), counts.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                loop {
                    let Some(head) = read_head(&mut tls, &counts).await else {
                        return;
                    };
                    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    if text.contains("\r\nauthorization:")
                        || text.contains("\r\ncookie:")
                        || text.starts_with("post ")
                    {
                        counts.credentials.fetch_add(1, Ordering::SeqCst);
                    }
                    if answer(&mut tls, attack).await.is_err() || attack != Attack::Quiet {
                        return;
                    }
                }
            });
        }
    });
    Ok((addr, seen))
}

/// A request's head (up to 64 KiB), counting the bytes.
async fn read_head(r: &mut (impl AsyncReadExt + Unpin), seen: &Seen) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => {
                seen.bytes.fetch_add(n, Ordering::SeqCst);
                head.extend_from_slice(&buf[..n]);
            }
        }
    }
    Some(head)
}

async fn answer(w: &mut (impl AsyncWriteExt + Unpin), attack: Attack) -> std::io::Result<()> {
    match attack {
        Attack::EndlessBody => {
            w.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
            )
            .await?;
            let chunk = format!("10000\r\n{}\r\n", "A".repeat(0x10000));
            loop {
                w.write_all(chunk.as_bytes()).await?;
            }
        }
        Attack::HugeLength => {
            w.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1073741824\r\n\r\n<html>",
            )
            .await?;
            let block = vec![b'A'; 0x10000];
            loop {
                w.write_all(&block).await?;
            }
        }
        Attack::DeepPage => {
            let body = format!(
                "<html><head><title>Poly VVX</title></head><body>{}{}</body></html>",
                "<div>".repeat(60_000),
                "</div>".repeat(60_000)
            );
            page(w, &body).await?;
            w.shutdown().await
        }
        Attack::HeaviestAllowed => {
            let block = format!("{}{}", "<div>x".repeat(200), "</div>".repeat(200));
            let mut body = String::from("<html><head><title>Poly VVX</title></head><body>");
            for _ in 0..95 {
                body.push_str(&block);
            }
            let pad = 1_000_000usize.saturating_sub(body.len() + 16);
            body.push_str(&"y".repeat(pad));
            body.push_str("</body></html>");
            page(w, &body).await?;
            w.shutdown().await
        }
        Attack::HeaderFlood => {
            w.write_all(b"HTTP/1.1 200 OK\r\n").await?;
            for n in 0u64.. {
                w.write_all(format!("X-Filler-{n}: {}\r\n", "f".repeat(200)).as_bytes())
                    .await?;
            }
            Ok(())
        }
        Attack::ManyHeaders => {
            let mut head = String::from("HTTP/1.1 200 OK\r\n");
            for n in 0..1000 {
                head.push_str(&format!("X-Filler-{n}: f\r\n"));
            }
            let body = "<html><head><title>Poly VVX</title></head></html>";
            head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
            w.write_all(head.as_bytes()).await?;
            w.flush().await
        }
        Attack::Quiet => page(w, "<html><head><title>Welcome</title></head></html>").await,
    }
}

async fn page(w: &mut (impl AsyncWriteExt + Unpin), body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    w.write_all(head.as_bytes()).await?;
    w.write_all(body.as_bytes()).await?;
    w.flush().await
}
