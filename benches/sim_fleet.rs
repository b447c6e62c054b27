//! Simulator capacity: 500 phones in one process, every one logged into, its provisioning page read and its
//! provisioning server saved, then followed through reboots and a firmware update to Inactive (time-scaled).
//! Prints wall time, request rate and the process's peak RSS (simulator plus this bench's client).
//!
//! `cargo bench --bench sim_fleet [-- PHONES [TIME_SCALE]]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use polyprov::fixture::Catalog;
use polyprov::phone::tls::{PhoneVerifier, Trust};
use polyprov::sim::{Phase, SimConfig, Simulator, fleet};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let scale: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(600.0);
    let catalog = Arc::new(Catalog::bundled().expect("catalog"));
    let password = "bench-pass";
    // The session-CSRF families (CCX, VVX 5.9+/6.x) across their four builds.
    let specs: Vec<_> = fleet::mixed(&catalog, n * 3, "127.0.0.1".parse().unwrap(), password)
        .into_iter()
        .filter(|s| s.profile == "poly-vvx-6" || s.profile == "poly-ccx")
        .take(n)
        .collect();
    let started = Instant::now();
    let config = SimConfig {
        time_scale: scale,
        ..SimConfig::default()
    };
    let sim = Simulator::start(catalog.clone(), specs, config)
        .await
        .expect("simulator");
    let start_time = started.elapsed();
    let rss_idle = peak_rss_kib();
    polyprov::init_tls();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("Polycom:{password}"))
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(64));
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for p in sim.phones() {
        let (addr, mac) = (p.web_addr(), p.mac);
        let fields = p.with(|s| {
            (
                s.pages
                    .field("device.prov.serverType")
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
                s.pages
                    .field("device.prov.serverName")
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
            )
        });
        let (auth, sem) = (auth.clone(), sem.clone());
        let url = sim.prov_url().expect("the simulated service runs");
        tasks.spawn(async move {
            let _permit = sem.acquire().await.ok()?;
            let c = reqwest::Client::builder()
                .tls_backend_preconfigured(
                    PhoneVerifier::new(Trust::PolyPhone(Some(mac)))
                        .client_config()
                        .ok()?,
                )
                .no_proxy()
                .build()
                .ok()?;
            let base = format!("https://{addr}");
            let r = c
                .post(format!("{base}/form-submit/auth.htm"))
                .header("Authorization", &auth)
                .send()
                .await
                .ok()?;
            let cookie = r
                .headers()
                .get("set-cookie")?
                .to_str()
                .ok()?
                .split(';')
                .next()?
                .to_string();
            let index = c
                .get(format!("{base}/index.htm"))
                .header("Cookie", &cookie)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            // Early 5.9 builds issue no CSRF token; the header is then simply empty.
            let csrf = index
                .split("<meta name=\"csrf-token\" content=\"")
                .nth(1)
                .and_then(|t| t.split('"').next())
                .unwrap_or_default()
                .to_string();
            c.get(format!("{base}/provConf.htm"))
                .header("Cookie", &cookie)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            let body = format!(
                "{}=3&{}={}",
                fields.0,
                fields.1,
                url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
            );
            let saved = c
                .post(format!("{base}/form-submit"))
                .header("Cookie", &cookie)
                .header("anti-csrf-token", csrf)
                .body(body)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            Some(saved == "CONF_CHANGE")
        });
    }
    let mut saved = 0;
    while let Some(r) = tasks.join_next().await {
        if matches!(r, Ok(Some(true))) {
            saved += 1;
        }
    }
    let save_time = t.elapsed();
    let requests = sim.phones().len() * 4;
    loop {
        let done = sim
            .phones()
            .iter()
            .filter(|p| p.with(|s| s.phase == Phase::Inactive))
            .count();
        if done == sim.phones().len() || t.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let inactive = sim
        .phones()
        .iter()
        .filter(|p| p.with(|s| s.phase == Phase::Inactive))
        .count();
    let reboots: u32 = sim.phones().iter().map(|p| p.with(|s| s.reboots)).sum();
    println!("simulated phones        {:>10}", sim.phones().len());
    println!("start-up                {:>10.2?}", start_time);
    println!("peak RSS after start-up {:>7} KiB", rss_idle);
    println!(
        "login+read+save (x64)   {:>10.2?}  ({:.0} requests/s, {saved} saved)",
        save_time,
        requests as f64 / save_time.as_secs_f64()
    );
    println!(
        "to Inactive             {:>10.2?}  ({inactive} inactive, {reboots} reboots, time scale {scale})",
        t.elapsed()
    );
    println!(
        "peak RSS overall        {:>7} KiB (simulator and bench client in one process)",
        peak_rss_kib()
    );
    sim.shutdown().await;
}
