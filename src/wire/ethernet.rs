//! Ethernet framing: the Ethernet II (or 802.3 length-framed) header every protocol in [`super`] arrives in, and
//! the VLAN tags in front of its EtherType.
//!
//! This module owns the zero-copy view [`EthernetFrame`], the parsed header [`EthernetRepr`] (and its emitter),
//! [`EtherType`], the VLAN tag [`VlanTag`] with its [`Tpid`], and the header sizes and [`BROADCAST`].
//!
//! A frame carries at most two VLAN tags, each with TPID 0x8100 (802.1Q C-tag), 0x88a8 (802.1ad S-tag) or 0x9100
//! (the pre-standard QinQ TPID), in any combination: a phone's voice VLAN as one C-tag, a provider's QinQ as an
//! S-tag around it, or two stacked C-tags. [`EthernetRepr::vlan`] is always the innermost tag (the VLAN the device
//! itself is in) and [`EthernetRepr::outer`] the service tag around it. A third tag is refused, not skipped, so a
//! TPID never shows up where an EtherType is expected. Tags keep their TPID, so emitting reproduces the bytes.

use super::{Reader, WireError, fits, put};
use crate::mac::Mac;

/// The all-ones broadcast address.
pub const BROADCAST: Mac = Mac([0xff; 6]);

/// Bytes in an untagged Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// Bytes one VLAN tag adds.
pub const VLAN_TAG_LEN: usize = 4;

/// Bytes in the longest header this module reads or writes: two VLAN tags.
pub const ETHERNET_MAX_HEADER_LEN: usize = ETHERNET_HEADER_LEN + 2 * VLAN_TAG_LEN;

/// The shortest Ethernet frame without its FCS; shorter frames are padded with zeroes.
pub const ETHERNET_MIN_FRAME_LEN: usize = 60;

/// The largest value of the type/length field that is an 802.3 length rather than an EtherType.
const LENGTH_MAX: u16 = 1500;

/// Where the first type/length (or TPID) field starts: after the two addresses.
const TYPE_OFFSET: usize = 12;

/// The tag protocol identifier in front of a VLAN tag: which kind of tag it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tpid {
    /// 0x8100, the 802.1Q customer tag (C-tag): a phone's voice VLAN.
    #[default]
    Dot1q,
    /// 0x88a8, the 802.1ad service tag (S-tag): the outer tag of QinQ.
    Dot1ad,
    /// 0x9100, the pre-standard QinQ TPID some switches still send for the outer tag.
    Qinq9100,
}

impl Tpid {
    /// The TPID `value` names, or `None` when it is an EtherType (or 802.3 length) instead.
    pub const fn from_u16(value: u16) -> Option<Self> {
        match value {
            0x8100 => Some(Tpid::Dot1q),
            0x88a8 => Some(Tpid::Dot1ad),
            0x9100 => Some(Tpid::Qinq9100),
            _ => None,
        }
    }
}

impl From<Tpid> for u16 {
    fn from(value: Tpid) -> Self {
        match value {
            Tpid::Dot1q => 0x8100,
            Tpid::Dot1ad => 0x88a8,
            Tpid::Qinq9100 => 0x9100,
        }
    }
}

/// The type/length field of an Ethernet frame, after any VLAN tags.
///
/// There is no variant for a VLAN TPID: [`EthernetFrame`] unwraps up to two tags and refuses a third, so a parsed
/// frame's EtherType is never one, and [`EthernetRepr::emit`] refuses to write one (tags go in `vlan`/`outer`).
/// `EtherType::from(0x8100)` is `Unknown(0x8100)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    Ipv4,
    Arp,
    Ipv6,
    Lldp,
    /// At most 1500: an 802.3 frame whose payload (LLC, e.g. CDP's SNAP) is this many bytes long.
    Length(u16),
    /// An EtherType with no name here.
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x88cc => EtherType::Lldp,
            n if n <= LENGTH_MAX => EtherType::Length(n),
            n => EtherType::Unknown(n),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Lldp => 0x88cc,
            EtherType::Length(n) | EtherType::Unknown(n) => n,
        }
    }
}

/// One VLAN tag: the voice VLAN a phone's frames travel in (or, outside it, a provider's service VLAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// The TPID the tag came with (or is written with).
    pub tpid: Tpid,
    /// Priority code point, 0..=7 (voice is usually 5).
    pub priority: u8,
    /// Drop eligible indicator.
    pub drop_eligible: bool,
    /// VLAN ID, 0..=4095.
    pub id: u16,
}

