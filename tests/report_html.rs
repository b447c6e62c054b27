//! `report.html` in a real browser: a run through the library (`onboard::start`) against simulated phones — one
//! updating its firmware over several reboots, one Inactive after one reboot, one that never comes back from its
//! reboot, one whose admin password is someone else's, one whose web UI names its model with markup — writes its
//! run directory; headless Chromium then opens the page inside a network namespace this test creates (and
//! deletes), so it can send nothing anywhere. The page must show one row and one timeline per phone with as many
//! reboot marks as the report counts, render to a real screenshot, print to A4 and fit A4's width without a cut
//! column. Needs root and `chromium` (`.ci/run` installs it); skipped (saying why) locally without them, never on
//! CI.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use polyprov::fleet::targets::Target;
use polyprov::onboard::{self, RunSpec};
use polyprov::sim::{PhoneSpec, ProvSetup, SimConfig, Simulator};

/// Phone seconds per wall second.
const SCALE: f64 = 300.0;
/// How long one Chromium call may take before it is killed.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(60);
/// A model name with markup, as a hostile or broken web UI could give it.
const HOSTILE_MODEL: &str = "CCX 500 <script>document.title='pwned'</script>\"onload=x";

/// Whether this machine can run the test: root (for the namespace), `ip` and `chromium`.
fn check() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("not root (a network namespace needs CAP_SYS_ADMIN)".into());
    }
    for tool in ["ip", "chromium"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Err(format!("{tool} is not installed (`.ci/run` installs it)"));
        }
    }
    Ok(())
}

/// Skips (locally) or fails (on CI, which must run it) when the browser cannot be run.
fn available(test: &str) -> bool {
    match check() {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: headless Chromium cannot run on CI: {why}")
        }
        Err(why) => {
            eprintln!("{test}: SKIPPED: {why}");
            false
        }
    }
}

/// The phones: (what it is, spec).
fn phones() -> Vec<(&'static str, PhoneSpec)> {
    let mut never = phone("poly-vvx-6", "6.4.5.1210", "64167F000A03");
    never.faults.never_returns = true;
    let mut stranger = phone("poly-vvx-6", "6.4.5.1210", "64167F000A04");
    stranger.password = "someone-elses".into();
    let mut hostile = phone("poly-ccx", "8.1.3.1301", "482567000A05");
    hostile.model = Some(HOSTILE_MODEL.into());
    vec![
        (
            "a VVX on 5.9 (updates to 6.4)",
            phone("poly-vvx-6", "5.9.4.3247", "64167F000A01"),
        ),
        (
            "a fresh CCX",
            phone("poly-ccx", "8.1.3.1301", "482567000A02"),
        ),
        ("never comes back from its reboot", never),
        ("someone else's admin password", stranger),
        ("a model name with markup", hostile),
    ]
}

/// The run's spec: every phone of the simulator, by address and MAC, pointed at its provisioning service.
fn spec(sim: &Simulator) -> RunSpec {
    let targets = sim
        .phones()
        .iter()
        .map(|p| {
            let (https, _) = p.addrs();
            let a = https.unwrap_or_else(|| panic!("phone {} serves no HTTPS", p.mac));
            let mut t = Target::from_address(&a.to_string(), false).expect("target");
            t.mac = Some(p.mac);
            t
        })
        .collect();
    RunSpec {
        server_type: "HTTPS".into(),
        server_url: sim.prov_url().expect("provisioning service"),
        server_user: None,
        server_password_file: None,
        password_file: None,
        allow_factory_password: false,
        new_password_file: None,
        concurrency: 8,
        allow: Default::default(),
        site: Some("Lab & <Test> site".into()),
        operator: Some("CI".into()),
        dry_run: false,
        force: false,
        cidr: None,
        return_secs: None,
        settle_secs: None,
        timeout_secs: None,
        patience_secs: onboard::spec::DEFAULT_PATIENCE_SECS,
        time_scale: SCALE,
        search_rate: onboard::spec::DEFAULT_SEARCH_RATE,
        resolve: sim.prov_pin().into_iter().collect(),
        server_ca: None,
        skip_server_check: true,
        server_checks: Vec::new(),
        plan: None,
        targets,
    }
}

/// Onboard the phones; returns the run directory (inside `state`).
async fn run_fleet(state: &Path) -> PathBuf {
    let config = SimConfig {
        time_scale: SCALE,
        seed: 7,
        prov: Some(ProvSetup::default()),
        ..SimConfig::default()
    };
    let specs = phones().into_iter().map(|(_, s)| s).collect();
    let sim = Simulator::start(catalog(), specs, config)
        .await
        .expect("simulator starts");
    let spec = spec(&sim);
    spec.check().expect("a valid spec");
    let settings = settings(&sim, &spec.server_url, SCALE, spec.concurrency, false);
    let dir = onboard::new_run_dir(state).expect("run directory");
    let (_tx, stop) = tokio::sync::watch::channel(false);
    let ended = onboard::start(
        &dir,
        &spec,
        settings,
        Arc::new(catalog().profiles.clone()),
        polyprov::fleet::progress::Mode::Plain,
        stop,
    )
    .await
    .expect("the run ends");
    sim.shutdown().await;
    assert!(
        ended.files.contains(&dir.join("report.html")),
        "{:?}",
        ended.files
    );
    dir
}

