//! The report of many sites' runs at once (`report --merge`): one CSV with each phone's site, one activation CSV
//! and MAC list for the admin console's bulk entry, and one page with a section per site, the planned phones no
//! run reached, and the phones found that the plan does not name.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::html::{self, esc};
use super::{ReportError, Row};

/// One site's phones, as the merged files show them.
#[derive(Debug, Clone, Copy)]
pub struct SiteRows<'a> {
    pub site: &'a str,
    pub rows: &'a [Row],
}

/// A planned phone no run reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct NeverSeen {
    pub mac: String,
    pub site: String,
    pub extension: String,
    pub user: String,
    pub model: String,
}

/// A phone a run reached that the plan does not name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Unplanned {
    pub mac: String,
    pub site: String,
}

fn csv_of<T: Serialize>(records: impl Iterator<Item = T>) -> Result<String, ReportError> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for r in records {
        w.serialize(r)
            .map_err(|e| ReportError::Csv(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Csv(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Every phone with its site: what each one ended as and what to do about it.
pub fn csv(sites: &[SiteRows<'_>]) -> Result<String, ReportError> {
    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct Line {
        site: String,
        mac: String,
        state: String,
        model: String,
        address: String,
        extension: String,
        user: String,
        firmware_after: String,
        error: String,
        fix: String,
        finished: String,
    }
    let cell = |s: &str| crate::text::for_spreadsheet(s).into_owned();
    csv_of(sites.iter().flat_map(|s| {
        s.rows.iter().map(move |raw| {
            let r = raw.for_spreadsheet();
            Line {
                site: cell(s.site),
                mac: r.mac,
                state: r.state,
                model: r.model,
                address: r.address,
                extension: r.extension,
                user: r.user,
                firmware_after: r.firmware_after,
                error: r.error,
                fix: r.fix,
                finished: r.finished,
            }
        })
    }))
}

/// The admin console's bulk entry: every phone ready for activation, once, with its extension, user and site.
pub fn activation_csv(sites: &[SiteRows<'_>]) -> Result<String, ReportError> {
    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct Activation {
        mac: String,
        extension: String,
        user: String,
        site: String,
        model: String,
        activate_by_mac_only: bool,
        firmware_below_minimum: bool,
    }
    csv_of(sites.iter().flat_map(|s| {
        s.rows.iter().filter(|r| r.ready()).map(move |raw| {
            let r = raw.for_spreadsheet();
            Activation {
                mac: r.mac,
                extension: r.extension,
                user: r.user,
                site: crate::text::for_spreadsheet(s.site).into_owned(),
                model: r.model,
                activate_by_mac_only: r.mac_activation_only,
                firmware_below_minimum: r.below_min_firmware,
            }
        })
    }))
}

/// MACs ready for activation, one per line, every site.
pub fn mac_list(sites: &[SiteRows<'_>]) -> String {
    sites.iter().map(|s| super::mac_list(s.rows)).collect()
}

/// The page: all sites' summary, then a section per site (its summary, what to do, its phones), then the
/// planned phones no run reached and the unplanned ones.
pub fn page(
    sites: &[SiteRows<'_>],
    never_seen: &[NeverSeen],
    unplanned: &[Unplanned],
    generated: &str,
) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let title = format!(
        "Phone onboarding report — {} site{}",
        sites.len(),
        if sites.len() == 1 { "" } else { "s" }
    );
    let all: Vec<Row> = sites.iter().flat_map(|s| s.rows.iter().cloned()).collect();
    let mut s = String::with_capacity(32_768);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"polyprov {version}\">\n<title>{}</title>\n<style>{}</style>\n</head>\n\
         <body>\n<header>\n<h1>{}</h1>\n<dl class=\"meta\">\n<div><dt>Sites</dt><dd>{}</dd></div>\n\
         <div><dt>Report written</dt><dd>{}</dd></div>\n</dl>\n</header>\n",
        esc(&title),
        html::CSS,
        esc(&title),
        esc(&sites.iter().map(|s| s.site).collect::<Vec<_>>().join(", ")),
        esc(generated)
    );
    s.push_str(&html::summary(&all));
    for site in sites {
        let _ = writeln!(
            s,
            "<section class=\"site\" id=\"site-{}\">\n<h1>{}</h1>",
            esc(site.site),
            esc(site.site)
        );
        s.push_str(&html::summary(site.rows));
        s.push_str(&html::todo(site.rows));
        s.push_str(&html::table(site.rows));
        s.push_str("</section>\n");
    }
    if !never_seen.is_empty() {
        s.push_str(
            "<section class=\"never-seen\">\n<h2>Planned, but reached by no run</h2>\n<p>Find these phones on \
             their site (powered, cabled, on the segment the agent listens to), then run that site again.</p>\n<ul>\n",
        );
        for p in never_seen {
            let _ = writeln!(
                s,
                "<li><code>{}</code> — {}{}{}</li>",
                esc(&crate::mac::shown(&p.mac)),
                esc(&p.site),
                if p.extension.is_empty() {
                    String::new()
                } else {
                    format!(", extension {}", esc(&p.extension))
                },
                if p.user.is_empty() {
                    String::new()
                } else {
                    format!(", {}", esc(&p.user))
                }
            );
        }
        s.push_str("</ul>\n</section>\n");
    }
    if !unplanned.is_empty() {
        s.push_str("<section class=\"unplanned\">\n<h2>Found, but not in the plan</h2>\n<ul>\n");
        for u in unplanned {
            let _ = writeln!(
                s,
                "<li><code>{}</code> — {}</li>",
                esc(&crate::mac::shown(&u.mac)),
                esc(&u.site)
            );
        }
        s.push_str("</ul>\n</section>\n");
    }
    let _ = writeln!(
        s,
        "<footer>Written by polyprov {version} at {}. Everything a phone reported is shown as it said it.</footer>\n\
         </body>\n</html>",
        esc(generated)
    );
    s
}

/// Writes the merged files into `dir`: `report.json` (given, already serialised), `report.csv`, `report.html`,
/// `macs.txt`, `activation.csv`.
pub fn write_files(
    dir: &Path,
    json: String,
    sites: &[SiteRows<'_>],
    never_seen: &[NeverSeen],
    unplanned: &[Unplanned],
    generated: &str,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let files = [
        ("report.json", json),
        ("report.csv", csv(sites)?),
        ("macs.txt", mac_list(sites)),
        ("activation.csv", activation_csv(sites)?),
        ("report.html", page(sites, never_seen, unplanned, generated)),
    ];
    // Each file whole or not at all: written beside, then renamed into place.
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
        paths.push(path);
    }
    Ok(paths)
}
