//! The run spec: what one onboarding run was asked to do, layered once (flags > site file > defaults), validated
//! once, recorded in the journal's first line with every path absolute and secrets by source only, so `resume`,
//! `report` and `activate` continue the run exactly — from any directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::OnboardError;
use crate::clock::Clock;
use crate::config::{self, Site, layer};
use crate::fleet::Settings;
use crate::fleet::targets::{self, Target};
use crate::mac::Mac;
use crate::phone::provisioning::Wanted;
use crate::phone::session::Patience;
use crate::phone::{Allow, Timing};
use crate::profile::ProfileSet;
use crate::secret::{self, Secret};

/// Phones worked on at once unless told otherwise: gentle on a switch and on the phones' web servers.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Addresses per second probed when looking for a moved phone, unless told otherwise.
pub const DEFAULT_SEARCH_RATE: u32 = 20;
/// How long to wait for a locked web UI or someone else's session, unless told otherwise (seconds).
pub const DEFAULT_PATIENCE_SECS: u64 = 600;
/// Where run directories go unless told otherwise (relative to the working directory, made absolute).
pub const DEFAULT_STATE_DIR: &str = "polyprov-runs";

/// What the user asked for on the command line (every field optional: unset falls back to the site file, then
/// to the default). The command-line layer fills it in; nothing here has been checked yet.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub site: Option<PathBuf>,
    /// Who runs it, for the reports (default: `$USER`).
    pub operator: Option<String>,
    pub targets: Option<PathBuf>,
    /// Phones named one by one on the command line (`--target`, repeatable), beside or instead of the file.
    pub target_addresses: Vec<String>,
    /// Talk plain HTTP to the targets.
    pub http: bool,
    /// Targets may be host names (resolving them sends DNS queries on the customer's network).
    pub host_names: bool,
    pub server_type: Option<String>,
    pub server_url: Option<String>,
    pub server_user: Option<String>,
    pub server_password_file: Option<PathBuf>,
    pub resolve: Vec<crate::resolve::Pin>,
    pub server_ca: Option<PathBuf>,
    pub skip_server_check: bool,
    pub password_file: Option<PathBuf>,
    pub allow_factory_password: bool,
    pub new_password_file: Option<PathBuf>,
    pub concurrency: Option<usize>,
    pub allow_mac_file: Option<PathBuf>,
    pub allow_models: Vec<String>,
    pub allow_ouis: Vec<String>,
    pub state_dir: Option<PathBuf>,
    pub dry_run: bool,
    pub force: bool,
    pub cidr: Option<IpNet>,
    pub search_rate: Option<u32>,
    pub return_secs: Option<f64>,
    pub settle_secs: Option<f64>,
    pub timeout_secs: Option<f64>,
    pub patience_secs: Option<u64>,
    pub time_scale: Option<f64>,
    /// The site's plan (`--plan`): only its phones are onboarded.
    pub plan: Option<PathBuf>,
    /// Phones found that the plan does not list are onboarded too.
    pub allow_unplanned: bool,
}

/// What a run records about itself (secrets by source only), so it can be continued.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RunSpec {
    pub server_type: String,
    pub server_url: String,
    pub server_user: Option<String>,
    pub server_password_file: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    pub allow_factory_password: bool,
    pub new_password_file: Option<PathBuf>,
    pub concurrency: usize,
    pub allow: Allow,
    /// The site, for the reports: the site file's `name`, else its file name.
    #[serde(default)]
    pub site: Option<String>,
    /// Who ran it, for the reports.
    #[serde(default)]
    pub operator: Option<String>,
    pub dry_run: bool,
    /// Repoint phones whose provisioning server is already set to another one.
    #[serde(default)]
    pub force: bool,
    pub cidr: Option<IpNet>,
    pub return_secs: Option<f64>,
    pub settle_secs: Option<f64>,
    pub timeout_secs: Option<f64>,
    pub patience_secs: u64,
    pub time_scale: f64,
    /// Addresses per second probed when looking for a moved phone in `cidr`.
    #[serde(default = "default_search_rate")]
    pub search_rate: u32,
    /// Names pinned for the server check (`--resolve`).
    #[serde(default)]
    pub resolve: Vec<crate::resolve::Pin>,
    /// CA file trusted for the server check, absolute.
    #[serde(default)]
    pub server_ca: Option<PathBuf>,
    #[serde(default)]
    pub skip_server_check: bool,
    /// What the provisioning-server check found, per distinct URL.
    #[serde(default)]
    pub server_checks: Vec<crate::server_check::Checked>,
    /// The site's plan the run follows (`--plan`), when it follows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<super::site_plan::SitePlan>,
    pub targets: Vec<Target>,
}

