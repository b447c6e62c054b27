//! `polyprov onboard`, `resume` and `report`: a whole batch of phones, crash-safe, with live progress.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use ipnet::IpNet;

use super::recorded::{Recorded, recorded};
use super::shared::{PasswordArgs, ServerArgs, WatchArgs};
use crate::config::Site;
use crate::fleet::progress::{Mode, Progress};
use crate::fleet::targets::Target;
use crate::fleet::{self, Done, Settings};
use crate::journal::{Journal, Run};
use crate::profile::ProfileSet;
use crate::report::{self, Row};

/// `polyprov onboard`.
#[derive(Debug, Args)]
pub struct OnboardArgs {
    /// Site file (TOML) with server, password sources, allow-lists, concurrency, timeouts; flags override it.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// Targets: one address per line, or a CSV with ip/mac/extension/user columns.
    #[arg(long, conflicts_with = "interface")]
    pub targets: Option<PathBuf>,
    /// Find the phones by discovery on this interface instead (sweeping --cidr at --rate); discovery keeps
    /// listening during the run, so a phone that moves after a reboot is found again by its MAC.
    #[arg(long, requires = "cidr")]
    pub interface: Option<String>,
    /// Discovery's ARP sweep rate: polite (10/s, under Cisco DAI's 15/s: the default), brisk (200/s), fast (500/s),
    /// or requests/s.
    #[arg(long, default_value = "polite")]
    pub rate: crate::discover::sweep::Rate,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub passwords: PasswordArgs,
    /// Phones worked on at once [default: 16, gentle on a switch and on the phones' web servers].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Only phones whose MAC is listed in this file (one per line).
    #[arg(long)]
    pub allow_mac_file: Option<PathBuf>,
    /// Only these models (repeatable), e.g. --allow-model "VVX 411".
    #[arg(long = "allow-model")]
    pub allow_models: Vec<String>,
    /// Only these MAC prefixes (repeatable) [default: the Poly OUIs of the device profiles].
    #[arg(long = "allow-oui")]
    pub allow_ouis: Vec<String>,
    /// Where run directories (journal, reports) are written [default: ./polyprov-runs].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Do not ask for confirmation (unattended runs).
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
    /// At the end, print this process's peak memory and CPU time (for benchmarks).
    #[arg(long, hide = true)]
    pub print_resources: bool,
}

/// This process's peak resident memory (KiB) and CPU seconds (user, system), from /proc.
pub fn resources() -> serde_json::Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at ") ".
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    serde_json::json!({ "peak-rss-kib": kib("VmHWM:"), "cpu-user-secs": ticks(11), "cpu-system-secs": ticks(12) })
}

/// `polyprov resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run directory printed by `onboard`.
    #[arg(long)]
    pub run: PathBuf,
    /// Admin password file, if the run's was given some other way [env: POLYPROV_PASSWORD].
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Newline-delimited JSON events instead of a display.
    #[arg(long)]
    pub json: bool,
}

/// `polyprov report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// What to print.
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "macs", "activation"])]
    pub format: String,
}

pub(super) fn mode(json: bool) -> Mode {
    if json {
        Mode::Json
    } else if std::io::stderr().is_terminal() {
        Mode::Terminal
    } else {
        Mode::Plain
    }
}

fn confirm(rec: &Recorded, yes: bool) -> anyhow::Result<()> {
    if rec.dry_run || yes {
        return Ok(());
    }
    println!(
        "About to point {} phone(s) at {} {} and follow each until it is Inactive:",
        rec.targets.len(),
        rec.server_type.to_ascii_uppercase(),
        rec.server_url
    );
    for t in rec.targets.iter().take(20) {
        println!(
            "  {}{}",
            t.key,
            t.mac.map_or(String::new(), |m| format!("  {m}"))
        );
    }
    if rec.targets.len() > 20 {
        println!("  … and {} more", rec.targets.len() - 20);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to change phones without confirmation: run on a terminal, or add --yes for unattended runs"
        );
    }
    print!("Continue? [y/N] ");
    std::io::Write::flush(&mut std::io::stdout())?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("nothing changed");
    }
    Ok(())
}

/// A new run directory under `state_dir`.
fn run_dir(state_dir: &Path) -> anyhow::Result<PathBuf> {
    let stamp = crate::clock::stamp(std::time::SystemTime::now());
    for n in 0..100 {
        let name = if n == 0 {
            format!("run-{stamp}")
        } else {
            format!("run-{stamp}-{n}")
        };
        let dir = state_dir.join(name);
        if !dir.exists() {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating run directory {}", dir.display()))?;
            return Ok(dir);
        }
    }
    bail!("cannot create a run directory in {}", state_dir.display())
}

