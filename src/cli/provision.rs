//! `polyprov provision`: one phone, end to end, printing each phase as it happens.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use ipnet::IpNet;

use crate::clock::Clock;
use crate::mac::Mac;
use crate::phone::provisioning::Wanted;
use crate::phone::session::Patience;
use crate::phone::{Event, Job, Report, Timing, provision};
use crate::profile::ProfileSet;
use crate::secret;

/// `polyprov provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The phone: HOST[:PORT] or a URL (https://198.18.0.10).
    #[arg(long)]
    pub target: String,
    /// Provisioning server type.
    #[arg(long, default_value = "https", value_parser = ["https", "http", "ftp", "tftp", "ftps"])]
    pub server_type: String,
    /// Provisioning server address (URL).
    #[arg(long)]
    pub server_url: String,
    /// Provisioning server user name, if the server needs one.
    #[arg(long)]
    pub server_user: Option<String>,
    /// File holding the provisioning server's password (never on the command line).
    #[arg(long)]
    pub server_password_file: Option<PathBuf>,
    /// File with the phone's admin password(s), one per line, tried in order [env: POLYPROV_PASSWORD; else a prompt].
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Also try the factory password (456) after the given ones.
    #[arg(long)]
    pub allow_factory_password: bool,
    /// Replace a factory admin password with the one in this file before provisioning.
    #[arg(long)]
    pub new_password_file: Option<PathBuf>,
    /// Log in, read and show the planned change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The phone's MAC (from its label or discovery): its certificate must name it.
    #[arg(long)]
    pub mac: Option<Mac>,
    /// A range to look for the phone in by MAC if it comes back on a new address (at most a /16).
    #[arg(long)]
    pub cidr: Option<IpNet>,
    /// Addresses per second probed while looking for the phone in --cidr.
    #[arg(long, default_value_t = 20)]
    pub search_rate: u32,
    /// Talk plain HTTP (for old firmware whose TLS 1.0/3DES modern TLS refuses; the password then crosses the LAN in the clear).
    #[arg(long)]
    pub http: bool,
    /// Give up if the phone stays down this long after a reboot (default: 3 × the profile's boot time).
    #[arg(long)]
    pub return_secs: Option<f64>,
    /// No reboot for this long means settled (default: the profile's settle-secs).
    #[arg(long)]
    pub settle_secs: Option<f64>,
    /// Overall limit from the save to Inactive (default: the profile's timeout-secs).
    #[arg(long)]
    pub timeout_secs: Option<f64>,
    /// How long to wait for a locked web UI or someone else's session, seconds.
    #[arg(long, default_value_t = 600)]
    pub patience_secs: u64,
    /// Phone seconds per wall second: only for simulated phones (`polyprov sim --time-scale`).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Newline-delimited JSON events and a final JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Parse `HOST[:PORT]` or a URL into the phone's base URL.
pub fn target_url(target: &str, http: bool) -> anyhow::Result<url::Url> {
    let scheme = if http { "http" } else { "https" };
    let text = if target.contains("://") {
        target.to_string()
    } else {
        format!("{scheme}://{target}/")
    };
    let url = url::Url::parse(&text)
        .with_context(|| format!("--target {target:?} is not HOST[:PORT] or a URL"))?;
    if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
        bail!("--target {target:?} must name a phone by address (HOST[:PORT] or https://HOST)");
    }
    Ok(url)
}

/// The biggest range searched without an explicit override.
pub fn check_range(range: &IpNet) -> anyhow::Result<()> {
    let (len, max) = match range {
        IpNet::V4(n) => (n.prefix_len(), 16),
        IpNet::V6(n) => (n.prefix_len(), 112),
    };
    if len < max {
        bail!(
            "--cidr {range} is larger than a /{max}; name a smaller range (the phones' own subnet)"
        );
    }
    Ok(())
}

