//! The monitor's verdicts, fed with synthetic observations.
use super::*;

const URL: &str = "https://prov.example.test/poly/";

fn expect() -> Expect {
    Expect {
        boot_secs: 150.0,
        return_secs: 450.0,
        update_reboots: 2,
        settle_secs: 180.0,
        timeout_secs: 1500.0,
        busy_secs: 600.0,
    }
}

fn boot(boots: usize, attempt: Attempt) -> Option<Boot> {
    Some(Boot {
        boots,
        server: Some(URL.into()),
        attempt,
    })
}

fn loaded() -> Attempt {
    Attempt::Loaded {
        lines: vec![
            "Prov|Starting to provision".into(),
            "Prov|Finished updating configuration".into(),
        ],
        registered: None,
    }
}

fn up(at: f64, fw: &str, log: Option<Boot>) -> Observation {
    Observation {
        at,
        up: true,
        firmware: Some(fw.into()),
        log,
        ..Observation::default()
    }
}

fn down(at: f64) -> Observation {
    Observation {
        at,
        ..Observation::default()
    }
}

/// Save, reboot, an update in two more reboots, then the log shows the configuration loaded: Inactive at
/// once, with the phone's own lines as the evidence — no quiet window is waited out.
#[test]
fn evidence_makes_it_inactive_at_once() {
    let mut m = Monitor::new(expect(), URL, Some(1), Some("6.4.5".into()));
    let updating = Attempt::Updating {
        version: "6.4.7".into(),
        line: "Prov|Upgrading application to 6.4.7".into(),
    };
    let script = [
        down(5.0),
        up(160.0, "6.4.5", boot(2, Attempt::Running)),
        up(190.0, "6.4.5", boot(2, updating)),
        down(200.0),
        up(350.0, "6.4.5", boot(3, Attempt::None)),
        down(360.0),
        up(510.0, "6.4.7", boot(4, Attempt::Running)),
    ];
    for o in &script {
        assert_eq!(m.observe(o).1, Verdict::Watching, "{o:?}");
    }
    let (ev, v) = m.observe(&up(520.0, "6.4.7", boot(4, loaded())));
    match v {
        Verdict::Inactive { evidence } => {
            assert!(
                evidence[1].contains("Finished updating configuration"),
                "{evidence:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.reboots, 3);
    assert!(matches!(ev.last(), Some(Event::Inactive { .. })));
}

/// A phone that stays quiet is never Inactive: without evidence the verdict is unconfirmed, and says why.
#[test]
fn silence_is_unconfirmed() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    m.observe(&down(5.0));
    assert_eq!(
        m.observe(&up(160.0, "x", boot(2, Attempt::None))).1,
        Verdict::Watching
    );
    let (_, v) = m.observe(&up(345.0, "x", boot(2, Attempt::None)));
    match v {
        Verdict::Failed(Failure::Unconfirmed { why }) => {
            assert!(why.contains("no provisioning attempt"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let mut blind = Monitor::new(expect(), URL, Some(1), None);
    blind.observe(&down(5.0));
    let look = |at| Observation {
        at,
        up: true,
        blind: true,
        ..Observation::default()
    };
    assert_eq!(blind.observe(&look(160.0)).1, Verdict::Watching);
    assert!(matches!(
        blind.observe(&look(345.0)).1,
        Verdict::Failed(Failure::Unconfirmed { .. })
    ));
}

/// "No evidence" rests on a log read after the quiet window: a read early in the window (before the phone's pass
/// started) followed by failed reads keeps the watch going, up to twice the window.
#[test]
fn no_evidence_needs_a_late_read() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    m.observe(&down(5.0));
    m.observe(&up(160.0, "x", boot(2, Attempt::None)));
    let unread = |at| Observation {
        at,
        up: true,
        ..Observation::default()
    };
    assert_eq!(m.observe(&unread(345.0)).1, Verdict::Watching);
    assert_eq!(m.observe(&unread(500.0)).1, Verdict::Watching);
    // The late read shows the pass: Inactive, not "no attempt".
    let loaded = Attempt::Loaded {
        lines: vec!["Prov|Finished updating configuration".into()],
        registered: None,
    };
    assert!(matches!(
        m.observe(&up(505.0, "x", boot(2, loaded))).1,
        Verdict::Inactive { .. }
    ));
    // Never readable: given twice the window, then unconfirmed.
    let mut never = Monitor::new(expect(), URL, Some(1), None);
    never.observe(&down(5.0));
    assert_eq!(never.observe(&unread(100.0)).1, Verdict::Watching);
    assert_eq!(never.observe(&unread(400.0)).1, Verdict::Watching);
    assert!(matches!(
        never.observe(&unread(461.0)).1,
        Verdict::Failed(Failure::Unconfirmed { .. })
    ));
}

/// A phone whose single web session is held is waited for until that session must have ended, then reported
/// unconfirmed with that reason; a session that frees in time lets the log decide.
#[test]
fn a_held_session_is_waited_out() {
    let busy = |at| Observation {
        at,
        up: true,
        busy: true,
        ..Observation::default()
    };
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    m.observe(&down(5.0));
    assert_eq!(m.observe(&busy(100.0)).1, Verdict::Watching);
    assert_eq!(
        m.observe(&busy(400.0)).1,
        Verdict::Watching,
        "past the window"
    );
    match m.observe(&busy(701.0)).1 {
        Verdict::Failed(Failure::Unconfirmed { why }) => {
            assert!(why.contains("held by another client for 601 s"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let mut freed = Monitor::new(expect(), URL, Some(1), None);
    freed.observe(&down(5.0));
    freed.observe(&busy(100.0));
    freed.observe(&busy(400.0));
    let loaded = Attempt::Loaded {
        lines: vec!["Prov|Finished updating configuration".into()],
        registered: None,
    };
    assert!(matches!(
        freed.observe(&up(450.0, "x", boot(2, loaded))).1,
        Verdict::Inactive { .. }
    ));
}

/// The phone's own failure lines end the watch with the failure they name.
#[test]
fn the_phones_failure_is_named() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    m.observe(&down(5.0));
    let failed = Attempt::Failed {
        failure: LogFailure::Unreachable,
        lines: vec!["Prov|Server 'x' is unresponsive".into()],
    };
    let (_, v) = m.observe(&up(200.0, "x", boot(2, failed)));
    assert!(
        matches!(
            v,
            Verdict::Failed(Failure::Server {
                failure: LogFailure::Unreachable,
                ..
            })
        ),
        "{v:?}"
    );
}

/// A finished pass that does not name the saved server (no server line) proves nothing.
#[test]
fn a_pass_without_the_server_line_proves_nothing() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    m.observe(&down(5.0));
    let mut b = boot(2, loaded());
    if let Some(b) = &mut b {
        b.server = None;
    }
    assert_eq!(m.observe(&up(160.0, "x", b)).1, Verdict::Watching);
    let mut resumed = Monitor::new(expect(), URL, None, None).resumed(0);
    let mut b = boot(1, loaded());
    if let Some(b) = &mut b {
        b.server = None;
    }
    assert_eq!(resumed.observe(&up(10.0, "x", b)).1, Verdict::Watching);
}

/// A watch resumed from the journal goes on counting from the reboots already recorded: the next boot the log
/// shows is the third, not the first.
#[test]
fn a_resumed_watch_counts_on_from_the_journal() {
    let mut m = Monitor::new(expect(), URL, None, None).resumed(2);
    m.observe(&up(1.0, "x", boot(5, Attempt::Running)));
    let (mut events, _) = m.observe(&down(2.0));
    events.extend(m.observe(&up(60.0, "x", boot(6, Attempt::Running))).0);
    assert!(
        events.contains(&Event::Rebooting { reboot: 3 }),
        "{events:?}"
    );
    assert_eq!(m.reboots, 3);
}

/// Evidence from before the reboot (the boot the phone was saved in) proves nothing.
#[test]
fn the_boot_before_the_save_proves_nothing() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    assert_eq!(
        m.observe(&up(1.0, "x", boot(1, loaded()))).1,
        Verdict::Watching
    );
}

/// After the reboot the phone uses another server than the one saved (a DHCP option): server reverted.
#[test]
fn another_server_is_reverted() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    m.observe(&down(5.0));
    let mut b = boot(2, Attempt::Running);
    if let Some(b) = &mut b {
        b.server = Some("http://tftp.lan.test/".into());
    }
    let (_, v) = m.observe(&up(160.0, "x", b));
    assert_eq!(
        v,
        Verdict::Failed(Failure::Reverted {
            now: "http://tftp.lan.test/".into()
        })
    );
}

/// Reboots that happen between two looks are counted from the log's boot entries.
#[test]
fn missed_reboots_are_counted_from_the_log() {
    let mut m = Monitor::new(expect(), URL, Some(1), Some("1".into()));
    let (ev, _) = m.observe(&up(400.0, "1", boot(4, Attempt::Running)));
    assert_eq!(m.reboots, 3);
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::Rebooting { .. }))
            .count(),
        3
    );
}

/// Down longer than the return window: never came back.
#[test]
fn never_came_back() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    m.observe(&down(5.0));
    assert_eq!(m.observe(&down(300.0)).1, Verdict::Watching);
    let (_, v) = m.observe(&down(460.0));
    assert!(
        matches!(v, Verdict::Failed(Failure::NeverCameBack { .. })),
        "{v:?}"
    );
}

/// Reboot after reboot without a result: an update loop.
#[test]
fn update_loop() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    let mut t = 0.0;
    let mut verdict = Verdict::Watching;
    for b in 2..20 {
        t += 10.0;
        m.observe(&down(t));
        t += 150.0;
        verdict = m.observe(&up(t, "x", boot(b, Attempt::Running))).1;
        if verdict != Verdict::Watching {
            break;
        }
    }
    assert!(
        matches!(verdict, Verdict::Failed(Failure::UpdateLoop { .. })),
        "{verdict:?}"
    );
}

