//! Raw HTTP/1.1 exchanges, byte for byte, the way the public clients put them on the wire: request lines and header
//! names exactly as each client spells them, nothing added. Answers are read as sent: the status line with its
//! reason phrase, every header in order with the server's spelling, the body as bytes.

use std::net::SocketAddr;
use std::sync::Arc;

use polyprov::mac::Mac;
use polyprov::phone::tls::{PhoneVerifier, Trust};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where a client talks to: the phone's address, over TLS (trusting exactly this phone's certificate) or not.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub tls: bool,
    pub mac: Mac,
}

/// One answer, as the phone sent it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every value of a header, matching the name exactly as a case-sensitive client would.
    pub fn exact(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every value of a header, any case.
    pub fn any_case(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Send `request` (the whole request, head and body, as bytes) on a fresh connection and read one answer.
pub async fn exchange(t: &Target, request: &[u8]) -> std::io::Result<Answer> {
    let tcp = tokio::net::TcpStream::connect(t.addr).await?;
    if !t.tls {
        return round_trip(tcp, request).await;
    }
    polyprov::init_tls();
    let verifier = PhoneVerifier::new(Trust::PolyPhone(Some(t.mac)));
    let config = verifier
        .client_config()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::IpAddress(t.addr.ip().into());
    let tls = connector.connect(name, tcp).await?;
    round_trip(tls, request).await
}

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &[u8],
) -> std::io::Result<Answer> {
    s.write_all(request).await?;
    s.flush().await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other(
                "connection closed before the answer's head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let reason = parts.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    let mut body = buf[head_end..].to_vec();
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            if let Some(decoded) = dechunk(&body) {
                body = decoded;
                break;
            }
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if !(status == 204 || status == 304 || (100..200).contains(&status)) {
        let _ = s.read_to_end(&mut body).await;
    }
    Ok(Answer {
        status,
        reason,
        headers,
        body,
    })
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// A complete chunked body, decoded; `None` while incomplete.
fn dechunk(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + find(&b[at..], b"\r\n")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&b[at..line_end])
                .ok()?
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        at = line_end + 2;
        if size == 0 {
            return Some(out);
        }
        if b.len() < at + size + 2 {
            return None;
        }
        out.extend_from_slice(&b[at..at + size]);
        at += size + 2;
    }
}

/// A request head: `method path HTTP/1.1`, then the headers exactly as given, then the body (if any).
pub fn request(method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The `Host` header value a client derives from the address.
pub fn host(t: &Target) -> String {
    t.addr.to_string()
}

/// Headers the HTTP stack adds for framing, which recordings made through a browser's tools may leave out.
pub const FRAMING: [&str; 3] = ["content-length", "transfer-encoding", "connection"];

/// The answer's header names as spelled and in order, framing headers aside.
pub fn header_names(headers: &[(String, String)]) -> Vec<&str> {
    headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !FRAMING.iter().any(|f| f.eq_ignore_ascii_case(k)))
        .collect()
}

/// A header value with the live parts masked: a cookie's value, a digest nonce.
pub fn masked(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("set-cookie") {
        let (pair, attrs) = value.split_once(';').unwrap_or((value, ""));
        let name = pair.split('=').next().unwrap_or("");
        format!("{name}=…;{attrs}")
    } else if name.eq_ignore_ascii_case("www-authenticate") {
        value.split("nonce=").next().unwrap_or(value).to_string()
    } else {
        value.to_string()
    }
}

/// The answer's status line and headers are the recorded ones: the reason phrase, every header name as spelled and
/// in order, every value equal but for its live part ([`masked`]); framing headers aside.
pub fn assert_same_head(at: &str, got: &Answer, want: &polyprov::fixture::har::Response) {
    assert_eq!(
        (got.status, got.reason.as_str()),
        (want.status, want.status_text.as_str()),
        "{at}: status line; body {:?}",
        got.text()
    );
    let want: Vec<(String, String)> = want
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    assert_eq!(
        header_names(&got.headers),
        header_names(&want),
        "{at}: header names, spelling and order"
    );
    let unframed = |h: &&(String, String)| !FRAMING.iter().any(|f| f.eq_ignore_ascii_case(&h.0));
    for ((name, g), (_, w)) in got
        .headers
        .iter()
        .filter(unframed)
        .zip(want.iter().filter(unframed))
    {
        assert_eq!(masked(name, g), masked(name, w), "{at}: {name}");
    }
}
