//! S4: cbasolutions/polyboot-improved, `polyboot-improved.py` (commit 0d3a4dd), Python's http.client. Before any
//! login it asks `GET /Utilities/softwareUpgrade/getPhoneVersion` with only the `Authorization=Basic …` cookie and
//! goes on only when the REASON PHRASE is exactly `OK`; the version decides the method: below 6 the older one (the
//! cookie on `POST /form-submit`, no session, no CSRF token — after checking the `Server` header, spelled exactly
//! so, is the SoundPoint HTTPd and that `VVX` appears in index.htm), from 6 on the session login (`POST
//! /form-submit/auth.htm`, the session from the single `Set-Cookie` spelled exactly so, the CSRF token as the LAST
//! attribute of the csrf meta). Field numbers come from its own table per firmware; the body is joined raw, and
//! success is an answer equal to `CONF_CHANGE`. It claims VVX 5.6.3.1155, 5.9.4.3247, 6.4.5.1210 (and Trio builds
//! not simulated here).

use crate::Persona;
use crate::common::PASSWORD;
use crate::common::wire::{Answer, Target, basic, exchange, host, request};

const UA: &str = "Python-urllib/3.11";

/// Its per-firmware table: (server type, server address) field numbers.
fn fields(version: &str) -> Option<(&'static str, &'static str)> {
    match version {
        "5.6.3.1155" => Some(("422", "420")),
        "6.4.5.1210" => Some(("482", "480")),
        "6.4.3.5610" => Some(("481", "479")),
        "5.9.4.3247" => Some(("445", "443")),
        _ => None,
    }
}

fn headers(t: &Target, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Accept-Encoding", "identity".to_string()),
        ("Host", host(t)),
    ];
    h.extend(extra.iter().cloned());
    h.push(("User-Agent", UA.into()));
    h.push(("Connection", "close".into()));
    h
}

/// The value of the last attribute of `<meta name="csrf-token" …>`, in the order the page has them (its HTML
/// parser hands attributes over in document order).
fn last_meta_attr(html: &str) -> Option<String> {
    use polyprov::fixture::markup;
    markup::start_tags(html, "meta", 0)
        .map(|r| &html[r])
        .filter(|tag| markup::attr_value(tag, "name") == Some("csrf-token"))
        .filter_map(|tag| {
            markup::attrs(tag)
                .last()
                .map(|a| tag[a.value.clone()].to_string())
        })
        .last()
}

