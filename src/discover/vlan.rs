//! VLANs as discovery sees them: the segment each frame travelled in ([`Segment`]: untagged on the interface's own
//! VLAN, or tagged with a VLAN the interface is not on), the VLAN subinterfaces this host has
//! (`/proc/net/vlan/config`), the voice VLAN switches advertise, and what to tell the technician when phones are on
//! a VLAN the interface cannot reach, with the exact command that fixes it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::inventory::{Device, Inventory};
use crate::mac::Mac;

/// The longest interface name Linux accepts (IFNAMSIZ less the NUL).
const IFNAME_MAX: usize = 15;

/// Where a device's frames travelled, as this interface sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case")]
pub enum Segment {
    /// Untagged (or priority-tagged, VLAN 0): the interface's own segment; `vlan` is its VLAN when the interface
    /// is a VLAN subinterface (`eth0.20`), unknown otherwise (the switch port's untagged VLAN).
    Ours { vlan: Option<u16> },
    /// Tagged with a VLAN the interface does not strip, so one it is not on: a phone in the voice VLAN heard on a
    /// port that carries that VLAN tagged. `outer` is the service tag of a double-tagged frame.
    Tagged { vlan: u16, outer: Option<u16> },
}

impl Segment {
    /// The VLAN ID when known.
    pub fn vlan(self) -> Option<u16> {
        match self {
            Segment::Ours { vlan } => vlan,
            Segment::Tagged { vlan, .. } => Some(vlan),
        }
    }

    /// For the table: `20`, `20 (tagged)`, or `-` for the untagged VLAN of a plain interface.
    pub fn shown(self) -> String {
        match self {
            Segment::Ours { vlan: None } => "-".into(),
            Segment::Ours { vlan: Some(v) } => v.to_string(),
            Segment::Tagged { vlan, outer: None } => format!("{vlan} (tagged)"),
            Segment::Tagged {
                vlan,
                outer: Some(o),
            } => format!("{vlan} in {o} (tagged)"),
        }
    }
}

/// One VLAN subinterface of this host: `eth0.20` is VLAN 20 on `eth0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanInterface {
    pub name: String,
    pub id: u16,
    pub parent: String,
}

/// Reads `/proc/net/vlan/config` (`eth0.20        | 20  | eth0` after two header lines); lines that are not
/// three fields with a VLAN ID are skipped.
pub fn parse_config(text: &str) -> Vec<VlanInterface> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('|').map(str::trim);
            let (name, id, parent) = (fields.next()?, fields.next()?, fields.next()?);
            let id: u16 = id.parse().ok().filter(|id| (1..4095).contains(id))?;
            (fields.next().is_none() && !name.is_empty() && !parent.is_empty()).then(|| {
                VlanInterface {
                    name: name.into(),
                    id,
                    parent: parent.into(),
                }
            })
        })
        .collect()
}

/// This host's VLAN subinterfaces (none when the 8021q module is not loaded).
pub fn subinterfaces() -> Vec<VlanInterface> {
    std::fs::read_to_string("/proc/net/vlan/config")
        .map(|t| parse_config(&t))
        .unwrap_or_default()
}

