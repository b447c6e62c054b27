//! The live inventory on a terminal, shared by `discover` and `onboard --interface`: where and how to look
//! ([`DiscoverArgs`]), what the technician is told before anything is sent, the streaming display (a live line per
//! change on a terminal, plain timestamped lines in a pipe, JSON lines with `--json`) and the summary table.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipnet::Ipv4Net;

use crate::discover::inventory::{Change, Device, Inventory};
use crate::discover::link::{self, Link};
use crate::discover::oui::Ouis;
use crate::discover::sweep::{self, Rate};
use crate::discover::{self, DiscoverError, Plan, Update, live};
use crate::fleet::progress::Mode;
use crate::profile::ProfileSet;

/// Seconds of mDNS browsing by default.
pub const MDNS_SECS: u64 = 3;
/// With a range, how long in all discovery waits for candidates' LLDP when they have not said their model or
/// firmware yet (LLDP repeats every 30 s).
pub const IDENTITY_WAIT: Duration = Duration::from_secs(35);
/// Web UIs fingerprinted at once by default.
pub const FINGERPRINT_CONCURRENCY: usize = 16;

/// Where and how to look; shared by `discover` and `onboard --interface`.
#[derive(Debug, Clone, Args)]
pub struct DiscoverArgs {
    /// The interface the phones are on (required to listen or send; without it the interfaces are listed).
    #[arg(long, short = 'i')]
    pub interface: Option<String>,
    /// The range to sweep with ARP and fingerprint (e.g. 198.18.0.0/24). Without it discovery only listens.
    #[arg(long)]
    pub cidr: Option<Ipv4Net>,
    /// Sweep rate: polite (10/s, under Cisco DAI's 15/s: the default), brisk (200/s), fast (500/s, arp-scan's), or a
    /// number of requests/s up to 2000. Faster than 15/s can get the port err-disabled where DAI is on.
    #[arg(long, default_value = "polite")]
    pub rate: Rate,
    /// Listen at least this many seconds (LLDP repeats every 30 s: 35 hears every phone once) [default: 35 without
    /// --cidr; with it, as long as the sweep and fingerprints take, then up to 35 s in all while a phone has not
    /// said its model or firmware; --passive 0 skips that wait].
    #[arg(long, value_name = "SECONDS")]
    pub passive: Option<u64>,
    /// Sweep ranges larger than a /16 (slow, and a flood of broadcasts).
    #[arg(long)]
    pub allow_large_range: bool,
    /// Skip the mDNS browse.
    #[arg(long)]
    pub no_mdns: bool,
    /// Seconds of mDNS browsing.
    #[arg(long, default_value_t = MDNS_SECS)]
    pub mdns_secs: u64,
    /// More MAC prefixes that mark Poly candidates (repeatable), e.g. --oui 30:E1:71.
    #[arg(long = "oui")]
    pub ouis: Vec<String>,
    /// Web UIs fingerprinted at once.
    #[arg(long, default_value_t = FINGERPRINT_CONCURRENCY)]
    pub fingerprint_concurrency: usize,
}

impl DiscoverArgs {
    /// Checks the request and builds the plan: the interface must exist, the range stay within a /16.
    pub fn plan(&self) -> Result<Plan, DiscoverError> {
        let name = self
            .interface
            .as_deref()
            .ok_or_else(|| DiscoverError::NoInterface {
                available: link::describe_all(),
            })?;
        let targets = match self.cidr {
            Some(range) => discover::targets(range, self.allow_large_range)?,
            None => Vec::new(),
        };
        let link = Link::find(name)?;
        let default_listen = if self.cidr.is_some() { 0 } else { 35 };
        Ok(Plan {
            link,
            range: self.cidr,
            targets,
            rate: self.rate,
            listen: Duration::from_secs(self.passive.unwrap_or(default_listen)),
            identity_wait: if self.cidr.is_some() && self.passive.is_none() {
                IDENTITY_WAIT
            } else {
                Duration::ZERO
            },
            mdns: (!self.no_mdns).then(|| Duration::from_secs(self.mdns_secs)),
            fingerprint: true,
            fingerprint_concurrency: self.fingerprint_concurrency,
            web_timeout: Duration::from_secs(5),
            promiscuous: true,
            background: false,
            budget: Arc::new(discover::budget::PortBudget::new(self.rate.port_cap())),
        })
    }

