//! `polyprov demo`: a simulated mixed fleet of two dozen phones with realistic faults, onboarded on loopback by the
//! real run (server check, plan, live display, reports), with the story told around it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::{catalog, ended, print_fleet, shared, sim_password};
use crate::clock::Clock;
use crate::fleet::Settings;
use crate::fleet::targets::Target;
use crate::onboard::RunSpec;
use crate::phone::Timing;
use crate::phone::provisioning::Wanted;
use crate::phone::session::Patience;
use crate::secret::Secret;
use crate::sim::{self, SimConfig, Simulator};

/// `polyprov demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Phone seconds per wall second (60: a 2.5-minute reboot takes 2.5 s).
    #[arg(long, default_value_t = 60.0)]
    pub time_scale: f64,
    /// JSON lines instead of the display: the story as `note` lines, then the run's events (docs/output.md).
    #[arg(long)]
    pub json: bool,
}

/// Start the simulated fleet and its provisioning service, check the servers, show the plan, onboard every phone
/// with the real display, and print the end; exits 0 unless interrupted (the demo's faults are meant to show).
pub async fn run(args: DemoArgs) -> anyhow::Result<u8> {
    crate::clock::check_scale(args.time_scale).map_err(anyhow::Error::msg)?;
    let catalog = catalog()?;
    let demo = sim::fleet::demo(&catalog, &sim_password());
    let config = SimConfig {
        time_scale: args.time_scale,
        prov: Some(sim::ProvSetup {
            faults: sim::ServerFaults {
                refuse_macs: demo.refused.clone(),
                ..Default::default()
            },
            ..sim::ProvSetup::default()
        }),
        ..SimConfig::default()
    };
    let simulator = Simulator::start(catalog.clone(), demo.phones.clone(), config).await?;
    let json = args.json;
    // The story around the run: plain lines, or `note` lines in a JSON stream.
    let say = |text: String| {
        if json {
            crate::output::emit_run(crate::output::Run::Note {
                note: text.trim().to_string(),
            });
        } else {
            println!("{text}");
        }
    };
    say(format!(
        "polyprov demo: {} simulated phones on loopback, {}x faster than real phones. Nothing leaves this machine.\n",
        simulator.phones().len(),
        args.time_scale
    ));
    if !json {
        print_fleet(&simulator);
    }
    let mut service = Vec::new();
    if let Some(m) = demo.typo {
        service.push(format!("{m}: the technician mistypes its server address"));
    }
    for p in demo.phones.iter().filter(|p| !p.enrolled) {
        service.push(format!("{}: the service does not know its MAC", p.mac));
    }
    for m in &demo.refused {
        service.push(format!("{m}: the service refuses its server credentials"));
    }
    say(format!(
        "\nOn the provisioning side: {}.",
        service.join("; ")
    ));
    let url = simulator
        .prov_url()
        .context("the demo's simulated provisioning service did not start")?;
    // The technician mistypes the server for one phone (a per-phone address in the targets file).
    let typo_url = url.replacen("prov.", "porv.", 1);
    let targets: Vec<Target> = simulator
        .phones()
        .iter()
        .filter_map(|p| {
            let (https, http) = p.addrs();
            let mut t = match (https, http) {
                (Some(a), _) => Target::from_address(&a.to_string(), false).ok(),
                (None, Some(a)) => Target::from_address(&a.to_string(), true).ok(),
                (None, None) => None,
            }?;
            if demo.typo == Some(p.mac) {
                t.server_url = Some(typo_url.clone());
            }
            Some(t)
        })
        .collect();
    let url = url.as_str();
    say(format!(
        "\nThe simulated provisioning service is {url} (its name pinned to 127.0.0.1, its certificate from the simulator's test CA)."
    ));
    say(
        "Checking the servers from here first (as a real run does; a real run stops at a failure, the demo goes on to show what the phone itself reports):".into()
    );
    let check = crate::server_check::Spec {
        url: String::new(),
        server_type: "HTTPS".into(),
        pins: simulator.prov_pin().into_iter().collect(),
        cas: crate::server_check::read_cas_pem(simulator.ca_pem().as_bytes())?,
        user: None,
        password: None,
        timeout: Duration::from_secs(5),
    };
    let checks = crate::server_check::check_all(
        &[url.to_string(), typo_url.clone()],
        &check,
        false,
        shared::print_check(json),
    )
    .await;
    say(format!(
        "\nOnboarding all {} phones: provisioning server HTTPS {url}, the site's admin password, the factory password allowed.\n",
        targets.len()
    ));
    let settings = Settings {
        wanted: Wanted {
            server_type: "HTTPS".into(),
            url: url.into(),
            user: None,
            password: None,
        },
        passwords: vec![Secret::new(sim_password())],
        allow_factory: true,
        new_password: None,
        dry_run: false,
        force: false,
        concurrency: 16,
        clock: Clock::new(args.time_scale),
        timing: Timing::default(),
        patience: Patience::default(),
        allow: Default::default(),
        search_range: None,
        search_rate: 20,
        heard: None,
        port: None,
        // The demo's simulated phones leave nothing in the user's polyprov state: their certificates are
        // remembered in the run's own directory (below).
        attempts: None,
        known: None,
    };
    let spec = RunSpec {
        server_type: "HTTPS".into(),
        server_url: url.into(),
        server_user: None,
        server_password_file: None,
        password_file: None,
        allow_factory_password: true,
        new_password_file: None,
        concurrency: settings.concurrency,
        allow: settings.allow.clone(),
        site: Some("polyprov demo".into()),
        operator: std::env::var("USER").ok(),
        dry_run: false,
        force: false,
        cidr: None,
        return_secs: None,
        settle_secs: None,
        timeout_secs: None,
        patience_secs: crate::onboard::spec::DEFAULT_PATIENCE_SECS,
        time_scale: args.time_scale,
        search_rate: settings.search_rate,
        resolve: simulator.prov_pin().into_iter().collect(),
        server_ca: None,
        skip_server_check: false,
        server_checks: checks,
        plan: None,
        targets,
    };
    spec.check()?;
    let dir = crate::onboard::new_run_dir(&demo_state_dir())?;
    let settings = Settings {
        known: Some(Arc::new(crate::phone::known::KnownPhones::in_dir(&dir))),
        ..settings
    };
    let profiles = Arc::new(catalog.profiles.clone());
    let plan = crate::onboard::plan::look(&spec, profiles.clone()).await;
    if json {
        crate::output::emit_run(crate::output::Run::RunPlan { plan });
    } else {
        println!("{}\n", plan.lines().join("\n"));
    }
    let mode = ended::mode(json);
    let end = crate::onboard::start(
        &dir,
        &spec,
        settings,
        profiles,
        mode,
        shared::stop_on_ctrl_c(),
    )
    .await?;
    let code = ended::print(&end, mode);
    let control = format!("http://{}/phones", simulator.control_addr());
    say(format!(
        "\nThe simulator's own view of every phone was at {control} (what the tests check instead of trusting the agent)."
    ));
    simulator.shutdown().await;
    // The demo's faults are meant to show: a run with phones needing attention is still a successful demo.
    Ok(if code == 130 { 130 } else { 0 })
}

/// Where the demo's runs go: `<temp dir>/polyprov-demo-<uid>`, one per user, so that a run as root (`sudo`, or the
/// test suite) leaves nothing another user cannot write past. The uid is read from `/proc/self/status`: with file
/// capabilities (the .deb's) the process is not dumpable and `/proc/self` itself belongs to root.
fn demo_state_dir() -> std::path::PathBuf {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
            // real, effective, saved, filesystem: the effective one owns what the run creates.
            line.split_whitespace().nth(1).map(str::to_string)
        });
    match uid {
        Some(uid) => std::env::temp_dir().join(format!("polyprov-demo-{uid}")),
        None => std::env::temp_dir().join("polyprov-demo"),
    }
}
