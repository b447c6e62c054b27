//! MAC addresses: the key every phone is known by, from discovery to the administrator's activation list.
//!
//! A [`Mac`] is parsed once at the edge from any common spelling (`00:04:f2:a1:b2:c3`, `00-04-F2-…`,
//! `0004.f2a1.b2c3`, `0004F2A1B2C3`) and printed the way the 8x8 admin console and the phones' certificates
//! write it: 12 uppercase hex digits. That form ([`Display`](fmt::Display)) is also the key in every file polyprov
//! keeps and in its JSON. What a person reads or imports — tables, the live display, `report.csv`, `macs.txt`,
//! `activation.csv` — uses [`Mac::shown`], the form the user picked with `--mac-format` (plain by default).

use std::fmt;
use std::str::FromStr;

/// A 48-bit IEEE MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

/// Why a string is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a MAC address: {reason} (write it as 12 hex digits, e.g. 0004F2A1B2C3)")]
pub struct MacParseError {
    input: String,
    reason: &'static str,
}

/// How MACs are written for people and admin consoles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MacFormat {
    // `0004F2A1B2C3` (plain comments: doc comments would give clap's help a paragraph per value)
    #[default]
    Plain,
    // `00:04:F2:A1:B2:C3`
    Colon,
    // `00-04-F2-A1-B2-C3`
    Dash,
    // `0004.f2a1.b2c3`
    Cisco,
}

static SHOWN: std::sync::OnceLock<MacFormat> = std::sync::OnceLock::new();

/// Choose the form of every MAC shown to people from now on (once per process: the binary's `--mac-format`).
pub fn show_as(format: MacFormat) {
    let _ = SHOWN.set(format);
}

/// A MAC string as the user wants it shown (kept as it is when it is no MAC, e.g. empty).
pub fn shown(s: &str) -> String {
    s.parse::<Mac>()
        .map_or_else(|_| s.to_string(), |m| m.shown())
}

impl Mac {
    /// In the chosen form ([`show_as`]; plain unless the user picked another).
    pub fn shown(&self) -> String {
        self.format(SHOWN.get().copied().unwrap_or_default())
    }

    /// In the given form.
    pub fn format(&self, format: MacFormat) -> String {
        let b = self.0;
        match format {
            MacFormat::Plain => self.to_string(),
            MacFormat::Colon | MacFormat::Dash => {
                let sep = if format == MacFormat::Colon { ":" } else { "-" };
                b.iter()
                    .map(|x| format!("{x:02X}"))
                    .collect::<Vec<_>>()
                    .join(sep)
            }
            MacFormat::Cisco => format!(
                "{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}",
                b[0], b[1], b[2], b[3], b[4], b[5]
            ),
        }
    }

    /// The first three octets, the vendor's OUI, as 6 uppercase hex digits (`0004F2`).
    pub fn oui(&self) -> String {
        format!("{:02X}{:02X}{:02X}", self.0[0], self.0[1], self.0[2])
    }

    /// Lowercase, colon-separated (`00:04:f2:a1:b2:c3`), as the phones' status pages show it.
    pub fn colon_lower(&self) -> String {
        let b = self.0;
        format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }

    /// Lowercase without separators (`0004f2a1b2c3`), as REST `MACAddress` shows it.
    pub fn plain_lower(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

impl FromStr for Mac {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| MacParseError {
            input: s.to_string(),
            reason,
        };
        let digits: Vec<u8> = s
            .trim()
            .bytes()
            .filter(|b| !matches!(b, b':' | b'-' | b'.'))
            .collect();
        if digits.len() != 12 {
            return Err(err("it needs exactly 12 hex digits"));
        }
        let mut out = [0u8; 6];
        for (i, pair) in digits.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| err("it has a non-hex character"))?;
            out[i] = u8::from_str_radix(hex, 16).map_err(|_| err("it has a non-hex character"))?;
        }
        Ok(Mac(out))
    }
}

/// In JSON a MAC is always 12 uppercase hex digits (`0004F2A1B2C3`), whatever `--mac-format` shows on screen.
impl schemars::JsonSchema for Mac {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Mac".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9A-F]{12}$",
            "description": "A MAC address as 12 uppercase hex digits (0004F2A1B2C3)."
        })
    }
}

impl serde::Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every spelling a technician or a switch uses reads as the same address.
    #[test]
    fn spellings_agree() {
        let want = Mac([0x00, 0x04, 0xf2, 0xa1, 0xb2, 0xc3]);
        for s in [
            "0004F2A1B2C3",
            "0004f2a1b2c3",
            "00:04:f2:a1:b2:c3",
            "00-04-F2-A1-B2-C3",
            "0004.f2a1.b2c3",
        ] {
            assert_eq!(s.parse::<Mac>().unwrap(), want, "{s}");
        }
        assert_eq!(want.to_string(), "0004F2A1B2C3");
        assert_eq!(want.oui(), "0004F2");
        assert_eq!(want.colon_lower(), "00:04:f2:a1:b2:c3");
    }

    /// Wrong lengths and foreign characters are refused with the input named.
    #[test]
    fn every_format_parses_back() {
        let m: Mac = "0004F2A1B2C3".parse().unwrap();
        for (f, text) in [
            (MacFormat::Plain, "0004F2A1B2C3"),
            (MacFormat::Colon, "00:04:F2:A1:B2:C3"),
            (MacFormat::Dash, "00-04-F2-A1-B2-C3"),
            (MacFormat::Cisco, "0004.f2a1.b2c3"),
        ] {
            assert_eq!(m.format(f), text);
            assert_eq!(text.parse::<Mac>().unwrap(), m);
        }
        assert_eq!(shown(""), "");
    }

    #[test]
    fn refuses_garbage() {
        let e = "0004F2A1B2".parse::<Mac>().unwrap_err().to_string();
        assert!(
            e.contains("0004F2A1B2") && e.contains("12 hex digits"),
            "{e}"
        );
        assert!("0004F2A1B2ZZ".parse::<Mac>().is_err());
        assert!("0004F2A1B2Cé".parse::<Mac>().is_err());
    }

    proptest! {
        #[test]
        fn display_parses_back(bytes in any::<[u8; 6]>()) {
            let m = Mac(bytes);
            prop_assert_eq!(m.to_string().parse::<Mac>().unwrap(), m);
            prop_assert_eq!(m.colon_lower().parse::<Mac>().unwrap(), m);
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = s.parse::<Mac>();
        }
    }
}
