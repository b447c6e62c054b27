//! CDP (Cisco Discovery Protocol, v1 and v2) as Poly phones send it alongside LLDP, and the Poly platform and
//! version strings it carries (`Polycom VVX 250`, `Updater: 6.4.6.2681, App: 6.4.6.2681`): a cleaner model and
//! firmware than LLDP's system description.
//!
//! CDP frames are 802.3 length-framed, not Ethernet II: to `01:00:0C:CC:CC:CC`, an LLC/SNAP header
//! (`AA AA 03`, OUI `00 00 0C`, protocol `0x2000`), then the CDP header (version, holdtime, checksum) and TLVs
//! whose 16-bit length counts their own 4-byte header. Parsing is tolerant in the same ways as [`super::lldp`]:
//! TLVs in any order, later duplicates ignored, unknown TLVs kept; the checksum is not verified.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{
    EtherType, EthernetRepr, Reader, VlanTag, WireError, fits, frame_of, internet_checksum, text,
};
use crate::mac::Mac;

/// The multicast address CDP is sent to.
pub const MULTICAST: Mac = Mac([0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc]);

/// LLC (`AA AA 03`) and SNAP (OUI `00 00 0C`, protocol ID `0x2000`) before every CDP PDU.
pub const SNAP_HEADER: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];

/// The 802.2 protocol bytes that mark an IPv6 address in the Addresses TLV.
const IPV6_PROTOCOL: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x86, 0xdd];

/// The data byte before the VLAN ID in a VoIP VLAN Reply, as switches send it.
const VOIP_VLAN_DATA: u8 = 0x01;

/// Capability bits of the Capabilities TLV.
pub mod capability {
    pub const ROUTER: u32 = 0x01;
    pub const TRANSPARENT_BRIDGE: u32 = 0x02;
    pub const SOURCE_ROUTE_BRIDGE: u32 = 0x04;
    pub const SWITCH: u32 = 0x08;
    pub const HOST: u32 = 0x10;
    pub const IGMP: u32 = 0x20;
    pub const REPEATER: u32 = 0x40;
    pub const PHONE: u32 = 0x80;
}

enum_with_unknown! {
    /// CDP TLV types (Wireshark's CDP dissector names).
    pub enum TlvType(u16) {
        DeviceId = 0x0001,
        Addresses = 0x0002,
        PortId = 0x0003,
        Capabilities = 0x0004,
        SoftwareVersion = 0x0005,
        Platform = 0x0006,
        NativeVlan = 0x000a,
        Duplex = 0x000b,
        VoipVlanReply = 0x000e,
        VoipVlanQuery = 0x000f,
        Power = 0x0010,
    }
}

fn tlv_name(kind: TlvType) -> &'static str {
    match kind {
        TlvType::DeviceId => "CDP device ID TLV",
        TlvType::Addresses => "CDP addresses TLV",
        TlvType::PortId => "CDP port ID TLV",
        TlvType::Capabilities => "CDP capabilities TLV",
        TlvType::SoftwareVersion => "CDP software version TLV",
        TlvType::Platform => "CDP platform TLV",
        TlvType::NativeVlan => "CDP native VLAN TLV",
        TlvType::VoipVlanReply => "CDP VoIP VLAN reply TLV",
        _ => "CDP TLV",
    }
}

/// One address from the Addresses TLV.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CdpAddress {
    /// NLPID protocol `0xCC`, 4 bytes.
    Ipv4(Ipv4Addr),
    /// 802.2 protocol `AA AA 03 00 00 00 86 DD`, 16 bytes.
    Ipv6(Ipv6Addr),
    /// Anything else, kept as sent.
    Other {
        protocol_type: u8,
        protocol: Vec<u8>,
        address: Vec<u8>,
    },
}

