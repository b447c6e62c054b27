//! The timeline of `report.html`: each phone's journal lines (`journal.jsonl`, read back as typed
//! [`Entry`] values) turned into marks on one time axis shared by the whole run — the save, every reboot (with the
//! time the phone was away), firmware updates, and the final state — drawn as inline SVG (no script, nothing
//! fetched). A journal that is missing or unreadable gives an error in words; the page then shows a note instead.

use std::fmt::Write as _;
use std::path::Path;

use crate::journal::{Entry, FILE};
use crate::mac::Mac;
use crate::phone::Event;

use super::Row;
use super::html::{esc, state_class};

/// What a mark on a phone's line stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Saving the provisioning server.
    Save,
    /// The phone went away (a reboot); the number counts from the first of its session.
    Reboot(u32),
    /// The phone came back running other firmware (drawn under the line: it often comes with the final state).
    Update { from: String, to: String },
    /// The phone showed it loaded the service's configuration, before something else followed (activation).
    Inactive,
}

/// One mark: when, what.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub at: f64,
    pub kind: Kind,
}

/// One phone's recorded past, as its journal has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhoneLine {
    /// The journal key (`host:port`).
    pub key: String,
    /// The MAC its last lines name.
    pub mac: Option<Mac>,
    /// Its first and last journal line.
    pub first: f64,
    pub last: f64,
    /// When its final report was written, if it was.
    pub finished: Option<f64>,
    pub marks: Vec<Mark>,
    /// Times it was away: from going down to coming back (`None`: it never came back).
    pub down: Vec<(f64, Option<f64>)>,
    /// When it last showed Inactive (a mark once something follows it).
    inactive_at: Option<f64>,
}

/// Every phone's line of one run, on one axis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timelines {
    pub phones: Vec<PhoneLine>,
}

/// Read the run directory's journal into timelines; an error says in words why there are none.
pub fn read(dir: &Path) -> Result<Timelines, String> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("the journal {} could not be read ({e})", path.display()))?;
    parse(&text).map_err(|e| format!("the journal {} {e}", path.display()))
}

/// Timelines from a journal's text.
pub fn parse(text: &str) -> Result<Timelines, String> {
    let mut out = Timelines::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry<serde::de::IgnoredAny> = serde_json::from_str(line)
            .map_err(|e| format!("has an unreadable line {} ({e})", n + 1))?;
        match entry {
            Entry::Phone {
                at,
                phone,
                mac,
                event,
            } => {
                let p = out.phone(&phone, at);
                if mac.is_some() {
                    p.mac = mac;
                }
                p.event(at, &event);
            }
            Entry::Finished { at, phone, report } => {
                let p = out.phone(&phone, at);
                if report.mac.is_some() {
                    p.mac = report.mac;
                }
                p.finished = Some(at);
                // A phone that was away at its end stays away on the page.
            }
            Entry::Started { .. } | Entry::Interrupted { .. } | Entry::Resumed { .. } => {}
        }
    }
    if out.phones.is_empty() {
        return Err("records no phone".into());
    }
    Ok(out)
}

impl Timelines {
    /// The line of journal key `key`, made when first seen; `at` stretches it.
    fn phone(&mut self, key: &str, at: f64) -> &mut PhoneLine {
        let i = match self.phones.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                self.phones.push(PhoneLine {
                    key: key.to_string(),
                    first: at,
                    last: at,
                    ..PhoneLine::default()
                });
                self.phones.len() - 1
            }
        };
        let p = &mut self.phones[i];
        p.first = p.first.min(at);
        p.last = p.last.max(at);
        p
    }

    /// The line of a report row: by its journal key (`host:port`), else by MAC (a phone that moved), else by host.
    pub fn of(&self, row: &Row) -> Option<&PhoneLine> {
        if let Some(p) = self.phones.iter().find(|p| p.key == row.address) {
            return Some(p);
        }
        if let Ok(mac) = row.mac.parse::<Mac>()
            && let Some(p) = self.phones.iter().find(|p| p.mac == Some(mac))
        {
            return Some(p);
        }
        let bare = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_string();
        self.phones.iter().find(|p| {
            let host = p.key.rsplit_once(':').map_or(p.key.as_str(), |(h, _)| h);
            !row.address.is_empty() && bare(host) == bare(&row.address)
        })
    }

    /// The axis: the first line of any phone to the last.
    fn span(&self) -> (f64, f64) {
        let start = self.phones.iter().map(|p| p.first).fold(f64::MAX, f64::min);
        let end = self.phones.iter().map(|p| p.last).fold(f64::MIN, f64::max);
        if start > end {
            (0.0, 1.0)
        } else {
            (start, end)
        }
    }
}

