//! `polyprov onboard`, `resume` and `report`: flags into an [`Asked`], the library's run ([`crate::onboard`]), and
//! what it ends in printed. With `--interface` the phones come from live discovery, shown as it goes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use ipnet::IpNet;

use super::ended::{self, mode};
use super::inventory::{self, DiscoverArgs, Display};
use super::shared::{PasswordArgs, ServerArgs, WatchArgs};
use crate::fleet::targets::Target;
use crate::onboard::{self, Asked, RunSpec, discovery};
use crate::profile::ProfileSet;
use crate::report;

/// `polyprov onboard`.
#[derive(Debug, Args)]
pub struct OnboardArgs {
    /// Site file (TOML) with server, password sources, allow-lists, concurrency, timeouts; flags override it.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// Who runs it, as the reports name them (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
    /// Targets: one address per line, or a CSV with ip/mac/extension/user columns.
    #[arg(long, conflicts_with = "interface")]
    pub targets: Option<PathBuf>,
    /// A phone's address (IP, IP:port or URL); repeatable, for a few phones without a file (with --targets too).
    #[arg(long = "target", value_name = "ADDRESS", conflicts_with = "interface")]
    pub target: Vec<String>,
    /// Find the phones by discovery on this interface instead (sweeping --cidr at --rate); discovery keeps
    /// listening during the run, so a phone that moves after a reboot is found again by its MAC.
    #[arg(long, short = 'i', requires = "cidr")]
    pub interface: Option<String>,
    /// Discovery's ARP sweep rate: polite (10/s, under Cisco DAI's 15/s: the default), brisk (200/s), fast (500/s),
    /// or requests/s.
    #[arg(long, default_value = "polite")]
    pub rate: crate::discover::sweep::Rate,
    /// The run's directory, for automation (an Ansible task run again and again): a new run starts there when it
    /// is new or empty; when it already holds a run, that run is resumed instead — phones already finished are
    /// left as they are, the rest go on — so the same command is safe to repeat.
    #[arg(long, value_name = "DIR", conflicts_with = "state_dir")]
    pub run: Option<PathBuf>,
    /// This site's plan (its file from `polyprov plan split`): only the phones it lists are onboarded, with their
    /// extension and user; phones found that it does not list are reported as skipped and never logged into.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// With --plan: onboard phones found here that the plan does not list too.
    #[arg(long)]
    pub allow_unplanned: bool,
    /// Discovery listens without making the interface promiscuous (see `discover --no-promiscuous`).
    #[arg(long, requires = "interface")]
    pub no_promiscuous: bool,
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
    #[arg(long, required_unless_present_any = ["latest", "merge"], conflicts_with_all = ["latest", "merge"])]
    pub run: Option<PathBuf>,
    /// Merge many sites' run directories into one report: each phone once (its newest result), under its site.
    #[arg(long, num_args = 1.., value_name = "RUN_DIR", conflicts_with = "latest")]
    pub merge: Vec<PathBuf>,
    /// With --merge: the company plan (as for `plan split`): it places each phone in its site, and the planned
    /// phones no run reached are listed.
    #[arg(long, value_name = "FILE", requires = "merge")]
    pub plan: Option<PathBuf>,
    /// With --merge: write report.json, report.csv, report.html, macs.txt and activation.csv into this directory.
    #[arg(long, value_name = "DIR", requires = "merge")]
    pub out: Option<PathBuf>,
    /// The newest run in --state-dir instead (`polyprov runs` lists them).
    #[arg(long)]
    pub latest: bool,
    /// Where the runs are, for --latest.
    #[arg(long, default_value = crate::onboard::spec::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// What to print: table, json, csv, macs (one MAC per line) or activation (the activation CSV); repeatable,
    /// printed in the order given (`--format table --format macs`).
    #[arg(long, default_value = "table", value_parser = ["table", "json", "csv", "macs", "activation"])]
    pub format: Vec<String>,
}

