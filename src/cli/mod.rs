//! The command line: clap definitions and what each subcommand does. Errors become `anyhow` here and exit codes
//! in `main.rs`; everything below this module uses typed errors.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

pub mod activate;
pub mod demo;
pub mod discover;
pub mod ended;
pub mod inventory;
pub mod known;
pub mod merge;
pub mod onboard;
pub mod plan;
pub mod provision;
pub mod runs;
pub mod shared;

use crate::fixture::Catalog;
use crate::mac::Mac;
use crate::sim::{self, Faults, PhoneSpec, SimConfig, Simulator};

/// Onboard Poly desk phones: point them at a provisioning server and follow them until they are Inactive.
#[derive(Debug, Parser)]
#[command(name = "polyprov", version, about, long_about = None, term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How MACs are written in tables, the live display, report.csv, macs.txt and activation.csv: plain
    /// 0004F2A1B2C3, colon 00:04:F2:A1:B2:C3, dash 00-04-F2-A1-B2-C3, cisco 0004.f2a1.b2c3 (JSON is always plain).
    #[arg(long, global = true, value_enum, default_value_t = crate::mac::MacFormat::Plain)]
    pub mac_format: crate::mac::MacFormat,
}

/// Developer commands, listed apart in `--help` (they are hidden from the main list, not from use).
const DEVELOPER_COMMANDS: &str = "\
Developer commands:
  sim     Serve simulated phones from the recorded fixtures (no real phone needed)
  record  Record a browser session with a phone as a redacted HAR fixture (a local reverse proxy)
  schema  Print the JSON Schema of the --json lines or of report.json";

#[derive(Debug, Subcommand)]
#[command(after_help = DEVELOPER_COMMANDS)]
pub enum Command {
    /// Find the Poly phones on the LAN: passive listening, paced ARP sweep, LLDP/CDP, mDNS, web fingerprint.
    Discover(Box<discover::DiscoverCmd>),
    /// Point one phone at a provisioning server and follow it until it is Inactive.
    Provision(provision::ProvisionArgs),
    /// Onboard a batch of phones: bounded concurrency, live progress, crash-safe journal, reports.
    Onboard(Box<onboard::OnboardArgs>),
    /// Continue an interrupted onboard run from its journal.
    Resume(onboard::ResumeArgs),
    /// After the MACs are entered in the admin console: reboot a run's Inactive phones and follow them to Active.
    Activate(activate::ActivateArgs),
    /// Print or export the report of a run.
    Report(onboard::ReportArgs),
    /// List the runs kept in a state directory: when, site, operator, server, how they ended.
    Runs(runs::RunsArgs),
    /// A multi-site rollout's company plan: split it into one plan file per site.
    Plan(plan::PlanArgs),
    /// The certificate each phone presented first (a different one is refused): list, or forget after a reset.
    KnownPhones(known::KnownArgs),
    /// Onboard a simulated mixed fleet of two dozen phones (with faults) on loopback, with the real display.
    Demo(demo::DemoArgs),
    /// Serve simulated phones from the recorded fixtures (no real phone needed).
    #[command(hide = true)]
    Sim(SimArgs),
    /// Record a browser session with a phone as a redacted HAR fixture (a local reverse proxy).
    #[command(hide = true)]
    Record(crate::record::RecordArgs),
    /// Print the JSON Schema (draft 2020-12) of the `--json` lines, or of report.json with --report.
    #[command(hide = true)]
    Schema(SchemaArgs),
}

/// `polyprov schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of report.json instead of the --json lines.
    #[arg(long, conflicts_with = "merged")]
    pub report: bool,
    /// The schema of the merged report.json (`report --merge --out`).
    #[arg(long)]
    pub merged: bool,
}

/// `polyprov sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Number of phones, mixed across every recorded family and firmware build.
    #[arg(long, default_value_t = 20, conflicts_with = "fleet")]
    pub phones: usize,
    /// A fleet file (TOML) naming each phone's profile, build, MAC, model and faults.
    #[arg(long)]
    pub fleet: Option<PathBuf>,
    /// Phone seconds per wall second: 180 makes a 3-minute reboot take one second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seed of every random choice, for reproducible runs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address the phones listen on: loopback, or an address inside a network namespace.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Address of the JSON control endpoint.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub control: SocketAddr,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Print the fleet as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Serve every phone with this difference from the recordings (repeatable; never on by default):
    /// attributes-upper, attributes-lower, attributes-reversed, crlf-spacing, no-csrf-meta, wrong-password-401,
    /// conflict-400, conflict-412
    #[arg(
        long = "variant",
        value_enum,
        value_name = "VARIANT",
        hide_possible_values = true
    )]
    pub variants: Vec<sim::variant::Variant>,
    /// Start no provisioning server (the phones then fetch from wherever they are pointed, through --host).
    #[arg(long)]
    pub no_prov_server: bool,
    /// Host name of the simulated provisioning server (in its certificate and the phones' name table).
    #[arg(long, default_value = "prov.sim.test")]
    pub prov_name: String,
    /// Address the provisioning server listens on [default: --bind].
    #[arg(long)]
    pub prov_bind: Option<IpAddr>,
    /// Its HTTPS port (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub prov_port: u16,
    /// A directory of configuration files, per-MAC files and firmware images it serves as given.
    #[arg(long)]
    pub prov_dir: Option<PathBuf>,
    /// Serve a default master configuration (000000000000.cfg) to phones it does not know by MAC.
    #[arg(long)]
    pub prov_default_master: bool,
    /// Write the simulator's test CA (what its phones trust, and the agent's --server-ca) to this file.
    #[arg(long)]
    pub ca_out: Option<PathBuf>,
    /// A name the phones' DNS answers, NAME=ADDR (repeatable); they never ask the host's resolver.
    #[arg(long = "host", value_name = "NAME=ADDR")]
    pub hosts: Vec<String>,
    /// A PEM file of further CAs the phones trust (another simulator's --ca-out).
    #[arg(long)]
    pub trust_ca: Vec<PathBuf>,
}