impl PhoneLine {
    fn event(&mut self, at: f64, event: &Event) {
        match event {
            Event::Saving { .. } => self.marks.push(Mark {
                at,
                kind: Kind::Save,
            }),
            Event::Rebooting { reboot } => {
                // Counted once: a resumed run may tell a reboot it already told; activation counts from 1 again.
                let session = self
                    .marks
                    .iter()
                    .rposition(|m| m.kind == Kind::Inactive)
                    .map_or(0, |i| i + 1);
                if !self.marks[session..]
                    .iter()
                    .any(|m| m.kind == Kind::Reboot(*reboot))
                {
                    self.marks.push(Mark {
                        at,
                        kind: Kind::Reboot(*reboot),
                    });
                    self.down.push((at, None));
                }
            }
            Event::Back { .. } => {
                if let Some(d) = self.down.iter_mut().rev().find(|d| d.1.is_none()) {
                    d.1 = Some(at);
                }
            }
            Event::Updating { from, to } => self.marks.push(Mark {
                at,
                kind: Kind::Update {
                    from: from.clone(),
                    to: to.clone(),
                },
            }),
            // Inactive and then asked to reboot: activation follows, Inactive was a step on the way.
            Event::RebootRequested => {
                if let Some(t) = self.inactive_at.take() {
                    self.marks.push(Mark {
                        at: t,
                        kind: Kind::Inactive,
                    });
                }
            }
            Event::Inactive { .. } => self.inactive_at = Some(at),
            _ => {}
        }
    }
}

/// The axis' width in SVG units; marks keep `PAD` from either end.
const W: f64 = 1000.0;
const PAD: f64 = 14.0;
/// Where a phone's line runs, and the height of its drawing.
const Y: f64 = 32.0;
const H: f64 = 48.0;

/// `HH:MM:SS` (UTC) of Unix seconds.
fn clock(at: f64) -> String {
    let t = super::utc(at);
    t.get(11..19).unwrap_or(&t).to_string()
}

/// The axis: where `at` lies between `start` and `end`.
#[derive(Debug, Clone, Copy)]
struct Axis {
    start: f64,
    end: f64,
}

impl Axis {
    fn x(&self, at: f64) -> f64 {
        let span = (self.end - self.start).max(1.0);
        PAD + ((at - self.start) / span).clamp(0.0, 1.0) * (W - 2.0 * PAD)
    }

    /// Tick times: a round step giving at most eight ticks.
    fn ticks(&self) -> Vec<f64> {
        let span = (self.end - self.start).max(1.0);
        let step = [
            1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
            7200.0, 21600.0, 43200.0, 86400.0,
        ]
        .into_iter()
        .find(|s| span / s <= 8.0)
        .unwrap_or(span / 8.0);
        let first = (self.start / step).ceil() * step;
        (0..=8)
            .map(|i| first + f64::from(i) * step)
            .filter(|t| *t <= self.end)
            .collect()
    }
}

/// Where a label at `x` is anchored so it stays inside the drawing.
fn anchor(x: f64) -> &'static str {
    if x > W - 120.0 {
        "end"
    } else if x < 120.0 {
        "start"
    } else {
        "middle"
    }
}

/// The page's timeline section: a legend, the time axis and one line per row of the table; a note when the
/// journal gave none.
pub fn section(timelines: &Result<Timelines, String>, rows: &[Row]) -> String {
    let mut s = String::from("<section class=\"timelines\">\n<h2>Timeline</h2>\n");
    let t = match timelines {
        Ok(t) => t,
        Err(why) => {
            let _ = writeln!(
                s,
                "<p class=\"note timeline-missing\">No timeline: {}. Everything else in this report is complete \
                 without it.</p>\n</section>",
                esc(why)
            );
            return s;
        }
    };
    let (start, end) = t.span();
    let axis = Axis { start, end };
    let _ = writeln!(
        s,
        "<p class=\"axis-note\">From {} to {} UTC ({}); hover over a mark for its time.</p>",
        clock(start),
        clock(end),
        duration(end - start)
    );
    s.push_str(LEGEND);
    // The time axis, with the same label column as the phones' lines so the ticks line up.
    let _ = write!(
        s,
        "<div class=\"tl-row tl-axis\"><div class=\"tl-who\"></div><svg class=\"tl\" viewBox=\"0 0 {W} 24\" \
         role=\"img\" aria-label=\"time axis\">"
    );
    for tick in axis.ticks() {
        let x = axis.x(tick);
        let _ = write!(
            s,
            "<line class=\"tl-tick\" x1=\"{x:.1}\" y1=\"16\" x2=\"{x:.1}\" y2=\"24\"/><text x=\"{x:.1}\" y=\"12\" \
             text-anchor=\"{}\">{}</text>",
            anchor(x),
            clock(tick)
        );
    }
    s.push_str("</svg></div>\n");
    for row in rows {
        s.push_str(&phone(t.of(row), row, axis));
    }
    s.push_str("</section>\n");
    s
}