fn default_search_rate() -> u32 {
    DEFAULT_SEARCH_RATE
}

/// The values a run is watched with, each refused with its label and the allowed range: the time scale, the
/// waits, the search rate. `onboard` and `provision` check their flags with it; a spec read back is checked too.
pub fn check_watch(
    time_scale: f64,
    waits: [(&str, Option<f64>); 4],
    search_rate: u32,
) -> Result<(), String> {
    crate::clock::check_scale(time_scale)?;
    config::check_waits(waits)?;
    if !(1..=10_000).contains(&search_rate) {
        return Err(format!(
            "--search-rate {search_rate}: use 1 to 10000 addresses per second"
        ));
    }
    Ok(())
}

/// The watch flags `provision` and `onboard` share, as given, each refused by its flag name: the search range, the
/// time scale, the waits and the search rate.
pub fn check_watch_flags(
    cidr: Option<&IpNet>,
    time_scale: f64,
    return_secs: Option<f64>,
    settle_secs: Option<f64>,
    timeout_secs: Option<f64>,
    patience_secs: Option<u64>,
    search_rate: u32,
) -> Result<(), String> {
    if let Some(r) = cidr {
        crate::phone::locate::check_search_range(r)?;
    }
    check_watch(
        time_scale,
        [
            ("--return-secs", return_secs),
            ("--settle-secs", settle_secs),
            ("--timeout-secs", timeout_secs),
            ("--patience-secs", patience_secs.map(|p| p as f64)),
        ],
        search_rate,
    )
}

