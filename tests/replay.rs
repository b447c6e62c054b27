//! Every recorded scenario replays against the simulator: the same requests, sent byte for byte (with live
//! credentials, session and CSRF token in place of the redacted ones), get the recorded status lines (reason phrase
//! included), header names as spelled and in order with their values, and bodies byte for byte — but for the
//! documented substitutions (the phone's live values) and the recorder's redactions. This is what keeps the
//! simulator and the fixtures — and later real recordings — honest with each other.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::wire::{Answer, Target, assert_same_head, exchange, host, request};
use common::*;
use polyprov::fixture::har::Entry;
use polyprov::fixture::redact::replace_meta_content;
use polyprov::fixture::{Catalog, Scenario};
use polyprov::profile::ProfileSet;
use polyprov::sim::{SimConfig, Simulator};

/// Phone seconds per wall second in replays: a 150 s reboot takes 1.5 s, a 60 s lock 0.6 s.
const SCALE: f64 = 100.0;

struct Replayer {
    target: Target,
    session: Option<String>,
    csrf: Option<String>,
    live_ip: String,
    recorded_ip: String,
}

fn comment_has(e: &Entry, what: &str) -> bool {
    e.comment
        .as_deref()
        .is_some_and(|c| c.split(';').any(|p| p.trim() == what))
}

/// The provisioning server a scenario's form submission sets, to start "already provisioned" phones there.
fn submitted_server(catalog: &Catalog, s: &Scenario) -> Option<String> {
    let pages = catalog.page_set(&s.profile, &s.firmware)?;
    let profile = catalog.profiles.get(&s.profile)?;
    let name_field = pages.field(profile.provisioning.server_name.as_deref()?)?;
    s.har.log.entries.iter().find_map(|e| {
        let pd = e.request.post_data.as_ref()?;
        url::form_urlencoded::parse(pd.text.as_bytes())
            .find(|(k, _)| *k == name_field.name)
            .map(|(_, v)| v.into_owned())
    })
}

impl Replayer {
    /// The recorded request, byte for byte but for the live values: the password (or the wrong one the recording
    /// names), the session cookie and CSRF token of this run, and the phone's address.
    async fn send(&mut self, e: &Entry, password: &str) -> Answer {
        let path = e.request.path_and_query();
        let secret = if comment_has(e, "credential: wrong") {
            "wrong-password"
        } else {
            password
        };
        let mut headers: Vec<(&str, String)> = Vec::new();
        for h in &e.request.headers {
            let value = match h.name.to_ascii_lowercase().as_str() {
                "content-length" | "accept-encoding" | "connection" => continue,
                "host" => host(&self.target),
                "authorization" => basic(secret),
                "anti-csrf-token" => self.csrf.clone().unwrap_or_default(),
                "cookie" => h
                    .value
                    .split(';')
                    .filter_map(|part| part.trim().split_once('='))
                    .map(|(k, v)| match k {
                        "session" => {
                            format!("session={}", self.session.clone().unwrap_or_default())
                        }
                        "Authorization" => format!("Authorization={}", basic(secret)),
                        _ => format!("{k}={v}"),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => h.value.replace(&self.recorded_ip, &self.live_ip),
            };
            headers.push((h.name.as_str(), value));
        }
        let body = e
            .request
            .post_data
            .as_ref()
            .map(|pd| pd.text.as_bytes())
            .unwrap_or_default();
        if !body.is_empty() || e.request.method == "POST" {
            headers.push(("Content-Length", body.len().to_string()));
        }
        headers.push(("Connection", "close".into()));
        exchange(
            &self.target,
            &request(&e.request.method, &path, &headers, body),
        )
        .await
        .unwrap_or_else(|err| panic!("{} {path}: no answer: {err}", e.request.method))
    }
}

/// Seconds since midnight of a HAR `startedDateTime` (`2026-11-20T09:47:44.123Z`).
fn time_of_day(iso: &str) -> f64 {
    let t = iso.split('T').nth(1).unwrap_or("").trim_end_matches('Z');
    let t = t.split(['+', '-']).next().unwrap_or("");
    let mut parts = t.split(':').map(|x| x.parse::<f64>().unwrap_or(0.0));
    let (h, m, s) = (
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
    );
    h * 3600.0 + m * 60.0 + s
}

/// `lockparams|STATE|n` bodies agree on the state and on n within two seconds (replay timing is not exact).
fn lockparams_agree(got: &str, want: &str) -> bool {
    let (g, w): (Vec<&str>, Vec<&str>) = (got.split('|').collect(), want.split('|').collect());
    g.len() == 3
        && w.len() == 3
        && g[..2] == w[..2]
        && match (g[2].parse::<i64>(), w[2].parse::<i64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() <= 2,
            _ => g[2] == w[2],
        }
}

/// Message texts of an application log (timestamps dropped).
fn log_messages(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.splitn(5, '|').nth(4))
        .map(str::to_string)
        .collect()
}

fn is_subsequence(needle: &[String], hay: &[String]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

fn drop_uptime(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove("UpTimeSinceLastReboot");
            m.values_mut().for_each(drop_uptime);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_uptime),
        _ => {}
    }
}