impl VlanTag {
    /// An 802.1Q (C-tag, TPID 0x8100) tag for VLAN `id` at `priority`, not drop eligible.
    pub const fn dot1q(id: u16, priority: u8) -> Self {
        VlanTag {
            tpid: Tpid::Dot1q,
            priority,
            drop_eligible: false,
            id,
        }
    }

    /// An 802.1ad (S-tag, TPID 0x88a8) tag for VLAN `id` at `priority`, not drop eligible.
    pub const fn dot1ad(id: u16, priority: u8) -> Self {
        VlanTag {
            tpid: Tpid::Dot1ad,
            ..VlanTag::dot1q(id, priority)
        }
    }

    fn from_tci(tpid: Tpid, tci: u16) -> Self {
        VlanTag {
            tpid,
            priority: (tci >> 13) as u8,
            drop_eligible: tci & 0x1000 != 0,
            id: tci & 0x0fff,
        }
    }

    fn tci(&self, offset: usize) -> Result<u16, WireError> {
        let priority: u16 = fits(usize::from(self.priority), 7, "VLAN tag priority", offset)?;
        let id: u16 = fits(usize::from(self.id), 0x0fff, "VLAN ID", offset)?;
        Ok(priority << 13 | u16::from(self.drop_eligible) << 12 | id)
    }
}

/// A zero-copy view of an Ethernet II (or 802.3) frame, with up to two VLAN tags unwrapped.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

fn mac_at(data: &[u8], at: usize) -> Mac {
    let bytes = data
        .get(at..at.saturating_add(6))
        .and_then(|b| <[u8; 6]>::try_from(b).ok());
    Mac(bytes.unwrap_or_default())
}

fn u16_at(data: &[u8], at: usize) -> u16 {
    let bytes = data
        .get(at..at.saturating_add(2))
        .and_then(|b| <[u8; 2]>::try_from(b).ok());
    u16::from_be_bytes(bytes.unwrap_or_default())
}

/// Where the type/length field after `tags` VLAN tags starts.
fn type_offset(tags: usize) -> usize {
    TYPE_OFFSET.saturating_add(tags.saturating_mul(VLAN_TAG_LEN))
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a frame after checking that its header, its VLAN tags (at most two), and (for 802.3 framing) the
    /// payload its length field announces are all there.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let mut r = Reader::new(buffer.as_ref(), 0);
        r.take(12, "Ethernet destination and source addresses")?;
        let mut at = r.offset();
        let mut kind = r.u16("EtherType")?;
        for what in [
            "EtherType after the VLAN tag",
            "EtherType after the second VLAN tag",
        ] {
            if Tpid::from_u16(kind).is_none() {
                break;
            }
            r.u16("VLAN tag control")?;
            at = r.offset();
            kind = r.u16(what)?;
        }
        if Tpid::from_u16(kind).is_some() {
            return Err(WireError::Unexpected {
                what: "TPID of a third VLAN tag",
                offset: at,
                found: kind.into(),
                expected: "an EtherType (at most two VLAN tags are unwrapped)",
            });
        }
        if kind <= LENGTH_MAX {
            r.take(
                usize::from(kind),
                "802.3 payload (as long as the length field says)",
            )?;
        }
        Ok(EthernetFrame { buffer })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn dst(&self) -> Mac {
        mac_at(self.buffer.as_ref(), 0)
    }

    pub fn src(&self) -> Mac {
        mac_at(self.buffer.as_ref(), 6)
    }

    /// The tag whose TPID is at `at`, if there is one.
    fn tag_at(&self, at: usize) -> Option<VlanTag> {
        let data = self.buffer.as_ref();
        let tpid = Tpid::from_u16(u16_at(data, at))?;
        Some(VlanTag::from_tci(tpid, u16_at(data, at.saturating_add(2))))
    }

    /// How many VLAN tags precede the EtherType: 0, 1 or 2.
    fn tag_count(&self) -> usize {
        match (self.tag_at(type_offset(0)), self.tag_at(type_offset(1))) {
            (None, _) => 0,
            (Some(_), None) => 1,
            (Some(_), Some(_)) => 2,
        }
    }

    /// The innermost VLAN tag (the only one, when there is one): the VLAN the sender itself is in.
    pub fn vlan(&self) -> Option<VlanTag> {
        self.tag_count()
            .checked_sub(1)
            .and_then(|inner| self.tag_at(type_offset(inner)))
    }

    /// The outer (service) tag, when the frame carries two.
    pub fn outer_vlan(&self) -> Option<VlanTag> {
        (self.tag_count() == 2)
            .then(|| self.tag_at(type_offset(0)))
            .flatten()
    }

    /// The EtherType (or 802.3 length) after the tags.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(u16_at(self.buffer.as_ref(), type_offset(self.tag_count())))
    }

    /// Bytes before the payload: 14, 18 with one tag, 22 with two.
    pub fn header_len(&self) -> usize {
        type_offset(self.tag_count()).saturating_add(2)
    }

    /// The payload: everything after the header (padding included), or exactly the announced length for 802.3.
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let start = self.header_len();
        let end = match self.ethertype() {
            EtherType::Length(n) => start.saturating_add(usize::from(n)),
            _ => data.len(),
        };
        data.get(start..end).unwrap_or(&[])
    }
}

