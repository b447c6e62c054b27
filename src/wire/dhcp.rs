//! DHCP DISCOVER and REQUEST (RFC 2131/2132) as a phone broadcasts them when it boots: its MAC (`chaddr`), the
//! message type, the address it asks for, its host name, and its vendor class, which on Poly phones is the RFC
//! 3925 layout under enterprise 13885 naming company, part (`SoundPointIP-SPIP_601`), part number, application
//! and BootROM builds (`discovery.md` §1.2).
//!
//! [`parse_frame`] reads Ethernet, IPv4 (version, header and total lengths, no fragments, protocol UDP) and UDP
//! (port 67 or 68, length) before the BOOTP fixed part and the options, each length checked against the bytes
//! that are left; Ethernet padding after the IPv4 total length is ignored. Options may end without the End option;
//! the first of a repeated option wins (RFC 3396 concatenation and option overload into `sname`/`file` are not
//! followed). Checksums are not verified (see [`super`]).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{
    EtherType, EthernetRepr, Reader, WireError, fits, frame_of, internet_checksum, lldp, text,
};
use crate::mac::Mac;

/// The server (and relay) port a DISCOVER or REQUEST goes to.
pub const SERVER_PORT: u16 = 67;

/// The client port.
pub const CLIENT_PORT: u16 = 68;

/// The 4 bytes after the BOOTP fixed part that make it DHCP.
pub const MAGIC_COOKIE: [u8; 4] = [0x63, 0x82, 0x53, 0x63];

/// Polycom's IANA private enterprise number, the first 4 bytes of its vendor class.
pub const POLYCOM_ENTERPRISE: u32 = 13885;

/// Bytes of the BOOTP fixed part, up to the magic cookie.
const BOOTP_FIXED_LEN: usize = 236;

/// Option codes this parser reads.
mod code {
    pub const PAD: u8 = 0;
    pub const HOST_NAME: u8 = 12;
    pub const REQUESTED_IP: u8 = 50;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const VENDOR_CLASS: u8 = 60;
    pub const END: u8 = 255;
}

enum_with_unknown! {
    /// BOOTP `op`: a client's request or a server's reply.
    pub enum BootpOp(u8) {
        Request = 1,
        Reply = 2,
    }
}

enum_with_unknown! {
    /// DHCP message type (option 53).
    pub enum MessageType(u8) {
        Discover = 1,
        Offer = 2,
        Request = 3,
        Decline = 4,
        Ack = 5,
        Nak = 6,
        Release = 7,
        Inform = 8,
    }
}

/// One sub-option of Poly's vendor class this parser does not name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubOption {
    pub code: u8,
    pub value: Vec<u8>,
}

/// Poly's vendor class (enterprise 13885): sub-options 1 to 5.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PolyVendorClass {
    /// 1: `Polycom`.
    pub company: Option<String>,
    /// 2: the part token, `SoundPointIP-SPIP_601`.
    pub part: Option<String>,
    /// 3: part number and hardware revision, `2345-11605-001,2`.
    pub part_number: Option<String>,
    /// 4: the application build, `SIP/<version>/<date>`; the BootROM's own build while only the BootROM runs.
    pub application: Option<String>,
    /// 5: the BootROM build, `BR/<version>/<date>`.
    pub bootrom: Option<String>,
    /// Other codes, in the order they came.
    pub other: Vec<SubOption>,
}

impl PolyVendorClass {
    /// The model: `SoundPointIP-SPIP_601` → `SoundPoint IP 601`.
    pub fn model(&self) -> Option<String> {
        let model = lldp::poly_model_name(self.part.as_deref()?);
        (!model.is_empty()).then_some(model)
    }

    /// The application version, unless sub-option 4 is the BootROM's (`BR/…`: no application is running yet).
    pub fn firmware(&self) -> Option<String> {
        let build = lldp::Build::parse(self.application.as_deref()?)?;
        (build.kind != "BR").then_some(build.version)
    }

    /// The BootROM version: `3.1.0.XXXX`.
    pub fn bootrom_version(&self) -> Option<String> {
        lldp::Build::parse(self.bootrom.as_deref()?).map(|b| b.version)
    }

    fn slot(&mut self, code: u8) -> Option<&mut Option<String>> {
        Some(match code {
            1 => &mut self.company,
            2 => &mut self.part,
            3 => &mut self.part_number,
            4 => &mut self.application,
            5 => &mut self.bootrom,
            _ => return None,
        })
    }
}

