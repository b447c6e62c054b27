//! The `polyprov` binary: parse the command line, run it, map the outcome to an exit code: 0 done, 1 failed,
//! 2 bad input (usage, configuration, files), 3 a phone needs a person.

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
            std::process::ExitCode::from(2)
        }
    }
}