/// The admin password of simulated phones: `$POLYPROV_SIM_PASSWORD`, or `123` (what 8x8 tells technicians to set).
pub fn sim_password() -> String {
    std::env::var("POLYPROV_SIM_PASSWORD").unwrap_or_else(|_| "123".into())
}

/// Run the parsed command; the result is the process exit code (0 done, 1 failed, 3 needs attention).
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    crate::mac::show_as(cli.mac_format);
    match cli.command {
        Command::Sim(args) => run_sim(args).await.map(|()| 0),
        Command::Demo(args) => demo::run(args).await,
        Command::Discover(args) => discover::run(*args).await,
        Command::Provision(args) => provision::run(args).await,
        Command::Onboard(args) => onboard::onboard(*args).await,
        Command::Resume(args) => onboard::resume(args).await,
        Command::Activate(args) => activate::activate(args).await,
        Command::Report(args) => onboard::print_report(args),
        Command::Runs(args) => runs::run(args),
        Command::Plan(args) => plan::run(args),
        Command::KnownPhones(args) => known::run(args),
        Command::Schema(args) => {
            let schema = if args.report {
                crate::output::report_schema()
            } else if args.merged {
                crate::output::merged_schema()
            } else {
                crate::output::line_schema()
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(0)
        }
        Command::Record(args) => crate::record::run(args)
            .await
            .map(|()| 0)
            .map_err(Into::into),
    }
}

fn catalog() -> anyhow::Result<Arc<Catalog>> {
    Ok(Arc::new(
        Catalog::bundled().context("loading device profiles and fixtures")?,
    ))
}

async fn run_sim(args: SimArgs) -> anyhow::Result<()> {
    let catalog = catalog()?;
    let mut hosts = std::collections::BTreeMap::new();
    for h in &args.hosts {
        let Some((name, addr)) = h.split_once('=') else {
            bail!("--host {h:?} is not NAME=ADDR");
        };
        let addr: IpAddr = addr
            .parse()
            .with_context(|| format!("--host {h:?}: {addr:?} is not an IP address"))?;
        hosts.insert(name.trim().to_ascii_lowercase(), addr);
    }
    let mut trust = Vec::new();
    for f in &args.trust_ca {
        trust.extend(crate::server_check::read_cas(f)?);
    }
    let prov = (!args.no_prov_server).then(|| sim::ProvSetup {
        name: args.prov_name.clone(),
        ip: args.prov_bind.unwrap_or(args.bind),
        https_port: args.prov_port,
        dir: args.prov_dir.clone(),
        default_master: args.prov_default_master,
        ..sim::ProvSetup::default()
    });
    let mut config = SimConfig {
        time_scale: args.time_scale,
        seed: args.seed,
        control: args.control,
        prov,
        hosts,
        trust,
    };
    let specs = match &args.fleet {
        Some(path) => {
            let file = FleetFile::load(path)?;
            if let Some(s) = file.time_scale {
                config.time_scale = s;
            }
            if let Some(s) = file.seed {
                config.seed = s;
            }
            file.specs(args.bind)
        }
        None => sim::fleet::mixed(&catalog, args.phones, args.bind, &sim_password()),
    };
    let specs: Vec<_> = specs
        .into_iter()
        .map(|mut s| {
            s.variants.extend(args.variants.iter().copied());
            s
        })
        .collect();
    crate::clock::check_scale(config.time_scale).map_err(anyhow::Error::msg)?;
    let simulator = Simulator::start(catalog, specs, config).await?;
    let ca_file = match &args.ca_out {
        Some(p) => p.clone(),
        None => std::env::temp_dir().join(format!(
            "polyprov-sim-ca-{}.pem",
            simulator.control_addr().port()
        )),
    };
    std::fs::write(&ca_file, simulator.ca_pem())
        .with_context(|| format!("writing the test CA to {}", ca_file.display()))?;
    if args.json {
        let reports: Vec<_> = simulator.phones().iter().map(|p| p.report()).collect();
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({
                "control": format!("http://{}", simulator.control_addr()),
                "phones": reports,
                "provisioning-server": simulator.prov_url(),
                "resolve": simulator.prov_pin().map(|p| p.to_string()),
                "ca-file": ca_file,
            }))?
        );
    } else {
        print_fleet(&simulator);
        if let (Some(url), Some(pin)) = (simulator.prov_url(), simulator.prov_pin()) {
            println!(
                "provisioning server: {url} (the phones resolve its name through the simulator's own table)"
            );
            println!("its test CA, which the phones trust: {}", ca_file.display());
            println!(
                "point the agent at it: --server-url {url} --resolve {pin} --server-ca {}",
                ca_file.display()
            );
            println!(
                "its requests and faults: GET / PUT http://{}/prov[/faults]",
                simulator.control_addr()
            );
        }
    }
    wait(args.duration).await;
    simulator.shutdown().await;
    Ok(())
}

