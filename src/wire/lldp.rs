//! LLDP (IEEE 802.1AB, EtherType 0x88CC) with the LLDP-MED extensions (ANSI/TIA-1057, OUI 00-12-BB) as Poly
//! phones send them, and the Poly system description (`Polycom;VVX-VVX_411;3111-48450-001,1;SIP/6.4.7.4560/…`).
//!
//! [`tlvs`] walks an LLDPDU's TLVs without trusting a length; [`LldpRepr`] is the owned meaning. This module owns
//! what the 802.1AB TLVs mean and the frame; the TLV framing (header, walker, writer) is `tlv`'s and the LLDP-MED
//! TLVs are [`med`]'s, both re-exported here so `lldp::tlvs`, `lldp::Med` and their kin keep their paths.
//!
//! Tolerant where phones differ from the standard (`discovery.md` §1, §10.7): the Chassis ID TLV
//! may be absent (a Poly phone withholds it until it has an address) and may be a network address (subtype 5)
//! rather than a MAC; TLVs may come in any order; a later duplicate of a single-valued TLV is ignored; the End
//! TLV is optional and whatever follows it (Ethernet padding) is ignored; every MED TLV is optional. Strict
//! about structure: a TLV whose length runs past the data, or a known TLV too short for its fields, is an error
//! naming it and its offset. Port ID (the phone's key) and TTL are required.

pub mod med;
mod tlv;

pub use super::poly::{Build, PolyDescription, poly_model_name};
pub use med::{
    Inventory, MED_OUI, Med, MedApplication, MedCapabilities, MedDeviceClass, NetworkPolicy,
};
pub use tlv::{TLV_MAX_LEN, Tlv, Tlvs, tlv_type, tlvs};

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{EtherType, EthernetRepr, Reader, VlanTag, WireError, fits, frame_of, text};
use crate::mac::Mac;
use tlv::{put_tlv, tlv_name};

/// The nearest-bridge multicast address LLDP is sent to.
pub const MULTICAST: Mac = Mac([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e]);

enum_with_unknown! {
    /// What a Chassis ID identifies (802.1AB table 8-2).
    pub enum ChassisSubtype(u8) {
        ChassisComponent = 1,
        InterfaceAlias = 2,
        PortComponent = 3,
        MacAddress = 4,
        NetworkAddress = 5,
        InterfaceName = 6,
        LocallyAssigned = 7,
    }
}

enum_with_unknown! {
    /// What a Port ID identifies (802.1AB table 8-3).
    pub enum PortSubtype(u8) {
        InterfaceAlias = 1,
        PortComponent = 2,
        MacAddress = 3,
        NetworkAddress = 4,
        InterfaceName = 5,
        AgentCircuitId = 6,
        LocallyAssigned = 7,
    }
}

enum_with_unknown! {
    /// IANA address family numbers, as network addresses carry them.
    pub enum AddressFamily(u8) {
        Ipv4 = 1,
        Ipv6 = 2,
        Ieee802 = 6,
    }
}

enum_with_unknown! {
    /// How a management address's interface number is counted.
    pub enum InterfaceNumbering(u8) {
        Unspecified = 1,
        IfIndex = 2,
        SystemPort = 3,
    }
}

/// A network address as LLDP carries it: an address family, then the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetworkAddress {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// Another family (802 MAC, …), its address kept as sent. An IPv4 or IPv6 address of the wrong length is
    /// refused, never kept here.
    Other {
        family: AddressFamily,
        address: Vec<u8>,
    },
}

impl NetworkAddress {
    /// Reads a family byte and the rest of `r` as the address; IPv4 must be 4 bytes, IPv6 16.
    fn parse(r: &mut Reader<'_>, what: &'static str) -> Result<Self, WireError> {
        let family = AddressFamily::from(r.u8(what)?);
        let at = r.offset();
        let address = r.rest();
        let wrong_len = |expected| WireError::Unexpected {
            what,
            offset: at,
            found: address.len() as u64,
            expected,
        };
        Ok(match family {
            AddressFamily::Ipv4 => {
                let octets =
                    <[u8; 4]>::try_from(address).map_err(|_| wrong_len("4 bytes (IPv4)"))?;
                NetworkAddress::Ipv4(Ipv4Addr::from(octets))
            }
            AddressFamily::Ipv6 => {
                let octets =
                    <[u8; 16]>::try_from(address).map_err(|_| wrong_len("16 bytes (IPv6)"))?;
                NetworkAddress::Ipv6(Ipv6Addr::from(octets))
            }
            family => NetworkAddress::Other {
                family,
                address: address.to_vec(),
            },
        })
    }

