//! What the commands share, declared once: the flags of `provision` and `onboard`, the printing of the
//! provisioning-server check, Ctrl-C, the activation step (`activate` and `onboard --until active`), and the
//! resource figures benchmarks read.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ipnet::IpNet;

/// The provisioning server to set.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Provisioning server type [default: https].
    #[arg(long, value_parser = ["https", "http", "ftp", "tftp", "ftps"])]
    pub server_type: Option<String>,
    /// Provisioning server address (URL).
    #[arg(long)]
    pub server_url: Option<String>,
    /// Provisioning server user name, if the server needs one.
    #[arg(long)]
    pub server_user: Option<String>,
    /// File holding the provisioning server's password (never on the command line).
    #[arg(long)]
    pub server_password_file: Option<PathBuf>,
    /// Answer NAME with ADDR for connections to PORT (`*`: any), as curl's --resolve; repeatable. Names under
    /// .test, .invalid, .example and .localhost are never looked up: pin them.
    #[arg(long = "resolve", value_name = "NAME:PORT:ADDR")]
    pub resolve: Vec<crate::resolve::Pin>,
    /// PEM file of CA certificates to trust for the provisioning server besides the system's (a private CA).
    #[arg(long, value_name = "FILE")]
    pub server_ca: Option<PathBuf>,
    /// Do not check the provisioning server from this machine before touching phones (when only the phones'
    /// network reaches it); the report then says it was not checked.
    #[arg(long)]
    pub skip_server_check: bool,
}

/// Where the phones' admin passwords come from.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// File with the admin password(s), one per line, tried in order [env: POLYPROV_PASSWORD; else a prompt].
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Also try the factory password (456) after the given ones.
    #[arg(long)]
    pub allow_factory_password: bool,
    /// Replace a factory admin password with the one in this file before provisioning.
    #[arg(long)]
    pub new_password_file: Option<PathBuf>,
}

/// How phones are reached and watched.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Log in, read and show the planned change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also repoint phones in service: ones whose provisioning server is already set to another server than the
    /// one asked for (without it they are left alone and reported).
    #[arg(long)]
    pub force: bool,
    /// Talk plain HTTP (old firmware whose TLS 1.0/3DES modern TLS refuses; passwords then cross the LAN in the clear).
    #[arg(long)]
    pub http: bool,
    /// Allow targets given by host name: resolving them sends DNS queries on the customer's network (by default
    /// only IP addresses are taken, and nothing is looked up).
    #[arg(long)]
    pub host_names: bool,
    /// A range to look for a phone in by MAC if it comes back on a new address (at most a /16).
    #[arg(long)]
    pub cidr: Option<IpNet>,
    /// Addresses per second probed while looking in --cidr, at most: each address may make the kernel send ARP, so
    /// the search also waits for room in the port's polite ARP budget (12 frames/s for everything the run causes).
    #[arg(long, default_value_t = 20)]
    pub search_rate: u32,
    /// Give up on a phone that stays down this long after a reboot, phone seconds [default: 3 × its boot time].
    #[arg(long)]
    pub return_secs: Option<f64>,
    /// No reboot for this long means settled, phone seconds [default: the profile's settle-secs].
    #[arg(long)]
    pub settle_secs: Option<f64>,
    /// Limit from the save to Inactive, phone seconds [default: the profile's timeout-secs].
    #[arg(long)]
    pub timeout_secs: Option<f64>,
    /// How long to wait for a locked web UI or someone else's session, seconds [default: 600].
    #[arg(long)]
    pub patience_secs: Option<u64>,
    /// Phone seconds per wall second: only for simulated phones (`polyprov sim --time-scale`).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Newline-delimited JSON events instead of text.
    #[arg(long)]
    pub json: bool,
    /// Where to stop: `inactive` (provisioned, ready for activation) or `active`: then, once the MACs are entered
    /// in the admin console, reboot each phone through its web UI and follow it until its line registers.
    #[arg(long, value_enum, default_value_t = Until::Inactive)]
    pub until: Until,
    #[command(flatten)]
    pub entered: MacsEntered,
}