/// Option 60.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VendorClass {
    /// Starts with enterprise 13885.
    Poly(PolyVendorClass),
    /// Anything else (`MSFT 5.0`, `udhcp 1.36.1`, …), kept as sent.
    Other(Vec<u8>),
}

impl VendorClass {
    fn parse(mut r: Reader<'_>) -> Result<Self, WireError> {
        let bytes = r.clone().rest();
        if !bytes.starts_with(&POLYCOM_ENTERPRISE.to_be_bytes()) {
            return Ok(VendorClass::Other(bytes.to_vec()));
        }
        r.take(4, "Polycom enterprise number")?;
        let len = usize::from(r.u8("Polycom vendor class length")?);
        let mut data = r.sub(len, "Polycom vendor class sub-options")?;
        let mut poly = PolyVendorClass::default();
        while !data.is_empty() {
            let code = data.u8("vendor class sub-option code")?;
            if code == 0xff {
                break;
            }
            let len = usize::from(data.u8("vendor class sub-option length")?);
            let value = data.take(len, "vendor class sub-option")?;
            match poly.slot(code) {
                Some(slot @ None) => *slot = Some(text(value)),
                Some(Some(_)) => {} // a later duplicate
                None => poly.other.push(SubOption {
                    code,
                    value: value.to_vec(),
                }),
            }
        }
        Ok(VendorClass::Poly(poly))
    }

    fn to_bytes(&self, offset: usize) -> Result<Vec<u8>, WireError> {
        let poly = match self {
            VendorClass::Other(bytes) => return Ok(bytes.clone()),
            VendorClass::Poly(poly) => poly,
        };
        let mut subs = Vec::new();
        let named = [
            (1, &poly.company),
            (2, &poly.part),
            (3, &poly.part_number),
            (4, &poly.application),
            (5, &poly.bootrom),
        ];
        let named = named
            .iter()
            .filter_map(|(code, v)| Some((*code, v.as_deref()?.as_bytes())));
        let other = poly.other.iter().map(|s| (s.code, s.value.as_slice()));
        for (code, value) in named.chain(other) {
            subs.push(code);
            subs.push(fits(value.len(), 255, "vendor class sub-option", offset)?);
            subs.extend_from_slice(value);
        }
        let mut bytes = POLYCOM_ENTERPRISE.to_be_bytes().to_vec();
        bytes.push(fits(subs.len(), 255, "Polycom vendor class", offset)?);
        bytes.extend_from_slice(&subs);
        Ok(bytes)
    }
}

/// A DHCP client message's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DhcpRepr {
    pub op: BootpOp,
    /// Transaction ID: pairs a DISCOVER with its REQUEST.
    pub xid: u32,
    /// The client's address, set only when it already has one (renewing).
    pub ciaddr: Ipv4Addr,
    /// `chaddr`: the phone's MAC, the key discovery files it under.
    pub client_mac: Mac,
    pub message_type: Option<MessageType>,
    /// Option 50: the address a REQUEST asks for.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 12.
    pub host_name: Option<String>,
    /// Option 60.
    pub vendor_class: Option<VendorClass>,
}

/// A DHCP message with the Ethernet, IPv4 and UDP headers it came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DhcpFrame {
    /// Its `ethertype` is always IPv4 (emit writes IPv4 whatever it holds).
    pub ethernet: EthernetRepr,
    /// 0.0.0.0:68 before the phone has an address.
    pub source: SocketAddrV4,
    /// 255.255.255.255:67 (or a server's address when renewing).
    pub destination: SocketAddrV4,
    pub dhcp: DhcpRepr,
}

impl DhcpRepr {
    /// Reads a BOOTP/DHCP message (the UDP payload).
    pub fn parse(bootp: &[u8]) -> Result<Self, WireError> {
        Self::parse_reader(Reader::new(bootp, 0))
    }

