//! Every recorded scenario replays against the simulator: the same requests (with live credentials, session and
//! CSRF token in place of the redacted ones) get the recorded statuses, headers and bodies. This is what keeps the
//! simulator and the fixtures — and later real recordings — honest with each other.

mod common;

use std::time::Duration;

use common::*;
use polyprov::fixture::har::Entry;
use polyprov::fixture::redact::replace_meta_content;
use polyprov::fixture::{Catalog, Scenario};
use polyprov::sim::Simulator;

/// Phone seconds per wall second in replays: a 150 s reboot takes 1.5 s, a 60 s lock 0.6 s.
const SCALE: f64 = 100.0;

struct Replayer {
    client: reqwest::Client,
    base: String,
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
    async fn send(&mut self, e: &Entry, password: &str) -> reqwest::Response {
        let path = e.request.path_and_query();
        let method = reqwest::Method::from_bytes(e.request.method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        let secret = if comment_has(e, "credential: wrong") {
            "wrong-password"
        } else {
            password
        };
        let mut cookies = Vec::new();
        for h in &e.request.headers {
            let name = h.name.to_ascii_lowercase();
            match name.as_str() {
                "host" | "content-length" | "accept-encoding" | "connection" => {}
                "authorization" => req = req.header("Authorization", basic(secret)),
                "anti-csrf-token" => {
                    req = req.header("anti-csrf-token", self.csrf.clone().unwrap_or_default())
                }
                "cookie" => {
                    for part in h.value.split(';') {
                        match part.trim().split_once('=') {
                            Some(("session", _)) => cookies.push(format!(
                                "session={}",
                                self.session.clone().unwrap_or_default()
                            )),
                            Some(("Authorization", _)) => {
                                cookies.push(format!("Authorization={}", basic(secret)))
                            }
                            Some((k, v)) => cookies.push(format!("{k}={v}")),
                            None => {}
                        }
                    }
                }
                _ => {
                    req = req.header(
                        h.name.as_str(),
                        h.value.replace(&self.recorded_ip, &self.live_ip),
                    )
                }
            }
        }
        if !cookies.is_empty() {
            req = req.header("Cookie", cookies.join("; "));
        }
        if let Some(pd) = &e.request.post_data {
            req = req.body(pd.text.clone());
        }
        req.send()
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

async fn replay(catalog: &Catalog, s: &Scenario) {
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
    let sim: Simulator = start(vec![spec], SCALE).await;
    let phone = &sim.phones()[0];
    let addr = phone.web_addr();
    let scheme = if phone.addrs().0.is_some() {
        "https"
    } else {
        "http"
    };
    let mut r = Replayer {
        client: client(rec.mac),
        base: format!("{scheme}://{addr}"),
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
        let resp = r.send(e, PASSWORD).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, e.response.status, "{at}: status; body {body:?}");
        let want_server = e.response.header("server");
        assert_eq!(
            headers.get("server").and_then(|v| v.to_str().ok()),
            want_server,
            "{at}: Server header"
        );
        if let Some(ct) = e.response.header("content-type") {
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some(ct),
                "{at}: Content-Type"
            );
        }
        let set_cookies = headers.get_all("set-cookie").iter().count();
        let want_cookies = e
            .response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
            .count();
        assert_eq!(
            set_cookies, want_cookies,
            "{at}: number of Set-Cookie headers"
        );
        if let Some(c) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            r.session = c
                .split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .map(|(_, v)| v.to_string());
        }
        if let Some(www) = e.response.header("www-authenticate") {
            let got = headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let prefix = www.split("nonce=").next().unwrap_or(www);
            assert!(
                got.starts_with(prefix),
                "{at}: WWW-Authenticate {got:?}, recorded {www:?}"
            );
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
