//! The journal as a specification: what is written is read back as the same types, a torn tail is cut, corruption
//! elsewhere names its line, and a phone's history is replayed whole.

use super::*;

/// A spec as small as a test needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Spec {
    server_url: String,
}

fn spec() -> Spec {
    Spec {
        server_url: "https://p.example.test/".into(),
    }
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("polyprov-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn load(d: &Path) -> History<Spec> {
    History::load(d).unwrap()
}

fn mac() -> Mac {
    "64167F000001".parse().unwrap()
}

/// Events written are read back; a phone seen saving counts as saved.
#[test]
fn saved_phones_are_known() {
    let d = dir("saved");
    let j = Journal::open(&d).unwrap();
    j.started(&spec()).unwrap();
    j.event("a", None, &Event::LoggedIn).unwrap();
    j.event("b", None, &Event::Saving { boots: None }).unwrap();
    let run = load(&d);
    assert_eq!(run.spec, spec());
    assert!(!run.phones["a"].saved);
    assert!(run.phones["b"].saved);
    std::fs::remove_dir_all(&d).ok();
}

/// Resume starts from everything the events said: model, firmware before and after, reboots, the certificate,
/// the MAC, the address the phone moved to, warnings.
#[test]
fn a_phones_whole_history_is_replayed() {
    let d = dir("history");
    let j = Journal::open(&d).unwrap();
    j.started(&spec()).unwrap();
    let events = [
        Event::Recognised {
            profile: "poly-vvx-6".into(),
            family: "VVX".into(),
            generation: "6".into(),
        },
        Event::Certificate {
            subject: "CN=64167f000001".into(),
            sha256: "ab12".into(),
            known: Some(false),
        },
        Event::LoggedIn,
        Event::Identified {
            mac: Some(mac()),
            model: Some("VVX 450".into()),
            firmware: Some("6.3.1.8427".into()),
        },
        Event::Warning {
            message: "below the service's minimum".into(),
        },
        Event::Saving { boots: Some(7) },
        Event::Rebooting { reboot: 1 },
        Event::Back {
            reboot: 1,
            firmware: Some("6.3.1.8427".into()),
        },
        Event::Rebooting { reboot: 2 },
        Event::Moved {
            from: "127.0.0.1".into(),
            to: "127.0.0.9".into(),
        },
        Event::Back {
            reboot: 2,
            firmware: Some("6.4.5.1210".into()),
        },
        Event::Inactive {
            evidence: vec!["app log: \"Prov|Finished updating configuration\"".into()],
        },
    ];
    for e in &events {
        let m = matches!(e, Event::Identified { .. } | Event::Back { .. }).then(mac);
        j.event("a", m, e).unwrap();
    }
    let run = load(&d);
    let p = &run.phones["a"];
    assert!(p.saved && p.session_open && !p.finished());
    let r = p.report_so_far(&"https://127.0.0.1:8443/".parse().unwrap());
    assert_eq!(r.mac, Some(mac()));
    assert_eq!(r.model.as_deref(), Some("VVX 450"));
    assert_eq!(r.profile.as_deref(), Some("poly-vvx-6"));
    assert_eq!(r.family.as_deref(), Some("VVX"));
    assert_eq!(r.certificate_sha256.as_deref(), Some("ab12"));
    assert_eq!(r.firmware_before.as_deref(), Some("6.3.1.8427"));
    assert_eq!(r.firmware_after.as_deref(), Some("6.4.5.1210"));
    assert_eq!(r.reboots, 2);
    assert_eq!(p.known.boots_before_save, Some(7));
    assert_eq!(r.address, "127.0.0.9");
    assert_eq!(r.warnings, ["below the service's minimum"]);
    assert_eq!(r.evidence.len(), 1, "{:?}", r.evidence);
    std::fs::remove_dir_all(&d).ok();
}

/// A final report is read back as the same type; an interrupted phone is not finished.
#[test]
fn reports_are_read_back_typed() {
    let d = dir("reports");
    let j = Journal::open(&d).unwrap();
    j.started(&spec()).unwrap();
    let base: url::Url = "https://127.0.0.1:8443/".parse().unwrap();
    let mut done = Report::new(&base);
    done.outcome = crate::phone::Outcome::Inactive;
    done.mac = Some(mac());
    j.finished("a", &done).unwrap();
    j.finished("b", &Report::interrupted(&base, true)).unwrap();
    let run = load(&d);
    assert_eq!(
        run.phones["a"].report.as_ref().map(|r| &r.outcome),
        Some(&done.outcome)
    );
    assert!(run.finished("a") && !run.finished("b") && !run.finished("c"));
    std::fs::remove_dir_all(&d).ok();
}

/// A line torn by a crash at the end is ignored; a bad line in the middle is an error with its number.
#[test]
fn torn_last_line_and_corrupt_middle() {
    let d = dir("torn");
    let j = Journal::open(&d).unwrap();
    j.started(&spec()).unwrap();
    j.event("a", None, &Event::Saving { boots: None }).unwrap();
    let path = d.join(FILE);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"kind\":\"phone\",\"at\":1,\"pho");
    std::fs::write(&path, &text).unwrap();
    assert!(load(&d).phones["a"].saved);
    let broken = text.replacen("{\"kind\":\"phone\"", "garbage", 1)
        + "\n{\"kind\":\"interrupted\",\"at\":2}\n";
    std::fs::write(&path, broken).unwrap();
    let e = History::<Spec>::load(&d).unwrap_err().to_string();
    assert!(e.contains("line 2"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

/// An event of a kind this version does not know, in the middle, is corruption naming its line (not a silent
/// skip that would forget a save).
#[test]
fn an_unknown_event_names_its_line() {
    let d = dir("unknown");
    let j = Journal::open(&d).unwrap();
    j.started(&spec()).unwrap();
    drop(j);
    let path = d.join(FILE);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(
        "{\"kind\":\"phone\",\"at\":1,\"phone\":\"a\",\"event\":{\"event\":\"teleported\"}}\n",
    );
    text.push_str("{\"kind\":\"resumed\",\"at\":2}\n");
    std::fs::write(&path, text).unwrap();
    let e = History::<Spec>::load(&d).unwrap_err().to_string();
    assert!(e.contains("line 2") && e.contains("teleported"), "{e}");
    std::fs::remove_dir_all(&d).ok();
}

/// Reopening a journal whose last line was torn (or is garbage) cuts that line before anything is appended,
/// and says so; the lines after it stay readable, run after run.
#[test]
fn reopening_cuts_a_torn_or_garbage_tail() {
    for tail in ["{\"kind\":\"phone\",\"at\":1,\"pho", "garbage\n"] {
        let d = dir("reopen");
        let j = Journal::open(&d).unwrap();
        assert!(j.repaired().is_none());
        j.started(&spec()).unwrap();
        j.event("a", None, &Event::Saving { boots: None }).unwrap();
        drop(j);
        let path = d.join(FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        let whole = text.clone();
        text.push_str(tail);
        std::fs::write(&path, &text).unwrap();
        let j = Journal::open(&d).unwrap();
        let said = j.repaired().expect("the cut is reported").to_string();
        assert!(
            said.contains("line 3") && said.contains("journal.jsonl"),
            "{said}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
        j.resumed().unwrap();
        drop(j);
        let j = Journal::open(&d).unwrap();
        assert!(j.repaired().is_none(), "nothing left to cut");
        let run = load(&d);
        assert!(run.phones["a"].saved && !run.interrupted);
        std::fs::remove_dir_all(&d).ok();
    }
}

/// A run killed while logged in leaves the session open on the phone; the journal knows.
#[test]
fn open_session_is_known() {
    let d = dir("session");
    let j = Journal::open(&d).unwrap();
    j.started(&spec()).unwrap();
    j.event("a", None, &Event::LoggedIn).unwrap();
    j.event("b", None, &Event::LoggedIn).unwrap();
    j.event("b", None, &Event::LoggedOut).unwrap();
    let run = load(&d);
    assert!(run.phones["a"].session_open);
    assert!(!run.phones["b"].session_open);
    std::fs::remove_dir_all(&d).ok();
}

/// A directory without a journal is not a run.
#[test]
fn no_run() {
    let d = dir("none");
    std::fs::create_dir_all(&d).unwrap();
    assert!(matches!(
        History::<Spec>::load(&d),
        Err(JournalError::NoRun(_))
    ));
    std::fs::remove_dir_all(&d).ok();
}

/// Two processes never work on one run at once: while one has the journal open, a second open is refused with
/// the run named; once the first is done, it opens.
#[test]
fn a_run_is_worked_on_by_one_process_at_a_time() {
    let d = dir("lock");
    let first = Journal::open(&d).unwrap();
    first.started(&spec()).unwrap();
    let e = Journal::open(&d).unwrap_err();
    assert!(matches!(e, JournalError::Busy(_)), "{e}");
    assert!(e.to_string().contains("run.lock"), "{e}");
    drop(first);
    assert!(Journal::open(&d).is_ok());
    std::fs::remove_dir_all(&d).ok();
}

/// A journal cut short before its first line holds no run; one that starts with the spec does.
#[test]
fn only_a_journal_with_its_spec_holds_a_run() {
    let d = dir("has-start");
    std::fs::create_dir_all(&d).unwrap();
    assert!(!has_start(&d));
    std::fs::write(d.join(FILE), "").unwrap();
    assert!(!has_start(&d));
    let j = Journal::open(&d).unwrap();
    j.started(&spec()).unwrap();
    assert!(has_start(&d));
    drop(j);
    std::fs::remove_dir_all(&d).ok();
}
