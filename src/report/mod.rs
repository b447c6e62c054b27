//! A run's report: a table on screen and files on disk — `report.json`, `report.csv`, `report.html` (the run as
//! one self-contained page to open or print: `html`, `timeline`), and what the administrator
//! needs next: `macs.txt` (one MAC per line) and `activation.csv` (MAC with extension and user, flagged where a
//! phone can only be activated by MAC or runs firmware below the service's minimum).

mod html;
pub mod merged;
mod timeline;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fleet::targets::Target;
use crate::phone::Report;

/// One phone's result: a line of `report.csv`, an entry of `report.json`'s `phones`, and the `result` of a `--json`
/// stream's `result` line — the same keys and values in all three (see `docs/output.md`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Row {
    /// 12 uppercase hex digits, or empty when the phone never showed it.
    #[schemars(regex(pattern = r"^([0-9A-F]{12})?$"))]
    pub mac: String,
    /// The address polyprov was given or discovered (`https://198.18.0.15/`).
    pub target: String,
    /// Where the phone was last seen (differs from the target's host when it moved).
    pub ip: String,
    /// Where its web UI is: the IP with the port when that is not the scheme's default (`198.18.0.15:8080`).
    pub address: String,
    pub model: String,
    pub profile: String,
    /// The profile's family (`VVX`, `CCX`, `SoundPoint IP`).
    pub family: String,
    pub firmware_before: String,
    pub firmware_after: String,
    pub server_before: String,
    pub server_after: String,
    /// How it ended, in the words of the table: one of [`STATES`].
    #[schemars(extend("enum" = STATES))]
    pub state: String,
    pub reboots: u32,
    pub duration_secs: u64,
    pub error: String,
    pub fix: String,
    pub mac_activation_only: bool,
    pub below_min_firmware: bool,
    /// polyprov changed the admin password (the phone forced it).
    pub password_changed: bool,
    pub extension: String,
    pub user: String,
    /// What the phone showed that the state rests on.
    pub evidence: String,
    /// What was worth a warning on the way (`; `-separated).
    pub warnings: String,
    /// SHA-256 of the certificate the phone presented (what `known-phones` holds it to).
    pub certificate_sha256: String,
    /// When polyprov started on this phone and when it finished, UTC (RFC 3339).
    pub started: String,
    pub finished: String,
}

/// Every `state` a phone's result can have: the table's words, used unchanged in the files and JSON.
pub const STATES: &[&str] = &[
    "Inactive",
    "Active",
    "already provisioned",
    "dry run",
    "needs attention",
    "unsupported",
    "unconfirmed",
    "server-unreachable",
    "server-refused",
    "config-missing",
    "config-invalid",
    "server-reverted",
    "update-failed",
    "still-inactive",
    "failed",
    "interrupted",
    "skipped",
];

/// Unix seconds as an RFC 3339 UTC time, to the second (`2026-12-02T10:04:11Z`).
pub fn utc(secs: f64) -> String {
    let since = std::time::Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or_default();
    let (y, mo, d, h, mi, s, _) = crate::clock::civil(std::time::UNIX_EPOCH + since);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// What the report says of the run itself: an admin reading it later knows when, where, by whom and to which
/// server.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct RunInfo {
    pub polyprov_version: String,
    /// When these files were written.
    pub generated: String,
    /// The first phone's start and the last phone's finish.
    pub started: Option<String>,
    pub finished: Option<String>,
    pub site: Option<String>,
    pub operator: Option<String>,
    pub server_type: String,
    pub server_url: String,
    pub dry_run: bool,
}

impl RunInfo {
    /// The run described by its spec and its phones' reports.
    pub fn new(spec: &crate::onboard::RunSpec, reports: &[&Report]) -> RunInfo {
        let now = crate::clock::unix_now();
        let started = reports.iter().filter_map(|r| r.started_at).reduce(f64::min);
        let finished = reports
            .iter()
            .filter_map(|r| r.finished_at)
            .reduce(f64::max);
        RunInfo {
            polyprov_version: env!("CARGO_PKG_VERSION").to_string(),
            generated: utc(now),
            started: started.map(utc),
            finished: finished.map(utc),
            site: spec.site.clone(),
            operator: spec.operator.clone(),
            server_type: spec.server_type.clone(),
            server_url: spec.server_url.clone(),
            dry_run: spec.dry_run,
        }
    }
}

