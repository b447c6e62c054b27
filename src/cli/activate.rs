//! `polyprov activate` (and `onboard --until active`): once the MACs are entered in the admin console, reboot a
//! finished run's Inactive phones and follow them to Active, then rewrite the run's reports.

use std::path::PathBuf;

use clap::Args;

use super::ended::mode;

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
    super::shared::activate_run(
        &args.run,
        args.password_file.as_deref(),
        args.entered.macs_entered,
        mode(args.json),
    )
    .await
}
