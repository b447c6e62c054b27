//! Which MAC prefixes mark a Poly phone candidate: the IEEE registrations of Polycom and Poly
//! (`discovery.md` §6), every OUI a device profile lists, and whatever the user adds (`--oui`). Plantronics
//! prefixes are Poly-family but headsets and DECT, so they are not candidates.

use std::collections::BTreeMap;

use crate::mac::Mac;
use crate::profile::ProfileSet;

/// The registrations polyprov knows without being told (IEEE MA-L, 2022 lists).
pub const POLY_OUIS: [(&str, &str); 3] = [
    ("0004F2", "Polycom"),
    ("64167F", "Polycom"),
    ("482567", "Poly"),
];

/// The candidate prefixes and the vendor each is registered to.
#[derive(Debug, Clone, Default)]
pub struct Ouis {
    by_prefix: BTreeMap<String, String>,
}

/// An OUI the user gave that is not 3 hex octets.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "OUI {0:?} is not three hex octets. Fix: write it as 00:04:F2, 00-04-F2 or 0004F2 (the first half of the MAC)"
)]
pub struct OuiError(pub String);

/// Reads `00:04:F2`, `00-04-f2` or `0004F2` as `0004F2`.
pub fn parse(text: &str) -> Result<String, OuiError> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_uppercase())
    } else {
        Err(OuiError(text.to_string()))
    }
}

impl Ouis {
    /// Poly's registrations plus every OUI in the device profiles.
    pub fn poly(profiles: &ProfileSet) -> Ouis {
        let mut by_prefix: BTreeMap<String, String> = POLY_OUIS
            .iter()
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect();
        for p in profiles.iter() {
            for oui in &p.recognise.ouis {
                if let Ok(oui) = parse(oui) {
                    by_prefix.entry(oui).or_insert_with(|| "Poly".into());
                }
            }
        }
        Ouis { by_prefix }
    }

    /// Adds a user's prefix (`--oui`), e.g. an HP Inc. block new Poly hardware ships with.
    pub fn add(&mut self, oui: &str) -> Result<(), OuiError> {
        let oui = parse(oui)?;
        self.by_prefix
            .entry(oui)
            .or_insert_with(|| "added with --oui".into());
        Ok(())
    }

    /// The vendor a MAC's prefix is registered to, if it is a candidate prefix.
    pub fn vendor(&self, mac: Mac) -> Option<&str> {
        self.by_prefix.get(&mac.oui()).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_poly_registrations_and_user_prefixes_are_candidates() {
        let mut ouis = Ouis::poly(&ProfileSet::bundled().unwrap());
        let vvx: Mac = "64:16:7f:12:34:56".parse().unwrap();
        let ccx: Mac = "48:25:67:00:00:01".parse().unwrap();
        let soundpoint: Mac = "00:04:f2:aa:bb:cc".parse().unwrap();
        let hp: Mac = "30:e1:71:00:00:01".parse().unwrap();
        assert_eq!(ouis.vendor(vvx), Some("Polycom"));
        assert_eq!(ouis.vendor(ccx), Some("Poly"));
        assert_eq!(ouis.vendor(soundpoint), Some("Polycom"));
        assert_eq!(ouis.vendor(hp), None);
        ouis.add("30-e1-71").unwrap();
        assert!(ouis.vendor(hp).is_some());
    }

    #[test]
    fn a_malformed_oui_says_how_to_write_one() {
        let e = parse("00:04").unwrap_err().to_string();
        assert!(e.contains("00:04:F2"), "{e}");
    }
}
