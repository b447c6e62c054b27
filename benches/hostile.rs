//! What hostile devices cost the agent, side by side in one run: for a healthy simulated phone and for each attack
//! of `sim::hostile` (an endless answer, a gigabyte `Content-Length`, a page nested 60,000 deep, endless headers, a
//! thousand headers, and the heaviest page the budgets let through), the verdict,
//! wall time, CPU time and the process's peak RSS during that case (the high-water mark is reset between cases
//! through `/proc/self/clear_refs`). Then a batch: the healthy phone onboarded beside two deep-page devices at
//! once, its time against its time alone — page parsing runs off the async workers, so the devices must not slow it.
//!
//! Issue 13 measured the agent before the caps: the endless answer grew to 4.7 GB in 13.6 s until allocation
//! failed; a 1 GB page cost 2.1 GB RSS; the deep page 23 s of CPU on the runtime's workers, making a healthy phone
//! in the same batch time out.
//!
//! `cargo bench --bench hostile`

use std::sync::Arc;
use std::time::{Duration, Instant};

use polyprov::clock::Clock;
use polyprov::fixture::Catalog;
use polyprov::phone::{Job, Report};
use polyprov::profile::ProfileSet;
use polyprov::secret::Secret;
use polyprov::sim::hostile::{self, Attack};
use polyprov::sim::{PhoneSpec, SimConfig, Simulator};

const PASSWORD: &str = "bench-pass";
const SCALE: f64 = 300.0;

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds of this process.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn job(base: &str) -> Job {
    let wanted = polyprov::phone::provisioning::Wanted {
        server_type: "HTTPS".into(),
        url: "https://prov.example.test/poly/".into(),
        user: None,
        password: None,
    };
    let mut job = Job::new(
        base.parse().expect("base URL"),
        wanted,
        vec![Secret::new(PASSWORD)],
        Clock::new(SCALE),
    );
    job.allow_factory = true;
    job.dry_run = true;
    job
}

struct Figures {
    verdict: String,
    wall: Duration,
    cpu: f64,
    peak_mib: f64,
}

async fn measure<F: std::future::Future<Output = Vec<Report>>>(f: F) -> Figures {
    // Reset the peak-RSS high-water mark to the current RSS (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (cpu, start) = (cpu_secs(), Instant::now());
    let reports = f.await;
    Figures {
        verdict: reports
            .iter()
            .map(|r| {
                let label = r.outcome.label().to_string();
                match r.outcome.reason() {
                    Some(why) => format!("{label}: {}", why.chars().take(60).collect::<String>()),
                    None => label,
                }
            })
            .collect::<Vec<_>>()
            .join(" | "),
        wall: start.elapsed(),
        cpu: cpu_secs() - cpu,
        peak_mib: status_kib("VmHWM:") as f64 / 1024.0,
    }
}

async fn provision(profiles: &ProfileSet, base: String) -> Report {
    let sink = |_: polyprov::phone::Event| {};
    polyprov::phone::provision(&job(&base), profiles, &sink).await
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let catalog = Arc::new(Catalog::bundled().expect("bundled fixtures"));
        let profiles = catalog.profiles.clone();
        let spec = PhoneSpec::new(
            "poly-vvx-6",
            "6.4.5.1210",
            "64167F00C001".parse().unwrap(),
            PASSWORD,
        );
        let config = SimConfig {
            time_scale: SCALE,
            ..SimConfig::default()
        };
        let sim = Simulator::start(catalog.clone(), vec![spec], config)
            .await
            .expect("simulator");
        let phone = format!("https://{}/", sim.phones()[0].web_addr());
        let mut rows = Vec::new();
        let alone = measure(async { vec![provision(&profiles, phone.clone()).await] }).await;
        rows.push(("healthy phone (dry run)".to_string(), alone));
        let mut deep = Vec::new();
        for (i, attack) in [
            Attack::EndlessBody,
            Attack::HugeLength,
            Attack::DeepPage,
            Attack::HeaderFlood,
            Attack::ManyHeaders,
            Attack::HeaviestAllowed,
        ]
        .into_iter()
        .enumerate()
        {
            let mac = format!("64167F00C01{i}").parse().unwrap();
            let (addr, seen) = hostile::serve(attack, mac, 666).await.expect("device");
            let base = format!("https://{addr}/");
            let f = measure(async { vec![provision(&profiles, base.clone()).await] }).await;
            rows.push((
                format!("{attack:?} ({} credentials sent)", seen.credentials()),
                f,
            ));
            if attack == Attack::DeepPage {
                deep.push(base);
            }
        }
        let (addr, _) = hostile::serve(Attack::DeepPage, "64167F00C020".parse().unwrap(), 667)
            .await
            .expect("device");
        deep.push(format!("https://{addr}/"));
        let batch = measure(async {
            let (healthy, a, b) = tokio::join!(
                provision(&profiles, phone.clone()),
                provision(&profiles, deep[0].clone()),
                provision(&profiles, deep[1].clone()),
            );
            vec![healthy, a, b]
        })
        .await;
        rows.push(("healthy phone + 2 deep-page devices".to_string(), batch));

        println!("\nhostile devices against the agent (release build, 2 runtime workers)\n");
        println!(
            "{:<44} {:>9} {:>8} {:>10}  verdict",
            "case", "wall ms", "CPU s", "peak MiB"
        );
        for (name, f) in &rows {
            println!(
                "{:<44} {:>9.0} {:>8.2} {:>10.1}  {}",
                name,
                f.wall.as_secs_f64() * 1000.0,
                f.cpu,
                f.peak_mib,
                f.verdict
            );
        }
        sim.shutdown().await;
    });
}