    pub fn ouis(&self, profiles: &ProfileSet) -> anyhow::Result<Ouis> {
        let mut ouis = Ouis::poly(profiles);
        for o in &self.ouis {
            ouis.add(o)?;
        }
        Ok(ouis)
    }
}

/// What the technician is told before anything is sent.
pub fn announce(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    let listen = if plan.promiscuous {
        "listening promiscuously for ARP, DHCP, LLDP and CDP (receive only; polyprov never sends LLDP or CDP)"
    } else {
        "listening for ARP and DHCP"
    };
    lines.push(format!(
        "{} ({}): {listen}",
        plan.link.name,
        plan.link.mac.colon_lower()
    ));
    match plan.range {
        None => lines.push(format!(
            "passive only for {} s: nothing is sent. Give --cidr to sweep and fingerprint a range",
            plan.listen.as_secs()
        )),
        Some(range) => {
            let r = plan.rate;
            let eta = r.expected(plan.targets.len());
            let per_phone = plan.budget.cap().map_or(String::new(), |cap| {
                format!(
                    ", plus about {} ms per phone whose web UI is looked at (its ARP shares the port's budget)",
                    1000 / u64::from(cap.max(1))
                )
            });
            lines.push(format!(
                "sweeping {} addresses of {range} with ARP at {}/s ({}): at most {} on a clean link, {} if it \
                 loses frames (silent addresses are asked {} more times){per_phone}",
                plan.targets.len(),
                r.per_sec,
                r.name,
                human(eta),
                human(r.expected_lossy(plan.targets.len())),
                sweep::LOSSY_EXTRA,
            ));
            if let Some(cap) = plan.budget.cap() {
                lines.push(format!(
                    "every ARP frame this run causes on the port (the sweep's, and the kernel's for each web UI it \
                     opens) stays under {cap}/s, below Dynamic ARP Inspection's {}/s",
                    discover::budget::DAI_LIMIT
                ));
            }
            if r.is_risky() {
                lines.push(format!("warning: --rate {}: {}", r.name, r.risk));
            } else if eta > Duration::from_secs(60) {
                lines.push(format!(
                    "the polite rate keeps the switch port safe; where Dynamic ARP Inspection is off, --rate brisk takes {}",
                    human(sweep::BRISK.expected(plan.targets.len()))
                ));
            }
        }
    }
    lines
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 90.0 {
        format!("{s:.1} s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

/// Summary cells of one device.
pub fn row(d: &Device) -> [String; 7] {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let web = d.web.as_ref().map(|w| &w.value);
    let profile = match web.and_then(|w| w.profile.clone()) {
        Some(p) => format!(
            "{p}/{}",
            web.and_then(|w| w.generation.clone()).unwrap_or_default()
        ),
        None => "-".into(),
    };
    let sources: Vec<&str> = d.sources.iter().map(|s| s.name()).collect();
    [
        d.mac.shown(),
        opt(d.ip.as_ref().map(|f| f.value.to_string())),
        opt(d.model.as_ref().map(|f| f.value.clone())),
        opt(d.firmware.as_ref().map(|f| f.value.clone())),
        profile,
        sources.join(","),
        d.readiness().describe(),
    ]
}

/// The summary table.
pub fn table<'a>(devices: impl Iterator<Item = &'a Device>) -> String {
    let header = [
        "MAC",
        "IP",
        "model",
        "firmware",
        "profile",
        "sources",
        "provisionable",
    ]
    .map(String::from);
    let mut rows: Vec<[String; 7]> = devices
        .map(|d| row(d).map(|c| crate::text::for_terminal(&c).into_owned()))
        .collect();
    rows.sort_by_key(|r| {
        (
            r[1].parse::<Ipv4Addr>().map(u32::from).unwrap_or(u32::MAX),
            r[0].clone(),
        )
    });
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 6 {
                    c.clone()
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Counts for the last line: devices, Poly candidates, ready.
pub fn tally(inv: &Inventory) -> (usize, usize, usize) {
    let poly = inv.listed(false).count();
    let ready = inv
        .listed(false)
        .filter(|d| d.readiness() == discover::Readiness::Ready)
        .count();
    (inv.len(), poly, ready)
}

/// The streaming display.
pub struct Display {
    pub mode: Mode,
    all: bool,
    pub bar: ProgressBar,
    start: Instant,
}

impl Display {
    pub fn new(json: bool, all: bool) -> Display {
        let mode = super::ended::mode(json);
        let bar = if mode == Mode::Terminal {
            let b = ProgressBar::new_spinner();
            if let Ok(s) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
                b.set_style(s);
            }
            b.enable_steady_tick(Duration::from_millis(120));
            b
        } else {
            ProgressBar::hidden()
        };
        Display {
            mode,
            all,
            bar,
            start: Instant::now(),
        }
    }

    /// One line; what devices announced in it (LLDP names, mDNS, web titles) is shown, never obeyed.
    fn line(&self, text: &str) {
        let text = crate::text::for_terminal(text);
        match self.mode {
            Mode::Terminal => self.bar.println(text),
            Mode::Plain => println!("{:>7.1}s  {text}", self.start.elapsed().as_secs_f64()),
            Mode::Json => {}
        }
    }

    fn update(&self, u: &Update, inv: &Arc<Mutex<Inventory>>) {
        match u {
            Update::Device { change, device, at } => {
                if !(self.all || device.is_poly()) {
                    return;
                }
                if self.mode == Mode::Json {
                    let change = if matches!(change, Change::New(_)) {
                        crate::output::Change::New
                    } else {
                        crate::output::Change::Updated
                    };
                    crate::output::emit_run(crate::output::Run::Device {
                        change,
                        at_ms: at.as_millis() as u64,
                        device: Box::new(crate::output::Discovered::new(device)),
                    });
                    return;
                }
                let mark = if matches!(change, Change::New(_)) {
                    "+"
                } else {
                    "~"
                };
                let r = row(device);
                self.line(&format!(
                    "{mark} {}  {:<15} {:<18} {:<12} {:<28} [{}] {}",
                    r[0], r[1], r[2], r[3], r[4], r[5], r[6]
                ));
                if self.mode == Mode::Terminal {
                    let (all, poly, ready) = tally(&inv.lock().unwrap_or_else(|p| p.into_inner()));
                    self.bar.set_message(format!(
                        "{all} hosts heard, {poly} Poly candidates, {ready} ready"
                    ));
                }
            }
            Update::SweepDone {
                sent,
                answers,
                took,
            } => {
                if self.mode == Mode::Json {
                    crate::output::emit_run(crate::output::Run::SweepDone {
                        sent: *sent,
                        answers: *answers,
                        took_ms: took.as_millis() as u64,
                    });
                } else {
                    self.line(&format!(
                        "sweep done: {sent} requests, {answers} answers in {:.1} s",
                        took.as_secs_f64()
                    ));
                }
            }
            Update::Note(n) => {
                if self.mode == Mode::Json {
                    crate::output::emit_run(crate::output::Run::Note { note: n.clone() });
                } else {
                    self.line(&format!("note: {n}"));
                }
            }
        }
    }
}

/// Runs discovery on an interface with the streaming display: announces what will be sent, then streams.
pub async fn live_inventory(
    plan: Plan,
    profiles: Arc<ProfileSet>,
    ouis: Ouis,
    display: &Display,
) -> anyhow::Result<(Inventory, live::Stats)> {
    if display.mode != Mode::Json {
        for l in announce(&plan) {
            eprintln!("{l}");
        }
    } else {
        crate::output::emit_run(crate::output::Run::Start {
            interface: plan.link.name.clone(),
            range: plan.range.map(|r| r.to_string()),
            rate: plan.rate.per_sec,
            expected_ms: plan.rate.expected(plan.targets.len()).as_millis() as u64,
        });
    }
    let inventory = Arc::new(Mutex::new(Inventory::new(ouis)));
    let stop = super::shared::stop_on_ctrl_c();
    let inv = inventory.clone();
    let stats = live::run(plan, profiles, inventory.clone(), Some(stop), |u| {
        display.update(&u, &inv)
    })
    .await?;
    display.bar.finish_and_clear();
    let inv = inventory.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok((inv, stats))
}
