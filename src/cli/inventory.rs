//! The live inventory on a terminal, shared by `discover` and `onboard --interface`: where and how to look
//! ([`DiscoverArgs`]), what the technician is told before anything is sent (with warnings when the interface has
//! no IPv4 address or the range is not on its network), the streaming display (a live line per change on a
//! terminal, plain timestamped lines in a pipe, JSON lines with `--json`), the summary table, and whether Ctrl-C
//! cut the run short.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipnet::Ipv4Net;

use crate::discover::inventory::{Change, Device, Inventory, Readiness};
use crate::discover::link::{self, Link, Reach};
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
    /// number of requests/s: up to 10 (polite: the port's ARP budget of 12/s keeps room for the kernel's ARP), or 15
    /// to 2000 (no budget: can get the port err-disabled where DAI is on).
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
    /// Listen without making the interface promiscuous: LLDP and CDP are still heard (their multicast groups), but
    /// network cards that filter VLANs in hardware then drop the frames of VLANs this host is not on, so phones in
    /// the voice VLAN may go unseen.
    #[arg(long)]
    pub no_promiscuous: bool,
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
    /// Checks the request and builds the plan: the interface must exist (up, with a carrier), the range stay within
    /// a /16. Web UIs are fingerprinted only from an interface with an IPv4 address.
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
        let fingerprint = !link.ipv4.is_empty();
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
            fingerprint,
            fingerprint_concurrency: self.fingerprint_concurrency,
            web_timeout: Duration::from_secs(5),
            passive: discover::packet::Passive {
                groups: true,
                promiscuous: !self.no_promiscuous,
            },
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

/// What the technician must know about the interface and the range before anything is sent (text: `warning:`
/// lines; JSON: `note` events): no IPv4 address (no web UI can be reached), or a range on none of its subnets.
pub fn warnings(plan: &Plan) -> Vec<String> {
    let Some(range) = plan.range else {
        return Vec::new();
    };
    let name = &plan.link.name;
    match plan.link.reach(Some(range)) {
        Reach::OnLink { .. } => Vec::new(),
        Reach::NoAddress => vec![format!(
            "{name} has no IPv4 address: the ARP sweep still runs (asking from 0.0.0.0, as RFC 5227 probes do), but \
             web UIs cannot be reached without one, so they are not fingerprinted and no phone can be shown ready. \
             Fix: give {name} an address in the phones' subnet (DHCP, or `sudo ip addr add ADDRESS/PREFIX dev {name}`)"
        )],
        Reach::OffLink { .. } => vec![format!(
            "{range} is not on {name}'s network (its addresses: {}): hosts in that range on this segment may still \
             answer ARP, but web connections to them are routed away from {name}, so fingerprinting and onboarding \
             from here will not reach them. Fix: use the interface on that network, or add an address in that subnet \
             (`sudo ip addr add ADDRESS/PREFIX dev {name}`)",
            plan.link.addresses()
        )],
    }
}

/// `onboard --interface` refuses what cannot work: an interface without an IPv4 address, a range on none of its
/// subnets (the phones' web UIs cannot be reached from it, so nothing could be onboarded).
pub fn check_onboard(plan: &Plan) -> Result<(), DiscoverError> {
    let Some(range) = plan.range else {
        return Ok(());
    };
    match plan.link.reach(Some(range)) {
        Reach::OnLink { .. } => Ok(()),
        Reach::NoAddress => Err(DiscoverError::NoIpv4 {
            name: plan.link.name.clone(),
        }),
        Reach::OffLink { .. } => Err(DiscoverError::OffLink {
            range,
            name: plan.link.name.clone(),
            addresses: plan.link.addresses(),
        }),
    }
}

/// Why this run does not look at web UIs, when the reason is the run's and not one device's (an address outside
/// `--cidr`): a passive run, an interface without an IPv4 address.
pub fn unchecked(plan: &Plan) -> Option<String> {
    match plan.range {
        None => Some("web UI not probed (passive run: nothing is sent without --cidr)".into()),
        Some(_) if plan.link.ipv4.is_empty() => Some(format!(
            "web UI not probed: {} has no IPv4 address",
            plan.link.name
        )),
        Some(_) => None,
    }
}

/// A device's readiness, with the run's reason when its web UI was not checked.
pub fn readiness(d: &Device, unchecked: Option<&str>) -> Readiness {
    match unchecked {
        Some(why) => d.readiness().unchecked_because(why),
        None => d.readiness(),
    }
}