impl Row {
    pub fn new(target: &Target, r: &Report) -> Row {
        let error = r.outcome.reason().unwrap_or_default().to_string();
        let fix = r.outcome.fix().unwrap_or_default().to_string();
        let server = |c: &Option<crate::phone::provisioning::Current>| {
            c.as_ref().map_or(String::new(), |c| {
                format!("{} {}", c.server_type, c.url).trim().to_string()
            })
        };
        Row {
            mac: r
                .mac
                .or(target.mac)
                .map_or(String::new(), |m| m.to_string()),
            target: r.target.clone(),
            ip: r.address.clone(),
            address: match target.base.port() {
                Some(port) if r.address.parse::<std::net::Ipv6Addr>().is_ok() => {
                    format!("[{}]:{port}", r.address)
                }
                Some(port) => format!("{}:{port}", r.address),
                None => r.address.clone(),
            },
            model: r.model.clone().unwrap_or_default(),
            profile: r.profile.clone().unwrap_or_default(),
            family: r.family.clone().unwrap_or_default(),
            firmware_before: r.firmware_before.clone().unwrap_or_default(),
            firmware_after: r.firmware_after.clone().unwrap_or_default(),
            server_before: server(&r.server_before),
            server_after: server(&r.server_after),
            state: r.outcome.label().to_string(),
            reboots: r.reboots,
            duration_secs: r.elapsed_secs.round() as u64,
            error,
            fix,
            mac_activation_only: r.mac_activation_only,
            below_min_firmware: r.below_min_firmware,
            password_changed: r.password_changed,
            extension: target.extension.clone().unwrap_or_default(),
            user: target.user.clone().unwrap_or_default(),
            evidence: r.evidence.join("; "),
            warnings: r.warnings.join("; "),
            certificate_sha256: r.certificate_sha256.clone().unwrap_or_default(),
            started: r.started_at.map(utc).unwrap_or_default(),
            finished: r.finished_at.map(utc).unwrap_or_default(),
        }
    }

    /// The row as spreadsheet cells: no cell a device filled is read as a formula, none shows a control character.
    fn for_spreadsheet(&self) -> Row {
        let c = |s: &String| crate::text::for_spreadsheet(s).into_owned();
        Row {
            mac: c(&crate::mac::shown(&self.mac)),
            target: c(&self.target),
            ip: c(&self.ip),
            address: c(&self.address),
            model: c(&self.model),
            profile: c(&self.profile),
            family: c(&self.family),
            firmware_before: c(&self.firmware_before),
            firmware_after: c(&self.firmware_after),
            server_before: c(&self.server_before),
            server_after: c(&self.server_after),
            state: c(&self.state),
            error: c(&self.error),
            fix: c(&self.fix),
            extension: c(&self.extension),
            user: c(&self.user),
            evidence: c(&self.evidence),
            warnings: c(&self.warnings),
            certificate_sha256: c(&self.certificate_sha256),
            ..self.clone()
        }
    }

    /// Ready for activation in the admin console.
    pub fn ready(&self) -> bool {
        matches!(self.state.as_str(), "Inactive" | "already provisioned") && !self.mac.is_empty()
    }
}

/// Counts per final state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    pub phones: usize,
    pub inactive: usize,
    pub active: usize,
    pub already_provisioned: usize,
    pub needs_attention: usize,
    pub unsupported: usize,
    /// No evidence either way: a person must look at the phone.
    pub unconfirmed: usize,
    /// Failed, including the named provisioning-server failures.
    pub failed: usize,
    /// Logged in, read and planned, nothing changed.
    pub dry_run: usize,
    /// The run stopped before this phone finished (`polyprov resume` continues).
    pub interrupted: usize,
    /// Left alone (allow-list, already claimed under another address).
    pub skipped: usize,
    /// Any state this list does not name (none today).
    pub other: usize,
}

