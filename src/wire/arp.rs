//! ARP over Ethernet/IPv4 (RFC 826): the requests the sweep sends and the replies phones answer with, plus the
//! gratuitous announcements and RFC 5227 probes a phone sends on its own when it boots or gets an address.
//!
//! [`ArpPacket`] is a zero-copy view over the 28 ARP bytes (after the Ethernet header); [`ArpRepr`] is their
//! meaning for the only combination discovery uses, Ethernet hardware with IPv4 addresses. Any other hardware or
//! protocol type, or address lengths other than 6 and 4, is refused by [`ArpRepr::parse`] with the field named.

use std::net::Ipv4Addr;

use super::{
    BROADCAST, ETHERNET_HEADER_LEN, ETHERNET_MIN_FRAME_LEN, EtherType, EthernetRepr, Reader,
    WireError, frame_of, put,
};
use crate::mac::Mac;

enum_with_unknown! {
    /// ARP hardware type (`htype`).
    pub enum Hardware(u16) {
        Ethernet = 1,
    }
}

enum_with_unknown! {
    /// ARP operation (`oper`).
    pub enum Operation(u16) {
        Request = 1,
        Reply = 2,
    }
}

/// Bytes in an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// Bytes [`ArpRepr::emit_frame`] writes: the packet after a 14-byte header, padded to the 60-byte minimum frame.
pub const FRAME_LEN: usize = ETHERNET_MIN_FRAME_LEN;

/// Where each field lies; the addresses move with the two length fields.
mod field {
    use std::ops::Range;

    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;

    pub fn sha(hlen: u8, _plen: u8) -> Range<usize> {
        OPER.end..OPER.end.saturating_add(usize::from(hlen))
    }

    pub fn spa(hlen: u8, plen: u8) -> Range<usize> {
        let start = sha(hlen, plen).end;
        start..start.saturating_add(usize::from(plen))
    }

    pub fn tha(hlen: u8, plen: u8) -> Range<usize> {
        let start = spa(hlen, plen).end;
        start..start.saturating_add(usize::from(hlen))
    }

    pub fn tpa(hlen: u8, plen: u8) -> Range<usize> {
        let start = tha(hlen, plen).end;
        start..start.saturating_add(usize::from(plen))
    }
}

/// A zero-copy view of an ARP packet. Built only by [`ArpPacket::new_checked`]; accessors never panic.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps `buffer` after checking that the fixed fields and all four addresses (as long as the two length
    /// fields say) are inside it. Trailing bytes (Ethernet padding) are allowed.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let mut r = Reader::new(buffer.as_ref(), 0);
        r.take(field::HLEN, "ARP hardware and protocol types")?;
        let hlen = usize::from(r.u8("ARP hardware address length")?);
        let plen = usize::from(r.u8("ARP protocol address length")?);
        r.take(2, "ARP operation")?;
        r.take(hlen, "ARP sender hardware address")?;
        r.take(plen, "ARP sender protocol address")?;
        r.take(hlen, "ARP target hardware address")?;
        r.take(plen, "ARP target protocol address")?;
        Ok(ArpPacket { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self, range: std::ops::Range<usize>) -> &[u8] {
        self.buffer.as_ref().get(range).unwrap_or(&[])
    }

    fn u16(&self, range: std::ops::Range<usize>) -> u16 {
        let bytes = <[u8; 2]>::try_from(self.bytes(range)).unwrap_or_default();
        u16::from_be_bytes(bytes)
    }

    pub fn hardware_type(&self) -> Hardware {
        Hardware::from(self.u16(field::HTYPE))
    }

    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.u16(field::PTYPE))
    }

    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref().get(field::HLEN).copied().unwrap_or(0)
    }

    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref().get(field::PLEN).copied().unwrap_or(0)
    }

    pub fn operation(&self) -> Operation {
        Operation::from(self.u16(field::OPER))
    }

    pub fn sender_hardware_addr(&self) -> &[u8] {
        self.bytes(field::sha(self.hardware_len(), self.protocol_len()))
    }

    pub fn sender_protocol_addr(&self) -> &[u8] {
        self.bytes(field::spa(self.hardware_len(), self.protocol_len()))
    }

    pub fn target_hardware_addr(&self) -> &[u8] {
        self.bytes(field::tha(self.hardware_len(), self.protocol_len()))
    }

    pub fn target_protocol_addr(&self) -> &[u8] {
        self.bytes(field::tpa(self.hardware_len(), self.protocol_len()))
    }

    /// Bytes the packet takes (without trailing padding).
    pub fn packet_len(&self) -> usize {
        field::tpa(self.hardware_len(), self.protocol_len()).end
    }
}

/// An Ethernet/IPv4 ARP packet: who asked or answered, for which address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    pub operation: Operation,
    /// In a reply: the phone's MAC, the key discovery files it under.
    pub sender_mac: Mac,
    /// In a reply: the phone's IPv4 address; 0.0.0.0 in an RFC 5227 probe.
    pub sender_ip: Ipv4Addr,
    /// In a request: all zeroes (arp-scan style); in a reply: the asker's MAC.
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

/// An ARP packet with the Ethernet header it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpFrame {
    pub ethernet: EthernetRepr,
    pub arp: ArpRepr,
}

fn ipv4_from(bytes: &[u8]) -> Ipv4Addr {
    Ipv4Addr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default())
}

fn mac_from(bytes: &[u8]) -> Mac {
    Mac(<[u8; 6]>::try_from(bytes).unwrap_or_default())
}

