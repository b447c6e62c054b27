//! S5: rdbahm/Posh-UCS, its web module (`UcsWebUtil.psm1`, `UcsWeb.psm1`, `UcsMainUtil.psm1`; commit 688d64e),
//! Windows PowerShell 5.1's `Invoke-WebRequest -UseBasicParsing`. Plain HTTP only ("SSL support has been
//! removed"). Every request carries, pre-emptively, `Authorization: Basic …` AND `Cookie: Authorization=Basic …`,
//! `Accept: */*`, `Referer: http://<ip>/index.htm` and `Origin: http://<ip>` (never a port in either); there is no
//! login step. A 401 or 403 means "wrong credentials" (next credential, one request only); any other failure is
//! retried once with the identical request. Only the body of a 2xx answer is used, and only as text when the
//! Content-Type is textual.
//!
//! Device info: `GET /home.htm`, read with case-insensitive regexes on the raw text — the first
//! `(\d+[A-Z]?\.){3}\d{4,}[A-Z]*` is the firmware, the model the first "words + number" run at the START OF A LINE,
//! the part number `\d{4}-\d{5}-\d{3}` followed by one whitespace character and `Rev:<char>`, and the MAC written
//! with colons (a MAC without them makes Posh-UCS decide the web API is unavailable). Last reboot:
//! `GET /Diagnostics/log?value=app&dummyParam=<unix seconds>`, lines `MMDDhhmmss|module|level|missed|message`, the
//! last line whose level is exactly `*` and whose message starts `Initial log entry.`. Reboot:
//! `POST /form-submit/Reboot`, form Content-Type, `Content-Length: 0`, any 2xx is success.
//!
//! It claims UCS 5.6.0 and 5.8.0 (VVX, "Supported"). Newer firmware serves HTTPS only unless the site switched plain
//! HTTP on (S33), so on a factory VVX 6.4 it cannot connect.

use regex::Regex;

use crate::common::wire::{Answer, Target, basic, exchange, request};
use crate::common::{PASSWORD, report};
use crate::{Persona, Scheme};

/// What Windows PowerShell 5.1 puts on the wire beside the module's own headers (order unspecified; a hashtable).
fn headers(
    t: &Target,
    password: &str,
    extra: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let b = basic("Polycom", password);
    let ip = t.addr.ip();
    let host = if t.addr.port() == 80 {
        ip.to_string()
    } else {
        t.addr.to_string()
    };
    let mut h = vec![
        ("Authorization", b.clone()),
        ("Accept", "*/*".to_string()),
        ("Referer", format!("http://{ip}/index.htm")),
        ("Origin", format!("http://{ip}")),
        (
            "User-Agent",
            "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4046"
                .into(),
        ),
        ("Host", host),
        ("Cookie", format!("Authorization={b}")),
    ];
    h.extend(extra.iter().cloned());
    h.push(("Connection", "Keep-Alive".into()));
    h
}

/// `Invoke-UcsWebRequest`: the answer's body as text, or why it failed (after its one retry for non-auth errors).
async fn invoke(t: &Target, method: &str, path: &str, password: &str) -> Result<String, Failure> {
    let mut extra = Vec::new();
    if method == "POST" {
        extra.push((
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ));
        extra.push(("Content-Length", "0".to_string()));
    }
    let mut last = Failure::CouldNotConnect;
    for _attempt in 0..2 {
        match exchange(
            t,
            &request(method, path, &headers(t, password, &extra), b""),
        )
        .await
        {
            Ok(a) if (200..300).contains(&a.status) => return text_of(a),
            Ok(a) if a.status == 401 || a.status == 403 => {
                return Err(Failure::Credentials(a.status));
            }
            Ok(a) => last = Failure::Status(a.status),
            Err(_) => last = Failure::CouldNotConnect,
        }
    }
    Err(last)
}

#[derive(Debug, PartialEq)]
enum Failure {
    /// "Couldn't connect to IP <ip>."
    CouldNotConnect,
    Status(u16),
    /// 401/403: the next credential (none left).
    Credentials(u16),
    /// A Content-Type PowerShell does not read as text: `.Content` is a byte array and every regex misses.
    NotText(String),
}

/// PowerShell hands `.Content` over as a string only for a textual Content-Type.
fn text_of(a: Answer) -> Result<String, Failure> {
    let ct = a
        .any_case("Content-Type")
        .first()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    let mime = ct.split(';').next().unwrap_or("").trim().to_string();
    let textual = mime.starts_with("text/")
        || mime.ends_with("+xml")
        || [
            "application/xml",
            "application/json",
            "text/json",
            "application/javascript",
        ]
        .contains(&mime.as_str());
    if textual {
        Ok(a.text())
    } else {
        Err(Failure::NotText(mime))
    }
}

/// `Get-UcsWebDeviceInfo`'s fields from home.htm.
#[derive(Debug, Default)]
struct DeviceInfo {
    firmware: Option<String>,
    model: Option<String>,
    hardware_id: Option<String>,
    hardware_rev: Option<String>,
    mac: Option<String>,
}

fn first(re: &str, text: &str) -> Option<String> {
    Regex::new(&format!("(?i){re}"))
        .expect("regex")
        .find(text)
        .map(|m| m.as_str().to_string())
}

