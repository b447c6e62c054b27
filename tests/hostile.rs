//! Devices that pose as phones and attack the agent: each answers with a Poly-looking certificate
//! (`CN=<MAC>, O=Polycom Inc.`, as a real phone's) and then breaks a budget. The agent reports each by address,
//! sends it no credential — not then, not later — and stays small and quick. (Figures belong in benchmarks; these
//! tests assert outcomes.)

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use polyprov::phone::{Event, Outcome, Report};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a hostile device answers to every request.
#[derive(Clone, Copy)]
enum Attack {
    /// A body that never ends (chunked, as fast as the agent reads).
    EndlessBody,
    /// A page whose `Content-Length` says a gigabyte.
    HugeLength,
    /// A page of 60,000 nested tags (under the size cap, as deep as a parser can be made to go).
    DeepPage,
}

/// A device on loopback answering every request with `attack`; counts the requests that carried a credential.
async fn hostile(attack: Attack, mac: &str) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let config = polyprov::sim::tls::server_config(&polyprov::sim::tls::Identity {
        mac: mac.parse().unwrap(),
        seed: 666,
        resets: 0,
        foreign: false,
    })
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let credentials = Arc::new(AtomicUsize::new(0));
    let seen = credentials.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                if text.contains("\r\nauthorization:") || text.contains("\r\ncookie:") {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                let _ = answer(&mut tls, attack).await;
            });
        }
    });
    (addr, credentials)
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
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            w.write_all(head.as_bytes()).await?;
            w.write_all(body.as_bytes()).await?;
            w.shutdown().await
        }
    }
}

/// Onboard the device at `addr` as a phone with the test password.
async fn onboard(addr: std::net::SocketAddr) -> Report {
    let mut job = job_at(
        format!("https://{addr}/").parse().unwrap(),
        "https://prov.example.test/poly/",
        60.0,
    );
    job.allow_factory = true;
    let profiles = catalog().profiles.clone();
    let sink = |_: Event| {};
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        polyprov::phone::provision(&job, &profiles, &sink),
    )
    .await
    .expect("a hostile device never holds the agent")
}

/// The device is reported as what it did, by address, and got no credential.
fn assert_refused(r: &Report, addr: std::net::SocketAddr, said: &str, credentials: &AtomicUsize) {
    let text = r.outcome.explained().unwrap_or_default();
    assert!(
        matches!(r.outcome, Outcome::NeedsAttention { .. }),
        "{:?}",
        r.outcome
    );
    assert!(
        text.contains(said) && text.contains(&addr.to_string()),
        "{text}"
    );
    assert_eq!(
        credentials.load(Ordering::SeqCst),
        0,
        "no credential reaches a device that broke a budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_is_cut_at_the_cap_and_gets_no_password() {
    let (addr, credentials) = hostile(Attack::EndlessBody, "64167F00A001").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "answer too large", &credentials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_content_length_is_refused_unread() {
    let (addr, credentials) = hostile(Attack::HugeLength, "64167F00A002").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "answer too large", &credentials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_nested_sixty_thousand_deep_is_refused_unparsed() {
    let (addr, credentials) = hostile(Attack::DeepPage, "64167F00A003").await;
    let r = onboard(addr).await;
    assert_refused(&r, addr, "page too deep", &credentials);
}

/// A device that reports a model string made of a spreadsheet formula and terminal escape sequences: the report
/// keeps what it said, the table shows it as inert text, and the CSV cell is no formula.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_device_says_is_shown_never_obeyed() {
    let evil = "=HYPERLINK(\"https://evil.test\",\"VVX\")\u{1b}]0;owned\u{7}\u{1b}[2J";
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F00A004");
    spec.model = Some(evil.into());
    let sim = start(vec![spec], 300.0).await;
    let mut j = job(&sim, "https://prov.example.test/poly/", 300.0);
    j.dry_run = true;
    let (r, _) = provision_with_events(&j).await;
    assert!(
        r.model.as_deref().is_some_and(|m| m.contains("HYPERLINK")),
        "the report keeps what the phone said: {:?}",
        r.model
    );
    let target = polyprov::fleet::targets::Target::from_address(
        &sim.phones()[0].web_addr().to_string(),
        false,
    )
    .unwrap();
    let row = polyprov::report::Row::new(&target, &r);
    let table = polyprov::report::table(std::slice::from_ref(&row));
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "{table:?}"
    );
    let csv = polyprov::report::csv(&[row]).unwrap();
    assert!(
        csv.contains("'=HYPERLINK") && !csv.contains('\u{1b}'),
        "{csv}"
    );
    sim.shutdown().await;
}