async fn replay(catalog: &Arc<Catalog>, s: &Scenario) {
    let setup = &s.sidecar.setup;
    let pages = catalog.page_set(&s.profile, &s.firmware).expect("page set");
    let rec = &pages.recorded;
    let mut spec = phone(&s.profile, &s.firmware, &rec.mac.to_string());
    spec.model = Some(rec.model.clone());
    spec.rest_enabled = setup.rest_enabled;
    // Replays look at the phone right after its reboot; the firmware update is the timeline tests' business.
    spec.update_to = Some(s.firmware.clone());
    if setup.provisioned {
        let server = submitted_server(catalog, s).expect("a provisioned scenario submits a server");
        spec.provisioned = Some(("HTTPS".into(), server));
    }
    let config = SimConfig {
        time_scale: SCALE,
        seed: 7,
        ..SimConfig::default()
    };
    let sim = Simulator::start(catalog.clone(), vec![spec], config)
        .await
        .expect("simulator starts");
    let phone = &sim.phones()[0];
    let addr = phone.web_addr();
    let mut r = Replayer {
        target: Target {
            addr,
            tls: phone.addrs().0.is_some(),
            mac: rec.mac,
        },
        session: None,
        csrf: None,
        live_ip: addr.ip().to_string(),
        recorded_ip: rec.ip.clone(),
    };
    let profile = catalog.profiles.get(&s.profile).expect("profile");
    let mut last_time: Option<f64> = None;
    for (i, e) in s.har.log.entries.iter().enumerate() {
        let when = time_of_day(&e.started_date_time);
        if let (Some(prev), false) = (last_time, comment_has(e, "after: reboot")) {
            // Keep the recorded pace, in phone time.
            let gap = (when - prev).clamp(0.0, 600.0);
            tokio::time::sleep(Duration::from_secs_f64(gap / SCALE)).await;
        }
        last_time = Some(when);
        let at = format!(
            "{}/{}/{}.har entry {i} ({} {})",
            s.profile, s.firmware, s.case, e.request.method, e.request.url
        );
        if comment_has(e, "after: reboot") {
            wait_for(&sim, rec.mac, Duration::from_secs(30), "the reboot", |p| {
                p["reboots"].as_u64() >= Some(1) && p["up"] == true
            })
            .await;
        }
        if comment_has(e, "after: lock-expired") {
            tokio::time::sleep(Duration::from_secs_f64(
                profile.lockout.lock_secs as f64 / SCALE + 0.1,
            ))
            .await;
        }
        let a = r.send(e, PASSWORD).await;
        let body = a.text();
        assert_same_head(&at, &a, &e.response);
        if let Some(c) = a.any_case("set-cookie").first() {
            r.session = c
                .split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .map(|(_, v)| v.to_string());
        }
        if body.contains("<meta name=\"csrf-token\"") {
            r.csrf = body
                .split("<meta name=\"csrf-token\" content=\"")
                .nth(1)
                .and_then(|x| x.split('"').next())
                .map(str::to_string);
        }
        let want = e.response.body();
        if want.starts_with("lockparams|") {
            assert!(
                lockparams_agree(&body, &want),
                "{at}: got {body:?}, recorded {want:?}"
            );
        } else if e.request.url.contains("/Diagnostics/log") {
            let (w, g) = (log_messages(&want), log_messages(&body));
            assert!(is_subsequence(&w, &g), "{at}: log lines {w:?} not in {g:?}");
        } else if e.response.content.mime_type.starts_with("application/json") {
            let mut w: serde_json::Value = serde_json::from_str(&want).expect("recorded JSON");
            let mut g: serde_json::Value =
                serde_json::from_str(&body.replace(&r.live_ip, &r.recorded_ip))
                    .unwrap_or_else(|_| panic!("{at}: JSON expected, got {body:?}"));
            drop_uptime(&mut w);
            drop_uptime(&mut g);
            assert_eq!(g, w, "{at}: JSON body");
        } else {
            let g = replace_meta_content(&body.replace(&r.live_ip, &r.recorded_ip), "[REDACTED]");
            if g != want {
                let pos = g
                    .bytes()
                    .zip(want.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(g.len().min(want.len()));
                let lo = pos.saturating_sub(60);
                panic!(
                    "{at}: body differs at byte {pos}:\n got  {:?}\n want {:?}",
                    &g[lo..(pos + 60).min(g.len())],
                    &want[lo..(pos + 60).min(want.len())]
                );
            }
        }
    }
    sim.shutdown().await;
}

async fn replay_profile(profile: &str) {
    let catalog = catalog();
    let builds: Vec<(String, String)> = catalog
        .builds()
        .filter(|(p, _)| *p == profile)
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect();
    assert!(!builds.is_empty(), "profile {profile} has recorded builds");
    for (p, f) in builds {
        let scenarios = catalog.scenarios(&p, &f).expect("scenarios load");
        assert!(!scenarios.is_empty(), "{p}/{f} has scenarios");
        for s in &scenarios {
            eprintln!("replaying {p}/{f}/{}: {}", s.case, s.sidecar.name);
            replay(&catalog, s).await;
        }
    }
}

/// CCX 7.x/8.x: session login, CSRF, lockout, session conflict, provisioning, REST on and off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poly_ccx_recordings_replay() {
    replay_profile("poly-ccx").await;
}

