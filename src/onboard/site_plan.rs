//! A run that follows its site's plan (`onboard --plan sites/paris.csv`, or `plan = …` in the site file): the
//! site's slice of the company plan (`polyprov plan split`) says which phones belong to this LAN segment, with
//! their extension and user. Only those are onboarded; a phone found here that the plan does not list is reported
//! as skipped and never contacted by the run (unless the site allows unplanned phones), and a planned phone the run does not
//! find is named before the run starts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::OnboardError;
use crate::fleet::targets::Target;
use crate::mac::Mac;
use crate::phone::PlannedOnly;
use crate::sites::{self, PlanError};

/// The plan a run follows, as its spec records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SitePlan {
    /// The plan file, absolute.
    pub file: PathBuf,
    /// The site, as the plan's rows name it.
    pub site: String,
    pub phones: Vec<PlannedPhone>,
    /// Phones found here that the plan does not list are onboarded too.
    pub allow_unplanned: bool,
}

/// One phone the site's plan lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlannedPhone {
    pub mac: Mac,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Reads the plan a run follows. A site's own file (every row one site, or none) is taken whole; a plan of many
/// sites is narrowed to `site` (the site file's name), and refused when that names none of them. A site file with
/// no phone (the site's agent then onboards nothing unless unplanned phones are allowed) is named after its file.
pub fn read(
    path: &Path,
    site: Option<&str>,
    allow_unplanned: bool,
) -> Result<SitePlan, OnboardError> {
    let rows = match sites::load(path, None) {
        Ok(rows) => rows,
        Err(PlanError::Empty(_)) => Vec::new(),
        Err(e) => return Err(OnboardError::Invalid(e.to_string())),
    };
    let names: BTreeSet<&str> = rows.iter().map(|r| r.site.as_str()).collect();
    let chosen = match (names.len(), site) {
        (0, _) => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        (1, _) => names
            .iter()
            .next()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        (_, Some(s)) if names.contains(s) => s.to_string(),
        _ => {
            return Err(OnboardError::Invalid(format!(
                "plan {} lists phones for {} sites ({}){}. Fix: give this site's own file (polyprov plan split \
                 --plan {} --out sites/), or name the site in the site file (name = \"…\") as the plan does",
                path.display(),
                names.len(),
                names.iter().copied().collect::<Vec<_>>().join(", "),
                site.map_or(String::new(), |s| format!(", none of them {s:?}")),
                path.display()
            )));
        }
    };
    let phones = rows
        .into_iter()
        .filter(|r| r.site == chosen)
        .map(|r| PlannedPhone {
            mac: r.mac,
            extension: r.extension,
            user: r.user,
            model: r.model,
        })
        .collect();
    Ok(SitePlan {
        file: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        site: chosen,
        phones,
        allow_unplanned,
    })
}

impl SitePlan {
    fn planned(&self, mac: Mac) -> Option<&PlannedPhone> {
        self.phones.iter().find(|p| p.mac == mac)
    }

    /// Each target the plan lists takes its extension and user from the plan where the targets did not give them.
    pub fn fill(&self, targets: &mut [Target]) {
        for t in targets {
            let Some(p) = t.mac.and_then(|m| self.planned(m)) else {
                continue;
            };
            if t.extension.is_none() {
                t.extension = p.extension.clone();
            }
            if t.user.is_none() {
                t.user = p.user.clone();
            }
        }
    }

    /// What the run's allow-list holds for the plan: only its MACs, unless unplanned phones are allowed.
    pub fn allow(&self) -> Option<PlannedOnly> {
        (!self.allow_unplanned).then(|| PlannedOnly {
            site: self.site.clone(),
            macs: self.phones.iter().map(|p| p.mac).collect(),
        })
    }