/// The subinterface of `parent` for `vlan`, with its IPv4 addresses.
pub fn subinterface(parent: &str, vlan: u16) -> Option<(VlanInterface, Vec<Ipv4Net>)> {
    let sub = subinterfaces()
        .into_iter()
        .find(|v| v.parent == parent && v.id == vlan)?;
    let addresses = pnet::datalink::interfaces()
        .into_iter()
        .find(|i| i.name == sub.name)
        .map(|i| {
            i.ips
                .iter()
                .filter_map(|n| match n.ip() {
                    std::net::IpAddr::V4(ip) => Ipv4Net::new(ip, n.prefix()).ok(),
                    std::net::IpAddr::V6(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some((sub, addresses))
}

/// The name to suggest for a new subinterface: `eth0.20`, or `vlan20` when that would be too long for Linux.
pub fn suggested_name(parent: &str, vlan: u16) -> String {
    let name = format!("{parent}.{vlan}");
    if name.len() <= IFNAME_MAX {
        name
    } else {
        format!("vlan{vlan}")
    }
}

/// Poly phones heard only on a VLAN the interface is not on.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ElsewhereVlan {
    pub vlan: u16,
    /// The service VLAN around it, for double-tagged frames.
    pub outer: Option<u16>,
    pub phones: Vec<Mac>,
    /// The addresses they announced there (DHCP, LLDP), if any.
    pub addresses: Vec<Ipv4Addr>,
    /// This host's subinterface on that VLAN, when it has one.
    pub subinterface: Option<String>,
    /// What to do, with the exact commands.
    pub fix: String,
}

/// A voice VLAN a switch (or any non-phone device) advertises on this port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct AdvertisedVlan {
    pub vlan: u16,
    /// Who advertised it: its system name when it sent one, and its MAC.
    pub by: String,
    /// `lldp` (an LLDP-MED network policy) or `cdp` (a VoIP VLAN reply).
    pub how: String,
}

/// The VLAN picture of one run: phones on VLANs the interface is not on, and voice VLANs advertised to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct VlanPicture {
    pub elsewhere: Vec<ElsewhereVlan>,
    pub advertised: Vec<AdvertisedVlan>,
}

impl VlanPicture {
    pub fn is_empty(&self) -> bool {
        self.elsewhere.is_empty() && self.advertised.is_empty()
    }

    /// One line per finding, for the text display and JSON notes.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .advertised
            .iter()
            .map(|a| {
                format!(
                    "{} advertises voice VLAN {} on this port ({})",
                    a.by,
                    a.vlan,
                    if a.how == "cdp" {
                        "CDP VoIP VLAN reply"
                    } else {
                        "LLDP-MED network policy"
                    }
                )
            })
            .collect();
        out.extend(self.elsewhere.iter().map(|e| e.fix.clone()));
        out
    }
}

/// Reads the VLAN picture from the inventory: `interface` is the one listened on, `find` looks up this host's
/// subinterface of it for a VLAN (see [`subinterface`]; injected so tests need no kernel).
pub fn picture(
    inv: &Inventory,
    interface: &str,
    find: impl Fn(&str, u16) -> Option<(VlanInterface, Vec<Ipv4Net>)>,
) -> VlanPicture {
    let mut on: BTreeMap<(u16, Option<u16>), Vec<&Device>> = BTreeMap::new();
    let mut advertised = Vec::new();
    for d in inv.listed(true) {
        if d.is_poly() {
            let answered = d.web.as_ref().is_some_and(|w| w.value.answered());
            if let (Some(Segment::Tagged { vlan, outer }), false) =
                (d.segment.as_ref().map(|f| f.value), answered)
            {
                on.entry((vlan, outer)).or_default().push(d);
            }
        } else if let Some(v) = &d.voice_vlan {
            let by = match &d.hostname {
                Some(h) => format!("{} ({})", h.value, d.mac.colon_lower()),
                None => d.mac.colon_lower(),
            };
            advertised.push(AdvertisedVlan {
                vlan: v.value,
                by,
                how: v.source.name().into(),
            });
        }
    }
    let elsewhere = on
        .into_iter()
        .map(|((vlan, outer), phones)| {
            let addresses: Vec<Ipv4Addr> = phones
                .iter()
                .filter_map(|d| d.ip.as_ref().map(|f| f.value))
                .collect();
            let sub = find(interface, vlan).filter(|_| outer.is_none());
            let fix = match outer {
                None => fix(interface, vlan, phones.len(), &addresses, sub.as_ref()),
                Some(outer) => format!(
                    "{} Poly phone(s) are on VLAN {vlan} inside service VLAN {outer} (their frames reach {interface} \
                     with two tags): a VLAN subinterface of {interface} cannot reach them. Fix: run polyprov from a \
                     host on VLAN {vlan} behind the provider's edge",
                    phones.len()
                ),
            };
            ElsewhereVlan {
                vlan,
                outer,
                phones: phones.iter().map(|d| d.mac).collect(),
                addresses,
                subinterface: sub.map(|(s, _)| s.name),
                fix,
            }
        })
        .collect();
    VlanPicture {
        elsewhere,
        advertised,
    }
}

/// The /24 that holds every address, when one does.
fn common_subnet(addresses: &[Ipv4Addr]) -> Option<Ipv4Net> {
    let first = Ipv4Net::new(*addresses.first()?, 24).ok()?.trunc();
    addresses.iter().all(|a| first.contains(a)).then_some(first)
}

/// What to tell the technician about `phones` Poly phones on `vlan`, which `interface` is not on.
fn fix(
    interface: &str,
    vlan: u16,
    phones: usize,
    addresses: &[Ipv4Addr],
    sub: Option<&(VlanInterface, Vec<Ipv4Net>)>,
) -> String {
    let range = common_subnet(addresses)
        .map(|n| n.to_string())
        .unwrap_or_else(|| "THEIR-SUBNET".into());
    let what = format!(
        "{phones} Poly phone(s) are on VLAN {vlan}: their frames reach {interface} tagged, so {interface} is not on \
         that VLAN; their web UIs can be reached only through a route to their subnet (if the voice VLAN is routed: \
         run again with `--cidr {range}`) or from that VLAN"
    );
    let costs = "; on a VLAN subinterface polyprov hears only that VLAN's frames (not the switch's untagged LLDP), \
                 and its ARP count covers that VLAN only";
    match sub {
        Some((s, nets)) if !nets.is_empty() => {
            let range = nets.first().map(|n| n.trunc().to_string()).unwrap_or(range);
            format!(
                "{what}. This host's {} is on VLAN {vlan} ({}): run again with `--interface {} --cidr {range}`{costs}",
                s.name,
                nets.iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.name
            )
        }
        Some((s, _)) => format!(
            "{what}. This host's {name} is on VLAN {vlan} but has no IPv4 address. Fix: `sudo dhclient {name}` (or \
             `sudo ip addr add ADDRESS/PREFIX dev {name}`), then run again with `--interface {name} --cidr {range}`{costs}",
            name = s.name
        ),
        None => {
            let name = suggested_name(interface, vlan);
            format!(
                "{what}. Fix: add a VLAN interface and give it an address: `sudo ip link add link {interface} name \
                 {name} type vlan id {vlan} && sudo ip link set {name} up && sudo dhclient {name}` (or `sudo ip addr \
                 add ADDRESS/PREFIX dev {name}`), then run again with `--interface {name} --cidr {range}`{costs}; or \
                 run polyprov from a host on VLAN {vlan}"
            )
        }
    }
}

#[cfg(test)]
mod tests;