/// Show the plan (phones by family, hands-on work, expected duration), then ask unless told not to.
async fn confirm(
    spec: &RunSpec,
    settings: &crate::fleet::Settings,
    profiles: Arc<ProfileSet>,
    yes: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut plan = onboard::plan::look(spec, profiles.clone()).await;
    // A person is about to decide: find the phones in service first (a read-only login to each).
    let asking = !spec.dry_run && !yes && std::io::stdin().is_terminal();
    if asking {
        println!(
            "Reading each phone (a read-only login; nothing is written) to find those in service…"
        );
        plan = plan.with(onboard::plan::read(&spec.to_contact(), settings, profiles).await);
    }
    if json {
        crate::output::emit_run(crate::output::Run::RunPlan { plan });
    } else {
        println!(
            "{} {} at {} {}{}",
            if spec.dry_run {
                "Dry run: would point"
            } else {
                "About to point"
            },
            if spec.targets.len() == 1 {
                "1 phone".to_string()
            } else {
                format!("{} phones", spec.targets.len())
            },
            spec.server_type.to_ascii_uppercase(),
            spec.server_url,
            if spec.dry_run {
                " (logging in and reading only)"
            } else {
                " and follow each until it is Inactive"
            }
        );
        for line in plan.lines() {
            println!("{}", crate::text::for_terminal(&line));
        }
    }
    if spec.dry_run || yes {
        return Ok(());
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

impl OnboardArgs {
    /// What was asked on the command line, for the library to layer over the site file.
    fn asked(&self) -> Asked {
        Asked {
            site: self.site.clone(),
            operator: self.operator.clone(),
            targets: self.targets.clone(),
            target_addresses: self.target.clone(),
            http: self.watch.http,
            host_names: self.watch.host_names,
            server_type: self.server.server_type.clone(),
            server_url: self.server.server_url.clone(),
            server_user: self.server.server_user.clone(),
            server_password_file: self.server.server_password_file.clone(),
            resolve: self.server.resolve.clone(),
            server_ca: self.server.server_ca.clone(),
            skip_server_check: self.server.skip_server_check,
            password_file: self.passwords.password_file.clone(),
            allow_factory_password: self.passwords.allow_factory_password,
            new_password_file: self.passwords.new_password_file.clone(),
            concurrency: self.concurrency,
            allow_mac_file: self.allow_mac_file.clone(),
            allow_models: self.allow_models.clone(),
            allow_ouis: self.allow_ouis.clone(),
            state_dir: self.state_dir.clone(),
            dry_run: self.watch.dry_run,
            force: self.watch.force,
            cidr: self.watch.cidr,
            search_rate: Some(self.watch.search_rate),
            return_secs: self.watch.return_secs,
            settle_secs: self.watch.settle_secs,
            timeout_secs: self.watch.timeout_secs,
            patience_secs: self.watch.patience_secs,
            time_scale: Some(self.watch.time_scale),
            plan: self.plan.clone(),
            allow_unplanned: self.allow_unplanned,
        }
    }

    /// How discovery looks for the phones (`--interface`), if it does.
    fn discovery(&self) -> Option<DiscoverArgs> {
        let interface = self.interface.clone()?;
        Some(DiscoverArgs {
            interface: Some(interface),
            cidr: self.watch.cidr.and_then(|c| match c {
                IpNet::V4(n) => Some(n),
                IpNet::V6(_) => None,
            }),
            rate: self.rate,
            passive: None,
            allow_large_range: false,
            no_promiscuous: self.no_promiscuous,
            no_mdns: false,
            mdns_secs: inventory::MDNS_SECS,
            ouis: self.allow_ouis.clone(),
            fingerprint_concurrency: inventory::FINGERPRINT_CONCURRENCY,
        })
    }
}

/// Discover the range on a terminal, show the table, and hand the ready phones over as targets; `None` when Ctrl-C
/// stopped discovery (nothing is onboarded from a partial inventory). An interface without an IPv4 address, or a
/// range on none of its subnets, is refused before anything is sent: no phone could be reached from it.
async fn discover_targets(
    how: &DiscoverArgs,
    profiles: Arc<ProfileSet>,
    json: bool,
) -> anyhow::Result<Option<Vec<Target>>> {
    let Some(range) = how.cidr else {
        bail!(
            "onboard --interface needs --cidr, the range to look for phones in (nothing is sent to a range you did not name)"
        );
    };
    let mut plan = how.plan()?;
    inventory::check_onboard(&plan)?;
    // The run reads model and firmware after logging in: no need to wait for LLDP here.
    plan.identity_wait = std::time::Duration::ZERO;
    let mut display = Display::new(json, false);
    display.unchecked = inventory::unchecked(&plan);
    let found =
        inventory::live_inventory(plan, profiles.clone(), how.ouis(&profiles)?, &display).await?;
    let (inv, stats) = (found.inventory, found.stats);
    if found.interrupted {
        return Ok(None);
    }
    if !json {
        println!(
            "\n{}",
            inventory::table(inv.listed(false), display.unchecked.as_deref())
        );
        let (all, poly, ready) = inventory::tally(&inv);
        println!(
            "Discovery: {poly} Poly phone candidates ({ready} ready to onboard) among {all} hosts in {:.1} s.\n",
            stats.elapsed.as_secs_f64()
        );
    }
    Ok(Some(discovery::ready_targets(&inv, &range.to_string())?))
}

pub async fn onboard(args: OnboardArgs) -> anyhow::Result<u8> {
    let profiles = Arc::new(ProfileSet::bundled().context("loading device profiles")?);
    let json = args.watch.json;
    let how = args.discovery();
    // A run to resume goes on with its own settings: the ones given now are not the run's to check.
    if let Some(dir) = args.run.as_deref().filter(|d| onboard::holds_run(d)) {
        return rerun(dir, &args, how.as_ref(), profiles, json).await;
    }
    // Everything asked is checked before discovery sends anything.
    let asked = args.asked();
    asked.check()?;
    let site = onboard::spec::site(&asked)?;
    let discovered = match &how {
        Some(how) => match discover_targets(how, profiles.clone(), json).await? {
            Some(targets) => Some(targets),
            None => {
                let note = "Interrupted (Ctrl-C) during discovery: no phone was touched.";
                if json {
                    crate::output::emit_run(crate::output::Run::Note { note: note.into() });
                } else {
                    println!("{note}");
                }
                return Ok(130);
            }
        },
        None => None,
    };
    let mut spec = RunSpec::layer(&asked, &site, &profiles, discovered)?;
    let mut settings = spec.settings(None)?;
    spec.check_servers(
        settings.wanted.password.clone(),
        super::shared::print_check(json),
    )
    .await?;
    if spec.server_checks.iter().any(|c| c.failed()) {
        let note = if spec.dry_run {
            "(dry run: going on to show the plan; a real run would stop here)"
        } else {
            "Nothing was changed: no phone is touched while its provisioning server cannot be reached."
        };
        if json {
            crate::output::emit_run(crate::output::Run::Note { note: note.into() });
        } else {
            println!("{note}");
        }
        if !spec.dry_run {
            return Ok(1);
        }
    }
    for w in spec.warnings() {
        if json {
            crate::output::emit_run(crate::output::Run::RunWarning { warning: w });
        } else {
            println!("warning: {}", crate::text::for_terminal(&w));
        }
    }
    confirm(&spec, &settings, profiles.clone(), args.yes, json).await?;
    let listener = match &how {
        Some(how) => Some(discovery::Listener::start(
            how.plan()?,
            how.ouis(&profiles)?,
            profiles.clone(),
        )),
        None => None,
    };
    settings.heard = listener.as_ref().map(|l| l.heard.clone());
    if let Some(l) = &listener {
        settings.port = Some(l.budget.clone());
    }
    let dir = match &args.run {
        Some(dir) => onboard::fresh_run_dir(dir)?,
        None => onboard::new_run_dir(&onboard::spec::state_dir(&asked, &site))?,
    };
    let stop = super::shared::stop_on_ctrl_c();
    let end = onboard::start(&dir, &spec, settings, profiles, mode(json), stop).await;
    if let Some(l) = listener {
        l.stop().await;
    }
    let mut code = ended::print(&end?, mode(json));
    if args.watch.until == super::shared::Until::Active && !spec.dry_run && code != 130 {
        code = super::shared::activate_run(&dir, None, args.watch.entered.macs_entered, mode(json))
            .await?;
    }
    if args.print_resources {
        super::shared::print_resources();
    }
    Ok(code)
}

/// `onboard --run DIR` where DIR already holds a run: resume it (listening on the interface again when one is
/// named, so phones that move are still found), instead of starting a second run over the same phones.
async fn rerun(
    dir: &std::path::Path,
    args: &OnboardArgs,
    how: Option<&DiscoverArgs>,
    profiles: Arc<ProfileSet>,
    json: bool,
) -> anyhow::Result<u8> {
    let note = format!(
        "{} already holds a run: resuming it with the settings it started with (its journal's: targets, server, \
         site; options given now are not applied), phones already finished left as they are",
        dir.display()
    );
    if json {
        crate::output::emit_run(crate::output::Run::Note { note });
    } else {
        println!("{note}");
    }
    let listener = match how {
        Some(how) => {
            let plan = how.plan()?;
            inventory::check_onboard(&plan)?;
            Some(discovery::Listener::start(
                plan,
                how.ouis(&profiles)?,
                profiles.clone(),
            ))
        }
        None => None,
    };
    let live = listener
        .as_ref()
        .map(|l| (l.heard.clone(), l.budget.clone()));
    let result = onboard::resume_with(
        dir,
        args.passwords.password_file.as_deref(),
        profiles,
        mode(json),
        super::shared::stop_on_ctrl_c(),
        |settings| {
            if let Some((heard, budget)) = live {
                settings.heard = Some(heard);
                settings.port = Some(budget);
            }
        },
    )
    .await;
    if let Some(l) = listener {
        l.stop().await;
    }
    let (repaired, end) = result?;
    ended::repaired(repaired);
    let code = ended::print(&end, mode(json));
    if args.print_resources {
        super::shared::print_resources();
    }
    Ok(code)
}

pub async fn resume(args: ResumeArgs) -> anyhow::Result<u8> {
    let profiles = Arc::new(ProfileSet::bundled().context("loading device profiles")?);
    let (repaired, end) = onboard::resume(
        &args.run,
        args.password_file.as_deref(),
        profiles,
        mode(args.json),
        super::shared::stop_on_ctrl_c(),
    )
    .await?;
    ended::repaired(repaired);
    Ok(ended::print(&end, mode(args.json)))
}

pub fn print_report(args: ReportArgs) -> anyhow::Result<u8> {
    if !args.merge.is_empty() {
        return super::merge::run(&args);
    }
    let dir = match &args.run {
        Some(dir) => dir.clone(),
        None => onboard::latest(&args.state_dir)?,
    };
    let end = onboard::report(&dir)?;
    let rows = &end.rows;
    for (i, format) in args.format.iter().enumerate() {
        if i > 0 {
            println!();
        }
        match format.as_str() {
            "json" => println!(
                "{}",
                serde_json::to_string_pretty(&crate::output::ReportFile::new(
                    &end.run,
                    rows,
                    &end.checks
                ))?
            ),
            "csv" => print!("{}", report::csv(rows)?),
            "macs" => print!("{}", report::mac_list(rows)),
            "activation" => print!("{}", report::activation_csv(rows)?),
            _ => print!("{}", report::table(rows)),
        }
    }
    if end.pending > 0 {
        eprintln!(
            "{} phone(s) have no final result yet: polyprov resume --run {}",
            end.pending,
            dir.display()
        );
    }
    Ok(0)
}