    fn to_bytes(&self) -> Vec<u8> {
        let (family, address) = match self {
            NetworkAddress::Ipv4(ip) => (AddressFamily::Ipv4, ip.octets().to_vec()),
            NetworkAddress::Ipv6(ip) => (AddressFamily::Ipv6, ip.octets().to_vec()),
            NetworkAddress::Other { family, address } => (*family, address.clone()),
        };
        let mut bytes = vec![u8::from(family)];
        bytes.extend_from_slice(&address);
        bytes
    }

    /// The IPv4 address, unless it is 0.0.0.0 (sent before the phone has one).
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        match self {
            NetworkAddress::Ipv4(ip) if !ip.is_unspecified() => Some(*ip),
            _ => None,
        }
    }
}

/// The Chassis ID TLV. Poly phones send their IPv4 address (subtype 5), not a MAC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChassisId {
    /// Subtype 4.
    Mac(Mac),
    /// Subtype 5.
    Address(NetworkAddress),
    /// Any other subtype, its ID kept as sent (often text).
    Other {
        subtype: ChassisSubtype,
        id: Vec<u8>,
    },
}

/// The Port ID TLV. Poly phones send their MAC (subtype 3): the key discovery files a phone under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortId {
    /// Subtype 3.
    Mac(Mac),
    /// Subtype 4.
    Address(NetworkAddress),
    /// Any other subtype, its ID kept as sent (often text).
    Other { subtype: PortSubtype, id: Vec<u8> },
}

/// Reads a Chassis/Port ID value: subtype, then a MAC, a network address, or opaque bytes.
fn parse_id(
    tlv: &Tlv<'_>,
    mac_subtype: u8,
    address_subtype: u8,
) -> Result<(u8, IdValue), WireError> {
    let mut r = tlv.reader();
    let what = tlv_name(tlv.kind);
    let subtype = r.u8(what)?;
    let value = if subtype == mac_subtype {
        let at = r.offset();
        let bytes = r.rest();
        let mac = <[u8; 6]>::try_from(bytes).map_err(|_| WireError::Unexpected {
            what: "MAC address length",
            offset: at,
            found: bytes.len() as u64,
            expected: "6 bytes",
        })?;
        IdValue::Mac(Mac(mac))
    } else if subtype == address_subtype {
        IdValue::Address(NetworkAddress::parse(&mut r, "network address")?)
    } else {
        IdValue::Other(r.rest().to_vec())
    };
    Ok((subtype, value))
}

enum IdValue {
    Mac(Mac),
    Address(NetworkAddress),
    Other(Vec<u8>),
}

/// The System Capabilities TLV: bit masks of what the device can be and what is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities {
    pub supported: u16,
    pub enabled: u16,
}

impl Capabilities {
    pub const OTHER: u16 = 0x0001;
    pub const REPEATER: u16 = 0x0002;
    /// Set by a phone whose PC port is enabled.
    pub const BRIDGE: u16 = 0x0004;
    pub const WLAN_ACCESS_POINT: u16 = 0x0008;
    pub const ROUTER: u16 = 0x0010;
    pub const TELEPHONE: u16 = 0x0020;
    pub const DOCSIS: u16 = 0x0040;
    pub const STATION: u16 = 0x0080;

    /// Whether the device says it is a telephone.
    pub fn is_telephone(&self) -> bool {
        self.supported & Self::TELEPHONE != 0
    }
}

/// The Management Address TLV: a second source for the phone's IP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ManagementAddress {
    pub address: NetworkAddress,
    pub interface_numbering: InterfaceNumbering,
    pub interface_number: u32,
    /// The object identifier, usually empty.
    pub oid: Vec<u8>,
}

impl ManagementAddress {
    fn parse(tlv: &Tlv<'_>) -> Result<Self, WireError> {
        let mut r = tlv.reader();
        let len = usize::from(r.u8("management address string length")?);
        let address =
            NetworkAddress::parse(&mut r.sub(len, "management address")?, "management address")?;
        let interface_numbering =
            InterfaceNumbering::from(r.u8("management interface numbering subtype")?);
        let interface_number = r.u32("management interface number")?;
        let oid_len = usize::from(r.u8("management OID length")?);
        let oid = r.take(oid_len, "management OID")?.to_vec();
        Ok(ManagementAddress {
            address,
            interface_numbering,
            interface_number,
            oid,
        })
    }

    fn to_bytes(&self, offset: usize) -> Result<Vec<u8>, WireError> {
        let address = self.address.to_bytes();
        let mut bytes = vec![fits::<u8>(
            address.len(),
            255,
            "management address",
            offset,
        )?];
        bytes.extend_from_slice(&address);
        bytes.push(u8::from(self.interface_numbering));
        bytes.extend_from_slice(&self.interface_number.to_be_bytes());
        bytes.push(fits::<u8>(self.oid.len(), 255, "management OID", offset)?);
        bytes.extend_from_slice(&self.oid);
        Ok(bytes)
    }
}

