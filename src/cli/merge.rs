//! `polyprov report --merge RUN_DIR…`: many sites' runs as one report — printed (`--format`), or written as files
//! (`--out DIR`) — with the company plan's phones no run reached (`--plan`).

use crate::onboard::merge::{self, Merged};
use crate::output::{MergedFile, MergedSite, SCHEMA_VERSION};
use crate::report::merged::{self as files, NeverSeen, SiteRows, Unplanned};
use crate::report::{self, utc};

use super::onboard::ReportArgs;

pub fn run(args: &ReportArgs) -> anyhow::Result<u8> {
    let plan = match &args.plan {
        Some(path) => Some(crate::sites::load(path, None)?),
        None => None,
    };
    let merged = merge::merge(&args.merge, plan.as_deref())?;
    let sites: Vec<SiteRows<'_>> = merged
        .sites
        .iter()
        .map(|s| SiteRows {
            site: &s.site,
            rows: &s.rows,
        })
        .collect();
    let never_seen: Vec<NeverSeen> = merged
        .never_seen
        .iter()
        .map(|p| NeverSeen {
            mac: p.mac.to_string(),
            site: p.site.clone(),
            extension: p.extension.clone().unwrap_or_default(),
            user: p.user.clone().unwrap_or_default(),
            model: p.model.clone().unwrap_or_default(),
        })
        .collect();
    let unplanned: Vec<Unplanned> = merged
        .unplanned
        .iter()
        .map(|(site, mac)| Unplanned {
            mac: mac.clone(),
            site: site.clone(),
        })
        .collect();
    let generated = utc(crate::clock::unix_now());
    let json =
        serde_json::to_string_pretty(&document(&merged, &never_seen, &unplanned, &generated))?;
    if let Some(out) = &args.out {
        let written = files::write_files(
            out,
            json + "\n",
            &sites,
            &never_seen,
            &unplanned,
            &generated,
        )?;
        for s in &merged.sites {
            println!("{}: {}", s.site, report::summary(&s.rows).line());
        }
        say_missing(&never_seen, &unplanned);
        println!(
            "All sites: {}. Written: {}.",
            merge::summary(&merged).line(),
            written
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(0);
    }
    for (i, format) in args.format.iter().enumerate() {
        if i > 0 {
            println!();
        }
        match format.as_str() {
            "json" => println!("{json}"),
            "csv" => print!("{}", files::csv(&sites)?),
            "macs" => print!("{}", files::mac_list(&sites)),
            "activation" => print!("{}", files::activation_csv(&sites)?),
            _ => {
                for s in &sites {
                    println!("== {} ==", crate::text::for_terminal(s.site));
                    print!("{}", report::table(s.rows));
                    println!();
                }
                say_missing(&never_seen, &unplanned);
                println!("All sites: {}.", merge::summary(&merged).line());
            }
        }
    }
    Ok(0)
}

/// The planned phones no run reached, and the phones found that the plan does not name.
fn say_missing(never_seen: &[NeverSeen], unplanned: &[Unplanned]) {
    let text = |s: &str| crate::text::for_terminal(s).into_owned();
    if !never_seen.is_empty() {
        println!(
            "Planned, but reached by no run ({}): find them on their site, then run it again:",
            never_seen.len()
        );
        for p in never_seen {
            println!("  {}  {}", crate::mac::shown(&p.mac), text(&p.site));
        }
    }
    if !unplanned.is_empty() {
        println!("Found, but not in the plan ({}):", unplanned.len());
        for u in unplanned {
            println!("  {}  {}", crate::mac::shown(&u.mac), text(&u.site));
        }
    }
}

fn document<'a>(
    merged: &'a Merged,
    never_seen: &'a [NeverSeen],
    unplanned: &'a [Unplanned],
    generated: &str,
) -> MergedFile<'a> {
    MergedFile {
        schema_version: SCHEMA_VERSION,
        polyprov_version: env!("CARGO_PKG_VERSION").to_string(),
        generated: generated.to_string(),
        summary: merge::summary(merged),
        sites: merged
            .sites
            .iter()
            .map(|s| MergedSite {
                site: &s.site,
                runs: &s.runs,
                summary: report::summary(&s.rows),
                phones: &s.rows,
            })
            .collect(),
        never_seen,
        unplanned,
    }
}
