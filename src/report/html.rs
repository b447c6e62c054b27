//! `report.html`: the run as one self-contained page a technician opens in a browser or prints on A4 for the
//! customer — the run's metadata, the summary, what to do next grouped by action, one table row per phone, and
//! each phone's timeline (`timeline`). Inline CSS and SVG only: no script, no font, image or stylesheet fetched,
//! and a Content-Security-Policy that forbids them all. Every string a device or the journal gave is
//! HTML-escaped ([`esc`]); addresses and URLs appear as text, never as links.

use std::fmt::Write as _;
use std::path::Path;

use super::timeline::{self, Timelines};
use super::{Row, RunInfo};
use crate::server_check::Checked;

/// `s` as HTML text or a quoted attribute value: `& < > " '` escaped, control characters shown inert.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::text::for_terminal(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The colour family of a state: `state-ok`, `state-attention`, `state-failed` or `state-neutral`.
pub fn state_class(state: &str) -> &'static str {
    match state {
        "Inactive" | "Active" | "already provisioned" => "state-ok",
        "needs attention" | "unconfirmed" | "unsupported" => "state-attention",
        "failed" | "server-unreachable" | "server-refused" | "config-missing"
        | "config-invalid" | "server-reverted" | "update-failed" | "still-inactive" => {
            "state-failed"
        }
        _ => "state-neutral",
    }
}

/// The page for run directory `dir` (its journal gives the timeline; without one the page says so).
pub fn page(dir: &Path, run: &RunInfo, rows: &[Row], checks: &[Checked]) -> String {
    render(run, rows, checks, &timeline::read(dir))
}

/// The page from its parts.
pub fn render(
    run: &RunInfo,
    rows: &[Row],
    checks: &[Checked],
    timelines: &Result<Timelines, String>,
) -> String {
    let title = match &run.site {
        Some(site) => format!("Phone onboarding report — {site}"),
        None => "Phone onboarding report".to_string(),
    };
    let mut s = String::with_capacity(16_384);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"polyprov {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&run.polyprov_version),
        esc(&title)
    );
    s.push_str(&header(run, &title, checks));
    s.push_str(&summary(rows));
    s.push_str(&todo(rows));
    s.push_str(&table(rows));
    s.push_str(&timeline::section(timelines, rows));
    let _ = writeln!(
        s,
        "<footer>Written by polyprov {} at {}. Everything a phone reported is shown as it said it.</footer>\n\
         </body>\n</html>",
        esc(&run.polyprov_version),
        esc(&run.generated)
    );
    s
}

/// The run's metadata.
fn header(run: &RunInfo, title: &str, checks: &[Checked]) -> String {
    let or_dash = |v: &Option<String>| v.as_deref().map_or("—".to_string(), esc);
    let mut s = format!("<header>\n<h1>{}</h1>\n", esc(title));
    if run.dry_run {
        s.push_str(
            "<p class=\"banner dry-run\">Dry run: the phones were read and the changes planned; nothing was \
             changed.</p>\n",
        );
    }
    s.push_str("<dl class=\"meta\">\n");
    let server = format!("{} {}", run.server_type, run.server_url);
    for (k, v) in [
        ("Site", or_dash(&run.site)),
        ("Operator", or_dash(&run.operator)),
        ("Provisioning server", esc(server.trim())),
        ("Started", or_dash(&run.started)),
        ("Finished", or_dash(&run.finished)),
        ("Report written", esc(&run.generated)),
        (
            "Dry run",
            (if run.dry_run { "yes" } else { "no" }).to_string(),
        ),
        ("polyprov", esc(&run.polyprov_version)),
    ] {
        let _ = writeln!(s, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    }
    s.push_str("</dl>\n");
    for c in checks {
        let class = match c {
            Checked::Ok { .. } => "check-ok",
            Checked::Failed { .. } => "check-failed",
            Checked::Skipped { .. } => "check-skipped",
        };
        let _ = writeln!(
            s,
            "<p class=\"server-check {class}\">{}</p>",
            esc(&c.line())
        );
    }
    s.push_str("</header>\n");
    s
}

/// The summary line and one count per state present.
pub(super) fn summary(rows: &[Row]) -> String {
    let sum = super::summary(rows);
    let mut s = format!(
        "<section class=\"summary\">\n<h2>Summary</h2>\n<p class=\"summary-line\">{}</p>\n<ul class=\"counts\">\n",
        esc(&sum.line())
    );
    for (n, label, class) in [
        (sum.inactive, "Inactive", "state-ok"),
        (sum.active, "Active", "state-ok"),
        (sum.already_provisioned, "already provisioned", "state-ok"),
        (sum.needs_attention, "needs attention", "state-attention"),
        (sum.unsupported, "unsupported", "state-attention"),
        (sum.unconfirmed, "unconfirmed", "state-attention"),
        (sum.failed, "failed", "state-failed"),
        (sum.dry_run, "dry run", "state-neutral"),
        (sum.interrupted, "interrupted", "state-neutral"),
        (sum.skipped, "skipped", "state-neutral"),
        (sum.other, "other", "state-neutral"),
    ] {
        if n > 0 || label == "Inactive" {
            let _ = writeln!(
                s,
                "<li class=\"count {class}\"><span class=\"n\">{n}</span> {label}</li>"
            );
        }
    }
    s.push_str("</ul>\n</section>\n");
    s
}

/// One group of "what to do": the action, and the phones it concerns.
struct Group<'a> {
    /// A stable name for the kind of action (`activate`, `activate-by-mac`, `fix`, `look`, `in-service`).
    action: &'static str,
    heading: String,
    rows: Vec<&'a Row>,
    /// Whether each phone's line says what went wrong.
    why: bool,
}

