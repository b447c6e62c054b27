//! Shared test helpers: the bundled catalog, a simulator per test, an HTTPS client that trusts exactly the
//! simulated phone's certificate, and the control endpoint's view of a phone.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use polyprov::fixture::Catalog;
use polyprov::mac::Mac;
use polyprov::phone::tls::{PhoneVerifier, Trust};
use polyprov::sim::{PhoneSpec, SimConfig, Simulator};

pub mod schema;
pub mod wire;

#[allow(unused_imports)]
pub use schema::{json_lines, report_json};

/// The admin password the test phones are given (lab data).
pub const PASSWORD: &str = "site-pass-7";

pub fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| Arc::new(Catalog::bundled().expect("bundled profiles and fixtures load")))
        .clone()
}

/// The polyprov state directory the binary gets in tests (`POLYPROV_HOME`): one per test process, never the
/// user's, so one test's remembered failed logins never hold back another's.
pub fn test_home() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("polyprov-home-{}", std::process::id()))
}

pub fn mac(s: &str) -> Mac {
    s.parse().expect("test MAC")
}

/// A simulator with these phones, `scale` phone seconds per wall second.
pub async fn start(specs: Vec<PhoneSpec>, scale: f64) -> Simulator {
    let config = SimConfig {
        time_scale: scale,
        seed: 7,
        ..SimConfig::default()
    };
    Simulator::start(catalog(), specs, config)
        .await
        .expect("simulator starts")
}

/// One fresh phone of this build.
pub fn phone(profile: &str, firmware: &str, mac_text: &str) -> PhoneSpec {
    PhoneSpec::new(profile, firmware, mac(mac_text), PASSWORD)
}

/// A client that accepts only this phone's certificate, sends no cookies of its own and follows no redirects.
pub fn client(mac: Mac) -> reqwest::Client {
    polyprov::init_tls();
    let verifier = PhoneVerifier::new(Trust::PolyPhone(Some(mac)));
    reqwest::Client::builder()
        .tls_backend_preconfigured(verifier.client_config().expect("tls config"))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

pub fn basic(password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("Polycom:{password}"))
    )
}

/// The phone's state as the simulator's control endpoint reports it.
pub async fn report(sim: &Simulator, mac: Mac) -> serde_json::Value {
    let url = format!("http://{}/phones/{mac}", sim.control_addr());
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(url)
        .send()
        .await
        .expect("control endpoint answers")
        .json()
        .await
        .expect("control JSON")
}