fn read_macs(path: &Path) -> Result<Vec<Mac>, OnboardError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        OnboardError::Invalid(format!(
            "cannot read MAC allow-list {}: {e}",
            path.display()
        ))
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            l.trim().parse::<Mac>().map_err(|e| {
                OnboardError::Invalid(format!(
                    "MAC allow-list {}, line {}: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// A path as recorded: absolute (against the working directory now), so the run continues from anywhere.
fn absolute(p: Option<PathBuf>) -> Option<PathBuf> {
    p.map(|p| std::path::absolute(&p).unwrap_or(p))
}

fn read_one(path: &Option<PathBuf>) -> Result<Option<Secret>, OnboardError> {
    Ok(match path {
        Some(p) => secret::from_file(p)?.into_iter().next(),
        None => None,
    })
}

/// The site file a request names, read once (or an empty one).
pub fn site(asked: &Asked) -> Result<Site, OnboardError> {
    Ok(match &asked.site {
        Some(p) => Site::load(p)?,
        None => Site::default(),
    })
}

/// Where this request's run directories go: flag, then site file, then [`DEFAULT_STATE_DIR`]; absolute.
pub fn state_dir(asked: &Asked, site: &Site) -> PathBuf {
    let dir = asked
        .state_dir
        .clone()
        .or(site.state_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    std::path::absolute(&dir).unwrap_or(dir)
}

impl Asked {
    /// The flags a run cannot use, each refused by its flag name before anything is layered (the site file's keys
    /// are checked by name when it is read).
    pub fn check(&self) -> Result<(), OnboardError> {
        if let Some(c) = self.concurrency {
            config::check_concurrency("--concurrency", c).map_err(OnboardError::Invalid)?;
        }
        check_watch_flags(
            self.cidr.as_ref(),
            self.time_scale.unwrap_or(1.0),
            self.return_secs,
            self.settle_secs,
            self.timeout_secs,
            self.patience_secs,
            self.search_rate.unwrap_or(DEFAULT_SEARCH_RATE),
        )
        .map_err(OnboardError::Invalid)
    }
}

impl RunSpec {
    /// Layer the request over the site file into the spec, with its targets (from discovery when `discovered`,
    /// else the targets file), and check it.
    pub fn layer(
        asked: &Asked,
        site: &Site,
        profiles: &ProfileSet,
        discovered: Option<Vec<Target>>,
    ) -> Result<RunSpec, OnboardError> {
        asked.check()?;
        let Some(server_url) = asked.server_url.clone().or(site.server_url.clone()) else {
            return Err(OnboardError::Invalid(
                "no provisioning server: give --server-url or server-url in the site file".into(),
            ));
        };
        let targets = match (&asked.targets, discovered) {
            (_, Some(found)) => found,
            (file, None) => {
                let mut listed = match file {
                    Some(p) => targets::load(p, asked.http, asked.host_names)?,
                    None => Vec::new(),
                };
                for text in &asked.target_addresses {
                    let t = Target::from_address_named(text, asked.http, asked.host_names)
                        .map_err(|e| OnboardError::Invalid(format!("--target {e}")))?;
                    if !listed.iter().any(|l| l.key == t.key) {
                        listed.push(t);
                    }
                }
                if listed.is_empty() {
                    return Err(OnboardError::Invalid(
                        "no phones to onboard: give --target ADDRESS (repeatable), --targets FILE, or --interface IF --cidr RANGE to discover them"
                            .into(),
                    ));
                }
                listed
            }
        };
        let mut ouis = if asked.allow_ouis.is_empty() {
            site.allow_ouis.clone()
        } else {
            asked.allow_ouis.clone()
        };
        if ouis.is_empty() {
            ouis = profiles
                .iter()
                .flat_map(|p| p.recognise.ouis.iter().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
        }
        let allow_mac_file = asked.allow_mac_file.clone().or(site.allow_mac_file.clone());
        let site_name = site.name.clone().or_else(|| {
            asked
                .site
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
        });
        let plan = match asked.plan.as_ref().or(site.plan.as_ref()) {
            Some(path) => Some(super::site_plan::read(
                path,
                site_name.as_deref(),
                asked.allow_unplanned || site.allow_unplanned.unwrap_or(false),
            )?),
            None => None,
        };
        let mut targets = targets;
        if let Some(p) = &plan {
            p.fill(&mut targets);
        }
        let spec = RunSpec {
            server_type: layer(
                asked.server_type.clone(),
                site.server_type.clone(),
                "https".into(),
            ),
            server_url,
            server_user: asked.server_user.clone().or(site.server_user.clone()),
            server_password_file: absolute(
                asked
                    .server_password_file
                    .clone()
                    .or(site.server_password_file.clone()),
            ),
            password_file: absolute(asked.password_file.clone().or(site.password_file.clone())),
            allow_factory_password: asked.allow_factory_password
                || site.allow_factory_password.unwrap_or(false),
            new_password_file: absolute(
                asked
                    .new_password_file
                    .clone()
                    .or(site.new_password_file.clone()),
            ),
            concurrency: layer(asked.concurrency, site.concurrency, DEFAULT_CONCURRENCY),
            allow: Allow {
                macs: match &allow_mac_file {
                    Some(p) => read_macs(p)?,
                    None => Vec::new(),
                },
                ouis: ouis
                    .iter()
                    .map(|o| o.replace([':', '-'], "").to_ascii_uppercase())
                    .collect(),
                models: if asked.allow_models.is_empty() {
                    site.allow_models.clone()
                } else {
                    asked.allow_models.clone()
                },
                plan: plan.as_ref().and_then(|p| p.allow()),
            },
            site: site_name.or_else(|| plan.as_ref().map(|p| p.site.clone())),
            operator: asked
                .operator
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .filter(|o| !o.trim().is_empty()),
            dry_run: asked.dry_run,
            force: asked.force,
            cidr: asked.cidr,
            return_secs: asked.return_secs.or(site.timeouts.return_secs),
            settle_secs: asked.settle_secs.or(site.timeouts.settle_secs),
            timeout_secs: asked.timeout_secs.or(site.timeouts.timeout_secs),
            patience_secs: layer(
                asked.patience_secs,
                site.timeouts.patience_secs,
                DEFAULT_PATIENCE_SECS,
            ),
            time_scale: asked.time_scale.unwrap_or(1.0),
            search_rate: asked.search_rate.unwrap_or(DEFAULT_SEARCH_RATE),
            resolve: site.resolve.iter().chain(&asked.resolve).cloned().collect(),
            server_ca: absolute(asked.server_ca.clone().or(site.server_ca.clone())),
            skip_server_check: asked.skip_server_check || site.skip_server_check.unwrap_or(false),
            server_checks: Vec::new(),
            plan,
            targets,
        };
        spec.check()?;
        Ok(spec)
    }

    /// Everything a run cannot use, refused with the setting and the allowed range: checked when the spec is
    /// made and again when one is read back from a journal (which a person may have edited).
    pub fn check(&self) -> Result<(), OnboardError> {
        let bad = OnboardError::Invalid;
        if !config::SERVER_TYPES.contains(&self.server_type.to_ascii_lowercase().as_str()) {
            return Err(bad(format!(
                "server type {:?}: the phones offer {}",
                self.server_type,
                config::SERVER_TYPES.join(", ")
            )));
        }
        crate::server_check::check_server_url(&self.server_url, &self.server_type).map_err(bad)?;
        for t in &self.targets {
            if let Some(u) = &t.server_url {
                crate::server_check::check_server_url(u, &self.server_type)
                    .map_err(|e| bad(format!("{}: {e}", t.key)))?;
            }
        }
        config::check_concurrency("concurrency", self.concurrency).map_err(bad)?;
        if let Some(r) = &self.cidr {
            crate::phone::locate::check_search_range(r).map_err(bad)?;
        }
        check_watch(
            self.time_scale,
            [
                ("return-secs", self.return_secs),
                ("settle-secs", self.settle_secs),
                ("timeout-secs", self.timeout_secs),
                ("patience-secs", Some(self.patience_secs as f64)),
            ],
            self.search_rate,
        )
        .map_err(bad)?;
        if self.targets.is_empty() {
            return Err(bad("the run lists no phone".into()));
        }
        Ok(())
    }

    /// What the user should know before phones are touched, though nothing stops the run: a server address whose
    /// scheme disagrees with the server type, phones on public addresses.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = std::iter::once(&self.server_url)
            .chain(self.targets.iter().filter_map(|t| t.server_url.as_ref()))
            .filter_map(|u| {
                crate::server_check::check_server_url(u, &self.server_type)
                    .ok()
                    .flatten()
            })
            .collect();
        out.dedup();
        if let Some(plan) = &self.plan {
            out.extend(plan.warnings(&self.targets));
        }
        let public: Vec<&str> = self
            .targets
            .iter()
            .filter(|t| targets::is_public(&t.base))
            .map(|t| t.key.as_str())
            .collect();
        if !public.is_empty() {
            out.push(format!(
                "{} target(s) on a public address ({}): desk phones live on the LAN; check the targets",
                public.len(),
                public.join(", ")
            ));
        }
        out
    }

    /// The targets a look before the run may contact: not those whose MAC, known beforehand, the allow-lists or
    /// the site's plan leave alone (the run reports them as skipped without contacting them either).
    pub fn to_contact(&self) -> Vec<Target> {
        self.targets
            .iter()
            .filter(|t| t.mac.and_then(|m| self.allow.refuse_mac(Some(m))).is_none())
            .cloned()
            .collect()
    }

    /// Settings for the fleet, reading secrets from their sources (`password_file` when given instead of the
    /// run's own).
    pub fn settings(&self, password_file: Option<&Path>) -> Result<Settings, OnboardError> {
        let passwords = secret::candidates(
            password_file.or(self.password_file.as_deref()),
            "POLYPROV_PASSWORD",
            Some("Phones' admin password: "),
        )?;
        Ok(Settings {
            wanted: Wanted {
                server_type: self.server_type.to_ascii_uppercase(),
                url: self.server_url.clone(),
                user: self.server_user.clone(),
                password: read_one(&self.server_password_file)?,
            },
            passwords,
            allow_factory: self.allow_factory_password,
            new_password: read_one(&self.new_password_file)?,
            dry_run: self.dry_run,
            force: self.force,
            concurrency: self.concurrency,
            clock: Clock::new(self.time_scale),
            timing: Timing {
                return_secs: self.return_secs,
                settle_secs: self.settle_secs,
                timeout_secs: self.timeout_secs,
                poll_secs: None,
            },
            patience: Patience {
                locked_secs: self.patience_secs,
                busy_secs: self.patience_secs,
            },
            allow: self.allow.clone(),
            search_range: self.cidr,
            search_rate: self.search_rate,
            heard: None,
            // Searching a range makes the kernel send ARP for every address: paced like the sweep.
            port: self
                .cidr
                .map(|_| std::sync::Arc::new(crate::discover::budget::PortBudget::polite())),
            attempts: crate::phone::attempts::Attempts::user().map(std::sync::Arc::new),
            known: crate::phone::known::KnownPhones::user().map(std::sync::Arc::new),
        })
    }

    /// Every distinct provisioning server address of the run (the run's and the targets' own).
    pub fn server_urls(&self) -> Vec<String> {
        let mut urls = vec![self.server_url.clone()];
        for t in &self.targets {
            if let Some(u) = &t.server_url
                && !urls.contains(u)
            {
                urls.push(u.clone());
            }
        }
        urls
    }

    /// Check every server from here (or record the skip), telling `each` as each is done; the results go into
    /// the spec.
    pub async fn check_servers(
        &mut self,
        server_password: Option<Secret>,
        each: impl Fn(&crate::server_check::Checked),
    ) -> Result<(), OnboardError> {
        let cas = match &self.server_ca {
            Some(p) => crate::server_check::read_cas(p)?,
            None => Vec::new(),
        };
        let spec = crate::server_check::Spec {
            url: String::new(),
            server_type: self.server_type.to_ascii_uppercase(),
            pins: self.resolve.clone(),
            cas,
            user: self.server_user.clone(),
            password: server_password,
            timeout: std::time::Duration::from_secs(10),
        };
        self.server_checks = crate::server_check::check_all(
            &self.server_urls(),
            &spec,
            self.skip_server_check,
            each,
        )
        .await;
        Ok(())
    }
}
