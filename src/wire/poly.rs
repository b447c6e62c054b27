//! What Poly phones say about themselves in the strings LLDP, CDP and DHCP carry: the `;`-separated system
//! description (`Polycom;VVX-VVX_411;3111-48450-001,1;SIP/6.4.7.4560/…;UP/…;`), model tokens (`VVX_411`,
//! `SPIP_650`) and `<kind>/<version>/<date>` build strings (`discovery.md` §1.2). Pure string reading; never panics.

/// One `<kind>/<version>/<date>` build string from a Poly description or vendor class: `SIP/6.4.7.4560/05-Dec-24
/// 00:58` (the application), `UP/6.4.7.3828/…` (the updater), `BR/3.1.0.XXXX/…` (the BootROM).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Build {
    /// `SIP`, `UP`, `BR`, …
    pub kind: String,
    pub version: String,
    pub date: Option<String>,
}

impl Build {
    /// Reads a build string; `None` unless it has a kind and a version.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.trim().splitn(3, '/').map(str::trim);
        let kind = parts.next().filter(|k| !k.is_empty())?;
        let version = parts.next().filter(|v| !v.is_empty())?;
        let date = parts.next().filter(|d| !d.is_empty());
        Some(Build {
            kind: kind.to_string(),
            version: version.to_string(),
            date: date.map(String::from),
        })
    }
}

/// A model name from a Poly part token: the part after the first `-`, `_` read as a space, SoundPoint's `SPIP`
/// spelled out. `VVX-VVX_411` → `VVX 411`, `SoundPointIP-SPIP_650` → `SoundPoint IP 650`.
pub fn poly_model_name(part: &str) -> String {
    let part = part.trim();
    let token = part.split_once('-').map_or(part, |(_, model)| model);
    let spaced = token.replace('_', " ");
    let spaced = spaced.trim();
    match spaced.strip_prefix("SPIP ") {
        Some(number) => format!("SoundPoint IP {}", number.trim_start()),
        None => spaced.to_string(),
    }
}

/// What a Poly phone's system description says, read per `discovery.md` §1.2: fields split on `;`, the first
/// `Polycom` or `Poly`, then the model token, part number with hardware revision, application build, and updater
/// (or BootROM) build.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolyDescription {
    /// `Polycom` (still, on UCS 6.4.7) or `Poly`.
    pub manufacturer: String,
    /// The model token's family, before its first `-`: `VVX`, `SoundPointIP`.
    pub family: Option<String>,
    /// `VVX 411`, `SoundPoint IP 650`.
    pub model: String,
    /// `3111-48450-001`.
    pub part_number: Option<String>,
    /// After the part number's comma: `1`.
    pub hardware_revision: Option<String>,
    /// `SIP/6.4.7.4560/05-Dec-24 00:58`.
    pub application: Option<Build>,
    /// `UP/6.4.7.3828/05-Dec-24 01:22` (VVX) or `BR/…` (SoundPoint).
    pub boot: Option<Build>,
}

impl PolyDescription {
    /// `None` unless the description is a Poly one with a model token.
    pub fn parse(description: &str) -> Option<Self> {
        let mut fields = description.split(';').map(str::trim);
        let manufacturer = fields.next().filter(|m| matches!(*m, "Polycom" | "Poly"))?;
        let token = fields.next().filter(|t| !t.is_empty())?;
        let model = Some(poly_model_name(token)).filter(|m| !m.is_empty())?;
        let family = token
            .split_once('-')
            .map(|(family, _)| family.trim().to_string());
        let part = fields.next().filter(|p| !p.is_empty());
        let (part_number, hardware_revision) = match part.map(|p| p.split_once(',')) {
            Some(Some((number, revision))) => (Some(number.trim()), Some(revision.trim())),
            Some(None) => (part, None),
            None => (None, None),
        };
        Some(PolyDescription {
            manufacturer: manufacturer.to_string(),
            family,
            model,
            part_number: part_number.filter(|p| !p.is_empty()).map(String::from),
            hardware_revision: hardware_revision
                .filter(|r| !r.is_empty())
                .map(String::from),
            application: fields.next().and_then(Build::parse),
            boot: fields.next().and_then(Build::parse),
        })
    }

    /// The application firmware version: `6.4.7.4560`.
    pub fn firmware(&self) -> Option<&str> {
        self.application.as_ref().map(|b| b.version.as_str())
    }
}