/// Poll the control endpoint until `pred` holds, or panic after `limit`.
pub async fn wait_for(
    sim: &Simulator,
    mac: Mac,
    limit: Duration,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let r = report(sim, mac).await;
        if pred(&r) {
            return r;
        }
        assert!(
            start.elapsed() < limit,
            "phone {mac}: waited {limit:?} for {what}; last state {r:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A logged-in session-csrf web session: cookie and CSRF token.
pub struct WebSession {
    pub base: String,
    pub cookie: String,
    pub csrf: Option<String>,
}

impl WebSession {
    /// A page's text, fetched in this session.
    pub async fn page(&self, c: &reqwest::Client, path: &str) -> String {
        c.get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("{path} body: {e}"))
    }
}

/// Log in to a session-csrf phone and read the CSRF token from index.htm.
pub async fn login_session(c: &reqwest::Client, base: &str, password: &str) -> WebSession {
    let r = c
        .post(format!("{base}/form-submit/auth.htm"))
        .header("Authorization", basic(password))
        .send()
        .await
        .expect("login answers");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string();
    let body = r.text().await.expect("body");
    assert_eq!(body, "lockparams|SUCCESS|0");
    let index = c
        .get(format!("{base}/index.htm"))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("index")
        .text()
        .await
        .expect("index body");
    let csrf = index
        .split("<meta name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string);
    WebSession {
        base: base.to_string(),
        cookie,
        csrf,
    }
}

/// The command-line flags that point the agent at the simulator's provisioning service: its URL, its name pinned
/// to its address (no DNS query ever leaves the machine), and its test CA.
pub fn server_flags(sim: &Simulator) -> Vec<String> {
    let url = sim.prov_url().expect("the simulated service runs");
    let port = url::Url::parse(&url).unwrap().port().unwrap();
    let ca = std::env::temp_dir().join(format!(
        "polyprov-test-ca-{}-{port}.pem",
        std::process::id()
    ));
    std::fs::write(&ca, sim.ca_pem()).expect("CA file written");
    vec![
        "--server-url".into(),
        url,
        "--resolve".into(),
        sim.prov_pin().unwrap().to_string(),
        "--server-ca".into(),
        ca.display().to_string(),
    ]
}

/// A fresh directory for one test (`polyprov-<prefix>-<name>-<pid>`), emptied first if a run left it behind.
pub fn scratch(prefix: &str, name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("polyprov-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `polyprov onboard --targets targets.csv --yes --json --time-scale 60` of every simulated phone (by address and
/// MAC, written to `dir/targets.csv`), run in `dir` with the test password and the simulator's service; the caller
/// adds the flags under test.
pub fn onboard_all(sim: &Simulator, dir: &std::path::Path) -> std::process::Command {
    let mut targets = String::from("ip,mac\n");
    for p in sim.phones() {
        targets.push_str(&format!("{},{}\n", p.addrs().0.unwrap(), p.mac));
    }
    std::fs::write(dir.join("targets.csv"), targets).unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_polyprov"));
    c.args(["onboard", "--targets", "targets.csv", "--yes", "--json"])
        .args(["--time-scale", "60"])
        .args(server_flags(sim))
        .current_dir(dir)
        .env("POLYPROV_PASSWORD", PASSWORD)
        .env("POLYPROV_HOME", test_home())
        .env_remove("POLYPROV_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c
}

/// A job for the simulator's first phone (HTTPS where it serves it, else HTTP), pointing it at `url`, watched at
/// `scale` phone seconds per wall second, with the test password and the profile's defaults.
pub fn job(sim: &Simulator, url: &str, scale: f64) -> polyprov::phone::Job {
    let p = &sim.phones()[0];
    let scheme = if p.addrs().0.is_some() {
        "https"
    } else {
        "http"
    };
    job_at(
        format!("{scheme}://{}/", p.web_addr())
            .parse()
            .expect("base URL"),
        url,
        scale,
    )
}

/// A job for whatever answers at `base` (a simulated phone, or a device posing as one).
pub fn job_at(base: url::Url, url: &str, scale: f64) -> polyprov::phone::Job {
    polyprov::phone::Job::new(
        base,
        polyprov::phone::provisioning::Wanted {
            server_type: "HTTPS".into(),
            url: url.into(),
            user: None,
            password: None,
        },
        vec![polyprov::secret::Secret::new(PASSWORD)],
        polyprov::clock::Clock::new(scale),
    )
}

/// A run's settings for the simulator's phones: [`job`]'s password, clock and patience, `concurrency` at once, no
/// search, nothing remembered across runs.
pub fn settings(
    sim: &Simulator,
    url: &str,
    scale: f64,
    concurrency: usize,
    dry_run: bool,
) -> polyprov::fleet::Settings {
    let j = job(sim, url, scale);
    polyprov::fleet::Settings {
        wanted: j.wanted,
        passwords: j.passwords,
        allow_factory: false,
        new_password: None,
        dry_run,
        force: false,
        concurrency,
        clock: j.clock,
        timing: j.timing,
        patience: j.patience,
        allow: j.allow,
        search_range: None,
        search_rate: 20,
        heard: None,
        port: None,
        attempts: None,
        known: None,
    }
}

/// Save server type HTTPS and `url` through the phone's web form (field names as its profile gives them).
pub async fn save_provisioning(
    c: &reqwest::Client,
    base: &str,
    type_name: &str,
    name_name: &str,
    url: &str,
) -> String {
    let s = login_session(c, base, PASSWORD).await;
    let mut req = c
        .post(format!("{base}/form-submit"))
        .header("Cookie", &s.cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("{type_name}=3&{name_name}={}", urlencode(url)));
    if let Some(t) = &s.csrf {
        req = req.header("anti-csrf-token", t);
    }
    req.send().await.unwrap().text().await.unwrap()
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Run `provision` for one job with the bundled profiles (at most 60 s of wall time), keeping every event.
pub async fn provision_with_events(
    job: &polyprov::phone::Job,
) -> (polyprov::phone::Report, Vec<polyprov::phone::Event>) {
    let profiles = polyprov::profile::ProfileSet::bundled().expect("bundled profiles load");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = {
        let seen = seen.clone();
        move |e: polyprov::phone::Event| seen.lock().unwrap().push(e)
    };
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        polyprov::phone::provision(job, &profiles, &sink),
    )
    .await
    .expect("provision finishes");
    let events = seen.lock().unwrap().clone();
    (report, events)
}
