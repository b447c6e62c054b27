//! Pure byte parsers for what discovery hears and sends on the LAN: bytes in, values out (and back, for the frames
//! the ARP sweep sends and the fixtures tests build); no I/O, no clocks, no global state.
//!
//! Each protocol has a zero-copy view or TLV walker over the raw bytes and a `…Repr`, the parsed, owned meaning:
//! - [`arp`]: ARP over Ethernet/IPv4, the sweep's requests and the phones' replies (and gratuitous ARP);
//! - [`lldp`]: LLDP with the LLDP-MED extensions, and the Poly system description (`Polycom;VVX-VVX_411;…`);
//! - [`cdp`]: CDP v1/v2 in its LLC/SNAP frame, and the Poly platform and version strings;
//! - [`dhcp`]: DHCP DISCOVER/REQUEST over UDP/IPv4, including Poly's RFC 3925 vendor class (option 60);
//! - [`poly`]: reading the Poly strings all three carry (system description, model tokens, build strings).
//!
//! This module owns what they share: [`WireError`], the Ethernet II frame view [`EthernetFrame`] (one 802.1Q tag,
//! 802.3 length framing) and its [`EthernetRepr`].
//! The protocols' tests share `testkit` (hex fixtures, proptest strategies, frame mutations; tests only).
//!
//! # Panics
//! Never. No accessor, parser or emitter in this module panics, whatever the bytes: views are built only by
//! `new_checked`, which checks that every field lies inside the buffer, and accessors still read through
//! `get(..)`, so a buffer whose `AsRef` later yields fewer bytes reads as zeroes or empty fields instead of
//! panicking. Lengths read from the wire are never trusted: every one is checked against the bytes that are left
//! before it is used, with checked arithmetic. Emitters return [`WireError::BufferTooSmall`] or
//! [`WireError::TooLarge`] instead of writing past a buffer or truncating a value. The lints below hold the
//! non-test code to this.
//!
//! Values the parsers have no name for stay as `Unknown(n)` variants, so nothing is lost and nothing is guessed.
//! Checksums (IPv4, CDP) are not verified: frames captured on the sending host often carry checksums the NIC
//! fills in later, and the Ethernet FCS has already caught corruption.

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

use crate::mac::Mac;

