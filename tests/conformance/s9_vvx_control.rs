//! S9: ExtraordinaryBen/PolycomVVXControl (Brecht Sanders' PolycomVVXControl 1.6; `polycomvvx.c`, commit 4348e96),
//! libcurl over HTTPS with certificate checks off. One request per command, no login step, no redirects, no retry:
//! the only credential is the cookie `Authorization=Basic …` (no `Authorization` header, no User-Agent), with
//! `Referer: https://<host>/`. A status from 100 to 399 is "OK"; the exit code is the status (mod 256) unless 2xx.
//!
//! `deviceinfo`: `GET /home.htm`, fed to expat as XML (names compared in any case): in each `<tr>`, a
//! `<span textId="N">` in the first `<td>` names the field, and the second `<td>`'s text, trimmed, is its value —
//! 292 model, 293 part number, 294 MAC, 97 IP address, 1023 software version, 297 updater version. Everything after
//! the first XML error is lost. `reboot`: `POST /form-submit/Reboot` with no body given, which libcurl sends as
//! `Transfer-Encoding: chunked` + `Expect: 100-continue` and streams from stdin: run from a console, the body never
//! comes, so the phone must answer on the request head.
//!
//! It was tested on a VVX 500 on 5.3 in Lync mode, and needs HTTPS (from 5.5.0.20556). Firmware 6.x takes only a
//! session (S4's split), so the cookie alone is refused there.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Persona;
use crate::common::wire::{Answer, Target, basic, exchange, host, request};
use crate::common::{PASSWORD, report};

fn headers(t: &Target, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Host", host(t)),
        ("Accept", "*/*".to_string()),
        (
            "Cookie",
            format!("Authorization={}", basic("Polycom", password)),
        ),
        ("Referer", format!("https://{}/", host(t))),
    ]
}

async fn deviceinfo(t: &Target, password: &str) -> Answer {
    exchange(t, &request("GET", "/home.htm", &headers(t, password), b""))
        .await
        .expect("the phone answers")
}

/// The expat walk over home.htm: textId → the trimmed text of that row's second cell.
fn fields(page: &str) -> BTreeMap<i64, String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(page, options).unwrap_or_else(|e| {
        panic!("home.htm is not well-formed XML ({e}): expat loses every field after it")
    });
    let mut out = BTreeMap::new();
    for tr in doc
        .descendants()
        .filter(|n| n.tag_name().name().eq_ignore_ascii_case("tr"))
    {
        let cells: Vec<_> = tr
            .children()
            .filter(|n| n.tag_name().name().eq_ignore_ascii_case("td"))
            .collect();
        let text_id = cells.iter().take(2).find_map(|c| {
            c.descendants()
                .filter(|n| n.tag_name().name().eq_ignore_ascii_case("span"))
                .find_map(|s| {
                    s.attributes()
                        .find(|a| a.name().eq_ignore_ascii_case("textId"))
                        .and_then(|a| a.value().trim().parse::<i64>().ok())
                })
        });
        if let (Some(id), Some(cell)) = (text_id.filter(|i| *i != 0), cells.get(1)) {
            let text: String = cell
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect();
            out.insert(id, text.trim().to_string());
        }
    }
    out
}

async fn reads_device_info(profile: &str, firmware: &str, mac: &str) {
    let p = Persona::start(profile, firmware, mac, PASSWORD).await;
    let a = deviceinfo(&p.target, PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let f = fields(&a.text());
    let truth = report(&p.sim, p.target.mac).await;
    assert_eq!(
        f.get(&292).map(String::as_str),
        truth["model"].as_str(),
        "{f:?}"
    );
    assert!(
        f.get(&293).is_some_and(|v| !v.is_empty()),
        "part number: {f:?}"
    );
    assert_eq!(f.get(&294), Some(&p.target.mac.colon_lower()), "{f:?}");
    assert_eq!(f.get(&97), Some(&p.target.addr.ip().to_string()), "{f:?}");
    assert_eq!(
        f.get(&1023).map(String::as_str),
        truth["firmware"].as_str(),
        "{f:?}"
    );
    assert!(f.contains_key(&297), "updater version: {f:?}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s9_deviceinfo_vvx_5_6() {
    reads_device_info("poly-vvx-5", "5.6.3.1155", "0004F200C901").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s9_deviceinfo_vvx_5_9() {
    reads_device_info("poly-vvx-6", "5.9.4.3247", "0004F200C902").await;
}

/// `reboot` run from a console: the chunked body announced with `Expect: 100-continue` never comes.
async fn reboots_on_the_request_head(profile: &str, firmware: &str, mac: &str) {
    let p = Persona::start(profile, firmware, mac, PASSWORD).await;
    let mut h = headers(&p.target, PASSWORD);
    h.insert(2, ("Transfer-Encoding", "chunked".into()));
    h.push(("Content-Type", "application/x-www-form-urlencoded".into()));
    h.push(("Expect", "100-continue".into()));
    // libcurl's total timeout is 10 s; a `100 Continue` here would leave it waiting on stdin until then.
    let a = tokio::time::timeout(
        Duration::from_secs(10),
        exchange(&p.target, &request("POST", "/form-submit/Reboot", &h, b"")),
    )
    .await
    .expect("answered before curl's 10 s timeout")
    .expect("the phone answers");
    assert!(
        (200..300).contains(&a.status),
        "status {} {}",
        a.status,
        a.reason
    );
    p.rebooted().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s9_reboot_with_a_body_never_sent_vvx_5_6() {
    reboots_on_the_request_head("poly-vvx-5", "5.6.3.1155", "0004F200C903").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s9_reboot_with_a_body_never_sent_vvx_5_9() {
    reboots_on_the_request_head("poly-vvx-6", "5.9.4.3247", "0004F200C904").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s9_cookie_alone_is_refused_by_vvx_6_4() {
    let p = Persona::start("poly-vvx-6", "6.4.5.1210", "0004F200C905", PASSWORD).await;
    let a = deviceinfo(&p.target, PASSWORD).await;
    assert_eq!(a.status, 401, "{}", a.text());
    // Its exit code: the status mod 256.
    assert_eq!(a.status % 256, 145);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s9_wrong_password_is_refused_vvx_5_9() {
    let p = Persona::start("poly-vvx-6", "5.9.4.3247", "0004F200C906", PASSWORD).await;
    let a = deviceinfo(&p.target, "456").await;
    assert!(
        !(100..400).contains(&a.status),
        "status {}: S9 would print the page",
        a.status
    );
    p.stop().await;
}
