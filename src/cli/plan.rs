//! `polyprov plan split`: a company's plan of every phone (one CSV) into one plan file per site, for the agent on
//! each site's LAN segment (the Ansible role in `examples/ansible/` passes its inventory's site names).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::sites;

/// `polyprov plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: PlanCommand,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Split a company plan (columns mac, site, extension, user, model; any order, header required) into one file
    /// per site.
    Split(SplitArgs),
}

/// `polyprov plan split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The company plan: a CSV whose header names the columns.
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    /// The sites that exist (comma-separated, e.g. the inventory's): a phone planned for another is an error, and
    /// each gets a file even when nothing is planned there.
    #[arg(long, value_delimiter = ',', value_name = "SITE,…")]
    pub sites: Option<Vec<String>>,
    /// Where to write `<site>.csv`.
    #[arg(long, value_name = "DIR", default_value = "sites")]
    pub out: PathBuf,
}

pub fn run(args: PlanArgs) -> anyhow::Result<u8> {
    match args.command {
        PlanCommand::Split(a) => split(a),
    }
}

fn split(args: SplitArgs) -> anyhow::Result<u8> {
    let given: Option<Vec<String>> = args
        .sites
        .map(|s| s.into_iter().map(|n| n.trim().to_string()).collect());
    if let Some(given) = &given {
        for s in given {
            sites::check_site(s).map_err(|p| anyhow::anyhow!("--sites: {p}"))?;
        }
    }
    let plan = sites::load(&args.plan, given.as_deref())?;
    let by_site = sites::split(&plan, given.as_deref());
    let written = sites::write_split(&args.out, &by_site)?;
    for (site, path, n) in &written {
        println!(
            "{site}: {n} {} → {}",
            if *n == 1 { "phone" } else { "phones" },
            path.display()
        );
    }
    println!(
        "{} phones planned across {} sites, from {}.",
        plan.len(),
        written.len(),
        args.plan.display()
    );
    Ok(0)
}
