//! LLDP-MED (ANSI/TIA-1057): the organizationally specific TLVs under the TIA's OUI 00-12-BB that a phone adds to
//! its LLDPDU, read into [`Med`] and written back. It owns the MED capabilities and device class (subtype 1), the
//! network policies that carry the voice VLAN (2) and the inventory strings (5..=11). Location (3) and extended
//! power (4) are not interpreted: they stay [`RawTlv`](super::RawTlv)s with every other TLV this crate has no
//! meaning for. Every MED TLV is optional; a later duplicate of the capabilities or of an inventory string is
//! ignored, while network policies accumulate (one per application).
//!
//! [`super`] walks the LLDPDU and hands each MED TLV's body here, after the OUI and the subtype.

use super::{put_tlv, tlv_type};
use crate::wire::{Reader, WireError, fits, text};

/// The TIA's OUI, which marks an organizationally specific TLV as LLDP-MED.
pub const MED_OUI: [u8; 3] = [0x00, 0x12, 0xbb];

/// LLDP-MED subtypes (after the OUI in an organizationally specific TLV).
mod subtypes {
    pub const CAPABILITIES: u8 = 1;
    pub const NETWORK_POLICY: u8 = 2;
    pub const INVENTORY_FIRST: u8 = 5;
    pub const INVENTORY_LAST: u8 = 11;
}

enum_with_unknown! {
    /// LLDP-MED device type; a desk phone is an endpoint of class III.
    pub enum MedDeviceClass(u8) {
        NotDefined = 0,
        EndpointClass1 = 1,
        EndpointClass2 = 2,
        EndpointClass3 = 3,
        NetworkConnectivity = 4,
    }
}

enum_with_unknown! {
    /// LLDP-MED network policy application type.
    pub enum MedApplication(u8) {
        Voice = 1,
        VoiceSignaling = 2,
        GuestVoice = 3,
        GuestVoiceSignaling = 4,
        SoftphoneVoice = 5,
        VideoConferencing = 6,
        StreamingVideo = 7,
        VideoSignaling = 8,
    }
}

/// LLDP-MED Capabilities: which MED TLVs the device supports, and its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MedCapabilities {
    /// Bit 0 capabilities, 1 network policy, 2 location, 3 extended power (PSE), 4 (PD), 5 inventory; a phone
    /// typically sends 0x0033.
    pub capabilities: u16,
    pub device_class: MedDeviceClass,
}

/// LLDP-MED Network Policy: the VLAN and priorities the phone uses for one application (voice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkPolicy {
    pub application: MedApplication,
    /// Set until the phone knows its policy (from the switch or configuration).
    pub unknown_policy: bool,
    pub tagged: bool,
    /// 12 bits.
    pub vlan_id: u16,
    /// 3 bits (802.1p).
    pub priority: u8,
    /// 6 bits.
    pub dscp: u8,
}

impl NetworkPolicy {
    fn parse(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let application = MedApplication::from(r.u8("network policy application type")?);
        let [a, b, c] = r.array("network policy flags, VLAN, priority and DSCP")?;
        let bits = u32::from_be_bytes([0, a, b, c]);
        Ok(NetworkPolicy {
            application,
            unknown_policy: bits & 0x80_0000 != 0,
            tagged: bits & 0x40_0000 != 0,
            vlan_id: ((bits >> 9) & 0x0fff) as u16,
            priority: ((bits >> 6) & 0x07) as u8,
            dscp: (bits & 0x3f) as u8,
        })
    }

    fn to_bytes(self, offset: usize) -> Result<[u8; 4], WireError> {
        let vlan: u32 = fits(
            usize::from(self.vlan_id),
            0x0fff,
            "network policy VLAN ID",
            offset,
        )?;
        let priority: u32 = fits(
            usize::from(self.priority),
            7,
            "network policy priority",
            offset,
        )?;
        let dscp: u32 = fits(usize::from(self.dscp), 0x3f, "network policy DSCP", offset)?;
        let bits = u32::from(self.unknown_policy) << 23
            | u32::from(self.tagged) << 22
            | vlan << 9
            | priority << 6
            | dscp;
        let [_, a, b, c] = bits.to_be_bytes();
        Ok([u8::from(self.application), a, b, c])
    }
}

/// LLDP-MED inventory (subtypes 5..=11). Every field is optional; what Poly puts in them is unverified, so model and
/// firmware come from the system description first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Inventory {
    pub hardware_revision: Option<String>,
    pub firmware_revision: Option<String>,
    pub software_revision: Option<String>,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub asset_id: Option<String>,
}

impl Inventory {
    fn slot(&mut self, subtype: u8) -> Option<&mut Option<String>> {
        Some(match subtype {
            5 => &mut self.hardware_revision,
            6 => &mut self.firmware_revision,
            7 => &mut self.software_revision,
            8 => &mut self.serial_number,
            9 => &mut self.manufacturer,
            10 => &mut self.model,
            11 => &mut self.asset_id,
            _ => return None,
        })
    }

    fn fields(&self) -> [(u8, &Option<String>); 7] {
        [
            (5, &self.hardware_revision),
            (6, &self.firmware_revision),
            (7, &self.software_revision),
            (8, &self.serial_number),
            (9, &self.manufacturer),
            (10, &self.model),
            (11, &self.asset_id),
        ]
    }
}

/// Everything LLDP-MED said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Med {
    pub capabilities: Option<MedCapabilities>,
    pub network_policies: Vec<NetworkPolicy>,
    pub inventory: Inventory,
}

impl Med {
    /// Reads the body of the MED TLV of `subtype` (what follows the OUI and the subtype) into `self`; `false` for a
    /// subtype not interpreted here (location, power, reserved), which the caller keeps as sent.
    pub(super) fn parse_tlv(&mut self, subtype: u8, r: &mut Reader<'_>) -> Result<bool, WireError> {
        match subtype {
            subtypes::CAPABILITIES if self.capabilities.is_none() => {
                self.capabilities = Some(MedCapabilities {
                    capabilities: r.u16("LLDP-MED capabilities")?,
                    device_class: MedDeviceClass::from(r.u8("LLDP-MED device type")?),
                });
            }
            subtypes::CAPABILITIES => {} // a later duplicate
            subtypes::NETWORK_POLICY => self.network_policies.push(NetworkPolicy::parse(r)?),
            subtypes::INVENTORY_FIRST..=subtypes::INVENTORY_LAST => {
                if let Some(slot @ None) = self.inventory.slot(subtype) {
                    *slot = Some(text(r.rest()));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Appends the MED TLVs to `out`: capabilities, network policies, then inventory in subtype order.
    pub(super) fn emit(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        if let Some(caps) = self.capabilities {
            let mut body = caps.capabilities.to_be_bytes().to_vec();
            body.push(u8::from(caps.device_class));
            put_med(out, subtypes::CAPABILITIES, &body)?;
        }
        for policy in &self.network_policies {
            let body = policy.to_bytes(out.len())?;
            put_med(out, subtypes::NETWORK_POLICY, &body)?;
        }
        for (subtype, value) in self.inventory.fields() {
            if let Some(value) = value {
                put_med(out, subtype, value.as_bytes())?;
            }
        }
        Ok(())
    }
}

fn put_med(out: &mut Vec<u8>, subtype: u8, body: &[u8]) -> Result<(), WireError> {
    let mut value = MED_OUI.to_vec();
    value.push(subtype);
    value.extend_from_slice(body);
    put_tlv(out, tlv_type::ORGANIZATIONAL, &value)
}

#[cfg(test)]
mod tests;
