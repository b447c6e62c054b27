//! `polyprov provision`: one phone, end to end, printing each phase as it happens.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;

use super::shared::{PasswordArgs, ServerArgs, WatchArgs};

use crate::clock::Clock;
use crate::mac::Mac;
use crate::phone::provisioning::Wanted;
use crate::phone::session::Patience;
use crate::phone::{Event, Report, Timing, provision};
use crate::profile::ProfileSet;
use crate::secret;

/// `polyprov provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The phone: HOST[:PORT] or a URL (https://198.18.0.10).
    #[arg(long)]
    pub target: String,
    /// The phone's MAC (from its label or discovery): its certificate must name it.
    #[arg(long)]
    pub mac: Option<Mac>,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub passwords: PasswordArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
}

pub async fn run(args: ProvisionArgs) -> anyhow::Result<u8> {
    let base = crate::fleet::targets::parse_address_named(
        &args.target,
        args.watch.http,
        args.watch.host_names,
    )
    .map_err(|e| anyhow::anyhow!("--target {e}"))?;
    let Some(server_url) = args.server.server_url.clone() else {
        bail!("give the provisioning server with --server-url URL");
    };
    let server_type = args
        .server
        .server_type
        .clone()
        .unwrap_or_else(|| "https".into());
    if let Some(w) = crate::server_check::check_server_url(&server_url, &server_type)
        .map_err(|e| anyhow::anyhow!("--server-url: {e}"))?
    {
        println!("warning: {w}");
    }
    if crate::fleet::targets::is_public(&base) {
        println!(
            "warning: {} is a public address: desk phones live on the LAN; check the target",
            crate::text::for_terminal(&args.target)
        );
    }
    let patience = args.watch.patience_secs.unwrap_or(600);
    args.watch.check()?;
    let passwords = secret::candidates(
        args.passwords.password_file.as_deref(),
        "POLYPROV_PASSWORD",
        Some("Phone admin password: "),
    )?;
    let server_password = match &args.server.server_password_file {
        Some(p) => Some(secret::from_file(p)?.remove(0)),
        None => None,
    };
    let new_password = match &args.passwords.new_password_file {
        Some(p) => Some(secret::from_file(p)?.remove(0)),
        None => None,
    };
    let profiles = ProfileSet::bundled().context("loading device profiles")?;
    let cas = match &args.server.server_ca {
        Some(p) => crate::server_check::read_cas(p)?,
        None => Vec::new(),
    };
    let check = crate::server_check::Spec {
        url: server_url.clone(),
        server_type: server_type.to_ascii_uppercase(),
        pins: args.server.resolve.clone(),
        cas,
        user: args.server.server_user.clone(),
        password: server_password.clone(),
        timeout: std::time::Duration::from_secs(10),
    };
    let checked = crate::server_check::check_all(
        std::slice::from_ref(&server_url),
        &check,
        args.server.skip_server_check,
        super::shared::print_check(args.watch.json),
    )
    .await;
    if checked.iter().any(|c| c.failed()) {
        if args.watch.dry_run {
            println!("(dry run: going on to show the plan; a real run would stop here)");
        } else {
            println!(
                "Nothing was changed: the phone is not touched while its provisioning server cannot be reached."
            );
            return Ok(1);
        }
    }
    let settings = crate::fleet::Settings {
        wanted: Wanted {
            server_type: server_type.to_ascii_uppercase(),
            url: server_url,
            user: args.server.server_user.clone(),
            password: server_password,
        },
        passwords,
        allow_factory: args.passwords.allow_factory_password,
        new_password,
        dry_run: args.watch.dry_run,
        force: args.watch.force,
        concurrency: 1,
        clock: Clock::new(args.watch.time_scale),
        timing: Timing {
            return_secs: args.watch.return_secs,
            settle_secs: args.watch.settle_secs,
            timeout_secs: args.watch.timeout_secs,
            poll_secs: None,
        },
        patience: Patience {
            locked_secs: patience,
            busy_secs: patience,
        },
        allow: Default::default(),
        search_range: args.watch.cidr,
        search_rate: args.watch.search_rate,
        heard: None,
        port: args
            .watch
            .cidr
            .map(|_| Arc::new(crate::discover::budget::PortBudget::polite())),
        attempts: crate::phone::attempts::Attempts::user().map(std::sync::Arc::new),
        known: crate::phone::known::KnownPhones::user().map(std::sync::Arc::new),
    };
    let target = crate::fleet::targets::Target {
        key: crate::fleet::targets::key_of(&base),
        base,
        mac: args.mac,
        extension: None,
        user: None,
        server_url: None,
    };
    let job = settings.job(&target, super::shared::stop_on_ctrl_c(), None);
    let started = Instant::now();
    let json = args.watch.json;
    let key = target.key.clone();
    let sink = Arc::new(move |e: Event| {
        if json {
            let at = started.elapsed().as_secs_f64();
            crate::output::emit(crate::output::Line::phone(&key, at, &e));
        } else {
            let line = format!("{:>7.1}s  {e}", started.elapsed().as_secs_f64());
            println!("{}", crate::text::for_terminal(&line));
        }
    });
    let mut report = provision(&job, &profiles, &*sink).await;
    if args.watch.until == super::shared::Until::Active
        && crate::fleet::activation::awaits_activation(&report)
    {
        let mac = report
            .mac
            .map_or("(MAC unknown)".to_string(), |m| m.to_string());
        super::shared::wait_for_macs(&[mac], args.watch.entered.macs_entered, json)?;
        let mut job = job.clone();
        job.expected_mac = report.mac.or(job.expected_mac);
        report = crate::phone::activate::activate(&job, &profiles, &report, &*sink).await;
    }
    if json {
        crate::output::emit_run(crate::output::Run::Result {
            phone: target.key.clone(),
            at: started.elapsed().as_secs_f64(),
            result: Box::new(crate::report::Row::new(&target, &report)),
        });
    } else {
        print_summary(&report);
    }
    Ok(report.outcome.exit_code())
}

