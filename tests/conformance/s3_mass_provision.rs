//! S3: alexankitty/polycom-mass-provision, `libs/phone.py` (commit 7b01c5a), Python requests + BeautifulSoup's XML
//! parser. It reads `/js/login.js` without credentials to learn the login's method and path (`type: …`,
//! `url: ….htm`), logs in with Basic, fetches index.htm for the CSRF token, then parses `provConf.htm` AS XML —
//! case-sensitive: the controls are found by the attribute `paramName` exactly — and posts the seven
//! `device.prov.*` values by their numeric names. A login fails on `INVALID`/`Failed` in its answer or a status
//! other than 200; with no cookie from the login it forges `Authorization=Basic …` (older firmware). Success is
//! `CONF_CHANGE` anywhere in the answer. The README names no model; its history shows both cookie-only and
//! session + CSRF firmware.

use regex::Regex;

use crate::Persona;
use crate::common::PASSWORD;
use crate::common::wire::{Target, basic, exchange, host, request};

const UA: &str = "python-requests/2.32.3";

fn base_headers(t: &Target) -> Vec<(&'static str, String)> {
    vec![
        ("Host", host(t)),
        ("User-Agent", UA.into()),
        ("Accept-Encoding", "gzip, deflate".into()),
        ("Accept", "*/*".into()),
        ("Connection", "keep-alive".into()),
    ]
}

/// `name=value` of every `Set-Cookie`.
fn cookies(a: &crate::common::wire::Answer) -> Vec<String> {
    a.any_case("Set-Cookie")
        .iter()
        .filter_map(|c| c.split(';').next())
        .map(|c| c.trim().to_string())
        .collect()
}

/// The first element named `tag` whose attribute `attr` (exact case) is `value`, parsed as XML.
fn xml_attr(
    doc: &roxmltree::Document,
    tag: &str,
    attr: &str,
    value: &str,
    want: &str,
) -> Option<String> {
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == tag)
        .find(|n| n.attribute(attr) == Some(value))
        .and_then(|n| n.attribute(want).map(str::to_string))
}

/// The page as an XML document (a DOCTYPE allowed, as lxml allows it).
fn xml(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options)
}

#[derive(Debug, PartialEq)]
enum Said {
    Provisioned,
    LoginFailed,
    ConfigurationFailed(String),
}

