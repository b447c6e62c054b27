//! `polyprov known-phones`: the certificate fingerprints remembered per phone (trust on first use) — list them,
//! or forget a phone's after a factory reset so its new certificate is accepted.

use clap::{Args, Subcommand};

use crate::mac::Mac;
use crate::phone::known::KnownPhones;

/// `polyprov known-phones`.
#[derive(Debug, Args)]
pub struct KnownArgs {
    #[command(subcommand)]
    pub action: KnownAction,
}

#[derive(Debug, Subcommand)]
pub enum KnownAction {
    /// Show every remembered phone: MAC, certificate SHA-256, when it was first seen.
    List,
    /// Forget these phones' certificates (after a factory reset): the next one each presents is accepted.
    Forget {
        /// MACs (12 hex digits, any separators).
        #[arg(required = true)]
        macs: Vec<Mac>,
    },
}

pub fn run(args: KnownArgs) -> anyhow::Result<u8> {
    let Some(known) = KnownPhones::user() else {
        anyhow::bail!(
            "no polyprov state directory can be named. Fix: set POLYPROV_HOME (or HOME) to where polyprov keeps \
             what it remembers"
        );
    };
    match args.action {
        KnownAction::List => {
            let pins = known.list()?;
            if pins.is_empty() {
                println!("No phone is remembered yet ({}).", known.path().display());
            }
            for p in &pins {
                println!(
                    "{}  {}  first seen {}",
                    p.mac.shown(),
                    p.sha256,
                    p.first_seen_text()
                );
            }
        }
        KnownAction::Forget { macs } => {
            let gone = known.forget(&macs)?;
            for p in &gone {
                println!(
                    "Forgot {} (certificate SHA-256 {}): its next certificate is accepted and remembered.",
                    p.mac, p.sha256
                );
            }
            for m in macs.iter().filter(|m| !gone.iter().any(|p| p.mac == **m)) {
                println!("{m} was not remembered: nothing to forget.");
            }
        }
    }
    Ok(0)
}