fn print_fleet(sim: &Simulator) {
    println!(
        "{:<13} {:<16} {:<20} {:<12} {:<24} faults",
        "MAC", "profile", "model", "firmware", "web"
    );
    for p in sim.phones() {
        let r = p.report();
        let web = match (&r.https, &r.http) {
            (Some(s), _) => format!("https://{s}"),
            (None, Some(h)) => format!("http://{h}"),
            (None, None) => "-".into(),
        };
        let faults = describe_faults(&r.faults, r.password_is_factory, r.rest_enabled);
        println!(
            "{:<13} {:<16} {:<20} {:<12} {:<24} {faults}",
            r.mac.to_string(),
            r.profile,
            r.model,
            r.firmware,
            web
        );
    }
    println!("\ncontrol endpoint: http://{}/phones", sim.control_addr());
}

fn describe_faults(f: &Faults, factory_password: bool, rest: bool) -> String {
    let mut out = Vec::new();
    if factory_password {
        out.push("factory password".to_string());
    }
    if rest {
        out.push("REST on".into());
    }
    for (on, name) in [
        (f.never_returns, "never returns"),
        (f.update_loop, "update loop"),
        (f.foreign_cert, "foreign certificate"),
        (f.factory_reset > 0, "factory reset (new certificate)"),
        (f.locked, "locked"),
        (f.new_ip.is_some(), "new IP after reboot"),
        (
            f.reset_next > 0 || f.reset_saves > 0 || f.reset_logins > 0 || f.reset_rate > 0.0,
            "connection resets",
        ),
        (f.slow_ms > 0, "slow"),
        (f.server_errors > 0, "5xx"),
        (f.busy_secs > 0, "web UI in use"),
        (f.legacy_tls, "TLS 1.0 only"),
    ] {
        if on {
            out.push(name.into());
        }
    }
    if out.is_empty() {
        "-".into()
    } else {
        out.join(", ")
    }
}

async fn wait(duration: Option<u64>) {
    let ctrl_c = tokio::signal::ctrl_c();
    match duration {
        Some(s) => {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(s)) => {}
                _ = ctrl_c => {}
            }
        }
        None => {
            let _ = ctrl_c.await;
        }
    }
}

/// A fleet file for `polyprov sim --fleet`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FleetFile {
    pub time_scale: Option<f64>,
    pub seed: Option<u64>,
    #[serde(rename = "phone")]
    pub phones: Vec<FleetPhone>,
}

/// One `[[phone]]` of a fleet file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FleetPhone {
    pub profile: String,
    pub firmware: String,
    pub mac: Mac,
    pub model: Option<String>,
    /// The simulated phone's admin password (lab data, not a customer's secret); default as `sim_password`.
    pub password: Option<String>,
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub https_port: u16,
    #[serde(default)]
    pub http_port: u16,
    #[serde(default)]
    pub rest_enabled: bool,
    pub extension: Option<String>,
    pub update_to: Option<String>,
    pub update_reboots: Option<u32>,
    pub activation_update: Option<String>,
    #[serde(default)]
    pub faults: Faults,
}

impl FleetFile {
    pub fn load(path: &std::path::Path) -> anyhow::Result<FleetFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading fleet file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("fleet file {}", path.display()))
    }

    pub fn specs(&self, default_ip: IpAddr) -> Vec<PhoneSpec> {
        self.phones
            .iter()
            .map(|f| {
                let mut s = PhoneSpec::new(
                    &f.profile,
                    &f.firmware,
                    f.mac,
                    &f.password.clone().unwrap_or_else(sim_password),
                );
                s.model = f.model.clone();
                s.ip = f.ip.unwrap_or(default_ip);
                s.https_port = f.https_port;
                s.http_port = f.http_port;
                s.rest_enabled = f.rest_enabled;
                s.extension = f.extension.clone();
                s.update_to = f.update_to.clone();
                s.update_reboots = f.update_reboots;
                s.activation_update = f.activation_update.clone();
                s.faults = f.faults.clone();
                s
            })
            .collect()
    }
}