impl ArpRepr {
    /// The request the sweep sends: "who has `target_ip`?", from our own MAC and address (0.0.0.0 when the
    /// interface has none, which phones answer too).
    pub fn request(sender_mac: Mac, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Self {
        ArpRepr {
            operation: Operation::Request,
            sender_mac,
            sender_ip,
            target_mac: Mac([0; 6]),
            target_ip,
        }
    }

    /// Reads an Ethernet/IPv4 ARP packet; anything else is refused with the field that differs.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self, WireError> {
        let unexpected = |what, offset, found: u64, expected| WireError::Unexpected {
            what,
            offset,
            found,
            expected,
        };
        if packet.hardware_type() != Hardware::Ethernet {
            let found = u16::from(packet.hardware_type());
            return Err(unexpected(
                "ARP hardware type",
                0,
                found.into(),
                "1 (Ethernet)",
            ));
        }
        if packet.protocol_type() != EtherType::Ipv4 {
            let found = u16::from(packet.protocol_type());
            return Err(unexpected(
                "ARP protocol type",
                2,
                found.into(),
                "0x800 (IPv4)",
            ));
        }
        if packet.hardware_len() != 6 {
            let found = packet.hardware_len().into();
            return Err(unexpected("ARP hardware address length", 4, found, "6"));
        }
        if packet.protocol_len() != 4 {
            let found = packet.protocol_len().into();
            return Err(unexpected("ARP protocol address length", 5, found, "4"));
        }
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_mac: mac_from(packet.sender_hardware_addr()),
            sender_ip: ipv4_from(packet.sender_protocol_addr()),
            target_mac: mac_from(packet.target_hardware_addr()),
            target_ip: ipv4_from(packet.target_protocol_addr()),
        })
    }

    /// A gratuitous ARP (an announcement, request or reply): the sender states its own address, so sender and
    /// target IP are the same and not 0.0.0.0. A phone sends these when it boots or takes a new address.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip && !self.sender_ip.is_unspecified()
    }

    /// An RFC 5227 probe: a request from 0.0.0.0, checking that an address is free before taking it.
    pub fn is_probe(&self) -> bool {
        self.operation == Operation::Request && self.sender_ip.is_unspecified()
    }

    /// Writes the 28-byte packet at the start of `buf`, returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if buf.len() < PACKET_LEN {
            return Err(WireError::BufferTooSmall {
                what: "ARP packet",
                offset: 0,
                needed: PACKET_LEN,
                available: buf.len(),
            });
        }
        put(
            buf,
            0,
            &u16::from(Hardware::Ethernet).to_be_bytes(),
            "ARP hardware type",
        )?;
        put(
            buf,
            2,
            &u16::from(EtherType::Ipv4).to_be_bytes(),
            "ARP protocol type",
        )?;
        put(buf, 4, &[6, 4], "ARP address lengths")?;
        put(
            buf,
            6,
            &u16::from(self.operation).to_be_bytes(),
            "ARP operation",
        )?;
        put(buf, 8, &self.sender_mac.0, "ARP sender hardware address")?;
        put(
            buf,
            14,
            &self.sender_ip.octets(),
            "ARP sender protocol address",
        )?;
        put(buf, 18, &self.target_mac.0, "ARP target hardware address")?;
        put(
            buf,
            24,
            &self.target_ip.octets(),
            "ARP target protocol address",
        )?;
        Ok(PACKET_LEN)
    }

    /// Writes a whole frame, from our `sender_mac` to `eth_dst` ([`BROADCAST`] for a sweep request), padded with
    /// zeroes to [`FRAME_LEN`]. Returns its length.
    pub fn emit_frame(&self, eth_dst: Mac, buf: &mut [u8]) -> Result<usize, WireError> {
        if buf.len() < FRAME_LEN {
            return Err(WireError::BufferTooSmall {
                what: "ARP frame",
                offset: 0,
                needed: FRAME_LEN,
                available: buf.len(),
            });
        }
        let ethernet = EthernetRepr {
            dst: eth_dst,
            src: self.sender_mac,
            vlan: None,
            outer: None,
            ethertype: EtherType::Arp,
        };
        let header = ethernet.emit(buf)?;
        let body = buf.get_mut(header..).unwrap_or_default();
        self.emit(body).map_err(|e| e.shifted(header))?;
        let padding = buf
            .get_mut(ETHERNET_HEADER_LEN + PACKET_LEN..FRAME_LEN)
            .unwrap_or_default();
        padding.fill(0);
        Ok(FRAME_LEN)
    }

    /// Where the frame goes: requests are broadcast, replies go back to the asker.
    pub fn eth_dst(&self) -> Mac {
        match self.operation {
            Operation::Reply => self.target_mac,
            _ => BROADCAST,
        }
    }
}

/// Reads the ARP packet at the start of `bytes` (trailing padding is fine).
pub fn parse(bytes: &[u8]) -> Result<ArpRepr, WireError> {
    ArpRepr::parse(&ArpPacket::new_checked(bytes)?)
}

/// Reads a whole frame (untagged or under up to two VLAN tags); the EtherType must be ARP.
pub fn parse_frame(frame: &[u8]) -> Result<ArpFrame, WireError> {
    let (ethernet, payload, header_len) = frame_of(frame, EtherType::Arp, "0x806 (ARP)")?;
    let arp = parse(payload).map_err(|e| e.shifted(header_len))?;
    Ok(ArpFrame { ethernet, arp })
}

#[cfg(test)]
mod tests;