/// Past the overall timeout: timed out.
#[test]
fn timeout() {
    let mut m = Monitor::new(expect(), URL, Some(1), None);
    let (_, v) = m.observe(&up(1600.0, "x", boot(1, Attempt::None)));
    assert!(matches!(v, Verdict::Failed(Failure::TimedOut { .. })));
}

/// A slow phone's pages may only be read after the overall timeout: what they show still decides. The log read
/// then shows the configuration loaded: Inactive, not timed out.
#[test]
fn evidence_read_after_the_timeout_still_decides() {
    let mut m = Monitor::new(expect(), URL, Some(1), Some("6.4.5".into()));
    m.observe(&down(5.0));
    let (_, v) = m.observe(&up(1600.0, "6.4.5", boot(2, loaded())));
    assert!(matches!(v, Verdict::Inactive { .. }), "{v:?}");
}

/// Trailing slashes and case do not make a server "different".
#[test]
fn server_comparison() {
    assert!(same_server(
        "HTTPS://Prov.example.test",
        "https://prov.example.test/"
    ));
    assert!(!same_server(
        "https://a.example.test/",
        "https://b.example.test/"
    ));
    assert!(same_server(
        "https://prov.example.test:443/poly",
        "prov.example.test/poly/"
    ));
    assert!(!same_server(
        "http://prov.example.test/poly",
        "https://prov.example.test/poly"
    ));
    assert!(!same_server(
        "https://prov.example.test:8443/poly",
        "https://prov.example.test/poly"
    ));
}
