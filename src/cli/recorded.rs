//! What an onboarding run records about its settings: the command line layered over the site file (flags > file >
//! defaults), with secrets by source only, so `resume`, `report` and `activate` continue it exactly; and the check
//! of its provisioning servers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::onboard::OnboardArgs;
use crate::clock::Clock;
use crate::config::{MAX_CONCURRENCY, Site, layer};
use crate::fleet::Settings;
use crate::fleet::targets::{self, Target};
use crate::mac::Mac;
use crate::phone::provisioning::Wanted;
use crate::phone::session::Patience;
use crate::phone::{Allow, Timing};
use crate::profile::ProfileSet;
use crate::secret::{self, Secret};

/// What a run records about its settings (secrets by source only), so `resume` can continue it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Recorded {
    pub server_type: String,
    pub server_url: String,
    pub server_user: Option<String>,
    pub server_password_file: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    pub allow_factory_password: bool,
    pub new_password_file: Option<PathBuf>,
    pub concurrency: usize,
    pub allow: Allow,
    pub dry_run: bool,
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
    pub targets: Vec<Target>,
}

fn default_search_rate() -> u32 {
    20
}

fn read_one(path: &Option<PathBuf>) -> anyhow::Result<Option<Secret>> {
    Ok(match path {
        Some(p) => Some(secret::from_file(p)?.remove(0)),
        None => None,
    })
}

impl Recorded {
    /// Settings for the fleet, reading secrets from their sources.
    pub fn settings(&self, password_file: Option<&Path>) -> anyhow::Result<Settings> {
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
            attempts: crate::phone::attempts::Attempts::user().map(std::sync::Arc::new),
        })
    }
}

fn read_macs(path: &Path) -> anyhow::Result<Vec<Mac>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading MAC allow-list {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            l.trim()
                .parse::<Mac>()
                .with_context(|| format!("MAC allow-list {}, line {}", path.display(), i + 1))
        })
        .collect()
}

/// Layer the command line over the site file into what the run records.
pub fn recorded(
    args: &OnboardArgs,
    profiles: &ProfileSet,
    discovered: Option<Vec<Target>>,
) -> anyhow::Result<Recorded> {
    let site = match &args.site {
        Some(p) => Site::load(p)?,
        None => Site::default(),
    };
    let Some(server_url) = args.server.server_url.clone().or(site.server_url.clone()) else {
        bail!("no provisioning server: give --server-url or server-url in the site file");
    };
    crate::server_check::refuse_password_in_url(&server_url).map_err(anyhow::Error::msg)?;
    let targets = match (&args.targets, discovered) {
        (_, Some(found)) => found,
        (Some(p), None) => targets::load(p, args.watch.http)?,
        (None, None) => bail!(
            "no phones to onboard: give --targets FILE, or --interface IF --cidr RANGE to discover them"
        ),
    };
    let allow_mac_file = args.allow_mac_file.clone().or(site.allow_mac_file.clone());
    let mut ouis = if args.allow_ouis.is_empty() {
        site.allow_ouis.clone()
    } else {
        args.allow_ouis.clone()
    };
    if ouis.is_empty() {
        ouis = profiles
            .iter()
            .flat_map(|p| p.recognise.ouis.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    let ouis = ouis
        .iter()
        .map(|o| o.replace([':', '-'], "").to_ascii_uppercase())
        .collect();
    if let Some(r) = &args.watch.cidr {
        super::provision::check_range(r)?;
    }
    args.watch.check()?;
    let concurrency = layer(args.concurrency, site.concurrency, 16);
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        bail!("--concurrency {concurrency}: use 1 to {MAX_CONCURRENCY}");
    }
    // Paths are recorded absolute, so `resume` works from any directory.
    let absolute = |p: Option<PathBuf>| p.map(|p| std::path::absolute(&p).unwrap_or(p));
    Ok(Recorded {
        server_type: layer(
            args.server.server_type.clone(),
            site.server_type.clone(),
            "https".into(),
        ),
        server_url,
        server_user: args.server.server_user.clone().or(site.server_user.clone()),
        server_password_file: absolute(
            args.server
                .server_password_file
                .clone()
                .or(site.server_password_file.clone()),
        ),
        password_file: absolute(
            args.passwords
                .password_file
                .clone()
                .or(site.password_file.clone()),
        ),
        allow_factory_password: args.passwords.allow_factory_password
            || site.allow_factory_password.unwrap_or(false),
        new_password_file: absolute(
            args.passwords
                .new_password_file
                .clone()
                .or(site.new_password_file.clone()),
        ),
        concurrency,
        allow: Allow {
            macs: match &allow_mac_file {
                Some(p) => read_macs(p)?,
                None => Vec::new(),
            },
            ouis,
            models: if args.allow_models.is_empty() {
                site.allow_models.clone()
            } else {
                args.allow_models.clone()
            },
        },
        dry_run: args.watch.dry_run,
        cidr: args.watch.cidr,
        return_secs: args.watch.return_secs.or(site.timeouts.return_secs),
        settle_secs: args.watch.settle_secs.or(site.timeouts.settle_secs),
        timeout_secs: args.watch.timeout_secs.or(site.timeouts.timeout_secs),
        patience_secs: layer(args.watch.patience_secs, site.timeouts.patience_secs, 600),
        time_scale: args.watch.time_scale,
        search_rate: args.watch.search_rate,
        resolve: {
            let mut pins = site.resolve.clone();
            pins.extend(args.server.resolve.iter().cloned());
            pins
        },
        server_ca: absolute(args.server.server_ca.clone().or(site.server_ca.clone())),
        skip_server_check: args.server.skip_server_check || site.skip_server_check.unwrap_or(false),
        server_checks: Vec::new(),
        targets,
    })
}

impl Recorded {
    /// Every distinct provisioning server address of the run (the run's and the targets' own).
    pub fn server_urls(&self) -> Vec<String> {
        let mut urls = vec![self.server_url.clone()];
        for t in &self.targets {
            if let Some(u) = &t.server_url {
                if !urls.contains(u) {
                    urls.push(u.clone());
                }
            }
        }
        urls
    }

    /// Check every server from here (or record the skip); the results go into the run's record.
    pub async fn check_servers(&mut self, settings: &Settings, json: bool) -> anyhow::Result<()> {
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
            password: settings.wanted.password.clone(),
            timeout: std::time::Duration::from_secs(10),
        };
        self.server_checks = super::shared::check_servers(
            &self.server_urls(),
            &self.server_type.to_ascii_uppercase(),
            &spec,
            self.skip_server_check,
            json,
        )
        .await;
        Ok(())
    }
}

/// A run's journal with its recorded settings, and every phone that has a final report (in target order).
pub fn load_run(
    dir: &Path,
) -> anyhow::Result<(crate::journal::Run, Recorded, Vec<crate::fleet::Done>)> {
    let run = crate::journal::Run::load(dir)?;
    let rec: Recorded = serde_json::from_value(run.settings.clone()).with_context(|| {
        format!(
            "the journal in {} does not record its settings",
            dir.display()
        )
    })?;
    let done = rec
        .targets
        .iter()
        .filter_map(|t| {
            let r = run.phones.get(&t.key)?.report.clone()?;
            serde_json::from_value::<crate::phone::Report>(r)
                .ok()
                .map(|r| (t.clone(), r))
        })
        .collect();
    Ok((run, rec, done))
}