/// A flag that turns true at the first Ctrl-C.
pub fn stop_on_ctrl_c() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nInterrupted: finishing the step in progress (a save is never abandoned half-way); Ctrl-C again quits at once."
            );
            let _ = tx.send(true);
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Quitting now; everything done so far is in the journal.");
            std::process::exit(130);
        }
    });
    rx
}

pub async fn run(args: ProvisionArgs) -> anyhow::Result<u8> {
    let base = target_url(&args.target, args.http)?;
    if let Some(r) = &args.cidr {
        check_range(r)?;
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        bail!("--time-scale must be a positive number");
    }
    let passwords = secret::candidates(
        args.password_file.as_deref(),
        "POLYPROV_PASSWORD",
        Some("Phone admin password: "),
    )?;
    let server_password = match &args.server_password_file {
        Some(p) => Some(secret::from_file(p)?.remove(0)),
        None => None,
    };
    let new_password = match &args.new_password_file {
        Some(p) => Some(secret::from_file(p)?.remove(0)),
        None => None,
    };
    let profiles = ProfileSet::bundled().context("loading device profiles")?;
    let job = Job {
        base,
        wanted: Wanted {
            server_type: args.server_type.to_ascii_uppercase(),
            url: args.server_url.clone(),
            user: args.server_user.clone(),
            password: server_password,
        },
        passwords,
        allow_factory: args.allow_factory_password,
        new_password,
        dry_run: args.dry_run,
        expected_mac: args.mac,
        search_range: args.cidr,
        search_rate: args.search_rate,
        clock: Clock::new(args.time_scale),
        timing: Timing {
            return_secs: args.return_secs,
            settle_secs: args.settle_secs,
            timeout_secs: args.timeout_secs,
            poll_secs: None,
        },
        patience: Patience {
            locked_secs: args.patience_secs,
            busy_secs: args.patience_secs,
        },
        stop: Some(stop_on_ctrl_c()),
        resume: None,
        allow: Default::default(),
    };
    let started = Instant::now();
    let json = args.json;
    let sink = Arc::new(move |e: Event| {
        if json {
            if let Ok(line) = serde_json::to_string(&e) {
                println!("{line}");
            }
        } else {
            println!("{:>7.1}s  {e}", started.elapsed().as_secs_f64());
        }
    });
    let report = provision(&job, &profiles, &*sink).await;
    if json {
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "report": &report }))?
        );
    } else {
        print_summary(&report);
    }
    Ok(report.outcome.exit_code())
}

fn print_summary(r: &Report) {
    println!();
    println!(
        "phone      {}",
        r.mac.map_or("unknown MAC".to_string(), |m| m.to_string())
    );
    println!("address    {}", r.address);
    if let Some(model) = &r.model {
        println!(
            "model      {model} ({})",
            r.profile.as_deref().unwrap_or("?")
        );
    }
    match (&r.firmware_before, &r.firmware_after) {
        (Some(a), Some(b)) if a != b => println!("firmware   {a} → {b}"),
        (Some(a), _) => println!("firmware   {a}"),
        _ => {}
    }
    if let Some(before) = &r.server_before {
        let after = r
            .server_after
            .as_ref()
            .map_or("?".to_string(), |s| format!("{} {}", s.server_type, s.url));
        println!(
            "server     {} {:?} → {after}",
            before.server_type, before.url
        );
    }
    if r.reboots > 0 {
        println!("reboots    {}", r.reboots);
    }
    for w in &r.warnings {
        println!("warning    {w}");
    }
    println!("result     {}", r.outcome.label());
    match &r.outcome {
        crate::phone::Outcome::NeedsAttention { reason }
        | crate::phone::Outcome::Unsupported { reason }
        | crate::phone::Outcome::Failed { reason } => println!("           {reason}"),
        crate::phone::Outcome::DryRun { changes } => {
            for c in changes {
                println!("           would set {c}");
            }
        }
        _ => {}
    }
}