/// What the technician is told before anything is sent (the [`warnings`] last).
pub fn announce(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    let listen = match (plan.passive.groups, plan.passive.promiscuous) {
        (true, true) => {
            "listening promiscuously for ARP, DHCP, LLDP and CDP, in every VLAN that reaches the port (receive only; \
             polyprov never sends LLDP or CDP)"
        }
        (true, false) => {
            "listening for ARP, DHCP, and LLDP and CDP on their multicast groups, not promiscuously (receive only; \
             polyprov never sends LLDP or CDP)"
        }
        _ => "listening for ARP and DHCP",
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
    lines.extend(warnings(plan).into_iter().map(|w| format!("warning: {w}")));
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

/// Summary cells of one device (`unchecked`: see [`unchecked`]): MAC, IP, VLAN, model, firmware, profile, sources,
/// provisionable.
pub fn row(d: &Device, unchecked: Option<&str>) -> [String; 8] {
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
        opt(d.segment.as_ref().map(|f| f.value.shown())),
        opt(d.model.as_ref().map(|f| f.value.clone())),
        opt(d.firmware.as_ref().map(|f| f.value.clone())),
        profile,
        sources.join(","),
        readiness(d, unchecked).describe(),
    ]
}

/// The VLAN column's index in [`row`].
const VLAN: usize = 2;

/// The summary table (`unchecked`: see [`unchecked`]). The VLAN column is shown only when a device's VLAN is
/// known (heard tagged, or on a VLAN subinterface).
pub fn table<'a>(devices: impl Iterator<Item = &'a Device>, unchecked: Option<&str>) -> String {
    let header = [
        "MAC",
        "IP",
        "VLAN",
        "model",
        "firmware",
        "profile",
        "sources",
        "provisionable",
    ]
    .map(String::from);
    let mut rows: Vec<[String; 8]> = devices
        .map(|d| row(d, unchecked).map(|c| crate::text::for_terminal(&c).into_owned()))
        .collect();
    rows.sort_by_key(|r| {
        (
            r[1].parse::<Ipv4Addr>().map(u32::from).unwrap_or(u32::MAX),
            r[0].clone(),
        )
    });
    let show_vlan = rows.iter().any(|r| r[VLAN] != "-");
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let last = header.len() - 1;
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .enumerate()
            .filter(|(i, _)| show_vlan || *i != VLAN)
            .map(|(i, (c, w))| {
                if i == last {
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
    /// Why the run does not look at web UIs, once the plan is known (see [`unchecked`]).
    pub unchecked: Option<String>,
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
            unchecked: None,
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
                        device: Box::new(crate::output::Discovered::new(
                            device,
                            self.unchecked.as_deref(),
                        )),
                    });
                    return;
                }
                let mark = if matches!(change, Change::New(_)) {
                    "+"
                } else {
                    "~"
                };
                let r = row(device, self.unchecked.as_deref());
                let vlan = if r[VLAN] == "-" {
                    String::new()
                } else {
                    format!("VLAN {}  ", r[VLAN])
                };
                self.line(&format!(
                    "{mark} {}  {:<15} {vlan}{:<18} {:<12} {:<28} [{}] {}",
                    r[0], r[1], r[3], r[4], r[5], r[6], r[7]
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

/// What a live discovery ended with.
pub struct Found {
    pub inventory: Inventory,
    pub stats: live::Stats,
    /// Ctrl-C stopped it before it was done: the inventory is partial.
    pub interrupted: bool,
}

/// Runs discovery on an interface with the streaming display: announces what will be sent (and the [`warnings`]),
/// then streams until done or Ctrl-C.
pub async fn live_inventory(
    plan: Plan,
    profiles: Arc<ProfileSet>,
    ouis: Ouis,
    display: &Display,
) -> anyhow::Result<Found> {
    // Ctrl-C is caught before anything is said or sent, so from the first line on it ends with a partial summary.
    let stop = super::shared::stop_on_ctrl_c();
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
        for note in warnings(&plan) {
            crate::output::emit_run(crate::output::Run::Note { note });
        }
    }
    let inventory = Arc::new(Mutex::new(Inventory::new(ouis)));
    let ctrl_c = stop.clone();
    let inv = inventory.clone();
    let stats = live::run(plan, profiles, inventory.clone(), Some(stop), |u| {
        display.update(&u, &inv)
    })
    .await?;
    display.bar.finish_and_clear();
    let interrupted = *ctrl_c.borrow();
    let inv = inventory.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(Found {
        inventory: inv,
        stats,
        interrupted,
    })
}