impl CdpAddress {
    fn parse(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let protocol_type = r.u8("CDP address protocol type")?;
        let protocol_len = usize::from(r.u8("CDP address protocol length")?);
        let protocol = r.take(protocol_len, "CDP address protocol")?;
        let address_len = usize::from(r.u16("CDP address length")?);
        let address = r.take(address_len, "CDP address")?;
        let other = || CdpAddress::Other {
            protocol_type,
            protocol: protocol.to_vec(),
            address: address.to_vec(),
        };
        Ok(match (protocol_type, protocol) {
            (1, [0xcc]) => <[u8; 4]>::try_from(address)
                .map_or_else(|_| other(), |a| CdpAddress::Ipv4(a.into())),
            (2, p) if p == IPV6_PROTOCOL => <[u8; 16]>::try_from(address)
                .map_or_else(|_| other(), |a| CdpAddress::Ipv6(a.into())),
            _ => other(),
        })
    }

    fn append_to(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let (protocol_type, protocol, address): (u8, &[u8], Vec<u8>) = match self {
            CdpAddress::Ipv4(ip) => (1, &[0xcc], ip.octets().to_vec()),
            CdpAddress::Ipv6(ip) => (2, &IPV6_PROTOCOL, ip.octets().to_vec()),
            CdpAddress::Other {
                protocol_type,
                protocol,
                address,
            } => (*protocol_type, protocol, address.clone()),
        };
        out.push(protocol_type);
        out.push(fits(
            protocol.len(),
            255,
            "CDP address protocol",
            out.len(),
        )?);
        out.extend_from_slice(protocol);
        let len: u16 = fits(address.len(), 0xffff, "CDP address", out.len())?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&address);
        Ok(())
    }
}

/// A TLV this parser does not interpret, kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawTlv {
    pub kind: TlvType,
    pub value: Vec<u8>,
}

/// A CDP PDU's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CdpRepr {
    /// 1 or 2.
    pub version: u8,
    /// Holdtime in seconds (180 by default).
    pub ttl: u8,
    /// Typically a MAC-derived host name on phones.
    pub device_id: Option<String>,
    pub addresses: Vec<CdpAddress>,
    pub port_id: Option<String>,
    /// Bits from [`capability`]; a phone sets [`capability::PHONE`].
    pub capabilities: Option<u32>,
    /// Poly: `Updater: 6.4.6.2681, App: 6.4.6.2681`.
    pub software_version: Option<String>,
    /// Poly: `Polycom VVX 250`.
    pub platform: Option<String>,
    /// The port's untagged (data) VLAN, from a switch.
    pub native_vlan: Option<u16>,
    /// The voice VLAN a switch tells the phone to use (VoIP VLAN Reply, TLV 0x000E).
    pub voice_vlan: Option<u16>,
    /// In the order they came.
    pub other_tlvs: Vec<RawTlv>,
}

/// A CDP PDU with the Ethernet header it came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CdpFrame {
    pub ethernet: EthernetRepr,
    pub cdp: CdpRepr,
}

impl CdpRepr {
    /// Reads a CDP PDU (from the version byte on).
    pub fn parse(pdu: &[u8]) -> Result<Self, WireError> {
        Self::parse_reader(Reader::new(pdu, 0))
    }