/// What the marks mean.
const LEGEND: &str = "<ul class=\"legend\">\
<li><svg viewBox=\"0 0 20 20\"><g class=\"mark-save\"><path d=\"M10 2 L18 10 L10 18 L2 10 Z\"/></g></svg>saved the server</li>\
<li><svg viewBox=\"0 0 20 20\"><g class=\"mark-reboot\"><circle cx=\"10\" cy=\"10\" r=\"6\"/></g></svg>reboot</li>\
<li><svg viewBox=\"0 0 20 20\"><rect class=\"tl-down\" x=\"1\" y=\"4\" width=\"18\" height=\"12\"/></svg>away (rebooting)</li>\
<li><svg viewBox=\"0 0 20 20\"><g class=\"mark-update\"><rect x=\"4\" y=\"4\" width=\"12\" height=\"12\"/></g></svg>firmware update</li>\
<li><svg viewBox=\"0 0 20 20\"><g class=\"mark-inactive\"><circle cx=\"10\" cy=\"10\" r=\"6\"/></g></svg>Inactive (before activation)</li>\
<li><svg viewBox=\"0 0 20 20\"><g class=\"state-ok\"><circle cx=\"10\" cy=\"10\" r=\"8\"/></g></svg>final state</li>\
</ul>\n";

/// `1 h 05 min`, `3 min 20 s`, `12 s`.
fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// One phone's line: its span, the times it was away, its marks and its final state.
fn phone(line: Option<&PhoneLine>, row: &Row, axis: Axis) -> String {
    let shown = crate::mac::shown(&row.mac);
    let who = if shown.is_empty() {
        &row.address
    } else {
        &shown
    };
    let mut s = format!(
        "<div class=\"tl-row phone-timeline\" data-mac=\"{}\" data-address=\"{}\"><div class=\"tl-who\">\
         <span class=\"who\">{}</span><span class=\"sub\">{}</span></div>",
        esc(&row.mac),
        esc(&row.address),
        esc(who),
        esc(&row.model)
    );
    let Some(p) = line else {
        s.push_str("<p class=\"note\">The journal has no line for this phone.</p></div>\n");
        return s;
    };
    let end = p.finished.unwrap_or(p.last);
    let _ = write!(
        s,
        "<svg class=\"tl\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"timeline of {}\">",
        esc(who)
    );
    for tick in axis.ticks() {
        let x = axis.x(tick);
        let _ = write!(
            s,
            "<line class=\"tl-grid\" x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{H}\"/>"
        );
    }
    let _ = write!(
        s,
        "<line class=\"tl-span\" x1=\"{:.1}\" y1=\"{Y}\" x2=\"{:.1}\" y2=\"{Y}\"/>",
        axis.x(p.first),
        axis.x(end)
    );
    for (from, to) in &p.down {
        let (a, b) = (axis.x(*from), axis.x(to.unwrap_or(end)));
        let back = match to {
            Some(t) => format!("back at {}", clock(*t)),
            None => "not back".to_string(),
        };
        let _ = write!(
            s,
            "<rect class=\"tl-down\" x=\"{a:.1}\" y=\"{}\" width=\"{:.1}\" height=\"14\"><title>away from {}, {back}\
             </title></rect>",
            Y - 7.0,
            (b - a).max(2.0),
            clock(*from)
        );
    }
    for m in &p.marks {
        let x = axis.x(m.at);
        let at = clock(m.at);
        let _ = match &m.kind {
            Kind::Save => write!(
                s,
                "<g class=\"mark mark-save\" data-at=\"{at}\"><title>saved the provisioning server at {at}</title>\
                 <path d=\"M{x:.1} {} l7 7 l-7 7 l-7 -7 Z\"/></g>",
                Y - 7.0
            ),
            Kind::Reboot(n) => write!(
                s,
                "<g class=\"mark mark-reboot\" data-at=\"{at}\" data-reboot=\"{n}\"><title>reboot {n} at {at}</title>\
                 <circle cx=\"{x:.1}\" cy=\"{Y}\" r=\"5\"/></g>"
            ),
            Kind::Update { from, to } => write!(
                s,
                "<g class=\"mark mark-update\" data-at=\"{at}\"><title>firmware {} → {} at {at}</title>\
                 <line x1=\"{x:.1}\" y1=\"{Y}\" x2=\"{x:.1}\" y2=\"{}\"/><rect x=\"{:.1}\" y=\"{}\" width=\"10\" \
                 height=\"10\"/></g>",
                esc(from),
                esc(to),
                Y + 4.0,
                x - 5.0,
                Y + 4.0
            ),
            Kind::Inactive => write!(
                s,
                "<g class=\"mark mark-inactive\" data-at=\"{at}\"><title>Inactive at {at}</title>\
                 <circle cx=\"{x:.1}\" cy=\"{Y}\" r=\"5\"/></g>"
            ),
        };
    }
    let x = axis.x(end);
    let state = esc(&row.state);
    let _ = write!(
        s,
        "<g class=\"mark mark-final {}\" data-state=\"{state}\" data-at=\"{}\"><title>{state} at {}</title>\
         <circle cx=\"{x:.1}\" cy=\"{Y}\" r=\"8\"/><text x=\"{x:.1}\" y=\"13\" text-anchor=\"{}\">{state}</text></g>",
        state_class(&row.state),
        clock(end),
        clock(end),
        anchor(x)
    );
    s.push_str("</svg></div>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at: f64, event: &str) -> String {
        format!(
            "{{\"kind\":\"phone\",\"at\":{at},\"phone\":\"127.0.0.1:8443\",\"mac\":\"64167F000001\",\"event\":{event}}}\n"
        )
    }

    /// A journal's events become marks: the save, each reboot once (a resumed run telling one again counts once),
    /// the time away, a firmware update; activation starts counting reboots from 1 again.
    #[test]
    fn journal_lines_become_marks() {
        let mut j = String::from("{\"kind\":\"started\",\"at\":100.0,\"spec\":{\"anything\":1}}\n");
        j += &line(
            100.0,
            r#"{"event":"probing","target":"https://127.0.0.1:8443/"}"#,
        );
        j += &line(110.0, r#"{"event":"saving"}"#);
        j += &line(111.0, r#"{"event":"saved","answer":"CONF_CHANGE"}"#);
        j += &line(120.0, r#"{"event":"rebooting","reboot":1}"#);
        j += &line(121.0, r#"{"event":"rebooting","reboot":1}"#);
        j += &line(150.0, r#"{"event":"back","reboot":1,"firmware":"6.4.5"}"#);
        j += &line(151.0, r#"{"event":"updating","from":"5.9","to":"6.4.5"}"#);
        j += &line(160.0, r#"{"event":"inactive","evidence":[]}"#);
        j += &line(170.0, r#"{"event":"reboot-requested"}"#);
        j += &line(175.0, r#"{"event":"rebooting","reboot":1}"#);
        let t = parse(&j).expect("a readable journal");
        assert_eq!(t.phones.len(), 1);
        let p = &t.phones[0];
        let kinds: Vec<&Kind> = p.marks.iter().map(|m| &m.kind).collect();
        assert_eq!(
            kinds,
            [
                &Kind::Save,
                &Kind::Reboot(1),
                &Kind::Update {
                    from: "5.9".into(),
                    to: "6.4.5".into()
                },
                &Kind::Inactive,
                &Kind::Reboot(1)
            ]
        );
        assert_eq!(p.down, [(120.0, Some(150.0)), (175.0, None)]);
        assert_eq!((p.first, p.last), (100.0, 175.0));
        assert_eq!(p.mac, Some("64167F000001".parse().expect("MAC")));
    }

    /// A damaged line or an empty journal gives a reason, never a panic.
    #[test]
    fn damaged_journals_are_reasons() {
        assert!(parse("{\"kind\":\"phone\",\"at\":1").is_err());
        assert!(parse("").is_err());
        assert!(parse("not json\n").unwrap_err().contains("line 1"));
    }

    /// The axis' ticks are round times inside the run, at most nine of them.
    #[test]
    fn ticks_are_round() {
        let a = Axis {
            start: 1000.0,
            end: 1300.0,
        };
        let t = a.ticks();
        assert_eq!(t.first(), Some(&1020.0));
        assert!(t.len() <= 9 && t.iter().all(|x| *x % 60.0 == 0.0), "{t:?}");
        assert!((a.x(1000.0) - PAD).abs() < 1e-9 && (a.x(1300.0) - (W - PAD)).abs() < 1e-9);
    }
}
