//! The company plan for a multi-site rollout: one CSV of every phone (MAC, site, extension, user, model; any order,
//! header required), read into typed rows with every mistake named by file and line, and split into one plan file
//! per site for the agent that runs on that site's LAN segment (see `examples/ansible/`). A site file is the same
//! CSV restricted to one site, so whatever reads one reads the other.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::mac::Mac;

/// The columns a company plan may have; `mac` and `site` are required.
pub const COLUMNS: [&str; 5] = ["mac", "site", "extension", "user", "model"];

/// Longest site name: it names a file and an Ansible host.
const SITE_MAX: usize = 64;

/// One planned phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub mac: Mac,
    pub site: String,
    pub extension: Option<String>,
    pub user: Option<String>,
    pub model: Option<String>,
    /// Its line in the plan file (1 = the header).
    pub line: usize,
}

/// A plan that cannot be used, naming the file, the line and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read the plan {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plan {path}: {problem}")]
    Header { path: PathBuf, problem: String },
    #[error("plan {path}, line {line}: {problem}")]
    Row {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("plan {0} lists no phone")]
    Empty(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Whether a site name is safe as a file name and an inventory host: letters, digits, `.`, `_`, `-`, not starting
/// with `.` or `-`, at most 64 characters.
pub fn check_site(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() {
        return Err("the site is empty: every phone needs its site".into());
    }
    if !ok_chars || name.starts_with(['.', '-']) || name.len() > SITE_MAX {
        return Err(format!(
            "site {:?} is not a usable name: letters, digits, '.', '_' and '-' only, not starting with '.' or '-', \
             at most {SITE_MAX} characters (it names the site's file and its Ansible host)",
            crate::text::for_terminal(name)
        ));
    }
    Ok(())
}

/// Reads a company plan. `sites`: the sites that exist (the Ansible inventory's); a row for another site is an
/// error naming it, so a typo never leaves phones unplanned.
pub fn parse(path: &Path, text: &str, sites: Option<&[String]>) -> Result<Vec<Planned>, PlanError> {
    let header_error = |problem: String| PlanError::Header {
        path: path.to_path_buf(),
        problem,
    };
    let row_error = |line: usize, problem: String| PlanError::Row {
        path: path.to_path_buf(),
        line,
        problem,
    };
    // Comment lines (`# the Paris office`), before the header too, are skipped.
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| header_error(format!("the header cannot be read: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        let name = match h.as_str() {
            "ext" => "extension",
            other => other,
        };
        let Some(known) = COLUMNS.iter().find(|c| **c == name) else {
            return Err(header_error(format!(
                "the header names a column {:?} this plan does not have: the columns are {} (any order; mac and \
                 site are required)",
                crate::text::for_terminal(h),
                COLUMNS.join(", ")
            )));
        };
        if at.insert(known, i).is_some() {
            return Err(header_error(format!("the header names {known} twice")));
        }
    }
    for required in ["mac", "site"] {
        if !at.contains_key(required) {
            return Err(header_error(format!(
                "the header ({}) has no {required} column: the first line must name the columns, e.g. \
                 mac,site,extension,user,model",
                header.join(",")
            )));
        }
    }
    let mut out = Vec::new();
    let mut seen: HashMap<Mac, usize> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(text, p.byte()));
            row_error(line, format!("not a CSV row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| line_at(text, p.byte()));
        // Blank rows are skipped.
        if record.iter().all(str::is_empty) {
            continue;
        }
        if record.len() != header.len() {
            return Err(row_error(
                line,
                format!(
                    "{} cells where the header names {} columns ({})",
                    record.len(),
                    header.len(),
                    header.join(",")
                ),
            ));
        }
        let cell = |name: &str| {
            at.get(name)
                .and_then(|i| record.get(*i))
                .filter(|c| !c.is_empty())
                .map(String::from)
        };
        let mac_text = cell("mac").ok_or_else(|| row_error(line, "the mac is empty".into()))?;
        let mac: Mac = mac_text
            .parse()
            .map_err(|e: crate::mac::MacParseError| row_error(line, e.to_string()))?;
        let site = cell("site").unwrap_or_default();
        check_site(&site).map_err(|p| row_error(line, p))?;
        if let Some(known) = sites {
            if !known.contains(&site) {
                return Err(row_error(
                    line,
                    format!(
                        "phone {mac} is planned for site {site:?}, which is not one of the sites given ({}). Fix: \
                         correct the site, or add it to the inventory",
                        known.join(", ")
                    ),
                ));
            }
        }
        if let Some(first) = seen.insert(mac, line) {
            return Err(row_error(
                line,
                format!("MAC {mac} is planned twice (first on line {first}): one phone, one row"),
            ));
        }
        out.push(Planned {
            mac,
            site,
            extension: cell("extension"),
            user: cell("user"),
            model: cell("model"),
            line,
        });
    }
    if out.is_empty() {
        return Err(PlanError::Empty(path.to_path_buf()));
    }
    Ok(out)
}

/// The line (from 1) of the record the CSV reader says starts at byte `at` of `text`: its count skips blank and
/// comment lines, and its position is where those before the record begin.
fn line_at(text: &str, at: u64) -> usize {
    let bytes = text.as_bytes();
    let mut at = usize::try_from(at).unwrap_or(usize::MAX).min(text.len());
    loop {
        match bytes.get(at) {
            Some(b'\n' | b'\r') => at += 1,
            Some(b'#') => {
                at = bytes[at..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |n| at + n);
            }
            _ => break,
        }
    }
    bytes
        .get(..at)
        .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
        + 1
}

/// Reads a company plan file (see [`parse`]).
pub fn load(path: &Path, sites: Option<&[String]>) -> Result<Vec<Planned>, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, sites)
}

/// The plan by site, in plan order within each. With `sites`, every one of them is present, empty when nothing is
/// planned there (its agent then onboards nothing unless the site allows unplanned phones).
pub fn split(plan: &[Planned], sites: Option<&[String]>) -> BTreeMap<String, Vec<Planned>> {
    let mut out: BTreeMap<String, Vec<Planned>> = BTreeMap::new();
    for s in sites.unwrap_or_default() {
        out.entry(s.clone()).or_default();
    }
    for p in plan {
        out.entry(p.site.clone()).or_default().push(p.clone());
    }
    out
}

/// One site's plan as CSV: `mac,site,extension,user,model`, MACs as 12 uppercase hex digits.
pub fn site_csv(phones: &[Planned]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    for p in phones {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let _ = w.write_record([
            p.mac.to_string(),
            p.site.clone(),
            opt(&p.extension),
            opt(&p.user),
            opt(&p.model),
        ]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Writes `DIR/<site>.csv` for every site, each written whole or not at all (a temporary file renamed into
/// place); returns each site with its file and phone count.
pub fn write_split(
    dir: &Path,
    by_site: &BTreeMap<String, Vec<Planned>>,
) -> Result<Vec<(String, PathBuf, usize)>, PlanError> {
    let write_error = |path: &Path, source| PlanError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    let mut out = Vec::new();
    for (site, phones) in by_site {
        let path = dir.join(format!("{site}.csv"));
        let tmp = dir.join(format!(".{site}.csv.tmp"));
        std::fs::write(&tmp, site_csv(phones)).map_err(|e| write_error(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| write_error(&path, e))?;
        out.push((site.clone(), path, phones.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
