//! Header names on the wire exactly as the phones spell them (`WWW-Authenticate`, not `Www-Authenticate`).
//!
//! hyper writes a response's header names in lower or title case unless the response carries hyper's own map of
//! original spellings, a type it keeps private. Its documented way to make one is `preserve_header_case`: reading a
//! request records how that request spelled its names, and a response that carries the map is written with those
//! spellings. So the simulator lets hyper read, once and in memory, a request that names every header the recorded
//! phones send, spelled as recorded, and hands the map on to every response.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The spellings of `names` (the first of names equal but for case wins), as response extensions; empty (title
/// case on the wire) when a name is not a valid header name or hyper would not read the request.
pub async fn case_map(names: impl IntoIterator<Item = String>) -> http::Extensions {
    let mut seen: Vec<String> = Vec::new();
    // Framing headers would change how hyper reads the request; their title case is the usual spelling anyway.
    const FRAMING: [&str; 5] = [
        "content-length",
        "transfer-encoding",
        "connection",
        "expect",
        "upgrade",
    ];
    for n in names {
        if http::HeaderName::from_bytes(n.as_bytes()).is_ok()
            && !FRAMING.iter().any(|f| f.eq_ignore_ascii_case(&n))
            && !seen.iter().any(|s| s.eq_ignore_ascii_case(&n))
        {
            seen.push(n);
        }
    }
    let mut request = String::from("GET / HTTP/1.1\r\n");
    for n in &seen {
        request.push_str(n);
        request.push_str(": x\r\n");
    }
    if !seen.iter().any(|n| n.eq_ignore_ascii_case("host")) {
        request.push_str("Host: sim\r\n");
    }
    request.push_str("\r\n");

    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(req.extensions().clone());
        }
        async { Ok::<_, Infallible>(hyper::Response::new(Empty::<Bytes>::new())) }
    });
    let conn = tokio::spawn(async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .preserve_header_case(true)
            .keep_alive(false)
            .serve_connection(TokioIo::new(server), service)
            .await;
    });
    let exchange = async {
        client.write_all(request.as_bytes()).await?;
        let mut sink = Vec::new();
        client.read_to_end(&mut sink).await?;
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), exchange).await;
    conn.abort();
    match rx.await {
        Ok(ext) => ext,
        Err(_) => {
            tracing::warn!("header spellings unavailable: header names go out in title case");
            http::Extensions::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response carrying the map is written with the recorded spellings, in the order the headers were added.
    #[tokio::test]
    async fn responses_keep_the_recorded_spelling() {
        let ext = case_map([
            "WWW-Authenticate".to_string(),
            "X-Frame-Options".into(),
            "Server".into(),
        ])
        .await;
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let service =
            hyper::service::service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
                let ext = ext.clone();
                async move {
                    let mut r = hyper::Response::builder()
                        .status(401)
                        .header("Server", "Polycom SoundPoint IP Telephone HTTPd")
                        .header("www-authenticate", "Basic realm=\"SPIP Configuration\"")
                        .header("x-frame-options", "SAMEORIGIN")
                        .header("x-unlisted", "1")
                        .body(Empty::<Bytes>::new())
                        .expect("response");
                    r.extensions_mut().extend(ext);
                    Ok::<_, Infallible>(r)
                }
            });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .title_case_headers(true)
                .auto_date_header(false)
                .keep_alive(false)
                .serve_connection(TokioIo::new(server), service)
                .await;
        });
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.expect("read");
        let head = String::from_utf8_lossy(&out);
        assert!(
            head.starts_with(
                "HTTP/1.1 401 Unauthorized\r\nServer: Polycom SoundPoint IP Telephone HTTPd\r\n\
                 WWW-Authenticate: Basic realm=\"SPIP Configuration\"\r\nX-Frame-Options: SAMEORIGIN\r\n\
                 X-Unlisted: 1\r\n"
            ),
            "{head}"
        );
    }
}
