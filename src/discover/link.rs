//! The technician's interface: finding it by name (up, with a carrier, with a MAC), its IPv4 addresses and how they
//! relate to the range asked for (which one the sweep asks from; whether the range is on this link at all),
//! the VLAN it is on when it is a VLAN subinterface (`eth0.20`), checking the privilege raw frames need (CAP_NET_RAW
//! on Linux) with the exact fix when it is missing, and opening the raw socket ([`super::packet`]). The socket
//! joins the LLDP and CDP multicast groups only while passive listening is asked for; the sweep alone needs none
//! (replies are unicast to us).

use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;
use pnet::datalink::{self, NetworkInterface};

use super::DiscoverError;
use super::packet::{PacketSocket, Passive};
use super::vlan;
use crate::mac::Mac;

/// A named Ethernet interface with its MAC and every IPv4 address, in the order the kernel lists them.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    pub mac: Mac,
    /// Our addresses and prefixes there; the sweep asks from 0.0.0.0 (an RFC 5227 probe) when there is none.
    pub ipv4: Vec<Ipv4Net>,
    /// The VLAN this interface is on when it is a VLAN subinterface (`eth0.20`: 20): untagged frames heard on it
    /// travelled in that VLAN.
    pub vlan: Option<u16>,
    iface: NetworkInterface,
}

/// How the range asked for relates to an interface's IPv4 addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// One of its subnets overlaps the range: ask from `from` (an address inside the range if there is one).
    OnLink { from: Ipv4Addr },
    /// It has addresses, but none of their subnets overlaps the range; the sweep still asks from the first.
    OffLink { from: Ipv4Addr },
    /// No IPv4 address: the sweep asks from 0.0.0.0, and nothing can be reached over IP.
    NoAddress,
}

impl Reach {
    /// The ARP sender address for this range.
    pub fn sender(self) -> Ipv4Addr {
        match self {
            Reach::OnLink { from } | Reach::OffLink { from } => from,
            Reach::NoAddress => Ipv4Addr::UNSPECIFIED,
        }
    }
}

/// Whether two networks share an address.
fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// How `range` relates to `addresses` (an interface's, in order): the sender is the first address inside the range,
/// else the first whose subnet overlaps it, else the first address at all.
pub fn reach(addresses: &[Ipv4Net], range: Ipv4Net) -> Reach {
    let inside = addresses
        .iter()
        .find(|a| range.contains(&a.addr()) && overlaps(a.trunc(), range));
    let near = addresses.iter().find(|a| overlaps(a.trunc(), range));
    match (inside.or(near), addresses.first()) {
        (Some(a), _) => Reach::OnLink { from: a.addr() },
        (None, Some(first)) => Reach::OffLink { from: first.addr() },
        (None, None) => Reach::NoAddress,
    }
}

/// Reads `/sys/class/net/IF/carrier`: `Some(false)` when the link has no carrier, `None` when it cannot say.
pub fn parse_carrier(text: &str) -> Option<bool> {
    match text.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// Whether the interface has a carrier (a cable to a live port); `None` when the kernel does not say.
fn carrier(name: &str) -> Option<bool> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/carrier"))
        .ok()
        .as_deref()
        .and_then(parse_carrier)
}

/// `eth0 (02:00:00:00:00:01, 198.18.0.1/24), wlan0 (…)`: what `discover` lists when no interface was named.
pub fn describe_all() -> String {
    let list: Vec<String> = datalink::interfaces()
        .iter()
        .filter(|i| !i.is_loopback())
        .map(|i| {
            let v4: Vec<String> = i
                .ips
                .iter()
                .filter(|n| n.is_ipv4())
                .map(|n| format!("{}/{}", n.ip(), n.prefix()))
                .collect();
            let mac = i
                .mac
                .map(|m| m.to_string())
                .unwrap_or_else(|| "no MAC".into());
            let state = if !i.is_up() {
                ", down"
            } else if carrier(&i.name) == Some(false) {
                ", no carrier"
            } else {
                ""
            };
            format!(
                "{} ({mac}{}{state})",
                i.name,
                if v4.is_empty() {
                    String::new()
                } else {
                    format!(", {}", v4.join(" "))
                }
            )
        })
        .collect();
    if list.is_empty() {
        "(none but loopback)".into()
    } else {
        list.join("; ")
    }
}

