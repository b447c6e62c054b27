//! The JSON polyprov prints and writes, as types: every line of a `--json` stream ([`Line`]) and the `report.json`
//! document ([`ReportFile`]). Each carries [`SCHEMA_VERSION`]; keys are kebab-case; a phone's result is the one
//! [`Row`] shape everywhere; a MAC is 12 uppercase hex digits. The JSON Schemas ([`line_schema`],
//! [`report_schema`], printed by `polyprov schema`) are generated from these types, so they cannot drift from
//! what is emitted. `docs/output.md` explains them for the people who script against polyprov.
//!
//! Not covered (other tools read their own, older shapes): the simulator's `--json` and its control endpoint.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use crate::discover::{Device, Readiness};
use crate::phone::Event;
use crate::report::{Row, RunInfo, Summary};
use crate::server_check::Checked;

/// The version of every JSON shape in this module. Raised when a key is removed or changes meaning; new keys may
/// appear without a raise, so readers should ignore keys they do not know.
pub const SCHEMA_VERSION: u32 = 1;

/// One line of a `--json` stream (`onboard`, `provision`, `resume`, `activate`, `demo`, `discover`): an object
/// with `schema-version` and an `event` naming what it is.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Line {
    /// What happened to one phone, as it happened (the journal's events).
    Phone(PhoneLine),
    /// Everything else: results, checks, notes, the end of a run, discovery.
    Run(RunLine),
}

/// A phone's event: `{"schema-version":1,"event":"saving","phone":"https://198.18.0.11/","at":3.2, …}`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct PhoneLine {
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// The phone's target (the address polyprov was given or discovered).
    pub phone: String,
    /// Seconds since the command started.
    pub at: f64,
    #[serde(flatten)]
    pub event: Event,
}

/// A line that is not one phone's event.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct RunLine {
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    #[serde(flatten)]
    pub body: Run,
}

/// What a [`RunLine`] says, tagged by `event`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(
    tag = "event",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Run {
    /// A phone finished: its result, the same shape as an entry of `report.json`'s `phones`.
    Result {
        phone: String,
        at: f64,
        result: Box<Row>,
    },
    /// The provisioning server checked from the agent before any phone is touched.
    ServerCheck { check: Checked },
    /// Something about the whole run a person should read (a phone's warnings are `warning` phone events).
    RunWarning { warning: String },
    /// What the run will do, before it does it: phones per family, those needing hands-on work, the expected
    /// duration (a read-only look at each login page).
    RunPlan { plan: crate::onboard::plan::Plan },
    /// Information: an interrupted run's resume command, a dry run going on past a failed check.
    Note { note: String },
    /// The MACs to enter in the admin console before the phones are rebooted for activation.
    Activation {
        enter_macs: Vec<String>,
        macs_entered: bool,
    },
    /// The run is over: its summary, its directory and files, and how to resume it when it was interrupted.
    Ended {
        run: Box<RunInfo>,
        summary: Summary,
        dir: PathBuf,
        files: Vec<PathBuf>,
        #[serde(skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
    },
    /// With `--print-resources`: what the process used.
    Resources { resources: Resources },
    /// Discovery is about to send: on which interface, to which range, how fast.
    Start {
        interface: String,
        /// The range the sweep and the web probes go to; absent in a passive run (listening only).
        range: Option<String>,
        rate: u32,
        expected_ms: u64,
    },
    /// A device heard for the first time (`change: new`) or with something new about it (`updated`).
    Device {
        change: Change,
        at_ms: u64,
        #[serde(flatten)]
        device: Box<Discovered>,
    },
    /// The ARP sweep finished.
    SweepDone {
        sent: u64,
        answers: usize,
        took_ms: u64,
    },
    /// Discovery is over: counts and every device listed; `interrupted` when Ctrl-C stopped it early (the inventory
    /// is partial, and the exit code is 130).
    Summary {
        hosts: usize,
        poly: usize,
        ready: usize,
        stats: String,
        interrupted: bool,
        /// Phones on VLANs the interface is not on (with the fix), and voice VLANs switches advertised to it.
        #[serde(skip_serializing_if = "Option::is_none")]
        vlans: Option<crate::discover::vlan::VlanPicture>,
        #[serde(skip_serializing_if = "Option::is_none")]
        saved: Option<Saved>,
        devices: Vec<Discovered>,
    },
}

/// Whether discovery heard a device for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    New,
    Updated,
}

/// One discovered device: the keys every per-phone object has (`mac`, `address`, `model`, `firmware`), whether
/// it can be onboarded, and everything heard about it with who said it and when (`device`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Discovered {
    pub mac: crate::mac::Mac,
    /// Its IPv4 address, empty when none was heard yet.
    pub address: String,
    pub model: String,
    pub firmware: String,
    /// The VLAN it was last heard in, when known (tagged, or on a VLAN subinterface); `device.segment` says which.
    pub vlan: Option<u16>,
    pub provisionable: Readiness,
    pub device: Device,
}

