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
//! They all arrive in Ethernet framing, which `ethernet` owns (re-exported here): the frame view [`EthernetFrame`]
//! and its [`EthernetRepr`], Ethernet II or 802.3 length framing, with up to two VLAN tags ([`VlanTag`]: 802.1Q,
//! 802.1ad or 0x9100, so QinQ too), the innermost one the sender's own VLAN.
//! This module owns the rest of what they share: [`WireError`], the never-trusting `Reader`, and the emit helpers.
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
mod ethernet;
pub mod lldp;
pub mod poly;

pub(crate) use ethernet::frame_of;
pub use ethernet::{
    BROADCAST, ETHERNET_HEADER_LEN, ETHERNET_MAX_HEADER_LEN, ETHERNET_MIN_FRAME_LEN, EtherType,
    EthernetFrame, EthernetRepr, Tpid, VLAN_TAG_LEN, VlanTag,
};

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

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