/// Declares a wire enum whose unknown values are kept as `Unknown(n)`, with `From` both ways (smoltcp's
/// `enum_with_unknown!`).
macro_rules! enum_with_unknown {
    (
        $(#[$attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vattr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vattr])* $variant, )+
            /// A value with no name here, kept as it was sent.
            Unknown($ty),
        }

        impl ::core::convert::From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( v if v == $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl ::core::convert::From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

pub mod arp;
pub mod cdp;
pub mod dhcp;
pub mod lldp;
pub mod poly;

/// What was wrong with the bytes (or, when emitting, with the value), and at which byte.
///
/// `offset` counts from the start of the bytes handed to the function that returned the error: the Ethernet
/// header for `parse_frame`, the first byte of the packet or PDU for `parse`, the start of the output for `emit`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes end before a field does (a length that points past the end lands here too).
    #[error("{what} at byte {offset} needs {needed} bytes, but only {available} remain")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// A field holds a value this parser cannot accept.
    #[error("{what} at byte {offset} is {found} ({found:#x}), expected {expected}")]
    Unexpected {
        what: &'static str,
        offset: usize,
        found: u64,
        expected: &'static str,
    },
    /// A part the protocol requires never came.
    #[error("{what} is missing: the data ends at byte {offset} without it")]
    Missing { what: &'static str, offset: usize },
    /// Emitting: a value does not fit the field that would carry it.
    #[error("cannot emit {what} at byte {offset}: {value} is more than its field holds ({max})")]
    TooLarge {
        what: &'static str,
        offset: usize,
        value: usize,
        max: usize,
    },
    /// Emitting: the output buffer is too small.
    #[error(
        "cannot emit {what} at byte {offset}: it needs {needed} bytes, but the buffer has {available}"
    )]
    BufferTooSmall {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
}

impl WireError {
    /// The byte the error points at.
    pub fn offset(&self) -> usize {
        match self {
            WireError::Truncated { offset, .. }
            | WireError::Unexpected { offset, .. }
            | WireError::Missing { offset, .. }
            | WireError::TooLarge { offset, .. }
            | WireError::BufferTooSmall { offset, .. } => *offset,
        }
    }

    /// The same error, counted from `by` bytes earlier (a payload's error seen from its frame).
    pub fn shifted(mut self, by: usize) -> Self {
        match &mut self {
            WireError::Truncated { offset, .. }
            | WireError::Unexpected { offset, .. }
            | WireError::Missing { offset, .. }
            | WireError::TooLarge { offset, .. }
            | WireError::BufferTooSmall { offset, .. } => *offset = offset.saturating_add(by),
        }
        self
    }
}

/// A cursor that never trusts a length: every read is checked against what is left, and errors carry the absolute
/// offset (`base` is where `data` starts in the caller's input).
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    /// The absolute offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes, or [`WireError::Truncated`] naming `what`.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| Some((end, self.data.get(self.pos..end)?))) {
            Some((end, bytes)) => {
                self.pos = end;
                Ok(bytes)
            }
            None => Err(WireError::Truncated {
                what,
                offset: self.offset(),
                needed: n,
                available: self.remaining(),
            }),
        }
    }

    /// A reader over the next `n` bytes (a TLV's value), keeping absolute offsets.
    pub(crate) fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, WireError> {
        let base = self.offset();
        Ok(Reader::new(self.take(n, what)?, base))
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], WireError> {
        let offset = self.offset();
        let bytes = self.take(N, what)?;
        <[u8; N]>::try_from(bytes).map_err(|_| WireError::Truncated {
            what,
            offset,
            needed: N,
            available: bytes.len(),
        })
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(u8::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub(crate) fn mac(&mut self, what: &'static str) -> Result<Mac, WireError> {
        Ok(Mac(self.array(what)?))
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        self.pos = self.data.len();
        rest
    }
}

/// Writes `bytes` at `at` in `buf`, or says the buffer is too small.
pub(crate) fn put(
    buf: &mut [u8],
    at: usize,
    bytes: &[u8],
    what: &'static str,
) -> Result<(), WireError> {
    let available = buf.len().saturating_sub(at);
    match at
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(at..end))
    {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            Ok(())
        }
        None => Err(WireError::BufferTooSmall {
            what,
            offset: at,
            needed: bytes.len(),
            available,
        }),
    }
}

/// `value` as a `T` (a length or count field), or [`WireError::TooLarge`] naming the field.
pub(crate) fn fits<T: TryFrom<usize>>(
    value: usize,
    max: usize,
    what: &'static str,
    offset: usize,
) -> Result<T, WireError> {
    let too_large = WireError::TooLarge {
        what,
        offset,
        value,
        max,
    };
    if value > max {
        return Err(too_large);
    }
    T::try_from(value).map_err(|_| too_large)
}

/// The Internet checksum (RFC 1071) over `data`, an odd last byte padded with zero: what IPv4 headers and CDP carry.
pub(crate) fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum = data.chunks(2).fold(0u32, |sum, pair| {
        let word = match pair {
            [high, low] => u16::from_be_bytes([*high, *low]),
            [high] => u16::from_be_bytes([*high, 0]),
            _ => 0,
        };
        sum.wrapping_add(u32::from(word))
    });
    while sum > 0xffff {
        sum = (sum & 0xffff).wrapping_add(sum >> 16);
    }
    !(sum as u16)
}

/// Text from the wire: invalid UTF-8 is replaced, never refused (a phone's name is still worth showing).
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The all-ones broadcast address.
pub const BROADCAST: Mac = Mac([0xff; 6]);

/// Bytes in an untagged Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// Bytes one 802.1Q tag adds.
pub const VLAN_TAG_LEN: usize = 4;

/// The shortest Ethernet frame without its FCS; shorter frames are padded with zeroes.
pub const ETHERNET_MIN_FRAME_LEN: usize = 60;

/// The largest value of the type/length field that is an 802.3 length rather than an EtherType.
const LENGTH_MAX: u16 = 1500;

/// The 802.1Q tag protocol identifier.
const TPID_8021Q: u16 = 0x8100;

