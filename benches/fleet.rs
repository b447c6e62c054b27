//! Fleet onboarding against the simulator, side by side in one run:
//! - all phones at once (concurrency = fleet size): wall time against the ideal, i.e. the moment the slowest phone
//!   really settled as Inactive (the simulator's own timestamp), beside the old settle-window ideal (its last
//!   reboot plus the settle window, what a quiet-window agent had to wait for), and the agent's CPU time and peak
//!   RSS; targets: wall ≤ 1.05 × the true ideal, RSS ≤ 64 MB;
//! - the same fleet one phone at a time, for the speed-up ratio (compared in phone time, because the two runs use
//!   different time scales to stay affordable).
//!
//! Checks on the simulator that no phone was lost or saved twice.
//!
//! `cargo bench --bench fleet [-- PHONES [TIME_SCALE [SEQUENTIAL_TIME_SCALE]]]` (default 500 20 1500)

use std::sync::Arc;
use std::time::{Duration, Instant};

use polyprov::fixture::Catalog;
use polyprov::sim::{Phase, PhoneSpec, SimConfig, Simulator, fleet};

const PASSWORD: &str = "bench-pass";

struct Outcome {
    wall: Duration,
    /// The slowest phone's own Inactive moment.
    ideal: Duration,
    /// The slowest phone's last boot plus its settle window.
    settle_ideal: Duration,
    inactive: usize,
    saved_once: usize,
    resources: serde_json::Value,
}

async fn run(
    catalog: Arc<Catalog>,
    specs: Vec<PhoneSpec>,
    scale: f64,
    concurrency: usize,
) -> Outcome {
    let n = specs.len();
    let config = SimConfig {
        time_scale: scale,
        ..SimConfig::default()
    };
    let sim = Simulator::start(catalog.clone(), specs, config)
        .await
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!(
        "polyprov-bench-{}-{concurrency}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let targets: String = sim
        .phones()
        .iter()
        .map(|p| format!("{}\n", p.web_addr()))
        .collect();
    std::fs::write(dir.join("targets.txt"), targets).unwrap();
    std::fs::write(dir.join("ca.pem"), sim.ca_pem()).unwrap();
    let url = sim.prov_url().expect("the simulated service runs");
    let pin = sim
        .prov_pin()
        .expect("the simulated service runs")
        .to_string();
    let t0 = tokio::time::Instant::now();
    let start = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_polyprov"))
        .args([
            "onboard",
            "--targets",
            "targets.txt",
            "--server-url",
            &url,
            "--resolve",
            &pin,
            "--server-ca",
            "ca.pem",
            "--yes",
            "--json",
            "--print-resources",
        ])
        .args([
            "--time-scale",
            &scale.to_string(),
            "--concurrency",
            &concurrency.to_string(),
            "--state-dir",
            "runs",
        ])
        .current_dir(&dir)
        .env("POLYPROV_PASSWORD", PASSWORD)
        .output()
        .await
        .expect("onboard runs");
    let wall = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let resources = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("resources").cloned())
        .unwrap_or_default();
    // Ideal: the moment each phone really settled as Inactive (the simulator's own clock); the slowest bounds
    // the run. The old ideal: each phone's last boot plus its settle window.
    let ideal = sim
        .phones()
        .iter()
        .filter_map(|p| p.with(|s| s.inactive_at.map(|at| at.saturating_duration_since(t0))))
        .max()
        .unwrap_or_default();
    let settle_ideal = sim
        .phones()
        .iter()
        .map(|p| {
            p.with(|s| {
                let settle = s.clock.wall(s.profile.timeline.settle_secs as f64);
                s.booted_at.saturating_duration_since(t0) + settle
            })
        })
        .max()
        .unwrap_or_default();
    let inactive = sim
        .phones()
        .iter()
        .filter(|p| p.with(|s| s.phase == Phase::Inactive))
        .count();
    let saved_once = sim
        .phones()
        .iter()
        .filter(|p| p.with(|s| s.stats.conf_changes == 1))
        .count();
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(inactive, n, "every phone reaches Inactive");
    Outcome {
        wall,
        ideal,
        settle_ideal,
        inactive,
        saved_once,
        resources,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(500);
    let scale: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20.0);
    let seq_scale: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1500.0);
    let catalog = Arc::new(Catalog::bundled().expect("catalog"));
    // Web-provisionable phones across every family and build.
    let specs: Vec<PhoneSpec> =
        fleet::mixed(&catalog, n * 2, "127.0.0.1".parse().unwrap(), PASSWORD)
            .into_iter()
            .filter(|s| {
                catalog
                    .profiles
                    .get(&s.profile)
                    .is_some_and(|p| p.provisioning.web)
            })
            .take(n)
            .collect();
    println!(
        "onboarding {n} simulated phones (CCX, VVX 5/6, SoundPoint UCS 4), every one rebooting and most updating\n"
    );
    let all = run(catalog.clone(), specs.clone(), scale, n).await;
    let one = run(catalog, specs, seq_scale, 1).await;
    let phone_mins = |o: &Outcome, s: f64| o.wall.as_secs_f64() * s / 60.0;
    let mib = |o: &Outcome| o.resources["peak-rss-kib"].as_f64().unwrap_or(0.0) / 1024.0;
    let cpu = |o: &Outcome| {
        o.resources["cpu-user-secs"].as_f64().unwrap_or(0.0)
            + o.resources["cpu-system-secs"].as_f64().unwrap_or(0.0)
    };
    println!(
        "{:<34} {:>16} {:>16}",
        "",
        format!("concurrency {n}"),
        "concurrency 1"
    );
    println!(
        "{:<34} {:>16} {:>16}",
        "time scale",
        format!("{scale}x"),
        format!("{seq_scale}x")
    );
    println!(
        "{:<34} {:>15.1}s {:>15.1}s",
        "wall time",
        all.wall.as_secs_f64(),
        one.wall.as_secs_f64()
    );
    println!(
        "{:<34} {:>15.1}m {:>15.1}m",
        "in phone time",
        phone_mins(&all, scale),
        phone_mins(&one, seq_scale)
    );
    println!(
        "{:<34} {:>15.1}s {:>16}",
        "ideal: slowest phone Inactive",
        all.ideal.as_secs_f64(),
        "-"
    );
    println!(
        "{:<34} {:>15.3}x {:>16}",
        "wall / ideal (target ≤ 1.05)",
        all.wall.as_secs_f64() / all.ideal.as_secs_f64(),
        "-"
    );
    println!(
        "{:<34} {:>15.1}s {:>16}",
        "old ideal: last boot + settle",
        all.settle_ideal.as_secs_f64(),
        "-"
    );
    println!(
        "{:<34} {:>15.3}x {:>16}",
        "wall / old ideal",
        all.wall.as_secs_f64() / all.settle_ideal.as_secs_f64(),
        "-"
    );
    println!(
        "{:<34} {:>15.1}s {:>15.1}s",
        "agent CPU time",
        cpu(&all),
        cpu(&one)
    );
    println!(
        "{:<34} {:>14.1}MB {:>14.1}MB",
        "agent peak RSS (target ≤ 64 MB)",
        mib(&all),
        mib(&one)
    );
    println!(
        "{:<34} {:>16} {:>16}",
        "Inactive / saved exactly once",
        format!("{}/{}", all.inactive, all.saved_once),
        format!("{}/{}", one.inactive, one.saved_once)
    );
    println!(
        "{:<34} {:>15.0}x",
        "speed-up (phone time)",
        phone_mins(&one, seq_scale) / phone_mins(&all, scale)
    );
}