impl Discovered {
    /// `unchecked`: why the run did not look at web UIs, when it knows (see [`Readiness::unchecked_because`]).
    pub fn new(d: &Device, unchecked: Option<&str>) -> Discovered {
        let readiness = d.readiness();
        Discovered {
            mac: d.mac,
            address: d.ip.as_ref().map_or(String::new(), |f| f.value.to_string()),
            model: d.model.as_ref().map_or(String::new(), |f| f.value.clone()),
            firmware: d
                .firmware
                .as_ref()
                .map_or(String::new(), |f| f.value.clone()),
            vlan: d.segment.as_ref().and_then(|f| f.value.vlan()),
            provisionable: match unchecked {
                Some(why) => readiness.unchecked_because(why),
                None => readiness,
            },
            device: d.clone(),
        }
    }
}

/// What `discover --save` wrote.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Saved {
    pub path: PathBuf,
    pub phones: usize,
}

/// The process's peak resident memory and CPU time.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Resources {
    pub peak_rss_kib: u64,
    pub cpu_user_secs: f64,
    pub cpu_system_secs: f64,
}

/// `report.json` (and `polyprov report --format json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ReportFile<'a> {
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    pub run: &'a RunInfo,
    pub summary: Summary,
    pub server_checks: &'a [Checked],
    pub phones: &'a [Row],
}

impl<'a> ReportFile<'a> {
    pub fn new(run: &'a RunInfo, rows: &'a [Row], checks: &'a [Checked]) -> ReportFile<'a> {
        ReportFile {
            schema_version: SCHEMA_VERSION,
            run,
            summary: crate::report::summary(rows),
            server_checks: checks,
            phones: rows,
        }
    }
}

/// The merged `report.json` of many sites' runs (`polyprov report --merge … --out DIR`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct MergedFile<'a> {
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    pub polyprov_version: String,
    pub generated: String,
    /// Every site's phones counted together.
    pub summary: Summary,
    pub sites: Vec<MergedSite<'a>>,
    /// Planned phones that no run reached.
    pub never_seen: &'a [crate::report::merged::NeverSeen],
    /// Phones the runs reached that the plan does not name (empty without a plan).
    pub unplanned: &'a [crate::report::merged::Unplanned],
}

/// One site of a [`MergedFile`].
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct MergedSite<'a> {
    pub site: &'a str,
    /// The run directories its phones came from.
    pub runs: &'a [PathBuf],
    pub summary: Summary,
    /// Each phone once (the newest result when the site was run again), as in a run's `report.json`.
    pub phones: &'a [Row],
}

impl Line {
    pub fn phone(phone: &str, at: f64, event: &Event) -> Line {
        Line::Phone(PhoneLine {
            schema_version: SCHEMA_VERSION,
            phone: phone.to_string(),
            at,
            event: event.clone(),
        })
    }

    pub fn run(body: Run) -> Line {
        Line::Run(RunLine {
            schema_version: SCHEMA_VERSION,
            body,
        })
    }

    /// The line as one line of JSON text.
    pub fn to_json(&self) -> String {
        // Every field is a plain value: serialising cannot fail, but a failure would still be a line.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"schema-version":{SCHEMA_VERSION},"event":"note","note":"unprintable line: {e}"}}"#)
        })
    }
}

/// Print one line of a `--json` stream on standard output.
pub fn emit(line: Line) {
    println!("{}", line.to_json());
}

/// Print a [`Run`] line.
pub fn emit_run(body: Run) {
    emit(Line::run(body));
}

/// The JSON Schema every `--json` line validates against.
pub fn line_schema() -> serde_json::Value {
    schemars::schema_for!(Line).to_value()
}

/// The JSON Schema of `report.json`.
pub fn report_schema() -> serde_json::Value {
    schemars::schema_for!(ReportFile<'static>).to_value()
}

/// The JSON Schema of the merged `report.json`.
pub fn merged_schema() -> serde_json::Value {
    schemars::schema_for!(MergedFile<'static>).to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event names of a schema's tagged variants, for the documentation check.
    fn names(schema: &serde_json::Value, out: &mut Vec<String>) {
        match schema {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(event)) =
                    map.get("properties").and_then(|p| p.get("event"))
                {
                    for key in ["const", "enum"] {
                        match event.get(key) {
                            Some(serde_json::Value::String(s)) => out.push(s.clone()),
                            Some(serde_json::Value::Array(a)) => {
                                out.extend(a.iter().filter_map(|v| v.as_str().map(str::to_string)))
                            }
                            _ => {}
                        }
                    }
                }
                map.values().for_each(|v| names(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| names(v, out)),
            _ => {}
        }
    }

    /// `docs/output.md` names every event a `--json` stream can carry: the list is taken from the schema, so a new
    /// event without documentation fails here.
    #[test]
    fn the_documentation_names_every_event() {
        let mut events = Vec::new();
        names(&line_schema(), &mut events);
        assert!(events.len() > 30, "{events:?}");
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/output.md"))
            .expect("docs/output.md");
        let missing: Vec<&String> = events
            .iter()
            .filter(|e| !doc.contains(&format!("`{e}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/output.md does not name {missing:?}"
        );
    }

    /// A phone event line is flat: the phone, the time, and the event's own kebab-case fields.
    #[test]
    fn a_phone_event_is_one_flat_object() {
        let line = Line::phone(
            "https://198.18.0.11/",
            2.5,
            &Event::Busy { retry_in_secs: 30 },
        );
        let v: serde_json::Value = serde_json::from_str(&line.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"schema-version": 1, "phone": "https://198.18.0.11/", "at": 2.5,
                "event": "busy", "retry-in-secs": 30})
        );
    }
}
