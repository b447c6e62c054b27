//! `polyprov activate` (and `onboard --until active`): once the MACs are entered in the admin console, reboot a
//! finished run's Inactive phones and follow them to Active, then rewrite the run's reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::ended::{self, mode};
use crate::fleet::progress::Mode;
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

/// Ask for the MACs to be entered (unless confirmed), then activate the run in `dir`.
pub(super) async fn activate_run(
    dir: &Path,
    password_file: Option<&Path>,
    macs_entered: bool,
    mode: Mode,
) -> anyhow::Result<u8> {
    let run = crate::onboard::load(dir)?;
    let waiting = run.awaiting_activation();
    if waiting.is_empty() {
        println!("No phone of this run is waiting for activation (none ended Inactive).");
    } else {
        super::shared::wait_for_macs(&waiting, macs_entered, matches!(mode, Mode::Json))?;
    }
    let profiles = Arc::new(ProfileSet::bundled().context("loading device profiles")?);
    let (repaired, end) = crate::onboard::activate(
        run,
        password_file,
        profiles,
        mode,
        super::shared::stop_on_ctrl_c(),
    )
    .await?;
    ended::repaired(repaired);
    Ok(ended::print(&end, mode))
}
