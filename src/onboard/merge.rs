//! Many sites' runs as one report (`report --merge`): each run directory read back from its journal (nothing in
//! it is rewritten), every phone once — by MAC, the newest result winning when a site was run again — under its
//! site (the company plan's, else the run's own site name, else its directory's name), the phones of the plan no
//! run reached, and the phones the runs found that the plan does not name.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use super::{OnboardError, load};
use crate::mac::Mac;
use crate::report::{self, Row};
use crate::sites::Planned;

/// One site's phones.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteReport {
    pub site: String,
    /// The run directories its phones came from.
    pub runs: Vec<PathBuf>,
    pub rows: Vec<Row>,
}

/// Every site's phones, once each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merged {
    /// By site name.
    pub sites: Vec<SiteReport>,
    /// Planned, but in no run.
    pub never_seen: Vec<Planned>,
    /// In a run, but not in the plan (only when a plan was given), with their site.
    pub unplanned: Vec<(String, String)>,
}

impl Merged {
    /// Every row, with its site.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &Row)> {
        self.sites
            .iter()
            .flat_map(|s| s.rows.iter().map(move |r| (s.site.as_str(), r)))
    }
}

/// One run's phones with the run's directory and site name.
pub struct RunRows {
    pub dir: PathBuf,
    pub site: Option<String>,
    pub rows: Vec<Row>,
}

/// Reads each run directory (its journal) and merges them (see [`merge_rows`]).
pub fn merge(dirs: &[PathBuf], plan: Option<&[Planned]>) -> Result<Merged, OnboardError> {
    let mut runs = Vec::new();
    for dir in dirs {
        let run = load(dir)?;
        let mut rows: Vec<Row> = run.done.iter().map(|(t, r)| Row::new(t, r)).collect();
        // A phone the run never finished (it was killed, or is still going) is in the report as interrupted, not
        // missing: its site's run did reach it.
        let finished: HashSet<&str> = run.done.iter().map(|(t, _)| t.key.as_str()).collect();
        for t in run
            .spec
            .targets
            .iter()
            .filter(|t| !finished.contains(t.key.as_str()))
        {
            rows.push(Row::new(
                t,
                &crate::phone::Report::interrupted(&t.base, false),
            ));
        }
        runs.push(RunRows {
            dir: dir.clone(),
            // A run that followed its site's plan is filed under the plan's site name, as the company plan has it.
            site: run
                .spec
                .plan
                .as_ref()
                .map(|p| p.site.clone())
                .or(run.spec.site.clone()),
            rows,
        });
    }
    merge_rows(runs, plan)
}

/// Merges runs' rows: a phone's site is the plan's, else its run's site name, else the run directory's name; a
/// MAC in several runs keeps its newest result (latest finish, then the later run given); extension and user come
/// from the plan where the run had none.
pub fn merge_rows(runs: Vec<RunRows>, plan: Option<&[Planned]>) -> Result<Merged, OnboardError> {
    let planned: HashMap<Mac, &Planned> = plan
        .unwrap_or_default()
        .iter()
        .map(|p| (p.mac, p))
        .collect();
    // Key: the MAC, or the site and target for a phone that never showed its MAC.
    let mut best: BTreeMap<String, (String, Row, usize, PathBuf)> = BTreeMap::new();
    for (order, run) in runs.into_iter().enumerate() {
        for mut row in run.rows {
            let mac: Option<Mac> = row.mac.parse().ok();
            let from_plan = mac.and_then(|m| planned.get(&m));
            let site = match (from_plan, &run.site) {
                (Some(p), _) => p.site.clone(),
                (None, Some(site)) => site.clone(),
                (None, None) => run.dir.file_name().map_or_else(
                    || run.dir.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
            };
            if let Some(p) = from_plan {
                if row.extension.is_empty() {
                    row.extension = p.extension.clone().unwrap_or_default();
                }
                if row.user.is_empty() {
                    row.user = p.user.clone().unwrap_or_default();
                }
            }
            let key = match mac {
                Some(m) => m.to_string(),
                None => format!("{site}\u{0}{}", row.target),
            };
            let newer = best.get(&key).is_none_or(|(_, old, old_order, _)| {
                (row.finished.as_str(), order) >= (old.finished.as_str(), *old_order)
            });
            if newer {
                best.insert(key, (site, row, order, run.dir.clone()));
            }
        }
    }
    let mut by_site: BTreeMap<String, SiteReport> = BTreeMap::new();
    let mut seen: HashSet<Mac> = HashSet::new();
    let mut unplanned = Vec::new();
    for (site, row, _, dir) in best.into_values() {
        if let Ok(mac) = row.mac.parse::<Mac>() {
            seen.insert(mac);
            if plan.is_some() && !planned.contains_key(&mac) {
                unplanned.push((site.clone(), row.mac.clone()));
            }
        }
        let entry = by_site.entry(site.clone()).or_insert_with(|| SiteReport {
            site,
            runs: Vec::new(),
            rows: Vec::new(),
        });
        if !entry.runs.contains(&dir) {
            entry.runs.push(dir);
        }
        entry.rows.push(row);
    }
    let never_seen = plan
        .unwrap_or_default()
        .iter()
        .filter(|p| !seen.contains(&p.mac))
        .cloned()
        .collect();
    Ok(Merged {
        sites: by_site.into_values().collect(),
        never_seen,
        unplanned,
    })
}

/// The merged summary line of all sites.
pub fn summary(merged: &Merged) -> report::Summary {
    let rows: Vec<Row> = merged.rows().map(|(_, r)| r.clone()).collect();
    report::summary(&rows)
}

#[cfg(test)]
mod tests;