/// The single phone's summary; what the phone said in it is shown, never obeyed (no control characters).
fn print_summary(r: &Report) {
    macro_rules! say {
        ($($arg:tt)*) => {
            println!("{}", crate::text::for_terminal(&format!($($arg)*)))
        };
    }
    println!();
    say!(
        "phone      {}",
        r.mac.map_or("unknown MAC".to_string(), |m| m.shown())
    );
    say!("address    {}", r.address);
    if let Some(model) = &r.model {
        say!(
            "model      {model} ({})",
            r.profile.as_deref().unwrap_or("?")
        );
    }
    match (&r.firmware_before, &r.firmware_after) {
        (Some(a), Some(b)) if a != b => say!("firmware   {a} → {b}"),
        (Some(a), _) => say!("firmware   {a}"),
        _ => {}
    }
    if let Some(before) = &r.server_before {
        let after = r.server_after.as_ref().map_or_else(
            || match &r.outcome {
                crate::phone::Outcome::DryRun { .. } => "(dry run)".to_string(),
                _ => "(not read back)".to_string(),
            },
            |s| format!("{} {}", s.server_type, s.url),
        );
        say!(
            "server     {} {:?} → {after}",
            before.server_type,
            before.url
        );
    }
    if r.reboots > 0 {
        say!("reboots    {}", r.reboots);
    }
    for w in &r.warnings {
        say!("warning    {w}");
    }
    for e in &r.evidence {
        say!("evidence   {e}");
    }
    say!("result     {}", r.outcome.label());
    match &r.outcome {
        // An interrupted phone is told how to go on by the caller (a run's `resume`, or running `provision` again).
        crate::phone::Outcome::Interrupted { .. } => {}
        crate::phone::Outcome::DryRun { changes } => {
            for c in changes {
                say!("           would set {c}");
            }
        }
        o => {
            if let Some(text) = o.explained() {
                say!("           {text}");
            }
        }
    }
}