/// The groups in the order a technician works through them: activation first, then each distinct fix, then the
/// phones a person must look at, then those already in service.
fn groups(rows: &[Row]) -> Vec<Group<'_>> {
    let mut out = vec![
        Group {
            action: "activate",
            heading: "Activate in the admin console (by code or by MAC)".into(),
            rows: rows
                .iter()
                .filter(|r| r.ready() && !r.mac_activation_only)
                .collect(),
            why: false,
        },
        Group {
            action: "activate-by-mac",
            heading: "Activate by MAC only (this model cannot take an activation code)".into(),
            rows: rows
                .iter()
                .filter(|r| r.ready() && r.mac_activation_only)
                .collect(),
            why: false,
        },
    ];
    let mut fixes: Vec<Group> = Vec::new();
    let mut looks: Vec<Group> = Vec::new();
    for r in rows.iter().filter(|r| !r.ready() && r.state != "Active") {
        let (list, action, heading) = if r.fix.is_empty() {
            let heading = match r.state.as_str() {
                "dry run" => {
                    "Dry run only: run again without --dry-run to make the changes".to_string()
                }
                "interrupted" => {
                    "Interrupted: `polyprov resume` continues these phones".to_string()
                }
                "skipped" => "Left alone".to_string(),
                state => format!("Look at these phones ({state})"),
            };
            (&mut looks, "look", heading)
        } else {
            let fix = r.fix.clone();
            let mut heading: String = fix.chars().take(1).flat_map(char::to_uppercase).collect();
            heading.extend(fix.chars().skip(1));
            (&mut fixes, "fix", heading)
        };
        match list.iter_mut().find(|g| g.heading == heading) {
            Some(g) => g.rows.push(r),
            None => list.push(Group {
                action,
                heading,
                rows: vec![r],
                why: true,
            }),
        }
    }
    out.extend(fixes);
    out.extend(looks);
    out.push(Group {
        action: "in-service",
        heading: "In service (Active): nothing to do".into(),
        rows: rows.iter().filter(|r| r.state == "Active").collect(),
        why: false,
    });
    out.retain(|g| !g.rows.is_empty());
    out
}

/// What to do next, grouped by action.
pub(super) fn todo(rows: &[Row]) -> String {
    let mut s = String::from("<section class=\"todo\">\n<h2>What to do</h2>\n");
    let groups = groups(rows);
    if groups.is_empty() {
        s.push_str("<p class=\"note\">Nothing: no phone was onboarded.</p>\n");
    }
    for g in groups {
        let class = match g.action {
            "activate" | "activate-by-mac" | "in-service" => "state-ok",
            _ => g
                .rows
                .first()
                .map_or("state-neutral", |r| state_class(&r.state)),
        };
        let _ = writeln!(
            s,
            "<div class=\"todo-group {class}\" data-action=\"{}\">\n<h3>{} <span class=\"n\">({})</span></h3>\n<ul>",
            g.action,
            esc(&g.heading),
            g.rows.len()
        );
        for r in g.rows {
            s.push_str(&item(r, g.why));
        }
        s.push_str("</ul>\n</div>\n");
    }
    s.push_str("</section>\n");
    s
}