/// A TLV this parser does not interpret (802.1/802.3 organizational TLVs, MED location and power, reserved types),
/// kept as sent; for type 127 the value starts with the OUI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawTlv {
    pub kind: u8,
    pub value: Vec<u8>,
}

/// An LLDPDU's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LldpRepr {
    /// Absent until a Poly phone has an address; then its IPv4 (subtype 5).
    pub chassis_id: Option<ChassisId>,
    /// The phone's MAC on Poly phones.
    pub port_id: PortId,
    /// Seconds the information stays valid (Poly: 120; 0 on shutdown).
    pub ttl: u16,
    pub port_description: Option<String>,
    pub system_name: Option<String>,
    /// On Poly phones, [`PolyDescription`] reads model, part number and firmware from it.
    pub system_description: Option<String>,
    pub capabilities: Option<Capabilities>,
    pub management_addresses: Vec<ManagementAddress>,
    pub med: Med,
    /// In the order they came.
    pub other_tlvs: Vec<RawTlv>,
}

/// An LLDPDU with the Ethernet header it came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LldpFrame {
    pub ethernet: EthernetRepr,
    pub lldp: LldpRepr,
}

impl LldpRepr {
    /// Reads an LLDPDU (the bytes after the Ethernet header).
    pub fn parse(lldpdu: &[u8]) -> Result<Self, WireError> {
        Self::parse_at(lldpdu, 0)
    }

    fn parse_at(lldpdu: &[u8], base: usize) -> Result<Self, WireError> {
        let walker = tlv::walk_at(lldpdu, base);
        let mut chassis_id = None;
        let mut port_id = None;
        let mut ttl = None;
        let mut port_description = None;
        let mut system_name = None;
        let mut system_description = None;
        let mut capabilities = None;
        let mut management_addresses = Vec::new();
        let mut med = Med::default();
        let mut other_tlvs = Vec::new();
        for tlv in walker {
            let tlv = tlv?;
            match tlv.kind {
                tlv_type::CHASSIS_ID if chassis_id.is_none() => {
                    let (subtype, value) = parse_id(&tlv, 4, 5)?;
                    chassis_id = Some(match value {
                        IdValue::Mac(mac) => ChassisId::Mac(mac),
                        IdValue::Address(address) => ChassisId::Address(address),
                        IdValue::Other(id) => ChassisId::Other {
                            subtype: ChassisSubtype::from(subtype),
                            id,
                        },
                    });
                }
                tlv_type::PORT_ID if port_id.is_none() => {
                    let (subtype, value) = parse_id(&tlv, 3, 4)?;
                    port_id = Some(match value {
                        IdValue::Mac(mac) => PortId::Mac(mac),
                        IdValue::Address(address) => PortId::Address(address),
                        IdValue::Other(id) => PortId::Other {
                            subtype: PortSubtype::from(subtype),
                            id,
                        },
                    });
                }
                tlv_type::TTL if ttl.is_none() => ttl = Some(tlv.reader().u16("time-to-live")?),
                tlv_type::PORT_DESCRIPTION if port_description.is_none() => {
                    port_description = Some(text(tlv.value))
                }
                tlv_type::SYSTEM_NAME if system_name.is_none() => {
                    system_name = Some(text(tlv.value))
                }
                tlv_type::SYSTEM_DESCRIPTION if system_description.is_none() => {
                    system_description = Some(text(tlv.value))
                }
                tlv_type::SYSTEM_CAPABILITIES if capabilities.is_none() => {
                    let mut r = tlv.reader();
                    capabilities = Some(Capabilities {
                        supported: r.u16("supported system capabilities")?,
                        enabled: r.u16("enabled system capabilities")?,
                    });
                }
                tlv_type::MANAGEMENT_ADDRESS => {
                    management_addresses.push(ManagementAddress::parse(&tlv)?)
                }
                tlv_type::ORGANIZATIONAL => parse_organizational(&tlv, &mut med, &mut other_tlvs)?,
                tlv_type::CHASSIS_ID
                | tlv_type::PORT_ID
                | tlv_type::TTL
                | tlv_type::PORT_DESCRIPTION
                | tlv_type::SYSTEM_NAME
                | tlv_type::SYSTEM_DESCRIPTION
                | tlv_type::SYSTEM_CAPABILITIES => {} // a later duplicate
                kind => other_tlvs.push(RawTlv {
                    kind,
                    value: tlv.value.to_vec(),
                }),
            }
        }
        let end = base.saturating_add(lldpdu.len());
        Ok(LldpRepr {
            chassis_id,
            port_id: port_id.ok_or(WireError::Missing {
                what: "port ID TLV",
                offset: end,
            })?,
            ttl: ttl.ok_or(WireError::Missing {
                what: "time-to-live TLV",
                offset: end,
            })?,
            port_description,
            system_name,
            system_description,
            capabilities,
            management_addresses,
            med,
            other_tlvs,
        })
    }