/// The type/length field of an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    Ipv4,
    Arp,
    /// An 802.1Q tag (only seen here when a frame carries a second tag, which is not unwrapped).
    Vlan,
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
            TPID_8021Q => EtherType::Vlan,
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
            EtherType::Vlan => TPID_8021Q,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Lldp => 0x88cc,
            EtherType::Length(n) | EtherType::Unknown(n) => n,
        }
    }
}

/// One 802.1Q tag: the voice VLAN a phone's frames travel in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// Priority code point, 0..=7 (voice is usually 5).
    pub priority: u8,
    /// Drop eligible indicator.
    pub drop_eligible: bool,
    /// VLAN ID, 0..=4095.
    pub id: u16,
}

impl VlanTag {
    fn from_tci(tci: u16) -> Self {
        VlanTag {
            priority: (tci >> 13) as u8,
            drop_eligible: tci & 0x1000 != 0,
            id: tci & 0x0fff,
        }
    }

    fn tci(&self, offset: usize) -> Result<u16, WireError> {
        let priority: u16 = fits(usize::from(self.priority), 7, "802.1Q priority", offset)?;
        let id: u16 = fits(usize::from(self.id), 0x0fff, "802.1Q VLAN ID", offset)?;
        Ok(priority << 13 | u16::from(self.drop_eligible) << 12 | id)
    }
}

/// A zero-copy view of an Ethernet II (or 802.3) frame, with at most one 802.1Q tag unwrapped.
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

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a frame after checking that its header, its tag, and (for 802.3 framing) the payload its length
    /// field announces are all there.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let mut r = Reader::new(buffer.as_ref(), 0);
        r.take(12, "Ethernet destination and source addresses")?;
        let mut kind = r.u16("EtherType")?;
        if kind == TPID_8021Q {
            r.u16("802.1Q tag control")?;
            kind = r.u16("EtherType after the 802.1Q tag")?;
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

    fn tagged(&self) -> bool {
        u16_at(self.buffer.as_ref(), 12) == TPID_8021Q
    }

    /// The 802.1Q tag, if the frame has one.
    pub fn vlan(&self) -> Option<VlanTag> {
        self.tagged()
            .then(|| VlanTag::from_tci(u16_at(self.buffer.as_ref(), 14)))
    }

    /// The EtherType (or 802.3 length) after the tag, if any.
    pub fn ethertype(&self) -> EtherType {
        let at = if self.tagged() { 16 } else { 12 };
        EtherType::from(u16_at(self.buffer.as_ref(), at))
    }

    /// Bytes before the payload: 14, or 18 with a tag.
    pub fn header_len(&self) -> usize {
        if self.tagged() {
            ETHERNET_HEADER_LEN + VLAN_TAG_LEN
        } else {
            ETHERNET_HEADER_LEN
        }
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
    pub vlan: Option<VlanTag>,
    pub ethertype: EtherType,
}

impl EthernetRepr {
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Self {
        EthernetRepr {
            dst: frame.dst(),
            src: frame.src(),
            vlan: frame.vlan(),
            ethertype: frame.ethertype(),
        }
    }

    /// Bytes the header takes.
    pub fn header_len(&self) -> usize {
        match self.vlan {
            Some(_) => ETHERNET_HEADER_LEN + VLAN_TAG_LEN,
            None => ETHERNET_HEADER_LEN,
        }
    }

    /// Writes the header at the start of `buf`, returning its length.
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
        put(buf, 0, &self.dst.0, "Ethernet destination")?;
        put(buf, 6, &self.src.0, "Ethernet source")?;
        let mut at = 12;
        if let Some(tag) = self.vlan {
            put(buf, 12, &TPID_8021Q.to_be_bytes(), "802.1Q tag")?;
            put(buf, 14, &tag.tci(14)?.to_be_bytes(), "802.1Q tag control")?;
            at = 16;
        }
        if let EtherType::Length(n) = self.ethertype {
            fits::<u16>(usize::from(n), usize::from(LENGTH_MAX), "802.3 length", at)?;
        }
        put(
            buf,
            at,
            &u16::from(self.ethertype).to_be_bytes(),
            "EtherType",
        )?;
        Ok(len)
    }

    /// Appends the header to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let mut header = [0u8; ETHERNET_HEADER_LEN + VLAN_TAG_LEN];
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

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