/// A network namespace of this test's own, with nothing in it (not even `lo` up): what runs inside can reach no
/// one. Deleted on drop, whatever happened.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        let name = format!("pphtml{}", std::process::id());
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("ip netns add");
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// Headless Chromium inside the namespace, with a home and profile of its own under `tmp`.
struct Browser<'a> {
    ns: &'a Netns,
    tmp: PathBuf,
    calls: u32,
}

impl Browser<'_> {
    /// Run Chromium on `page` with `args`; returns its standard output. Killed (its whole process group) after
    /// [`CHROMIUM_LIMIT`].
    fn run(&mut self, page: &Path, args: &[&str]) -> String {
        use std::os::unix::process::CommandExt;
        self.calls += 1;
        let profile = self.tmp.join(format!("profile{}", self.calls));
        let home = self.tmp.join("home");
        std::fs::create_dir_all(&home).expect("home");
        let (out, err) = (
            self.tmp.join(format!("out{}", self.calls)),
            self.tmp.join(format!("err{}", self.calls)),
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns.0, "chromium"])
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--metrics-recording-only",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(format!("file://{}", page.display()))
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", &home)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .process_group(0)
            .spawn()
            .expect("chromium starts");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for chromium") {
                break status;
            }
            if start.elapsed() > CHROMIUM_LIMIT {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                panic!(
                    "chromium {args:?} took over {CHROMIUM_LIMIT:?}; stderr:\n{}",
                    std::fs::read_to_string(&err).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Leftovers of its process group (a zygote that outlived the browser) go too.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(Stdio::null())
            .status();
        assert!(
            status.success(),
            "chromium {args:?}: {status}; stderr:\n{}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        std::fs::read_to_string(&out).expect("chromium's output")
    }
}

/// The part of `dom` that is one phone's timeline (`<div class="tl-row phone-timeline" data-mac="…">` up to the
/// next one or the end of its section).
fn timeline_of<'a>(dom: &'a str, mac: &str) -> &'a str {
    let start = dom
        .find(&format!("phone-timeline\" data-mac=\"{mac}\""))
        .unwrap_or_else(|| panic!("no timeline for {mac}"));
    let rest = &dom[start..];
    let end = rest[1..]
        .find("phone-timeline\" data-mac=")
        .or_else(|| rest.find("</section>"))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Every `/MediaBox [x0 y0 x1 y1]` of a PDF.
fn media_boxes(pdf: &[u8]) -> Vec<Vec<f64>> {
    let text = String::from_utf8_lossy(pdf);
    text.split("/MediaBox")
        .skip(1)
        .filter_map(|s| {
            let inner = s.trim_start().strip_prefix('[')?.split(']').next()?;
            Some(
                inner
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect(),
            )
        })
        .collect()
}

/// Injected into a copy of the page (the original forbids every script): under the viewport's width, does every
/// table and cell fit? The answer goes into the DOM for `--dump-dom`.
const FIT_CHECK: &str = r#"<script>
(function () {
  var vw = document.documentElement.clientWidth, bad = [];
  document.querySelectorAll('table').forEach(function (t) {
    if (t.scrollWidth > t.clientWidth + 1 || t.getBoundingClientRect().right > vw + 1) bad.push('table ' + t.scrollWidth + '>' + t.clientWidth);
  });
  document.querySelectorAll('td, th').forEach(function (c) {
    if (c.scrollWidth > c.clientWidth + 1) bad.push('cell "' + c.textContent.slice(0, 30) + '" ' + c.scrollWidth + '>' + c.clientWidth);
  });
  if (document.documentElement.scrollWidth > vw + 1) bad.push('page ' + document.documentElement.scrollWidth + '>' + vw);
  document.body.dataset.vw = String(vw);
  document.body.dataset.why = bad.join('; ');
  document.body.dataset.fits = bad.length ? 'no' : 'yes';
})();
</script>"#;