    fn parse_reader(mut r: Reader<'_>) -> Result<Self, WireError> {
        let op = BootpOp::from(r.u8("BOOTP op")?);
        for (what, expected, want) in [
            ("BOOTP hardware type", "1 (Ethernet)", 1),
            ("BOOTP hardware address length", "6", 6),
        ] {
            let at = r.offset();
            let found = r.u8(what)?;
            if found != want {
                return Err(unexpected(what, at, found.into(), expected));
            }
        }
        r.u8("BOOTP hops")?;
        let xid = r.u32("BOOTP transaction ID")?;
        r.take(4, "BOOTP secs and flags")?;
        let ciaddr = Ipv4Addr::from(r.array::<4>("BOOTP ciaddr")?);
        r.take(12, "BOOTP yiaddr, siaddr and giaddr")?;
        let client_mac = r.sub(16, "BOOTP chaddr")?.mac("BOOTP chaddr")?;
        r.take(BOOTP_FIXED_LEN - 44, "BOOTP sname and file")?;
        let at = r.offset();
        let cookie = r.array::<4>("DHCP magic cookie")?;
        if cookie != MAGIC_COOKIE {
            let found = u32::from_be_bytes(cookie).into();
            return Err(unexpected(
                "DHCP magic cookie",
                at,
                found,
                "0x63825363 (DHCP)",
            ));
        }
        let mut repr = DhcpRepr {
            op,
            xid,
            ciaddr,
            client_mac,
            message_type: None,
            requested_ip: None,
            host_name: None,
            vendor_class: None,
        };
        while !r.is_empty() {
            let option = r.u8("DHCP option code")?;
            match option {
                code::PAD => continue,
                code::END => break,
                _ => {}
            }
            let len = usize::from(r.u8("DHCP option length")?);
            let mut value = r.sub(len, "DHCP option value")?;
            match option {
                code::MESSAGE_TYPE if repr.message_type.is_none() => {
                    repr.message_type = Some(MessageType::from(value.u8("DHCP message type")?))
                }
                code::REQUESTED_IP if repr.requested_ip.is_none() => {
                    repr.requested_ip = Some(Ipv4Addr::from(
                        value.array::<4>("DHCP requested IP address")?,
                    ))
                }
                code::HOST_NAME if repr.host_name.is_none() => {
                    repr.host_name = Some(text(value.rest()))
                }
                code::VENDOR_CLASS if repr.vendor_class.is_none() => {
                    repr.vendor_class = Some(VendorClass::parse(value)?)
                }
                _ => {}
            }
        }
        Ok(repr)
    }

    /// The Poly vendor class, if the phone sent one.
    pub fn poly(&self) -> Option<&PolyVendorClass> {
        match &self.vendor_class {
            Some(VendorClass::Poly(poly)) => Some(poly),
            _ => None,
        }
    }

    /// Appends the BOOTP message (fixed part, cookie, options 53, 50, 12, 60, End) to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.extend_from_slice(&[u8::from(self.op), 1, 6, 0]);
        out.extend_from_slice(&self.xid.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.ciaddr.octets());
        out.extend_from_slice(&[0; 12]);
        out.extend_from_slice(&self.client_mac.0);
        out.resize(start.saturating_add(BOOTP_FIXED_LEN), 0);
        out.extend_from_slice(&MAGIC_COOKIE);
        if let Some(kind) = self.message_type {
            put_option(out, code::MESSAGE_TYPE, &[u8::from(kind)])?;
        }
        if let Some(ip) = self.requested_ip {
            put_option(out, code::REQUESTED_IP, &ip.octets())?;
        }
        if let Some(name) = &self.host_name {
            put_option(out, code::HOST_NAME, name.as_bytes())?;
        }
        if let Some(class) = &self.vendor_class {
            let value = class.to_bytes(out.len())?;
            put_option(out, code::VENDOR_CLASS, &value)?;
        }
        out.push(code::END);
        Ok(())
    }
}

fn unexpected(what: &'static str, offset: usize, found: u64, expected: &'static str) -> WireError {
    WireError::Unexpected {
        what,
        offset,
        found,
        expected,
    }
}

fn put_option(out: &mut Vec<u8>, option: u8, value: &[u8]) -> Result<(), WireError> {
    let len = fits(value.len(), 255, "DHCP option", out.len())?;
    out.extend_from_slice(&[option, len]);
    out.extend_from_slice(value);
    Ok(())
}