pub async fn onboard(args: OnboardArgs) -> anyhow::Result<u8> {
    let profiles = Arc::new(ProfileSet::bundled().context("loading device profiles")?);
    let how = args
        .interface
        .as_ref()
        .map(|i| super::discover::DiscoverArgs {
            interface: Some(i.clone()),
            cidr: args.watch.cidr.and_then(|c| match c {
                IpNet::V4(n) => Some(n),
                IpNet::V6(_) => None,
            }),
            rate: args.rate,
            passive: None,
            allow_large_range: false,
            no_mdns: false,
            mdns_secs: super::discover::MDNS_SECS,
            ouis: args.allow_ouis.clone(),
            fingerprint_concurrency: super::discover::FINGERPRINT_CONCURRENCY,
        });
    let discovered = match &how {
        Some(how) => Some(
            super::discover::targets_for_onboard(how, profiles.clone(), args.watch.json).await?,
        ),
        None => None,
    };
    let mut rec = recorded(&args, &profiles, discovered)?;
    let mut settings = rec.settings(None)?;
    rec.check_servers(&settings, args.watch.json).await?;
    if rec.server_checks.iter().any(|c| c.failed()) {
        if rec.dry_run {
            println!("(dry run: going on to show the plan; a real run would stop here)");
        } else {
            println!(
                "Nothing was changed: no phone is touched while its provisioning server cannot be reached."
            );
            return Ok(1);
        }
    }
    confirm(&rec, args.yes)?;
    let background = match &how {
        Some(how) => Some(super::discover::Background::start(how, profiles.clone())?),
        None => None,
    };
    settings.heard = background.as_ref().map(|b| b.heard.clone());
    let state_dir = args
        .state_dir
        .clone()
        .or_else(|| {
            args.site
                .as_ref()
                .and_then(|s| Site::load(s).ok())
                .and_then(|s| s.state_dir)
        })
        .unwrap_or_else(|| PathBuf::from("polyprov-runs"));
    let dir = run_dir(&state_dir)?;
    let journal = Arc::new(Journal::open(&dir)?);
    journal.started(
        serde_json::to_value(&rec)?,
        rec.targets.iter().map(|t| t.key.clone()).collect(),
    )?;
    let code = execute(
        &dir,
        rec.targets.clone(),
        settings,
        profiles,
        journal,
        mode(args.watch.json),
        None,
        &rec.server_checks,
    )
    .await;
    if let Some(b) = background {
        b.stop().await;
    }
    let mut code = code?;
    if args.watch.until == super::shared::Until::Active && !rec.dry_run && code != 130 {
        code = super::activate::activate_run(
            &dir,
            None,
            args.watch.entered.macs_entered,
            mode(args.watch.json),
        )
        .await?;
    }
    if args.print_resources {
        println!("{}", serde_json::json!({ "resources": resources() }));
    }
    Ok(code)
}

/// Run the fleet, write the reports, print the table; returns the exit code.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    dir: &Path,
    targets: Vec<Target>,
    settings: Settings,
    profiles: Arc<ProfileSet>,
    journal: Arc<Journal>,
    mode: Mode,
    previous: Option<&Run>,
    checks: &[crate::server_check::Checked],
) -> anyhow::Result<u8> {
    let progress = Arc::new(Progress::new(mode, targets.len()));
    progress.note(&format!("run directory {}", dir.display()));
    let stop = super::provision::stop_on_ctrl_c();
    let done = fleet::run(
        targets,
        Arc::new(settings),
        profiles,
        journal.clone(),
        progress.clone(),
        stop.clone(),
        previous,
    )
    .await;
    progress.finish();
    if *stop.borrow() {
        journal.interrupted()?;
    }
    finish(dir, &done, mode, checks)
}

pub(super) fn finish(
    dir: &Path,
    done: &[Done],
    mode: Mode,
    checks: &[crate::server_check::Checked],
) -> anyhow::Result<u8> {
    let rows: Vec<Row> = done.iter().map(|(t, r)| Row::new(t, r)).collect();
    let files = report::write_files(dir, &rows, checks)?;
    if mode == Mode::Json {
        println!(
            "{}",
            serde_json::json!({ "summary": report::summary(&rows), "run": dir, "files": files })
        );
    } else {
        println!("\n{}", report::table(&rows));
        for c in checks
            .iter()
            .filter(|c| !matches!(c, crate::server_check::Checked::Ok { .. }))
        {
            println!("{}", c.line());
        }
        println!(
            "Reports: {}",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if fleet::incomplete(done) {
        let msg = format!(
            "The run was interrupted. Resume with: polyprov resume --run {}",
            dir.display()
        );
        if mode == Mode::Json {
            println!("{}", serde_json::json!({ "note": msg }));
        } else {
            println!("{msg}");
        }
    }
    Ok(fleet::exit_code(done))
}

pub async fn resume(args: ResumeArgs) -> anyhow::Result<u8> {
    let run = Run::load(&args.run)?;
    let rec: Recorded = serde_json::from_value(run.settings.clone()).with_context(|| {
        format!(
            "the journal in {} does not record its settings",
            args.run.display()
        )
    })?;
    let settings = rec.settings(args.password_file.as_deref())?;
    let profiles = Arc::new(ProfileSet::bundled().context("loading device profiles")?);
    let journal = Arc::new(Journal::open(&args.run)?);
    if let Some(cut) = journal.repaired() {
        eprintln!("polyprov: {cut}");
    }
    journal.resumed()?;
    execute(
        &args.run,
        rec.targets.clone(),
        settings,
        profiles,
        journal,
        mode(args.json),
        Some(&run),
        &rec.server_checks,
    )
    .await
}

pub fn print_report(args: ReportArgs) -> anyhow::Result<u8> {
    let (_, rec, done) = super::recorded::load_run(&args.run)?;
    let rows: Vec<Row> = done.iter().map(|(t, r)| Row::new(t, r)).collect();
    report::write_files(&args.run, &rows, &rec.server_checks)?;
    match args.format.as_str() {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "summary": report::summary(&rows), "phones": rows })
            )?
        ),
        "csv" => print!("{}", report::csv(&rows)?),
        "macs" => print!("{}", report::mac_list(&rows)),
        "activation" => print!("{}", report::activation_csv(&rows)?),
        _ => print!("{}", report::table(&rows)),
    }
    let pending = rec.targets.len() - rows.len();
    if pending > 0 {
        eprintln!(
            "{pending} phone(s) have no final result yet: polyprov resume --run {}",
            args.run.display()
        );
    }
    Ok(0)
}