/// The page of a real run, in a real browser that can reach no network: one row and one timeline per phone, the
/// reboots the report counts, one final state each, the firmware update; escaped markup stays text; a real
/// screenshot; an A4 PDF; and A4's printable width fits the table without a cut column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_page_renders_prints_and_fits_a4() {
    if !available("the_report_page_renders_prints_and_fits_a4") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("polyprov-report-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let dir = run_fleet(&tmp.join("state")).await;
    let page = dir.join("report.html");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    let rows = report["phones"].as_array().expect("phones").clone();
    assert_eq!(rows.len(), phones().len());
    let total_reboots: u64 = rows.iter().filter_map(|r| r["reboots"].as_u64()).sum();
    assert!(total_reboots >= 3, "the fleet rebooted: {report:#}");
    assert!(
        rows.iter().any(|r| r["state"] == "failed"),
        "one phone failed: {report:#}"
    );

    let ns = Netns::new();
    let mut browser = Browser {
        ns: &ns,
        tmp: tmp.clone(),
        calls: 0,
    };

    // (1) The DOM: a row and a timeline per phone, its reboots and its final state.
    let dom = browser.run(&page, &["--dump-dom"]);
    assert_eq!(
        dom.matches("<tr class=\"phone\"").count(),
        rows.len(),
        "{dom}"
    );
    assert_eq!(dom.matches("class=\"mark mark-final ").count(), rows.len());
    for r in &rows {
        let mac = r["mac"].as_str().expect("a MAC");
        let line = timeline_of(&dom, mac);
        assert_eq!(
            line.matches("class=\"mark mark-reboot\"").count() as u64,
            r["reboots"].as_u64().expect("reboots"),
            "reboot marks of {mac}: {line}"
        );
        assert_eq!(
            line.matches("class=\"mark mark-final ").count(),
            1,
            "{line}"
        );
        let state = r["state"].as_str().expect("state");
        assert!(line.contains(&format!("data-state=\"{state}\"")), "{line}");
    }
    let updated = rows
        .iter()
        .find(|r| r["mac"] == "64167F000A01")
        .expect("the VVX on 5.9");
    assert_ne!(
        updated["firmware-before"], updated["firmware-after"],
        "{updated:#}"
    );
    assert!(
        timeline_of(&dom, "64167F000A01").contains("class=\"mark mark-update\""),
        "the firmware update is marked"
    );
    assert!(dom.matches("class=\"mark mark-save\"").count() >= 3);
    // Markup a phone or the user sent is text: no script element, no attribute of its own.
    assert!(!dom.contains("<script"), "a script element in the page");
    assert!(!dom.contains("pwned</title>"));
    assert!(dom.contains("Lab &amp; &lt;Test&gt; site"));
    if let Some(model) = rows
        .iter()
        .find(|r| r["mac"] == "482567000A05")
        .and_then(|r| r["model"].as_str())
        .filter(|m| m.contains('<'))
    {
        assert!(
            dom.contains(
                &model
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            )
        );
    }

    // (2) A screenshot: a real PNG of the window's size, with something drawn on it.
    let png = tmp.join("report.png");
    browser.run(
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            "--hide-scrollbars",
        ],
    );
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let size =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    assert_eq!((size(16), size(20)), (1280, 2000), "the window's size");
    assert!(
        bytes.len() > 30_000,
        "a screenshot of {} bytes shows nothing much",
        bytes.len()
    );

    // (3) Printed: every page A4 portrait (595 × 842 points).
    let pdf = tmp.join("report.pdf");
    browser.run(
        &page,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    let bytes = std::fs::read(&pdf).expect("the PDF");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    let boxes = media_boxes(&bytes);
    assert!(!boxes.is_empty(), "the PDF names its page size");
    for b in &boxes {
        assert_eq!(b.len(), 4, "{boxes:?}");
        assert!(
            (b[2] - b[0] - 595.0).abs() <= 1.0 && (b[3] - b[1] - 842.0).abs() <= 1.0,
            "not A4: {boxes:?}"
        );
    }

    // (4) A4's printable width (210 mm − 2 × 12 mm at 96 dpi ≈ 703 px; 718 px leaves room for a scrollbar): every
    // table and cell fits, no column is cut.
    let html = std::fs::read_to_string(&page).expect("the page");
    let csp = html
        .lines()
        .find(|l| l.contains("Content-Security-Policy"))
        .expect("the page's CSP");
    let probe = |name: &str, html: &str| {
        let path = tmp.join(name);
        std::fs::write(
            &path,
            html.replace(csp, "")
                .replace("</body>", &format!("{FIT_CHECK}\n</body>")),
        )
        .expect("the probe page");
        path
    };
    let mut fits = |page: &Path| {
        let dom = browser.run(page, &["--dump-dom", "--window-size=718,1000"]);
        let attr = |name: &str| {
            dom.split(&format!("data-{name}=\""))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_string)
        };
        let vw: u32 = attr("vw")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("the check did not run: {dom}"));
        assert!(vw <= 718, "the viewport was {vw} px wide, not A4's");
        (
            attr("fits"),
            format!("at {vw} px: {}", attr("why").unwrap_or_default()),
        )
    };
    let (fit, why) = fits(&probe("fit.html", &html));
    assert_eq!(fit.as_deref(), Some("yes"), "{why}");
    // The check can say no: a cell that cannot wrap overflows its column.
    let wide = html.replacen(
        "<td class=\"num\">",
        &format!(
            "<td class=\"num\" style=\"white-space:nowrap\">{}",
            "W".repeat(60)
        ),
        1,
    );
    let (fit, why) = fits(&probe("overflow.html", &wide));
    assert_eq!(
        fit.as_deref(),
        Some("no"),
        "an overflowing cell went unseen ({why})"
    );

    drop(ns);
    // `POLYPROV_KEEP_HTML=1` keeps the run directory, the screenshot and the PDF to look at.
    if std::env::var_os("POLYPROV_KEEP_HTML").is_some() {
        eprintln!("kept {} (run directory {})", tmp.display(), dir.display());
    } else {
        std::fs::remove_dir_all(&tmp).ok();
    }
}