    /// The phone's MAC: the Port ID if it is one, else a MAC Chassis ID. (Fall back to the frame's source MAC.)
    pub fn phone_mac(&self) -> Option<Mac> {
        match (&self.port_id, &self.chassis_id) {
            (PortId::Mac(mac), _) | (_, Some(ChassisId::Mac(mac))) => Some(*mac),
            _ => None,
        }
    }

    /// The phone's IPv4 address: the first management address, else the Chassis ID; never 0.0.0.0.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        let chassis = match &self.chassis_id {
            Some(ChassisId::Address(address)) => address.ipv4(),
            _ => None,
        };
        self.management_addresses
            .iter()
            .find_map(|m| m.address.ipv4())
            .or(chassis)
    }

    /// The Poly reading of the system description, if it is a Poly one.
    pub fn poly(&self) -> Option<PolyDescription> {
        self.system_description
            .as_deref()
            .and_then(PolyDescription::parse)
    }

    /// Appends the LLDPDU (mandatory TLVs, optional ones, other TLVs, MED, End) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        if let Some(chassis) = &self.chassis_id {
            let value = match chassis {
                ChassisId::Mac(mac) => id_bytes(4, &mac.0),
                ChassisId::Address(address) => id_bytes(5, &address.to_bytes()),
                ChassisId::Other { subtype, id } => id_bytes(u8::from(*subtype), id),
            };
            put_tlv(out, tlv_type::CHASSIS_ID, &value)?;
        }
        let port = match &self.port_id {
            PortId::Mac(mac) => id_bytes(3, &mac.0),
            PortId::Address(address) => id_bytes(4, &address.to_bytes()),
            PortId::Other { subtype, id } => id_bytes(u8::from(*subtype), id),
        };
        put_tlv(out, tlv_type::PORT_ID, &port)?;
        put_tlv(out, tlv_type::TTL, &self.ttl.to_be_bytes())?;
        for (kind, value) in [
            (tlv_type::PORT_DESCRIPTION, &self.port_description),
            (tlv_type::SYSTEM_NAME, &self.system_name),
            (tlv_type::SYSTEM_DESCRIPTION, &self.system_description),
        ] {
            if let Some(value) = value {
                put_tlv(out, kind, value.as_bytes())?;
            }
        }
        if let Some(caps) = self.capabilities {
            let mut value = caps.supported.to_be_bytes().to_vec();
            value.extend_from_slice(&caps.enabled.to_be_bytes());
            put_tlv(out, tlv_type::SYSTEM_CAPABILITIES, &value)?;
        }
        for address in &self.management_addresses {
            let value = address.to_bytes(out.len())?;
            put_tlv(out, tlv_type::MANAGEMENT_ADDRESS, &value)?;
        }
        for tlv in &self.other_tlvs {
            put_tlv(out, tlv.kind, &tlv.value)?;
        }
        self.med.emit(out)?;
        put_tlv(out, tlv_type::END, &[])
    }

    /// Appends a whole frame, from `src` to the LLDP multicast address, optionally in a VLAN (tests build the
    /// reference's fixtures with it; the agent never sends LLDP).
    pub fn emit_frame(
        &self,
        src: Mac,
        vlan: Option<VlanTag>,
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        let ethernet = EthernetRepr {
            dst: MULTICAST,
            src,
            vlan,
            outer: None,
            ethertype: EtherType::Lldp,
        };
        ethernet.append_to(out)?;
        self.emit(out)
    }
}

fn parse_organizational(
    tlv: &Tlv<'_>,
    med: &mut Med,
    other: &mut Vec<RawTlv>,
) -> Result<(), WireError> {
    let mut r = tlv.reader();
    let oui = r.array::<3>("organizationally specific OUI")?;
    let subtype = r.u8("organizationally specific subtype")?;
    if oui == MED_OUI && med.parse_tlv(subtype, &mut r)? {
        return Ok(());
    }
    other.push(RawTlv {
        kind: tlv.kind,
        value: tlv.value.to_vec(),
    });
    Ok(())
}

fn id_bytes(subtype: u8, id: &[u8]) -> Vec<u8> {
    let mut value = vec![subtype];
    value.extend_from_slice(id);
    value
}

/// Reads a whole frame (untagged or under up to two VLAN tags); the EtherType must be LLDP. Error offsets count
/// from the frame.
pub fn parse_frame(frame: &[u8]) -> Result<LldpFrame, WireError> {
    let (ethernet, payload, header_len) = frame_of(frame, EtherType::Lldp, "0x88cc (LLDP)")?;
    let lldp = LldpRepr::parse_at(payload, header_len)?;
    Ok(LldpFrame { ethernet, lldp })
}

#[cfg(test)]
mod tests;