/// One phone in a group: its MAC (as the admin console takes it), then what identifies it.
fn item(r: &Row, why: bool) -> String {
    let mac = crate::mac::shown(&r.mac);
    let mut who: Vec<String> = Vec::new();
    if !r.address.is_empty() {
        who.push(esc(&r.address));
    }
    if !r.model.is_empty() {
        who.push(esc(&r.model));
    }
    if !r.extension.is_empty() {
        who.push(format!("extension {}", esc(&r.extension)));
    }
    if !r.user.is_empty() {
        who.push(esc(&r.user));
    }
    let mut s = format!(
        "<li data-mac=\"{}\"><span class=\"mac\">{}</span> <span class=\"who\">{}</span>",
        esc(&r.mac),
        if mac.is_empty() {
            "(MAC unknown)".to_string()
        } else {
            esc(&mac)
        },
        who.join(" · ")
    );
    if r.below_min_firmware {
        s.push_str(" <span class=\"flag\">firmware below the service's minimum</span>");
    }
    if why && !r.error.is_empty() {
        let _ = write!(
            s,
            "<div class=\"why\"><span class=\"state {}\">{}</span> {}</div>",
            state_class(&r.state),
            esc(&r.state),
            esc(&r.error)
        );
    }
    s.push_str("</li>\n");
    s
}

/// A UTC time for a narrow cell: the date over the time.
fn when(t: &str) -> String {
    match t.split_once('T') {
        Some((d, time)) => format!(
            "<span class=\"date\">{}</span> <span class=\"time\">{}</span>",
            esc(d),
            esc(time)
        ),
        None => esc(t),
    }
}

/// One row per phone; a second, full-width line under it for what went wrong and what the phone showed.
pub(super) fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "<section class=\"phones\">\n<h2>Phones</h2>\n<table class=\"phones\">\n<colgroup><col class=\"c-mac\">\
         <col class=\"c-address\"><col class=\"c-model\"><col class=\"c-firmware\"><col class=\"c-state\">\
         <col class=\"c-reboots\"><col class=\"c-time\"><col class=\"c-time\"></colgroup>\n<thead><tr><th>MAC</th>\
         <th>Address</th><th>Model</th><th>Firmware</th><th>State</th><th>Reboots</th><th>Started (UTC)</th>\
         <th>Finished (UTC)</th></tr></thead>\n<tbody>\n",
    );
    for r in rows {
        let firmware = if r.firmware_after.is_empty() || r.firmware_after == r.firmware_before {
            esc(&r.firmware_before)
        } else {
            format!(
                "{} <span class=\"arrow\">→</span> {}",
                esc(&r.firmware_before),
                esc(&r.firmware_after)
            )
        };
        let _ = writeln!(
            s,
            "<tr class=\"phone\" data-mac=\"{}\" data-state=\"{}\" data-reboots=\"{}\"><td class=\"mac\">{}</td>\
             <td>{}</td><td>{}</td><td>{firmware}</td><td><span class=\"state {}\">{}</span></td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.mac),
            esc(&r.state),
            r.reboots,
            esc(&crate::mac::shown(&r.mac)),
            esc(&r.address),
            esc(&r.model),
            state_class(&r.state),
            esc(&r.state),
            r.reboots,
            when(&r.started),
            when(&r.finished)
        );
        let mut detail = Vec::new();
        if !r.error.is_empty() {
            detail.push(format!("<strong>Problem:</strong> {}", esc(&r.error)));
        }
        if !r.fix.is_empty() {
            detail.push(format!("<strong>Fix:</strong> {}", esc(&r.fix)));
        }
        if !r.evidence.is_empty() {
            detail.push(format!(
                "<strong>Evidence:</strong> <span class=\"evidence\">{}</span>",
                esc(&r.evidence)
            ));
        }
        if !detail.is_empty() {
            let _ = writeln!(
                s,
                "<tr class=\"detail\"><td colspan=\"8\">{}</td></tr>",
                detail.join("<br>")
            );
        }
    }
    s.push_str("</tbody>\n</table>\n</section>\n");
    s
}

/// The page's style: screen first, then A4 print; nothing in it fetches (no web font, no image, no import).
pub(super) const CSS: &str = include_str!("report.css");

#[cfg(test)]
mod tests;
