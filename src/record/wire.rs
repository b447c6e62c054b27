//! The recorder's side of the wire to the phone: one HTTP/1.1 exchange per browser request, written and read as
//! bytes so the recording keeps what the phone sent exactly — the status line's reason phrase, every header name
//! as spelled and in order, the body as sent (after HTTP's chunked framing). An HTTP client library would hand
//! over lowercased names, a canonical reason and a re-ordered header map. Every read is bounded in size and time.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest answer head the recorder reads from a phone.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers in one answer.
const MAX_HEADERS: usize = 100;
/// Largest answer body (the largest real page is far below 1 MB; firmware downloads are not recorded).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Time for one whole exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// One answer as the phone sent it.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    pub reason: String,
    /// Every header in the order sent, the name spelled as sent.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Why an exchange with the phone failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer within {}s", EXCHANGE_TIMEOUT.as_secs())]
    Timeout,
    #[error("the answer's head is not HTTP/1.x: {0}")]
    Head(String),
    #[error("the answer is larger than {} bytes", MAX_BODY)]
    TooLarge,
    #[error("the answer's chunked body is malformed")]
    Chunked,
}

/// Where the phone is and how to talk to it.
pub struct Upstream {
    pub host: String,
    pub port: u16,
    /// TLS client settings for an https:// target; `None` for plain HTTP.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Upstream {
    /// Send `head` (request line and headers, without the final blank line's CRLF pair) and `body`; read one answer.
    pub async fn exchange(
        &self,
        method: &str,
        head: &[u8],
        body: &[u8],
    ) -> Result<RawAnswer, WireError> {
        tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange_inner(method, head, body))
            .await
            .map_err(|_| WireError::Timeout)?
    }

    async fn exchange_inner(
        &self,
        method: &str,
        head: &[u8],
        body: &[u8],
    ) -> Result<RawAnswer, WireError> {
        let tcp =
            tokio::net::TcpStream::connect((self.host.trim_matches(['[', ']']), self.port)).await?;
        let Some(config) = &self.tls else {
            return round_trip(tcp, method, head, body).await;
        };
        let name =
            rustls::pki_types::ServerName::try_from(self.host.trim_matches(['[', ']']).to_string())
                .map_err(|e| WireError::Io(std::io::Error::other(e.to_string())))?;
        let tls = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await?;
        round_trip(tls, method, head, body).await
    }
}

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    method: &str,
    head: &[u8],
    body: &[u8],
) -> Result<RawAnswer, WireError> {
    s.write_all(head).await?;
    s.write_all(body).await?;
    s.flush().await?;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let (status, reason, headers, head_len) = loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(WireError::Head(
                "the connection closed before the answer's head".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut r = httparse::Response::new(&mut slots);
        match r.parse(&buf).map_err(|e| WireError::Head(e.to_string()))? {
            httparse::Status::Complete(len) => {
                let headers = r
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                break (
                    r.code.unwrap_or(0),
                    r.reason.unwrap_or("").to_string(),
                    headers,
                    len,
                );
            }
            httparse::Status::Partial if buf.len() > MAX_HEAD => {
                return Err(WireError::Head(format!("longer than {MAX_HEAD} bytes")));
            }
            httparse::Status::Partial => {}
        }
    };
    let mut rest = buf.split_off(head_len);
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.trim())
    };
    let bodiless =
        method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status);
    let body = if bodiless {
        Vec::new()
    } else if header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            if let Some(decoded) = dechunk(&rest)? {
                break decoded;
            }
            read_more(&mut s, &mut rest, &mut chunk).await?;
        }
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| WireError::Head(format!("Content-Length {len:?}")))?;
        if len > MAX_BODY {
            return Err(WireError::TooLarge);
        }
        while rest.len() < len {
            if read_more(&mut s, &mut rest, &mut chunk).await? == 0 {
                break;
            }
        }
        rest.truncate(len);
        rest
    } else {
        while read_more(&mut s, &mut rest, &mut chunk).await? > 0 {}
        rest
    };
    Ok(RawAnswer {
        status,
        reason,
        headers,
        body: Bytes::from(body),
    })
}

async fn read_more<S: AsyncRead + Unpin>(
    s: &mut S,
    into: &mut Vec<u8>,
    chunk: &mut [u8],
) -> Result<usize, WireError> {
    let n = s.read(chunk).await?;
    into.extend_from_slice(&chunk[..n]);
    if into.len() > MAX_BODY {
        return Err(WireError::TooLarge);
    }
    Ok(n)
}

/// A complete chunked body, decoded; `None` while more bytes are needed.
fn dechunk(b: &[u8]) -> Result<Option<Vec<u8>>, WireError> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_len) = b[at..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&b[at..at + line_len]).map_err(|_| WireError::Chunked)?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| WireError::Chunked)?;
        if size > MAX_BODY {
            return Err(WireError::TooLarge);
        }
        at += line_len + 2;
        if size == 0 {
            return Ok(Some(out));
        }
        if b.len() < at + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[at..at + size]);
        at += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer is kept as sent: reason phrase, header spelling and order, body.
    #[tokio::test]
    async fn answer_kept_as_sent() {
        let (mut phone, recorder) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut req = [0u8; 1024];
            let _ = phone.read(&mut req).await;
            let _ = phone
                .write_all(
                    b"HTTP/1.1 200 Fine Thanks\r\nServer: Polycom SoundPoint IP Telephone HTTPd\r\n\
                      WWW-Authenticate: x\r\nx-lower: y\r\nTransfer-Encoding: chunked\r\n\r\n\
                      4\r\n<a/>\r\n3\r\n<b>\r\n0\r\n\r\n",
                )
                .await;
        });
        let a = round_trip(recorder, "GET", b"GET / HTTP/1.1\r\nHost: p\r\n\r\n", b"")
            .await
            .expect("answer");
        assert_eq!((a.status, a.reason.as_str()), (200, "Fine Thanks"));
        let names: Vec<&str> = a.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["Server", "WWW-Authenticate", "x-lower", "Transfer-Encoding"]
        );
        assert_eq!(&a.body[..], b"<a/><b>");
    }

    /// A chunk size beyond the cap is refused before anything is buffered.
    #[test]
    fn oversized_chunk_is_refused() {
        assert!(matches!(dechunk(b"FFFFFFFF\r\n"), Err(WireError::TooLarge)));
        assert!(matches!(dechunk(b"zz\r\n"), Err(WireError::Chunked)));
        assert_eq!(dechunk(b"3\r\nabc").ok(), Some(None));
    }
}
