//! `polyprov runs`: the onboarding runs kept in a state directory, oldest first — when, where, by whom, how they
//! ended — so a technician finds the one to `report`, `resume` or `activate`.

use std::path::PathBuf;

use clap::Args;

use crate::onboard;

/// `polyprov runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Where the runs are.
    #[arg(long, default_value = onboard::spec::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
}

pub fn run(args: RunsArgs) -> anyhow::Result<u8> {
    let listed = onboard::runs(&args.state_dir)?;
    if listed.is_empty() {
        println!("No run in {}.", args.state_dir.display());
    }
    for l in &listed {
        let dir = l.dir.display();
        match &l.read {
            Ok(r) => {
                let when = r.info.started.as_deref().unwrap_or("not started");
                let who = [r.info.site.as_deref(), r.info.operator.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ");
                let text = |s: &str| crate::text::for_terminal(s).into_owned();
                println!(
                    "{dir}\n    {when}{}  {}{}{}",
                    if who.is_empty() {
                        String::new()
                    } else {
                        format!("  ({})", text(&who))
                    },
                    text(&r.info.server_url),
                    if r.info.dry_run { "  dry run" } else { "" },
                    match r.pending {
                        0 => String::new(),
                        n => format!("  {n} still to do: polyprov resume --run {dir}"),
                    }
                );
                println!("    {}", r.summary.line());
            }
            Err(why) => println!("{dir}\n    unreadable: {why}"),
        }
    }
    Ok(0)
}