    /// What a person should know before the run: planned phones not among the targets, and phones found here
    /// that the plan does not list (left alone, or onboarded because unplanned phones are allowed).
    pub fn warnings(&self, targets: &[Target]) -> Vec<String> {
        let known: BTreeSet<Mac> = targets.iter().filter_map(|t| t.mac).collect();
        let mut out = Vec::new();
        let missing: Vec<String> = self
            .phones
            .iter()
            .filter(|p| !known.contains(&p.mac))
            .map(|p| match &p.extension {
                Some(e) => format!("{} (extension {e})", p.mac),
                None => p.mac.to_string(),
            })
            .collect();
        if !missing.is_empty() {
            out.push(format!(
                "{} of site {}'s {} planned phone(s) not found here: {}. Check they are plugged in, powered and on \
                 this segment (or VLAN); the merged report lists them as planned, never seen",
                missing.len(),
                self.site,
                self.phones.len(),
                missing.join(", ")
            ));
        }
        let unplanned: Vec<String> = targets
            .iter()
            .filter_map(|t| t.mac)
            .filter(|m| self.planned(*m).is_none())
            .map(|m| m.to_string())
            .collect();
        if !unplanned.is_empty() {
            let what = if self.allow_unplanned {
                "onboarded too (unplanned phones are allowed)"
            } else {
                "left alone and reported as skipped (allow-unplanned onboards them)"
            };
            out.push(format!(
                "{} phone(s) found here that site {}'s plan does not list, {what}: {}",
                unplanned.len(),
                self.site,
                unplanned.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(mac: &str) -> Target {
        let mut t = Target::from_address_named("198.18.0.10", false, false).unwrap();
        t.mac = Some(mac.parse().unwrap());
        t
    }

    /// Removes its directory when dropped.
    struct Dir(PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn plan_file(text: &str, name: &str) -> (Dir, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("polyprov-site-plan-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        (Dir(dir), path)
    }

    #[test]
    fn a_site_file_is_taken_whole_and_fills_extension_and_user() {
        let (_d, path) = plan_file(
            "mac,site,extension,user\n64167F000101,paris,2417,Ada\n64167F000102,paris,,\n",
            "paris.csv",
        );
        let plan = read(&path, Some("Paris, 3rd floor"), false).unwrap();
        assert_eq!(plan.site, "paris");
        let mut targets = vec![target("64167F000101"), target("64167F000199")];
        plan.fill(&mut targets);
        assert_eq!(targets[0].extension.as_deref(), Some("2417"));
        assert_eq!(targets[0].user.as_deref(), Some("Ada"));
        assert_eq!(targets[1].extension, None);
        let allow = plan.allow().unwrap();
        assert_eq!(allow.macs.len(), 2);
        let warnings = plan.warnings(&targets);
        assert!(
            warnings[0]
                .starts_with("1 of site paris's 2 planned phone(s) not found here: 64167F000102"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("64167F000199") && warnings[1].contains("left alone"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_company_plan_is_narrowed_to_the_named_site_or_refused() {
        let text = "mac,site\n64167F000101,paris\n64167F000102,lyon\n";
        let (_d, path) = plan_file(text, "company.csv");
        let lyon = read(&path, Some("lyon"), false).unwrap();
        assert_eq!(lyon.phones.len(), 1);
        assert_eq!(lyon.phones[0].mac.to_string(), "64167F000102");
        let e = read(&path, Some("nice"), false).unwrap_err().to_string();
        assert!(
            e.contains("2 sites (lyon, paris), none of them \"nice\"") && e.contains("plan split"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_site_file_plans_nothing_and_allowing_unplanned_lifts_the_list() {
        let (_d, path) = plan_file("mac,site,extension,user,model\n", "nice.csv");
        let plan = read(&path, None, false).unwrap();
        assert_eq!((plan.site.as_str(), plan.phones.len()), ("nice", 0));
        assert!(plan.allow().is_some_and(|a| a.macs.is_empty()));
        let open = read(&path, None, true).unwrap();
        assert!(open.allow().is_none());
        assert!(open.warnings(&[target("64167F000101")])[0].contains("onboarded too"));
    }

    #[test]
    fn a_malformed_plan_names_its_line() {
        let (_d, path) = plan_file("mac,site\nnot-a-mac,paris\n", "paris.csv");
        let e = read(&path, None, false).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
