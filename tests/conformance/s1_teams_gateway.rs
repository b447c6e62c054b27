//! S1: jamescussen/Poly-VVX-Teams-SIP-Gateway-Tool, `PolyVVXTeamsSIPGatewayTool.ps1` (commit 0682b15), command
//! `provision`. For "Poly VVX phones" that "start with at least Version 5.9 software". PowerShell's
//! Invoke-WebRequest: the login's body is empty with a form Content-Type; the session is the FIRST `Set-Cookie`'s
//! first `;` item with `session=` cut off; the CSRF token is the text between `<meta name="csrf-token" content="`
//! and the next `"/>`; provConf.htm is split on `<` and scanned with regexes (`paramname` any case, but
//! `input name="NNN"` / `select name="NNN"` exactly, 1–3 digits, then whitespace); success is `CONF_CHANGE` in the
//! answer (case-insensitive; `CONF_NO_CHANGE` is a failure). Any status ≥ 400 throws: "Unable to connect".

use regex::Regex;

use crate::Persona;
use crate::common::PASSWORD;
use crate::common::wire::{Answer, Target, basic, exchange, host, request};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:96.0) Gecko/20100101 Firefox/96.0";
const POWERSHELL: &str =
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.1";

/// What the tool prints for the phone.
#[derive(Debug, PartialEq)]
enum Said {
    ProvisioningSuccessful,
    PasswordIncorrect,
    UnableToConnect,
    ConfigurationFailed,
    /// Neither string in the answer: the phone is dropped from the results.
    Nothing,
}

/// Invoke-WebRequest throws on any status ≥ 400.
fn thrown(a: &std::io::Result<Answer>) -> bool {
    a.as_ref().map_or(true, |a| a.status >= 400)
}