impl Summary {
    /// `2 Inactive, 1 already provisioned, 1 needs attention, …` — Inactive always, the rest when present.
    pub fn parts(&self) -> Vec<String> {
        let mut parts = vec![format!("{} Inactive", self.inactive)];
        let n = |count: usize, one: &str, many: &str| match count {
            0 => None,
            1 => Some(format!("1 {one}")),
            c => Some(format!("{c} {many}")),
        };
        parts.extend(
            [
                n(self.active, "Active", "Active"),
                n(
                    self.already_provisioned,
                    "already provisioned",
                    "already provisioned",
                ),
                n(self.needs_attention, "needs attention", "need attention"),
                n(self.unsupported, "unsupported", "unsupported"),
                n(self.unconfirmed, "unconfirmed", "unconfirmed"),
                n(self.failed, "failed", "failed"),
                n(self.dry_run, "dry run", "dry runs"),
                n(self.interrupted, "interrupted", "interrupted"),
                n(self.skipped, "skipped", "skipped"),
                n(self.other, "in another state", "in other states"),
            ]
            .into_iter()
            .flatten(),
        );
        parts
    }

    /// `8 phones: 2 Inactive, 1 already provisioned, 1 needs attention, …`.
    pub fn line(&self) -> String {
        format!(
            "{} {}: {}",
            self.phones,
            if self.phones == 1 { "phone" } else { "phones" },
            self.parts().join(", ")
        )
    }

    /// Count one more phone that ended in `state` (one of [`STATES`]).
    pub fn count(&mut self, state: &str) {
        self.phones += 1;
        match state {
            "Inactive" => self.inactive += 1,
            "Active" => self.active += 1,
            "already provisioned" => self.already_provisioned += 1,
            "needs attention" => self.needs_attention += 1,
            "unsupported" => self.unsupported += 1,
            "unconfirmed" => self.unconfirmed += 1,
            "failed" | "server-unreachable" | "server-refused" | "config-missing"
            | "config-invalid" | "server-reverted" | "update-failed" | "still-inactive" => {
                self.failed += 1
            }
            "dry run" => self.dry_run += 1,
            "interrupted" => self.interrupted += 1,
            "skipped" => self.skipped += 1,
            _ => self.other += 1,
        }
    }
}

pub fn summary(rows: &[Row]) -> Summary {
    let mut s = Summary::default();
    for r in rows {
        s.count(&r.state);
    }
    s
}

/// Characters of "what to do" a table row shows before the rest goes to a note below the table.
const TODO_WIDTH: usize = 60;

/// `s` cut to at most `max` characters at a word boundary, with an ellipsis.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let at_word = cut.rfind(' ').filter(|&i| i > max / 2).unwrap_or(cut.len());
    format!(
        "{}…",
        cut[..at_word].trim_end_matches([' ', ',', ';', ':', '.'])
    )
}