    fn parse_reader(mut r: Reader<'_>) -> Result<Self, WireError> {
        let at = r.offset();
        let version = r.u8("CDP version")?;
        if !matches!(version, 1 | 2) {
            return Err(WireError::Unexpected {
                what: "CDP version",
                offset: at,
                found: version.into(),
                expected: "1 or 2",
            });
        }
        let ttl = r.u8("CDP holdtime")?;
        r.u16("CDP checksum")?;
        let mut repr = CdpRepr {
            version,
            ttl,
            device_id: None,
            addresses: Vec::new(),
            port_id: None,
            capabilities: None,
            software_version: None,
            platform: None,
            native_vlan: None,
            voice_vlan: None,
            other_tlvs: Vec::new(),
        };
        let mut seen_addresses = false;
        while !r.is_empty() {
            let offset = r.offset();
            let available = r.remaining();
            let kind = TlvType::from(r.u16("CDP TLV type")?);
            let len = r.u16("CDP TLV length")?;
            let value_len = usize::from(len)
                .checked_sub(4)
                .ok_or(WireError::Unexpected {
                    what: "CDP TLV length",
                    offset: offset.saturating_add(2),
                    found: len.into(),
                    expected: "at least 4 (it counts its own header)",
                })?;
            let mut v = r
                .sub(value_len, tlv_name(kind))
                .map_err(|_| WireError::Truncated {
                    what: tlv_name(kind),
                    offset,
                    needed: usize::from(len),
                    available,
                })?;
            match kind {
                TlvType::DeviceId if repr.device_id.is_none() => {
                    repr.device_id = Some(text(v.rest()))
                }
                TlvType::Addresses if !seen_addresses => {
                    seen_addresses = true;
                    let count = v.u32("CDP address count")?;
                    for _ in 0..count {
                        repr.addresses.push(CdpAddress::parse(&mut v)?);
                    }
                }
                TlvType::PortId if repr.port_id.is_none() => repr.port_id = Some(text(v.rest())),
                TlvType::Capabilities if repr.capabilities.is_none() => {
                    repr.capabilities = Some(v.u32("CDP capabilities")?)
                }
                TlvType::SoftwareVersion if repr.software_version.is_none() => {
                    repr.software_version = Some(text(v.rest()))
                }
                TlvType::Platform if repr.platform.is_none() => {
                    repr.platform = Some(text(v.rest()))
                }
                TlvType::NativeVlan if repr.native_vlan.is_none() => {
                    repr.native_vlan = Some(v.u16("CDP native VLAN")?)
                }
                TlvType::VoipVlanReply if repr.voice_vlan.is_none() => {
                    // A data byte (usually 0x01) then the VLAN ID; some switches send the VLAN ID alone.
                    if v.remaining() != 2 {
                        v.u8("CDP VoIP VLAN reply data byte")?;
                    }
                    repr.voice_vlan = Some(v.u16("CDP VoIP VLAN reply VLAN ID")?)
                }
                TlvType::DeviceId
                | TlvType::Addresses
                | TlvType::PortId
                | TlvType::Capabilities
                | TlvType::SoftwareVersion
                | TlvType::Platform
                | TlvType::NativeVlan
                | TlvType::VoipVlanReply => {} // a later duplicate
                kind => repr.other_tlvs.push(RawTlv {
                    kind,
                    value: v.rest().to_vec(),
                }),
            }
        }
        Ok(repr)
    }

    /// Whether the sender says it is a phone.
    pub fn is_phone(&self) -> bool {
        self.capabilities
            .is_some_and(|c| c & capability::PHONE != 0)
    }

    /// The Poly reading of the platform and version strings, if the platform is a Poly one.
    pub fn poly(&self) -> Option<PolyCdp> {
        let model = poly_model_from_platform(self.platform.as_deref()?)?;
        let version = self.software_version.as_deref().unwrap_or("");
        Some(PolyCdp {
            model,
            firmware: version_field(version, "App").map(String::from),
            updater: version_field(version, "Updater").map(String::from),
        })
    }

    /// Appends the PDU (header with its checksum, then the TLVs) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.extend_from_slice(&[self.version, self.ttl, 0, 0]);
        if let Some(id) = &self.device_id {
            put_tlv(out, TlvType::DeviceId, id.as_bytes())?;
        }
        if !self.addresses.is_empty() {
            let count: u32 = fits(
                self.addresses.len(),
                u32::MAX as usize,
                "CDP address count",
                out.len(),
            )?;
            let mut value = count.to_be_bytes().to_vec();
            for address in &self.addresses {
                address.append_to(&mut value)?;
            }
            put_tlv(out, TlvType::Addresses, &value)?;
        }
        if let Some(port) = &self.port_id {
            put_tlv(out, TlvType::PortId, port.as_bytes())?;
        }
        if let Some(caps) = self.capabilities {
            put_tlv(out, TlvType::Capabilities, &caps.to_be_bytes())?;
        }
        if let Some(version) = &self.software_version {
            put_tlv(out, TlvType::SoftwareVersion, version.as_bytes())?;
        }
        if let Some(platform) = &self.platform {
            put_tlv(out, TlvType::Platform, platform.as_bytes())?;
        }
        if let Some(vlan) = self.native_vlan {
            put_tlv(out, TlvType::NativeVlan, &vlan.to_be_bytes())?;
        }
        if let Some(vlan) = self.voice_vlan {
            let [high, low] = vlan.to_be_bytes();
            put_tlv(out, TlvType::VoipVlanReply, &[VOIP_VLAN_DATA, high, low])?;
        }
        for tlv in &self.other_tlvs {
            put_tlv(out, tlv.kind, &tlv.value)?;
        }
        let checksum = internet_checksum(out.get(start..).unwrap_or(&[]));
        if let Some(field) = out.get_mut(start.saturating_add(2)..start.saturating_add(4)) {
            field.copy_from_slice(&checksum.to_be_bytes());
        }
        Ok(())
    }

    /// Appends a whole 802.3 frame from `src` to the CDP multicast address (tests build fixtures with it; the agent
    /// never sends CDP).
    pub fn emit_frame(
        &self,
        src: Mac,
        vlan: Option<VlanTag>,
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        let mut pdu = Vec::new();
        self.emit(&mut pdu)?;
        let len = SNAP_HEADER.len().saturating_add(pdu.len());
        let ethernet = EthernetRepr {
            dst: MULTICAST,
            src,
            vlan,
            outer: None,
            ethertype: EtherType::Length(fits(len, 1500, "802.3 length", 12)?),
        };
        ethernet.append_to(out)?;
        out.extend_from_slice(&SNAP_HEADER);
        out.extend_from_slice(&pdu);
        Ok(())
    }
}

