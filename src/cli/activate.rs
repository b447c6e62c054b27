//! `polyprov activate` (and `onboard --until active`): once the MACs are entered in the admin console, reboot a
//! finished run's Inactive phones and follow them to Active, then rewrite the run's reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::onboard::{finish, mode};
use crate::fleet::progress::{Mode, Progress};
use crate::journal::Journal;
use crate::profile::ProfileSet;

/// `polyprov activate`.
#[derive(Debug, Args)]
pub struct ActivateArgs {
    /// The run directory printed by `onboard`.
    #[arg(long)]
    pub run: PathBuf,
    /// Admin password file, if the run's was given some other way [env: POLYPROV_PASSWORD].
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    #[command(flatten)]
    pub entered: super::shared::MacsEntered,
    /// Newline-delimited JSON events instead of a display.
    #[arg(long)]
    pub json: bool,
}

/// Reboot a finished run's Inactive phones for activation and follow them to Active; rewrite its reports.
pub async fn activate(args: ActivateArgs) -> anyhow::Result<u8> {
    activate_run(
        &args.run,
        args.password_file.as_deref(),
        args.entered.macs_entered,
        mode(args.json),
    )
    .await
}

pub(super) async fn activate_run(
    dir: &Path,
    password_file: Option<&Path>,
    macs_entered: bool,
    mode: Mode,
) -> anyhow::Result<u8> {
    let (_, rec, done) = super::recorded::load_run(dir)?;
    let waiting: Vec<String> = done
        .iter()
        .filter(|(_, r)| crate::fleet::activation::awaits_activation(r))
        .map(|(t, r)| {
            let mac = r
                .mac
                .or(t.mac)
                .map_or("(MAC unknown)".to_string(), |m| m.to_string());
            if r.mac_activation_only {
                format!("{mac}  (activate by MAC only)")
            } else {
                mac
            }
        })
        .collect();
    if waiting.is_empty() {
        println!("No phone of this run is waiting for activation (none ended Inactive).");
        return finish(dir, &done, mode, &rec.server_checks);
    }
    super::shared::wait_for_macs(&waiting, macs_entered, matches!(mode, Mode::Json))?;
    let settings = Arc::new(rec.settings(password_file)?);
    let profiles = Arc::new(ProfileSet::bundled().context("loading device profiles")?);
    let journal = Arc::new(Journal::open(dir)?);
    if let Some(cut) = journal.repaired() {
        eprintln!("polyprov: {cut}");
    }
    journal.resumed()?;
    let progress = Arc::new(Progress::new(mode, waiting.len()));
    let stop = super::provision::stop_on_ctrl_c();
    let done = crate::fleet::activation::activate_all(
        done,
        settings,
        profiles,
        journal.clone(),
        progress.clone(),
        stop.clone(),
    )
    .await;
    progress.finish();
    if *stop.borrow() {
        journal.interrupted()?;
    }
    finish(dir, &done, mode, &rec.server_checks)
}