impl Link {
    /// The interface called `name`: up, with a carrier (when the kernel says) and a MAC.
    pub fn find(name: &str) -> Result<Link, DiscoverError> {
        let iface = datalink::interfaces()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| DiscoverError::NoSuchInterface {
                name: name.into(),
                available: describe_all(),
            })?;
        if !iface.is_up() {
            return Err(DiscoverError::InterfaceDown { name: name.into() });
        }
        if carrier(name) == Some(false) {
            return Err(DiscoverError::NoCarrier { name: name.into() });
        }
        let mac = iface
            .mac
            .map(|m| Mac(m.octets()))
            .filter(|m| m.0 != [0; 6])
            .ok_or_else(|| DiscoverError::NotEthernet { name: name.into() })?;
        let ipv4 = iface
            .ips
            .iter()
            .filter_map(|n| match n.ip() {
                std::net::IpAddr::V4(ip) => Ipv4Net::new(ip, n.prefix()).ok(),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        Ok(Link {
            name: name.into(),
            mac,
            ipv4,
            vlan: vlan::subinterfaces()
                .into_iter()
                .find(|v| v.name == name)
                .map(|v| v.id),
            iface,
        })
    }

    /// Our first subnet on this interface (`198.18.0.0/24`), the range a technician usually means.
    pub fn subnet(&self) -> Option<Ipv4Net> {
        self.ipv4.first().map(|n| n.trunc())
    }

    /// How `range` relates to this interface's addresses, and the sweep's sender address for it (without a range,
    /// nothing is swept: the first address, if any).
    pub fn reach(&self, range: Option<Ipv4Net>) -> Reach {
        match range {
            Some(range) => reach(&self.ipv4, range),
            None => self
                .ipv4
                .first()
                .map_or(Reach::NoAddress, |a| Reach::OnLink { from: a.addr() }),
        }
    }

    /// The addresses as `ip addr` shows them (`198.18.0.1/24, 198.19.77.1/24`), or `none`.
    pub fn addresses(&self) -> String {
        if self.ipv4.is_empty() {
            return "none".into();
        }
        let all: Vec<String> = self.ipv4.iter().map(|n| n.to_string()).collect();
        all.join(", ")
    }

    /// Opens the raw socket, listening passively as asked (the LLDP and CDP groups, promiscuous mode).
    pub fn open(&self, passive: Passive) -> Result<PacketSocket, DiscoverError> {
        privilege(&self.name)?;
        match PacketSocket::open(self.iface.index, passive, Duration::from_millis(50)) {
            Ok(socket) => Ok(socket),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(DiscoverError::NoPrivilege(fix(&self.name)))
            }
            Err(source) => Err(DiscoverError::Channel {
                interface: self.name.clone(),
                source,
            }),
        }
    }
}

/// Whether this process holds CAP_NET_RAW: `Effective`, only `Permitted` (raisable, as after
/// `setcap cap_net_raw+p`), or `Missing`; read from `/proc/self/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawAccess {
    Effective,
    Permitted,
    Missing,
}

const CAP_NET_RAW: u32 = 13;

/// Reads CapEff/CapPrm lines of a `/proc/<pid>/status` text.
pub fn raw_access(status: &str) -> RawAccess {
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let bit = 1u64 << CAP_NET_RAW;
    if mask("CapEff:") & bit != 0 {
        RawAccess::Effective
    } else if mask("CapPrm:") & bit != 0 {
        RawAccess::Permitted
    } else {
        RawAccess::Missing
    }
}