/// The parsed header of an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    pub dst: Mac,
    /// The sender's MAC: for LLDP/CDP the phone itself, a fallback key when no Port ID MAC is sent.
    pub src: Mac,
    /// The innermost VLAN tag (the only one, when there is one): the VLAN the sender itself is in.
    pub vlan: Option<VlanTag>,
    /// The outer (service) tag around `vlan`, when the frame carries two; never set without `vlan`.
    pub outer: Option<VlanTag>,
    pub ethertype: EtherType,
}

impl EthernetRepr {
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Self {
        EthernetRepr {
            dst: frame.dst(),
            src: frame.src(),
            vlan: frame.vlan(),
            outer: frame.outer_vlan(),
            ethertype: frame.ethertype(),
        }
    }

    /// The tags in wire order: the outer tag first.
    fn tags(&self) -> impl Iterator<Item = VlanTag> {
        self.outer.into_iter().chain(self.vlan)
    }

    /// Bytes the header takes: 14, plus 4 per tag.
    pub fn header_len(&self) -> usize {
        type_offset(self.tags().count()).saturating_add(2)
    }

    /// Writes the header at the start of `buf`, returning its length. An outer tag without an inner one, or an
    /// EtherType that is a VLAN TPID, is refused: neither would parse back to this value.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.header_len();
        if buf.len() < len {
            return Err(WireError::BufferTooSmall {
                what: "Ethernet header",
                offset: 0,
                needed: len,
                available: buf.len(),
            });
        }
        if let (Some(outer), None) = (self.outer, self.vlan) {
            return Err(WireError::Unexpected {
                what: "outer VLAN tag",
                offset: TYPE_OFFSET,
                found: outer.id.into(),
                expected: "an inner tag in vlan too (a single tag goes in vlan)",
            });
        }
        put(buf, 0, &self.dst.0, "Ethernet destination")?;
        put(buf, 6, &self.src.0, "Ethernet source")?;
        let mut at = TYPE_OFFSET;
        for tag in self.tags() {
            put(buf, at, &u16::from(tag.tpid).to_be_bytes(), "VLAN TPID")?;
            let tci_at = at.saturating_add(2);
            put(
                buf,
                tci_at,
                &tag.tci(tci_at)?.to_be_bytes(),
                "VLAN tag control",
            )?;
            at = at.saturating_add(VLAN_TAG_LEN);
        }
        let kind = u16::from(self.ethertype);
        if Tpid::from_u16(kind).is_some() {
            return Err(WireError::Unexpected {
                what: "EtherType",
                offset: at,
                found: kind.into(),
                expected: "not a VLAN TPID (tags go in vlan and outer)",
            });
        }
        if let EtherType::Length(n) = self.ethertype {
            fits::<u16>(usize::from(n), usize::from(LENGTH_MAX), "802.3 length", at)?;
        }
        put(buf, at, &kind.to_be_bytes(), "EtherType")?;
        Ok(len)
    }

    /// Appends the header to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let mut header = [0u8; ETHERNET_MAX_HEADER_LEN];
        let len = self.emit(&mut header)?;
        out.extend_from_slice(header.get(..len).unwrap_or(&[]));
        Ok(())
    }
}

/// Wraps `frame` and checks its EtherType; errors point at the EtherType field.
pub(crate) fn frame_of<'a>(
    frame: &'a [u8],
    want: EtherType,
    expected: &'static str,
) -> Result<(EthernetRepr, &'a [u8], usize), WireError> {
    let view = EthernetFrame::new_checked(frame)?;
    let ethernet = EthernetRepr::parse(&view);
    let header_len = view.header_len();
    let kind_matches = match (ethernet.ethertype, want) {
        (EtherType::Length(_), EtherType::Length(_)) => true,
        (have, want) => have == want,
    };
    if !kind_matches {
        return Err(WireError::Unexpected {
            what: "EtherType",
            offset: header_len.saturating_sub(2),
            found: u64::from(u16::from(ethernet.ethertype)),
            expected,
        });
    }
    let end = header_len.saturating_add(view.payload().len());
    let payload = frame.get(header_len..end).unwrap_or(&[]);
    Ok((ethernet, payload, header_len))
}