/// VVX on UCS 5.9/6.x, including the 5.9 build without a CSRF meta tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poly_vvx_6_recordings_replay() {
    replay_profile("poly-vvx-6").await;
}

/// VVX on UCS ≤ 5.8: the Authorization cookie on every request, and its lockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poly_vvx_5_recordings_replay() {
    replay_profile("poly-vvx-5").await;
}

/// SoundPoint IP on UCS 4.0: `auth.htm?t=` login, then the cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soundpoint_ucs4_recordings_replay() {
    replay_profile("soundpoint-ucs4").await;
}

/// SoundPoint IP on SIP 3.x: the `SPIP Configuration` 401 challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soundpoint_sip3_recordings_replay() {
    replay_profile("soundpoint-sip3").await;
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixtures") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// A recording's own wording is what the simulator serves: a reason phrase other than the usual one and a header
/// name spelled its own way come back byte for byte (here SIP 3.x recorded answering `401 Authorization Required`
/// with `WWW-authenticate`), not hyper's canonical phrase and title case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_wording_is_served_as_recorded() {
    let root = std::env::temp_dir().join(format!("polyprov-wording-{}", std::process::id()));
    copy_tree(&polyprov::data_dir().join("fixtures"), &root);
    let build = root.join("soundpoint-sip3/3.2.7.0198");
    for e in std::fs::read_dir(&build).expect("build dir") {
        let path = e.expect("entry").path();
        if path.extension().is_some_and(|x| x == "har") {
            let text = std::fs::read_to_string(&path).expect("har");
            let text = text
                .replace(
                    "\"statusText\": \"Unauthorized\"",
                    "\"statusText\": \"Authorization Required\"",
                )
                .replace(
                    "\"name\": \"WWW-Authenticate\"",
                    "\"name\": \"WWW-authenticate\"",
                );
            std::fs::write(&path, text).expect("write");
        }
    }
    let catalog = Arc::new(
        Catalog::load(ProfileSet::bundled().expect("profiles"), &root).expect("catalog loads"),
    );
    let scenarios = catalog
        .scenarios("soundpoint-sip3", "3.2.7.0198")
        .expect("scenarios");
    let login = scenarios
        .iter()
        .find(|s| s.case == "login-ok")
        .expect("login-ok");
    assert!(
        login.har.log.entries[0].response.status_text == "Authorization Required",
        "the copy carries the rewording"
    );
    replay(&catalog, login).await;
    std::fs::remove_dir_all(&root).ok();
}