/// The model: the first match of `(?<=\n\s*)(\w+\s)+\d+` — a run that starts after a line break and nothing but
/// whitespace — trimmed of CR, LF and spaces.
fn model_at_line_start(text: &str) -> Option<String> {
    let run = Regex::new(r"(?i)^(?:\w+\s)+\d+").expect("regex");
    text.match_indices('\n')
        .filter_map(|(i, _)| {
            let rest = &text[i + 1..];
            let start = rest.len() - rest.trim_start().len();
            run.find(&rest[start..]).map(|m| m.as_str().to_string())
        })
        .next()
        .map(|m| m.trim_matches(['\r', '\n', ' ']).to_string())
}

fn parse_home(text: &str) -> DeviceInfo {
    let hardware_id = first(r"\d{4}-\d{5}-\d{3}", text);
    let hardware_rev = hardware_id.as_ref().and_then(|id| {
        Regex::new(&format!(r"(?i){}\sRev:(\w)", regex::escape(id)))
            .expect("regex")
            .captures(text)
            .map(|c| c[1].to_string())
    });
    DeviceInfo {
        firmware: first(r"(\d+[A-Z]?\.){3}\d{4,}[A-Z]*", text),
        model: model_at_line_start(text),
        hardware_id,
        hardware_rev,
        mac: first(
            r"[a-f0-9]{2}:[a-f0-9]{2}:[a-f0-9]{2}:[a-f0-9]{2}:[a-f0-9]{2}:[a-f0-9]{2}",
            text,
        )
        .map(|m| m.replace(':', "").to_ascii_lowercase()),
    }
}

/// `New-UcsLog` + `Get-UcsWebLastReboot`: the raw time (`MMDDhhmmss`) of the last `*`-level line whose message
/// starts `Initial log entry.`. Times are compared as the phone wrote them: S5 moves a time that lies in its PC's
/// future back a year, and the simulated phone's clock runs time-scale times faster than the PC's.
fn last_reboot(log: &str) -> Option<String> {
    log.split('\n')
        .filter(|l| l.len() > 2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            if f.len() < 5 {
                return None;
            }
            let raw = f[0].trim_end_matches('\r');
            let message = f[4..].join("|");
            let dated = raw.len() == 10 && raw.bytes().all(|b| b.is_ascii_digit());
            (dated
                && f[2] == "*"
                && message
                    .to_ascii_lowercase()
                    .starts_with("initial log entry."))
            .then(|| raw.to_string())
        })
        .max()
}

fn dummy_param() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn app_log(t: &Target, password: &str) -> Result<String, Failure> {
    let path = format!("/Diagnostics/log?value=app&dummyParam={}", dummy_param());
    invoke(t, "GET", &path, password).await
}

async fn vvx_5_6(mac: &str, password: &str) -> Persona {
    Persona::custom(
        "poly-vvx-5",
        "5.6.3.1155",
        mac,
        PASSWORD,
        Scheme::Http,
        |s| {
            s.password = password.into();
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_reads_device_info_and_last_reboot_vvx_5_6() {
    let p = vvx_5_6("0004F200C501", PASSWORD).await;
    assert!(!p.target.tls, "S5 speaks plain HTTP");
    let truth = report(&p.sim, p.target.mac).await;
    let home = invoke(&p.target, "GET", "/home.htm", PASSWORD)
        .await
        .expect("home.htm answers 200 with a textual Content-Type");
    let info = parse_home(&home);
    assert_eq!(
        info.firmware.as_deref(),
        truth["firmware"].as_str(),
        "{home}"
    );
    assert_eq!(info.model.as_deref(), truth["model"].as_str(), "{home}");
    assert!(
        info.hardware_id.is_some() && info.hardware_rev.is_some(),
        "{info:?}"
    );
    // Test-UcsAPI: the web API is there when home.htm yields a 12-hex-digit MAC.
    assert_eq!(info.mac, Some(p.target.mac.plain_lower()), "{home}");

    let log = app_log(&p.target, PASSWORD)
        .await
        .expect("the app log answers");
    assert!(
        last_reboot(&log).is_some(),
        "no `*` `Initial log entry.` line in {log:?}"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_restarts_vvx_5_6_and_sees_the_new_boot_in_its_log() {
    let p = vvx_5_6("0004F200C502", PASSWORD).await;
    let before = last_reboot(&app_log(&p.target, PASSWORD).await.expect("log")).expect("a boot");
    invoke(&p.target, "POST", "/form-submit/Reboot", PASSWORD)
        .await
        .expect("the reboot is answered 2xx");
    p.rebooted().await;
    let after = last_reboot(&app_log(&p.target, PASSWORD).await.expect("log")).expect("a boot");
    assert!(after > before, "last reboot {after} is not after {before}");
    assert_eq!(
        report(&p.sim, p.target.mac).await["reboots"],
        1,
        "one reboot, no retried POST"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_wrong_credential_is_a_401_or_403_vvx_5_6() {
    let p = vvx_5_6("0004F200C503", PASSWORD).await;
    let got = invoke(&p.target, "GET", "/home.htm", "456").await;
    assert!(
        matches!(got, Err(Failure::Credentials(401 | 403))),
        "{got:?}"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_cannot_connect_to_https_only_vvx_6_4() {
    let p = Persona::custom(
        "poly-vvx-6",
        "6.4.5.1210",
        "0004F200C504",
        PASSWORD,
        Scheme::Http,
        |_| {},
    )
    .await;
    let got = invoke(&p.target, "GET", "/home.htm", PASSWORD).await;
    assert_eq!(got, Err(Failure::CouldNotConnect));
    assert_eq!(report(&p.sim, p.target.mac).await["stats"]["requests"], 0);
    p.stop().await;
}