fn put_tlv(out: &mut Vec<u8>, kind: TlvType, value: &[u8]) -> Result<(), WireError> {
    let len: u16 = fits(
        value.len().saturating_add(4),
        0xffff,
        tlv_name(kind),
        out.len(),
    )?;
    out.extend_from_slice(&u16::from(kind).to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// Reads a whole CDP frame: 802.3 framing to the CDP multicast address, LLC/SNAP, then the PDU. Error offsets count
/// from the frame.
pub fn parse_frame(frame: &[u8]) -> Result<CdpFrame, WireError> {
    let expected = "an 802.3 length (CDP is LLC/SNAP framed)";
    let (ethernet, payload, header_len) = frame_of(frame, EtherType::Length(0), expected)?;
    if ethernet.dst != MULTICAST {
        return Err(WireError::Unexpected {
            what: "Ethernet destination",
            offset: 0,
            found: ethernet
                .dst
                .0
                .iter()
                .fold(0u64, |n, b| n << 8 | u64::from(*b)),
            expected: "01:00:0c:cc:cc:cc (CDP)",
        });
    }
    let mut r = Reader::new(payload, header_len);
    for (what, range, expected) in [
        ("LLC header", 0..3, "0xaaaa03 (SNAP)"),
        ("SNAP OUI", 3..6, "0x00000c (Cisco)"),
        ("SNAP protocol ID", 6..8, "0x2000 (CDP)"),
    ] {
        let at = r.offset();
        let want = SNAP_HEADER.get(range).unwrap_or(&[]);
        let found = r.take(want.len(), what)?;
        if found != want {
            return Err(WireError::Unexpected {
                what,
                offset: at,
                found: found.iter().fold(0u64, |n, b| n << 8 | u64::from(*b)),
                expected,
            });
        }
    }
    let cdp = CdpRepr::parse_reader(r)?;
    Ok(CdpFrame { ethernet, cdp })
}

/// What a Poly phone's CDP strings say.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolyCdp {
    /// `VVX 250`, from the platform `Polycom VVX 250`.
    pub model: String,
    /// The `App:` version: `6.4.6.2681`.
    pub firmware: Option<String>,
    /// The `Updater:` version.
    pub updater: Option<String>,
}

/// The model from a Poly platform string: `Polycom VVX 250` (or `Poly CCX 500`) → `VVX 250`; `None` for others.
pub fn poly_model_from_platform(platform: &str) -> Option<String> {
    let platform = platform.trim();
    let model = platform
        .strip_prefix("Polycom ")
        .or_else(|| platform.strip_prefix("Poly "))?
        .trim();
    (!model.is_empty()).then(|| model.to_string())
}

/// One `Key: value` field of a comma-separated version string: `App` in `Updater: 6.4.6.2681, App: 6.4.6.2681`.
pub fn version_field<'a>(version: &'a str, key: &str) -> Option<&'a str> {
    version
        .split(',')
        .filter_map(|field| field.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
