//! The LLDPDU's TLV framing (IEEE 802.1AB): the 2-byte header of a 7-bit type and a 9-bit length, the walker
//! that yields each TLV without trusting a length, and the writer that refuses a value its length field cannot
//! announce. What a TLV's value means is the parent module's (and, for LLDP-MED, [`super::med`]'s).

use crate::wire::{Reader, WireError, fits};

/// The longest TLV value the 9-bit length field can announce.
pub const TLV_MAX_LEN: usize = 0x1ff;

/// TLV types (the 7 high bits of a TLV header).
pub mod tlv_type {
    pub const END: u8 = 0;
    pub const CHASSIS_ID: u8 = 1;
    pub const PORT_ID: u8 = 2;
    pub const TTL: u8 = 3;
    pub const PORT_DESCRIPTION: u8 = 4;
    pub const SYSTEM_NAME: u8 = 5;
    pub const SYSTEM_DESCRIPTION: u8 = 6;
    pub const SYSTEM_CAPABILITIES: u8 = 7;
    pub const MANAGEMENT_ADDRESS: u8 = 8;
    pub const ORGANIZATIONAL: u8 = 127;
}

/// What errors call a TLV of this type.
pub(super) fn tlv_name(kind: u8) -> &'static str {
    match kind {
        tlv_type::END => "end of LLDPDU TLV",
        tlv_type::CHASSIS_ID => "chassis ID TLV",
        tlv_type::PORT_ID => "port ID TLV",
        tlv_type::TTL => "time-to-live TLV",
        tlv_type::PORT_DESCRIPTION => "port description TLV",
        tlv_type::SYSTEM_NAME => "system name TLV",
        tlv_type::SYSTEM_DESCRIPTION => "system description TLV",
        tlv_type::SYSTEM_CAPABILITIES => "system capabilities TLV",
        tlv_type::MANAGEMENT_ADDRESS => "management address TLV",
        tlv_type::ORGANIZATIONAL => "organizationally specific TLV",
        _ => "reserved TLV",
    }
}

/// One TLV as it lies in the LLDPDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The 7-bit type (see [`tlv_type`]).
    pub kind: u8,
    /// Where its 2-byte header starts.
    pub offset: usize,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over the value, its offsets counted from the LLDPDU's start.
    pub(super) fn reader(&self) -> Reader<'a> {
        Reader::new(self.value, self.offset.saturating_add(2))
    }
}

/// Walks the TLVs of an LLDPDU up to the End TLV or the end of the data; yields one error and stops at the first
/// TLV whose header or value runs past the data.
#[derive(Debug, Clone)]
pub struct Tlvs<'a> {
    r: Reader<'a>,
    done: bool,
}

/// The TLVs of `lldpdu` (the bytes after the Ethernet header).
pub fn tlvs(lldpdu: &[u8]) -> Tlvs<'_> {
    walk_at(lldpdu, 0)
}

/// The same, the offsets counted from `base` (where the LLDPDU starts in a frame).
pub(super) fn walk_at(lldpdu: &[u8], base: usize) -> Tlvs<'_> {
    Tlvs {
        r: Reader::new(lldpdu, base),
        done: false,
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.r.is_empty() {
            return None;
        }
        let offset = self.r.offset();
        let available = self.r.remaining();
        let header = match self.r.u16("LLDP TLV header") {
            Ok(header) => header,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let kind = (header >> 9) as u8;
        let len = usize::from(header & 0x1ff);
        if kind == tlv_type::END {
            self.done = true;
            return None;
        }
        match self.r.take(len, tlv_name(kind)) {
            Ok(value) => Some(Ok(Tlv {
                kind,
                offset,
                value,
            })),
            Err(_) => {
                self.done = true;
                Some(Err(WireError::Truncated {
                    what: tlv_name(kind),
                    offset,
                    needed: len.saturating_add(2),
                    available,
                }))
            }
        }
    }
}

/// Appends one TLV: its 2-byte header, then `value`.
pub(super) fn put_tlv(out: &mut Vec<u8>, kind: u8, value: &[u8]) -> Result<(), WireError> {
    let offset = out.len();
    let kind: u16 = fits(usize::from(kind), 127, "LLDP TLV type", offset)?;
    let len: u16 = fits(value.len(), TLV_MAX_LEN, tlv_name(kind as u8), offset)?;
    out.extend_from_slice(&(kind << 9 | len).to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}