async fn provision(t: &Target, password: &str, region_host: &str) -> Said {
    let scheme = if t.tls { "https" } else { "http" };
    let ip = t.addr.ip().to_string();
    // L1: the login.
    let l1 = exchange(
        t,
        &request(
            "POST",
            "/form-submit/auth.htm",
            &[
                ("User-Agent", FIREFOX.into()),
                ("Authorization", basic("Polycom", password)),
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                ("Host", host(t)),
                ("Content-Length", "0".into()),
            ],
            b"",
        ),
    )
    .await;
    if thrown(&l1) {
        return Said::UnableToConnect;
    }
    let Ok(l1) = l1 else {
        return Said::UnableToConnect;
    };
    let text_like = l1
        .any_case("Content-Type")
        .first()
        .is_some_and(|c| c.starts_with("text/") || c.contains("xml") || c.contains("json"));
    let invalid = Regex::new("(?i)INVALID_LOGIN").unwrap();
    if l1.status != 200 || (text_like && invalid.is_match(&l1.text())) {
        return Said::PasswordIncorrect;
    }
    let session = l1
        .any_case("Set-Cookie")
        .first()
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .replace("session=", "");
    let cookie = format!("session={session}");
    // L2: the CSRF token from index.htm.
    let l2 = exchange(
        t,
        &request(
            "GET",
            "/index.htm",
            &[
                ("User-Agent", POWERSHELL.into()),
                ("Cookie", cookie.clone()),
                ("Host", host(t)),
            ],
            b"",
        ),
    )
    .await
    .map(|a| a.text())
    .unwrap_or_default();
    const MARK: &str = "<meta name=\"csrf-token\" content=\"";
    let csrf = Regex::new(&format!("(?i){}", regex::escape(MARK)))
        .unwrap()
        .find(&l2)
        .map(|m| l2[m.end()..].split("\"/>").next().unwrap_or("").to_string());
    let referer = format!("{scheme}://{ip}/index.htm");
    let mut session_headers = vec![("Cookie", cookie.clone())];
    if let Some(token) = &csrf {
        session_headers.push(("anti-csrf-token", token.clone()));
    }
    session_headers.push(("Referer", referer));
    // P1: provConf.htm, scanned for the two numeric names.
    let mut h = vec![("User-Agent", POWERSHELL.to_string())];
    h.extend(session_headers.iter().cloned());
    h.push(("Host", host(t)));
    let page = exchange(t, &request("GET", "/provConf.htm", &h, b""))
        .await
        .map(|a| a.text())
        .unwrap_or_default();
    let name_re = Regex::new(r#".*input name="([0-9]?[0-9]?[0-9])"\s.*"#).unwrap();
    let type_re = Regex::new(r#".*select name="([0-9]?[0-9]?[0-9])"\s.*"#).unwrap();
    let has_name = Regex::new(r#"(?i)paramname="device.prov.serverName""#).unwrap();
    let has_type = Regex::new(r#"(?i)paramname="device.prov.serverType""#).unwrap();
    let (mut name, mut kind) = (None::<String>, None::<String>);
    for piece in page.split('<') {
        if name.is_none() && has_name.is_match(piece) {
            name = name_re.captures(piece).map(|c| c[1].to_string());
        }
        if kind.is_none() && has_type.is_match(piece) {
            kind = type_re.captures(piece).map(|c| c[1].to_string());
        }
        if name.is_some() && kind.is_some() {
            break;
        }
    }
    // P2: the submission, server type first, the URL written as http:// with type 3.
    let body = format!(
        "{}=3&{}=http%3A%2F%2F{region_host}",
        kind.unwrap_or_default(),
        name.unwrap_or_default()
    );
    let mut h = vec![
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ),
        ("User-Agent", FIREFOX.into()),
    ];
    h.extend(session_headers);
    h.push(("Host", host(t)));
    h.push(("Content-Length", body.len().to_string()));
    let p2 = exchange(t, &request("POST", "/form-submit", &h, body.as_bytes())).await;
    if thrown(&p2) {
        return Said::Nothing;
    }
    let answer = p2.map(|a| a.text()).unwrap_or_default();
    if Regex::new("(?i)CONF_CHANGE").unwrap().is_match(&answer) {
        Said::ProvisioningSuccessful
    } else if Regex::new("(?i)CONF_NO_CHANGE").unwrap().is_match(&answer) {
        Said::ConfigurationFailed
    } else {
        Said::Nothing
    }
}

const REGION: &str = "apac.ipp.sdg.teams.microsoft.com";

/// VVX 5.9 and 6.x (what S1 claims): provisioned, and the phone really saved the Teams URL.
async fn works_on(profile: &str, firmware: &str, mac: &str) {
    let p = Persona::start(profile, firmware, mac, PASSWORD).await;
    assert_eq!(
        provision(&p.target, PASSWORD, REGION).await,
        Said::ProvisioningSuccessful,
        "{profile}/{firmware}"
    );
    assert_eq!(p.saved_server().await, format!("http://{REGION}"));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_provisions_vvx_5_9() {
    works_on("poly-vvx-6", "5.9.4.3247", "64167F00C101").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_provisions_vvx_6_4() {
    works_on("poly-vvx-6", "6.4.5.1210", "64167F00C102").await;
}

/// A wrong password: real phones answer 200 `INVALID_LOGIN`, which S1 reports as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_reports_a_wrong_password_on_vvx_6_4() {
    let p = Persona::start("poly-vvx-6", "6.4.5.1210", "64167F00C103", PASSWORD).await;
    assert_eq!(
        provision(&p.target, "not-the-password", REGION).await,
        Said::PasswordIncorrect
    );
    p.stop().await;
}

/// Below 5.9 the tool cannot talk to the phone (its documented limit): no session login, nothing provisioned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_fails_below_5_9_as_documented() {
    let p = Persona::start("poly-vvx-5", "5.6.3.1155", "0004F200C104", PASSWORD).await;
    let said = provision(&p.target, PASSWORD, REGION).await;
    assert_ne!(said, Said::ProvisioningSuccessful);
    assert_ne!(p.saved_server().await, format!("http://{REGION}"));
    p.stop().await;
}