#[derive(Debug, PartialEq)]
enum Said {
    Provisioned(&'static str),
    Skipped(String),
    Failed(String),
}

async fn get(t: &Target, path: &str, extra: &[(&'static str, String)]) -> Answer {
    exchange(t, &request("GET", path, &headers(t, extra), b""))
        .await
        .expect("the phone answers")
}

async fn provision(t: &Target, password: &str, server: &str) -> Said {
    let cookie = (
        "Cookie",
        format!("Authorization={}", basic("Polycom", password)),
    );
    // P1: the version probe, cookie only.
    let probe = get(
        t,
        "/Utilities/softwareUpgrade/getPhoneVersion",
        std::slice::from_ref(&cookie),
    )
    .await;
    if probe.reason != "OK" {
        return Said::Skipped(format!("{} - {}", probe.status, probe.reason));
    }
    let version = probe.text();
    let parts: Vec<u32> = version
        .split('.')
        .map(|p| {
            p.trim()
                .parse()
                .expect("S4 crashes on a version that is not dotted integers")
        })
        .collect();
    // P2: the title, cookie only.
    let index = get(t, "/index.htm", std::slice::from_ref(&cookie)).await;
    let mut token = last_meta_attr(&index.text());
    let old = parts.first().is_some_and(|&m| m < 6) && !index.text().contains("<title>Trio");
    if parts.first().is_some_and(|&m| m < 6) {
        let server_header = probe
            .exact("Server")
            .last()
            .map(|s| s.to_string())
            .expect("S4 crashes below 6 without a `Server` header");
        if server_header == "Polycom SoundPoint IP Telephone HTTPd" {
            // P3: "VVX" must appear somewhere in the answer (headers or body), or it crashes.
            let again = get(t, "/index.htm", std::slice::from_ref(&cookie)).await;
            assert!(
                again.text().contains("VVX")
                    || again.headers.iter().any(|(_, v)| v.contains("VVX")),
                "S4 crashes when index.htm does not say VVX"
            );
        }
    }
    let Some((kind, name)) = fields(&version) else {
        return Said::Skipped(format!("Unknown firmware {version}"));
    };
    let body = format!("{kind}=3&{name}={server}");
    let form = |extra: Vec<(&'static str, String)>| {
        let mut h = headers(t, &extra);
        h.insert(1, ("Content-Length", body.len().to_string()));
        h.insert(
            2,
            ("Content-Type", "application/x-www-form-urlencoded".into()),
        );
        h
    };
    let answer = if old {
        exchange(
            t,
            &request("POST", "/form-submit", &form(vec![cookie]), body.as_bytes()),
        )
        .await
        .expect("the phone answers")
    } else {
        let auth = ("Authorization", basic("Polycom", password));
        let mut h = headers(t, std::slice::from_ref(&auth));
        h.insert(1, ("Content-Length", "0".into()));
        let login = exchange(t, &request("POST", "/form-submit/auth.htm", &h, b""))
            .await
            .expect("the phone answers");
        if login.reason != "OK" {
            return Said::Failed(format!("login: {} {}", login.status, login.reason));
        }
        let set = login
            .exact("Set-Cookie")
            .last()
            .map(|s| s.to_string())
            .expect("S4 crashes without a `Set-Cookie` header spelled exactly so");
        let session: String = set.split(';').filter(|p| p.contains("session")).collect();
        if !session.starts_with("session") {
            return Said::Failed("No session cookie".into());
        }
        let index = get(
            t,
            "/index.htm",
            &[auth.clone(), ("Cookie", session.clone())],
        )
        .await;
        if index.reason != "OK" {
            return Said::Failed(format!("index.htm: {}", index.reason));
        }
        if let Some(tok) = last_meta_attr(&index.text()) {
            token = Some(tok);
        }
        let mut extra = vec![auth, ("Cookie", session)];
        if let Some(tok) = token.filter(|t| !t.is_empty()) {
            extra.push(("Anti-Csrf-Token", tok));
        }
        exchange(
            t,
            &request("POST", "/form-submit", &form(extra), body.as_bytes()),
        )
        .await
        .expect("the phone answers")
    };
    if answer.reason == "OK" && answer.text() == "CONF_CHANGE" {
        Said::Provisioned(if old { "old" } else { "new" })
    } else {
        Said::Failed(format!("{} {:?}", answer.status, answer.text()))
    }
}

const SERVER: &str = "https://prov.example.test/poly/";

async fn works_on(profile: &str, firmware: &str, mac: &str, method: &'static str) {
    let p = Persona::start(profile, firmware, mac, PASSWORD).await;
    assert_eq!(
        provision(&p.target, PASSWORD, SERVER).await,
        Said::Provisioned(method),
        "{profile}/{firmware}"
    );
    assert_eq!(p.saved_server().await, SERVER);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_provisions_vvx_5_6_the_older_way() {
    works_on("poly-vvx-5", "5.6.3.1155", "0004F200C401", "old").await;
}

/// 5.9.x takes the older cookie path on `POST /form-submit` as well as the session login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_provisions_vvx_5_9_the_older_way() {
    works_on("poly-vvx-6", "5.9.4.3247", "64167F00C402", "old").await;
}

/// 6.x answers the cookie-only version probe, then takes the session login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_provisions_vvx_6_4_with_a_session() {
    works_on("poly-vvx-6", "6.4.5.1210", "64167F00C403", "new").await;
}

/// A wrong password: the version probe is refused (`401 Unauthorized`) and the phone is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_skips_a_phone_that_refuses_the_probe() {
    let p = Persona::start("poly-vvx-6", "6.4.5.1210", "64167F00C404", PASSWORD).await;
    match provision(&p.target, "not-the-password", SERVER).await {
        Said::Skipped(why) => assert_eq!(why, "401 - Unauthorized"),
        other => panic!("{other:?}"),
    }
    p.stop().await;
}

/// Firmware outside its table (CCX): nothing is sent after the probes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_does_not_know_ccx_firmware() {
    let p = Persona::start("poly-ccx", "8.1.3.1301", "48256700C405", PASSWORD).await;
    match provision(&p.target, PASSWORD, SERVER).await {
        Said::Skipped(why) => assert!(why.starts_with("Unknown firmware"), "{why}"),
        other => panic!("{other:?}"),
    }
    p.stop().await;
}
