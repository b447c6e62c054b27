//! The `polyprov` binary: parse the command line, run it, map the outcome to an exit code: 0 done, 1 failed,
//! 2 bad input (usage, configuration, files), 3 a phone needs a person, 4 the run is busy (another polyprov is
//! working on it: automation waits and tries again).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("POLYPROV_LOG")
        .unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = polyprov::cli::Cli::parse();
    match polyprov::cli::run(cli).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("polyprov: {e:#}");
            use polyprov::journal::JournalError;
            use polyprov::onboard::OnboardError;
            let busy = e.chain().any(|c| {
                matches!(c.downcast_ref(), Some(JournalError::Busy(_)))
                    || matches!(
                        c.downcast_ref(),
                        Some(OnboardError::Journal(JournalError::Busy(_)))
                    )
            });
            std::process::ExitCode::from(if busy { 4 } else { 2 })
        }
    }
}