/// The exact fix for a missing privilege.
pub fn fix(interface: &str) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "polyprov".into());
    format!(
        "listening and sending ARP on {interface} need raw sockets (CAP_NET_RAW), which this process does not have. \
         Fix: `sudo setcap cap_net_raw+p {exe}` once (again after every upgrade; polyprov raises it only while it \
         runs), or run polyprov with sudo. Under systemd: AmbientCapabilities=CAP_NET_RAW. \
         To work without it, capture with tcpdump and use `polyprov discover --pcap FILE`"
    )
}

/// Makes sure CAP_NET_RAW is effective: raises it from the permitted set where `setcap +p` put it.
fn privilege(interface: &str) -> Result<(), DiscoverError> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Ok(()); // not Linux procfs: the channel's own error will say
    };
    match raw_access(&status) {
        RawAccess::Effective => Ok(()),
        RawAccess::Permitted => {
            caps::raise(None, caps::CapSet::Effective, caps::Capability::CAP_NET_RAW)
                .map_err(|_| DiscoverError::NoPrivilege(fix(interface)))
        }
        RawAccess::Missing => Err(DiscoverError::NoPrivilege(fix(interface))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_net_raw_is_read_from_proc_status() {
        let root = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n";
        assert_eq!(raw_access(root), RawAccess::Effective);
        let setcap = "CapPrm:\t0000000000002000\nCapEff:\t0000000000000000\n";
        assert_eq!(raw_access(setcap), RawAccess::Permitted);
        let user = "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n";
        assert_eq!(raw_access(user), RawAccess::Missing);
        assert_eq!(raw_access("garbage"), RawAccess::Missing);
    }

    fn nets(list: &[&str]) -> Vec<Ipv4Net> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn the_sender_is_the_address_inside_the_range_not_the_first() {
        let range: Ipv4Net = "198.18.0.0/24".parse().unwrap();
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let two = nets(&["198.19.77.1/24", "198.18.0.1/24"]);
        assert_eq!(
            reach(&two, range),
            Reach::OnLink {
                from: ip("198.18.0.1")
            }
        );
        // A wider subnet that contains the range, from an address outside the range itself.
        let wide = nets(&["198.19.77.1/24", "198.18.5.1/16"]);
        assert_eq!(
            reach(&wide, range),
            Reach::OnLink {
                from: ip("198.18.5.1")
            }
        );
        // An address inside the range beats an earlier one whose subnet merely overlaps it.
        let both = nets(&["198.18.5.1/16", "198.18.0.9/24"]);
        assert_eq!(
            reach(&both, range),
            Reach::OnLink {
                from: ip("198.18.0.9")
            }
        );
        // A /32 range inside our subnet.
        let one: Ipv4Net = "198.18.0.7/32".parse().unwrap();
        assert_eq!(
            reach(&two, one),
            Reach::OnLink {
                from: ip("198.18.0.1")
            }
        );
    }

    #[test]
    fn a_range_on_no_subnet_of_ours_is_off_link_and_no_address_asks_from_zero() {
        let range: Ipv4Net = "198.18.0.0/24".parse().unwrap();
        let other = nets(&["198.19.77.1/24", "198.19.78.1/24"]);
        let r = reach(&other, range);
        assert_eq!(
            r,
            Reach::OffLink {
                from: "198.19.77.1".parse().unwrap()
            }
        );
        assert_eq!(reach(&[], range), Reach::NoAddress);
        assert_eq!(reach(&[], range).sender(), Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn carrier_is_read_from_sysfs_text() {
        assert_eq!(parse_carrier("1\n"), Some(true));
        assert_eq!(parse_carrier("0\n"), Some(false));
        assert_eq!(parse_carrier(""), None);
    }

    #[test]
    fn the_fix_names_setcap_and_sudo() {
        let f = fix("eth0");
        assert!(
            f.contains("setcap cap_net_raw+p") && f.contains("sudo") && f.contains("--pcap"),
            "{f}"
        );
    }
}