async fn provision(t: &Target, password: &str, server: &str) -> Said {
    let ip = t.addr.ip().to_string();
    // R1: how to log in.
    let js = exchange(t, &request("GET", "/js/login.js", &base_headers(t), b""))
        .await
        .expect("login.js answers");
    let js_text = js.text();
    let kind = Regex::new(r"(?m)type: .*")
        .unwrap()
        .find(&js_text)
        .expect("S3 crashes without `type: ` in login.js")
        .as_str()
        .replace(['\'', '"', ','], "")
        .replace("type: ", "")
        .trim()
        .to_lowercase();
    let url = Regex::new(r"(?m)url: .*.htm")
        .unwrap()
        .find(&js_text)
        .expect("S3 crashes without `url: ….htm` in login.js")
        .as_str()
        .replace(['\'', '"', ','], "")
        .replace("url: ", "")
        .trim()
        .to_string();
    let path = format!("/{}", url.trim_start_matches('/'));
    let mut jar = cookies(&js);
    let auth = basic("Polycom", password);
    // R2: the login as login.js says.
    let mut h = base_headers(t);
    h.push(("Authorization", auth.clone()));
    if !jar.is_empty() {
        h.push(("Cookie", jar.join("; ")));
    }
    let login = match kind.as_str() {
        "get" => Some(
            exchange(t, &request("GET", &path, &h, b""))
                .await
                .expect("login answers"),
        ),
        "post" => {
            h.push(("Content-Length", "0".into()));
            Some(
                exchange(t, &request("POST", &path, &h, b""))
                    .await
                    .expect("login answers"),
            )
        }
        _ => None,
    };
    let login = login.unwrap_or(js);
    let login_cookies = cookies(&login);
    jar.extend(login_cookies.iter().cloned());
    // R3: index.htm for the token, before the login is judged.
    let mut h = base_headers(t);
    h.push(("Authorization", auth.clone()));
    if !jar.is_empty() {
        h.push(("Cookie", jar.join("; ")));
    }
    let index = exchange(t, &request("GET", "/index.htm", &h, b""))
        .await
        .map(|a| a.text())
        .unwrap_or_default();
    let body = login.text();
    if body.contains("INVALID") || body.contains("Failed") || login.status != 200 {
        return Said::LoginFailed;
    }
    let cookie = if login_cookies.is_empty() {
        format!("Authorization={auth}")
    } else {
        login_cookies.join("; ")
    };
    let token = xml(&index)
        .ok()
        .and_then(|d| xml_attr(&d, "meta", "name", "csrf-token", "content"));
    let referer = format!("https://{ip}/index.htm");
    // R4: the field names, by `paramName` exactly, from the page parsed as XML.
    let mut h = base_headers(t);
    h.push(("Authorization", auth.clone()));
    h.push(("Cookie", cookie.clone()));
    if let Some(tok) = &token {
        h.push(("Referer", referer.clone()));
        h.push(("Anti-Csrf-Token", tok.clone()));
    }
    let page = exchange(t, &request("GET", "/provConf.htm", &h, b""))
        .await
        .map(|a| a.text())
        .unwrap_or_default();
    let doc = match xml(&page) {
        Ok(d) => d,
        Err(e) => return Said::ConfigurationFailed(format!("provConf.htm is not XML: {e}")),
    };
    let values = [
        ("device.prov.serverType", "3"),
        ("device.prov.serverName", server),
        ("device.prov.user", ""),
        ("device.prov.password", ""),
        ("device.prov.redunAttemptLimit", "3"),
        ("device.prov.redunInterAttemptDelay", "1"),
        ("device.prov.tagSerialNo", "0"),
    ];
    let mut pairs = Vec::new();
    for (key, value) in values {
        let Some(name) = xml_attr(&doc, "input", "paramName", key, "name")
            .or_else(|| xml_attr(&doc, "select", "paramName", key, "name"))
        else {
            return Said::ConfigurationFailed(format!("no control with paramName={key}"));
        };
        if !value.is_empty() {
            let v: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            pairs.push(format!("{name}={v}"));
        }
    }
    let form = pairs.join("&");
    // R5: the submission, with the misspelt `referrer` S3 adds beside `Referer`.
    let mut h = base_headers(t);
    h.push(("Authorization", auth));
    h.push(("Cookie", cookie));
    if let Some(tok) = &token {
        h.push(("Referer", referer.clone()));
        h.push(("Anti-Csrf-Token", tok.clone()));
        h.push(("referrer", referer));
    }
    h.push(("Content-Type", "application/x-www-form-urlencoded".into()));
    h.push(("Content-Length", form.len().to_string()));
    let answer = exchange(t, &request("POST", "/form-submit", &h, form.as_bytes()))
        .await
        .map(|a| a.text())
        .unwrap_or_default();
    if answer.contains("CONF_CHANGE") {
        Said::Provisioned
    } else {
        Said::ConfigurationFailed(answer)
    }
}

const SERVER: &str = "https://prov.example.test/poly/";

async fn works_on(profile: &str, firmware: &str, mac: &str) {
    let p = Persona::start(profile, firmware, mac, PASSWORD).await;
    assert_eq!(
        provision(&p.target, PASSWORD, SERVER).await,
        Said::Provisioned,
        "{profile}/{firmware}"
    );
    assert_eq!(p.saved_server().await, SERVER);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_provisions_ccx_7_3() {
    works_on("poly-ccx", "7.3.0.16841", "48256700C301").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_provisions_ccx_8_1() {
    works_on("poly-ccx", "8.1.3.1301", "48256700C302").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_provisions_vvx_5_9() {
    works_on("poly-vvx-6", "5.9.4.3247", "64167F00C303").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_provisions_vvx_6_4() {
    works_on("poly-vvx-6", "6.4.5.1210", "64167F00C304").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_provisions_vvx_5_6_with_the_forged_cookie() {
    works_on("poly-vvx-5", "5.6.3.1155", "0004F200C305").await;
}

/// A wrong password is a failed login, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_stops_at_a_wrong_password() {
    let p = Persona::start("poly-vvx-6", "6.4.5.1210", "64167F00C306", PASSWORD).await;
    assert_eq!(
        provision(&p.target, "not-the-password", SERVER).await,
        Said::LoginFailed
    );
    assert_ne!(p.saved_server().await, SERVER);
    p.stop().await;
}