impl WatchArgs {
    /// Values the flags accept but a run cannot use, refused with the flag and the allowed range.
    pub fn check(&self) -> anyhow::Result<()> {
        crate::onboard::spec::check_watch_flags(
            self.cidr.as_ref(),
            self.time_scale,
            self.return_secs,
            self.settle_secs,
            self.timeout_secs,
            self.patience_secs,
            self.search_rate,
        )
        .map_err(anyhow::Error::msg)
    }
}

/// Where a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Until {
    Inactive,
    Active,
}

/// The admin's confirmation that the MACs are in the admin console.
#[derive(Debug, Args)]
pub struct MacsEntered {
    /// The MACs are already entered in the admin console: do not ask before rebooting the phones for activation.
    #[arg(long)]
    pub macs_entered: bool,
}

/// Ask the admin to enter the MACs and wait for Enter (a line on standard input), unless already confirmed.
pub fn wait_for_macs(macs: &[String], confirmed: bool, json: bool) -> anyhow::Result<()> {
    if macs.is_empty() {
        return Ok(());
    }
    if json {
        crate::output::emit_run(crate::output::Run::Activation {
            enter_macs: macs.to_vec(),
            macs_entered: confirmed,
        });
    } else {
        println!(
            "\nActivation: enter {} in the admin console (by MAC; the run directory's activation.csv lists them):",
            if macs.len() == 1 {
                "this MAC".to_string()
            } else {
                format!("these {} MACs", macs.len())
            }
        );
        for m in macs {
            println!("  {m}");
        }
    }
    if confirmed {
        if !json {
            println!("(--macs-entered: rebooting the phones now)");
        }
        return Ok(());
    }
    if !json {
        println!(
            "Then press Enter to reboot the phones and follow them until their lines register."
        );
    }
    std::io::Write::flush(&mut std::io::stdout())?;
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line)? == 0 {
        anyhow::bail!(
            "standard input closed before the MACs were confirmed: run `polyprov activate --run DIR --macs-entered` once they are entered"
        );
    }
    Ok(())
}

/// Print one provisioning-server check as it is found.
pub fn print_check(json: bool) -> impl Fn(&crate::server_check::Checked) {
    move |checked| {
        if json {
            crate::output::emit_run(crate::output::Run::ServerCheck {
                check: checked.clone(),
            });
        } else {
            println!("{}", checked.line());
        }
    }
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

/// This process's peak resident memory (KiB) and CPU seconds (user, system), from /proc.
pub fn resources() -> crate::output::Resources {
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
    crate::output::Resources {
        peak_rss_kib: kib("VmHWM:"),
        cpu_user_secs: ticks(11),
        cpu_system_secs: ticks(12),
    }
}

/// Print the process's resources as a JSON line (`--print-resources`, read by the benchmarks).
pub fn print_resources() {
    crate::output::emit_run(crate::output::Run::Resources {
        resources: resources(),
    });
}

/// Ask for the MACs to be entered (unless confirmed), then activate the run in `dir`.
pub async fn activate_run(
    dir: &std::path::Path,
    password_file: Option<&std::path::Path>,
    macs_entered: bool,
    mode: crate::fleet::progress::Mode,
) -> anyhow::Result<u8> {
    let run = crate::onboard::load(dir)?;
    let waiting = run.awaiting_activation();
    if waiting.is_empty() {
        println!("No phone of this run is waiting for activation (none ended Inactive).");
    } else {
        wait_for_macs(
            &waiting,
            macs_entered,
            matches!(mode, crate::fleet::progress::Mode::Json),
        )?;
    }
    let profiles = std::sync::Arc::new(
        crate::profile::ProfileSet::bundled().context("loading device profiles")?,
    );
    let (repaired, end) =
        crate::onboard::activate(run, password_file, profiles, mode, stop_on_ctrl_c()).await?;
    super::ended::repaired(repaired);
    Ok(super::ended::print(&end, mode))
}
