//! `polyprov discover`: the inventory of Poly phones on the technician's LAN, live from an interface or offline
//! from a capture, streamed as it arrives and ended with a summary table (the display is `inventory`'s). Stopped
//! by Ctrl-C, it still prints what it found, says it is partial, and exits 130.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::inventory::{DiscoverArgs, Display, Found, live_inventory, table, tally, unchecked};
use crate::discover::inventory::Inventory;
use crate::discover::vlan::{self, VlanPicture};
use crate::discover::{self, pcap};
use crate::fleet::progress::Mode;
use crate::profile::ProfileSet;

/// `polyprov discover`.
#[derive(Debug, Args)]
pub struct DiscoverCmd {
    #[command(flatten)]
    pub how: DiscoverArgs,
    /// Build the inventory from a capture file (pcap or pcapng) instead; nothing is sent or listened to.
    #[arg(long, conflicts_with_all = ["interface", "cidr"])]
    pub pcap: Option<PathBuf>,
    /// List every host heard, not only Poly candidates.
    #[arg(long)]
    pub all: bool,
    /// JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the phones ready to onboard as a targets CSV (ip,mac) for `onboard --targets`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// At the end, print this process's peak memory and CPU time (for benchmarks).
    #[arg(long, hide = true)]
    pub print_resources: bool,
}

/// Runs `polyprov discover`.
pub async fn run(args: DiscoverCmd) -> anyhow::Result<u8> {
    let profiles = Arc::new(ProfileSet::bundled().context("loading device profiles")?);
    let ouis = args.how.ouis(&profiles)?;
    let mut display = Display::new(args.json, args.all);
    if let Some(path) = &args.pcap {
        display.unchecked = Some("web UI not probed (read from a capture: nothing is sent)".into());
        let mut inv = Inventory::new(ouis);
        let result = pcap::read_into(path, &mut inv);
        let (stats, problem) = match result {
            Ok(s) => (s, None),
            Err((e, s)) => (s, Some(e)),
        };
        display.bar.finish_and_clear();
        // A capture names no interface to reach anything from: only what switches advertised is worth a line.
        let vlans = VlanPicture {
            elsewhere: Vec::new(),
            ..vlan::picture(&inv, "", |_, _| None)
        };
        finish(
            &args,
            &display,
            &inv,
            &vlans,
            &format!(
                "{}: {} frames, {} read as ARP/DHCP/LLDP/CDP",
                path.display(),
                stats.frames,
                stats.read
            ),
            false,
        )?;
        return match problem {
            None => Ok(0),
            Some(e) => Err(e.into()),
        };
    }
    let plan = args.how.plan()?;
    display.unchecked = unchecked(&plan);
    let interface = plan.link.name.clone();
    let no_ipv4 =
        (plan.range.is_some() && plan.link.ipv4.is_empty()).then(|| plan.link.name.clone());
    let Found {
        inventory: inv,
        stats,
        interrupted,
    } = live_inventory(plan, profiles, ouis, &display).await?;
    let mut line = format!(
        "{} frames heard in {:.1} s",
        stats.frames,
        stats.elapsed.as_secs_f64()
    );
    if let Some(t) = stats.sweep_took {
        line.push_str(&format!(
            "; sweep: {} requests, {} answers in {:.1} s",
            stats.sweep_sent,
            stats.sweep_answers,
            t.as_secs_f64()
        ));
    }
    match no_ipv4 {
        Some(name) => line.push_str(&format!(
            "; web UIs not checked: {name} has no IPv4 address"
        )),
        None => line.push_str(&format!("; {} web UIs fingerprinted", stats.fingerprints)),
    }
    line.push_str(&format!("; {} mDNS instances", stats.mdns_instances));
    if stats.port_arp > 0 {
        line.push_str(&format!(
            "; the port saw {} ARP frames from us, at most {} in one second",
            stats.port_arp, stats.port_arp_peak
        ));
    }
    let vlans = vlan::picture(&inv, &interface, vlan::subinterface);
    finish(&args, &display, &inv, &vlans, &line, interrupted)?;
    if args.print_resources {
        super::shared::print_resources();
    }
    // 130: stopped by SIGINT, as a shell reports it; the inventory is partial.
    Ok(if interrupted { 130 } else { 0 })
}

fn finish(
    args: &DiscoverCmd,
    display: &Display,
    inv: &Inventory,
    vlans: &VlanPicture,
    stats: &str,
    interrupted: bool,
) -> anyhow::Result<()> {
    let why = display.unchecked.as_deref();
    let (all, poly, ready) = tally(inv);
    let mut saved = 0;
    // A partial inventory never replaces a targets file: the phones it misses would silently drop out.
    let save = args.save.as_ref().filter(|_| !interrupted);
    if let Some(path) = save {
        let mut out = String::from("ip,mac\n");
        for d in inv
            .listed(false)
            .filter(|d| d.readiness() == discover::Readiness::Ready)
        {
            if let Some(ip) = &d.ip {
                out.push_str(&format!("{},{}\n", ip.value, d.mac));
                saved += 1;
            }
        }
        std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?;
    }
    if display.mode == Mode::Json {
        crate::output::emit_run(crate::output::Run::Summary {
            hosts: all,
            poly,
            ready,
            stats: stats.to_string(),
            interrupted,
            vlans: (!vlans.is_empty()).then(|| vlans.clone()),
            saved: save.map(|p| crate::output::Saved {
                path: p.clone(),
                phones: saved,
            }),
            devices: inv
                .listed(args.all)
                .map(|d| crate::output::Discovered::new(d, why))
                .collect(),
        });
        return Ok(());
    }
    println!("\n{}", table(inv.listed(args.all), why));
    for line in vlans.lines() {
        println!("VLAN: {}", crate::text::for_terminal(&line));
    }
    println!(
        "{poly} Poly phone candidates ({ready} ready to onboard) among {all} hosts heard. {stats}."
    );
    if interrupted {
        println!(
            "Interrupted (Ctrl-C) before discovery was done: this inventory is partial (phones may be missing or not yet checked). Run again to complete it."
        );
    }
    if let (Some(path), true) = (&args.save, interrupted) {
        println!(
            "{} was not written: the inventory is partial. Run again to save a complete one.",
            path.display()
        );
    }
    if let Some(path) = save {
        match saved {
            0 => println!(
                "0 phones ready to onboard: {} holds only its header line (ip,mac).",
                path.display()
            ),
            n => println!(
                "{n} ready {} written to {} (onboard --targets {}).",
                if n == 1 { "phone" } else { "phones" },
                path.display(),
                path.display()
            ),
        }
    }
    Ok(())
}