impl DhcpFrame {
    /// Appends the whole frame: Ethernet, IPv4 (header checksum filled in), UDP (checksum 0, allowed over IPv4),
    /// BOOTP.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let mut bootp = Vec::new();
        self.dhcp.emit(&mut bootp)?;
        let udp_len: u16 = fits(bootp.len().saturating_add(8), 0xffff - 20, "UDP length", 0)?;
        let total = udp_len.saturating_add(20);
        let ethernet = EthernetRepr {
            ethertype: EtherType::Ipv4,
            ..self.ethernet
        };
        ethernet.append_to(out)?;
        let [t0, t1] = total.to_be_bytes();
        let [s0, s1, s2, s3] = self.source.ip().octets();
        let [d0, d1, d2, d3] = self.destination.ip().octets();
        let ip_header = |checksum: u16| {
            let [c0, c1] = checksum.to_be_bytes();
            // Version 4, 20-byte header, no fragments, TTL 64, UDP.
            [
                0x45, 0, t0, t1, 0, 0, 0, 0, 64, 17, c0, c1, s0, s1, s2, s3, d0, d1, d2, d3,
            ]
        };
        out.extend_from_slice(&ip_header(internet_checksum(&ip_header(0))));
        out.extend_from_slice(&self.source.port().to_be_bytes());
        out.extend_from_slice(&self.destination.port().to_be_bytes());
        out.extend_from_slice(&udp_len.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&bootp);
        Ok(())
    }
}

/// Reads a whole frame: Ethernet (untagged or under up to two VLAN tags), IPv4, UDP to port 67 or 68, then DHCP.
/// Error offsets count from the frame.
pub fn parse_frame(frame: &[u8]) -> Result<DhcpFrame, WireError> {
    let (ethernet, payload, header_len) = frame_of(frame, EtherType::Ipv4, "0x800 (IPv4)")?;
    let mut peek = Reader::new(payload, header_len);
    let at = peek.offset();
    let version_ihl = peek.u8("IPv4 version and header length")?;
    if version_ihl >> 4 != 4 {
        return Err(unexpected("IP version", at, (version_ihl >> 4).into(), "4"));
    }
    let header = usize::from(version_ihl & 0x0f) * 4;
    if header < 20 {
        return Err(unexpected(
            "IPv4 header length",
            at,
            header as u64,
            "at least 20 bytes",
        ));
    }
    peek.u8("IPv4 type of service")?;
    let at = peek.offset();
    let total = usize::from(peek.u16("IPv4 total length")?);
    if total < header {
        return Err(unexpected(
            "IPv4 total length",
            at,
            total as u64,
            "at least its header length",
        ));
    }
    let mut ip = Reader::new(payload, header_len)
        .sub(total, "IPv4 datagram (as long as its total length says)")?;
    ip.take(
        4,
        "IPv4 version, header length, type of service and total length",
    )?;
    ip.u16("IPv4 identification")?;
    let at = ip.offset();
    let fragment = ip.u16("IPv4 flags and fragment offset")?;
    if fragment & 0x3fff != 0 {
        let expected = "no fragment offset or more-fragments flag (fragments are not reassembled)";
        return Err(unexpected(
            "IPv4 flags and fragment offset",
            at,
            fragment.into(),
            expected,
        ));
    }
    ip.u8("IPv4 time to live")?;
    let at = ip.offset();
    let protocol = ip.u8("IPv4 protocol")?;
    if protocol != 17 {
        return Err(unexpected("IPv4 protocol", at, protocol.into(), "17 (UDP)"));
    }
    ip.u16("IPv4 header checksum")?;
    let source_ip = Ipv4Addr::from(ip.array::<4>("IPv4 source address")?);
    let destination_ip = Ipv4Addr::from(ip.array::<4>("IPv4 destination address")?);
    ip.take(header.saturating_sub(20), "IPv4 options")?;
    let source_port = ip.u16("UDP source port")?;
    let at = ip.offset();
    let destination_port = ip.u16("UDP destination port")?;
    if !matches!(destination_port, SERVER_PORT | CLIENT_PORT) {
        return Err(unexpected(
            "UDP destination port",
            at,
            destination_port.into(),
            "67 or 68 (BOOTP)",
        ));
    }
    let at = ip.offset();
    let udp_len = usize::from(ip.u16("UDP length")?);
    let Some(payload_len) = udp_len.checked_sub(8) else {
        return Err(unexpected(
            "UDP length",
            at,
            udp_len as u64,
            "at least 8 (it counts its own header)",
        ));
    };
    ip.u16("UDP checksum")?;
    let bootp = ip.sub(payload_len, "UDP payload (as long as the UDP length says)")?;
    Ok(DhcpFrame {
        ethernet,
        source: SocketAddrV4::new(source_ip, source_port),
        destination: SocketAddrV4::new(destination_ip, destination_port),
        dhcp: DhcpRepr::parse_reader(bootp)?,
    })
}

#[cfg(test)]
mod tests;