/// The table shown at the end of a run.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let header = [
        "MAC",
        "address",
        "model",
        "firmware",
        "state",
        "reboots",
        "what to do",
    ];
    // Long advice would wrap through the table: the cell gets its start and a note number, the notes below the
    // table the whole of it (the report files always have it all).
    // One note per distinct advice: phones with the same problem share its number.
    let mut notes: Vec<(Vec<String>, String)> = Vec::new();
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let fw = if r.firmware_before != r.firmware_after && !r.firmware_after.is_empty() {
                format!("{} → {}", r.firmware_before, r.firmware_after)
            } else {
                r.firmware_before.clone()
            };
            let todo = if !r.fix.is_empty() {
                r.fix.clone()
            } else if !r.error.is_empty() {
                r.error.clone()
            } else if r.state == "Active" {
                "in service".into()
            } else if r.mac_activation_only {
                "activate by MAC in the admin console".into()
            } else if r.ready() {
                "activate in the admin console (by code or by MAC)".into()
            } else {
                String::new()
            };
            let todo = if todo.chars().count() > TODO_WIDTH {
                let who = [crate::mac::shown(&r.mac), r.address.clone()]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or_default();
                let full = match (r.error.is_empty(), r.fix.is_empty()) {
                    (false, false) => format!("{}. Fix: {}", r.error, r.fix),
                    _ => todo.clone(),
                };
                let n = match notes.iter().position(|(_, f)| *f == full) {
                    Some(i) => {
                        notes[i].0.push(who);
                        i + 1
                    }
                    None => {
                        notes.push((vec![who], full));
                        notes.len()
                    }
                };
                format!("{} [{n}]", shorten(&todo, TODO_WIDTH - 6))
            } else {
                todo
            };
            // What devices said is shown, never obeyed: no control character reaches the terminal.
            [
                crate::mac::shown(&r.mac),
                r.address.clone(),
                r.model.clone(),
                fw,
                r.state.clone(),
                r.reboots.to_string(),
                todo,
            ]
            .map(|c| crate::text::for_terminal(&c).into_owned())
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain(std::iter::once(header[i].len()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..6).map(width).collect();
    let line = |c: &[String]| {
        let mut l = String::new();
        for (i, w) in widths.iter().enumerate() {
            l.push_str(&format!("{:<w$}  ", c[i], w = w));
        }
        l.push_str(&c[6]);
        l.trim_end().to_string()
    };
    out.push_str(&line(&header.map(String::from)));
    out.push('\n');
    for c in &cells {
        out.push_str(&line(c));
        out.push('\n');
    }
    if !notes.is_empty() {
        out.push('\n');
    }
    for (i, (who, full)) in notes.iter().enumerate() {
        let note = format!("[{}] {}: {full}", i + 1, who.join(", "));
        out.push_str(&crate::text::for_terminal(&note));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&summary(rows).line());
    out.push('\n');
    out
}

/// The report as CSV.
pub fn csv(rows: &[Row]) -> Result<String, ReportError> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r.for_spreadsheet())
            .map_err(|e| ReportError::Csv(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// MACs ready for activation, one per line.
pub fn mac_list(rows: &[Row]) -> String {
    rows.iter()
        .filter(|r| r.ready())
        .map(|r| format!("{}\n", crate::mac::shown(&r.mac)))
        .collect()
}

/// Activation CSV: MAC, extension, user, model, and the flags the administrator must see.
pub fn activation_csv(rows: &[Row]) -> Result<String, ReportError> {
    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct Activation<'a> {
        mac: &'a str,
        extension: &'a str,
        user: &'a str,
        model: &'a str,
        activate_by_mac_only: bool,
        firmware_below_minimum: bool,
    }
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for r in rows.iter().filter(|r| r.ready()).map(Row::for_spreadsheet) {
        w.serialize(Activation {
            mac: &r.mac,
            extension: &r.extension,
            user: &r.user,
            model: &r.model,
            activate_by_mac_only: r.mac_activation_only,
            firmware_below_minimum: r.below_min_firmware,
        })
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Why report files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CSV: {0}")]
    Csv(String),
}

/// Write every report file into the run directory; returns their paths. `checks`: what the provisioning-server
/// check found (or that it was skipped), per distinct URL.
pub fn write_files(
    dir: &Path,
    run: &RunInfo,
    rows: &[Row],
    checks: &[crate::server_check::Checked],
) -> Result<Vec<PathBuf>, ReportError> {
    let json = serde_json::to_string_pretty(&crate::output::ReportFile::new(run, rows, checks))
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    let files = [
        ("report.json", json + "\n"),
        ("report.csv", csv(rows)?),
        ("macs.txt", mac_list(rows)),
        ("activation.csv", activation_csv(rows)?),
        ("report.html", html::page(dir, run, rows, checks)),
    ];
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    /// RFC 3339 UTC, checked against known instants (the epoch, a leap day, the end of a year).
    #[test]
    fn utc_times() {
        assert_eq!(super::utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(1_798_761_599.9), "2026-12-31T23:59:59Z");
        assert_eq!(super::utc(1_764_669_600.0), "2025-12-02T10:00:00Z");
    }
}
