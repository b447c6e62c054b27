//! `report.html` as a specification: nothing fetched, every device string escaped, "what to do" grouped by action,
//! a timeline from the journal or a note without one.

use super::*;

fn run() -> RunInfo {
    RunInfo {
        polyprov_version: "9.9.9".into(),
        generated: "2026-12-02T10:30:00Z".into(),
        started: Some("2026-12-02T10:00:00Z".into()),
        finished: Some("2026-12-02T10:20:00Z".into()),
        site: Some("Head office".into()),
        operator: Some("Sam".into()),
        server_type: "HTTPS".into(),
        server_url: "https://prov.example.com/poly/".into(),
        dry_run: false,
    }
}

fn row(mac: &str, state: &str) -> Row {
    Row {
        mac: mac.into(),
        target: "https://198.18.0.10/".into(),
        ip: "198.18.0.10".into(),
        address: "198.18.0.10".into(),
        model: "VVX 411".into(),
        profile: "poly-vvx-6".into(),
        family: "VVX".into(),
        firmware_before: "5.9.4.3247".into(),
        firmware_after: "6.4.5.1210".into(),
        server_before: String::new(),
        server_after: "HTTPS https://prov.example.com/poly/".into(),
        state: state.into(),
        reboots: 2,
        duration_secs: 300,
        error: String::new(),
        fix: String::new(),
        mac_activation_only: false,
        below_min_firmware: false,
        password_changed: false,
        extension: String::new(),
        user: String::new(),
        evidence: "log: Provisioning completed from https://prov.example.com/poly/".into(),
        warnings: String::new(),
        certificate_sha256: String::new(),
        started: "2026-12-02T10:00:00Z".into(),
        finished: "2026-12-02T10:05:00Z".into(),
    }
}

fn failed(mac: &str, error: &str, fix: &str) -> Row {
    Row {
        error: error.into(),
        fix: fix.into(),
        ..row(mac, "failed")
    }
}

fn hostile() -> Row {
    Row {
        model: "<script>alert(1)</script>".into(),
        firmware_before: "\"onload=alert(2) x=\"".into(),
        evidence: "<img src=https://evil.example/x.png> url(https://evil.example/) @import 'http://evil.example/'"
            .into(),
        error: "'><svg onload=alert(3)>".into(),
        fix: "see <a href=\"http://evil.example/\">this</a>".into(),
        ..row("64167F000099", "needs attention")
    }
}

fn page_of(rows: &[Row]) -> String {
    render(&run(), rows, &[], &Err("no journal".into()))
}

/// Every tag of the page (text holds no raw `<`: it is escaped), lowercased.
fn tags(page: &str) -> Vec<String> {
    page.split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(t).to_ascii_lowercase())
        .collect()
}

/// Where every `http://`/`https://` in the page stands: outside any tag (text), never inside one.
fn urls_only_in_text(page: &str) {
    for tag in tags(page) {
        assert!(
            !tag.contains("http:") && !tag.contains("https:"),
            "a URL inside a tag: <{tag}>"
        );
    }
}

/// Nothing in the page loads a resource: no tag that fetches, no attribute that names something to fetch, no
/// `url()` or `@import` in the style.
fn fetches_nothing(page: &str) {
    for tag in tags(page) {
        let name = tag
            .trim_start_matches('/')
            .split([' ', '\n'])
            .next()
            .unwrap_or("");
        assert!(
            ![
                "link", "img", "script", "iframe", "object", "embed", "base", "form", "use",
                "image", "audio", "video", "source", "frame"
            ]
            .contains(&name),
            "a tag that fetches: <{tag}>"
        );
        for attr in [
            " src=",
            " href=",
            " srcset=",
            " xlink:",
            " action=",
            " background=",
            " poster=",
            "\"refresh\"",
            "url(",
            "@import",
        ] {
            assert!(!tag.contains(attr), "{attr} in <{tag}>");
        }
    }
    let style = page
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .expect("an inline style");
    for construct in ["url(", "@import", "@font-face", "http:", "https:"] {
        assert!(!style.contains(construct), "{construct} in the style");
    }
    urls_only_in_text(page);
}

/// The page fetches nothing: no tag, attribute or CSS construct that loads a resource; the server URL and the
/// URLs a device sent (here a fake image tag, `url()` and `@import` in its evidence) appear as escaped text only.
#[test]
fn the_page_fetches_nothing() {
    let page = page_of(&[row("64167F000001", "Inactive"), hostile()]);
    fetches_nothing(&page);
    assert!(page.contains("HTTPS https://prov.example.com/poly/"));
    assert!(page.contains("&lt;img src=https://evil.example/x.png&gt;"));
    assert!(page.contains("default-src 'none'"), "a CSP forbids fetches");
}

/// What a device sent is shown, never obeyed: markup in a model name, quotes in a firmware string, tags in an
/// error or a fix all arrive as text.
#[test]
fn device_strings_are_escaped() {
    let page = page_of(&[hostile()]);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;onload=alert(2) x=&quot;"));
    assert!(page.contains("&#39;&gt;&lt;svg onload=alert(3)&gt;"));
    assert!(!page.contains("\"onload="));
    assert!(!page.contains("<svg onload"));
    assert!(!page.to_ascii_lowercase().contains("<script"));
    // A control character is shown inert, not passed to the page.
    assert_eq!(esc("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
}

/// "What to do" has one group per action: activation (by code or by MAC), activation by MAC only, each distinct
/// fix with every phone it concerns, the phones a person must look at, those in service.
#[test]
fn what_to_do_is_grouped_by_action() {
    let rows = [
        row("64167F000001", "Inactive"),
        Row {
            mac_activation_only: true,
            below_min_firmware: true,
            ..row("0004F2000002", "Inactive")
        },
        failed("64167F000003", "never came back", "power-cycle the phone"),
        failed(
            "64167F000004",
            "never came back after 600 s",
            "power-cycle the phone",
        ),
        Row {
            fix: "enter the admin password".into(),
            error: "wrong password".into(),
            ..row("64167F000005", "needs attention")
        },
        Row {
            error: "timed out".into(),
            ..row("64167F000006", "unconfirmed")
        },
        row("64167F000007", "Active"),
    ];
    let page = page_of(&rows);
    let groups = groups(&rows);
    let summary: Vec<(&str, &str, usize)> = groups
        .iter()
        .map(|g| (g.action, g.heading.as_str(), g.rows.len()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "activate",
                "Activate in the admin console (by code or by MAC)",
                1
            ),
            (
                "activate-by-mac",
                "Activate by MAC only (this model cannot take an activation code)",
                1
            ),
            ("fix", "Power-cycle the phone", 2),
            ("fix", "Enter the admin password", 1),
            ("look", "Look at these phones (unconfirmed)", 1),
            ("in-service", "In service (Active): nothing to do", 1),
        ]
    );
    assert_eq!(page.matches("class=\"todo-group").count(), 6);
    assert!(page.contains("firmware below the service's minimum"));
    assert_eq!(page.matches("<tr class=\"phone\"").count(), rows.len());
    assert!(page.contains(&page_line(&rows)));
}

fn page_line(rows: &[Row]) -> String {
    esc(&super::super::summary(rows).line())
}

/// Without a journal the page is still written, whole, with a note where the timeline would be.
#[test]
fn a_missing_journal_leaves_a_note() {
    let dir = std::env::temp_dir().join(format!("polyprov-html-nojournal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let page = page(&dir, &run(), &[row("64167F000001", "Inactive")], &[]);
    assert!(page.contains("class=\"note timeline-missing\""));
    assert!(page.contains("<tr class=\"phone\""));
    assert!(!page.contains("phone-timeline"));
    std::fs::write(
        dir.join(crate::journal::FILE),
        "{\"kind\":\"phone\",\"at\":",
    )
    .expect("write");
    let page = super::page(&dir, &run(), &[row("64167F000001", "Inactive")], &[]);
    assert!(page.contains("unreadable line 1"));
    std::fs::remove_dir_all(&dir).ok();
}

/// With a journal, each phone of the table gets a line with its marks and exactly one final state.
#[test]
fn the_timeline_marks_each_phone() {
    let line = |at: u32, mac: &str, event: &str| {
        format!(
            "{{\"kind\":\"phone\",\"at\":{at}.0,\"phone\":\"198.18.0.{}:443\",\"mac\":\"{mac}\",\"event\":{event}}}\n",
            &mac[10..]
        )
    };
    let mut j = String::new();
    for (mac, reboots) in [("64167F000001", 2), ("64167F000002", 0)] {
        j += &line(100, mac, r#"{"event":"probing","target":"x"}"#);
        j += &line(110, mac, r#"{"event":"saving"}"#);
        for r in 1..=reboots {
            j += &line(
                110 + 20 * r,
                mac,
                &format!(r#"{{"event":"rebooting","reboot":{r}}}"#),
            );
            j += &line(
                120 + 20 * r,
                mac,
                &format!(r#"{{"event":"back","reboot":{r},"firmware":null}}"#),
            );
        }
    }
    let t = timeline::parse(&j).expect("journal");
    let rows = [
        row("64167F000001", "Inactive"),
        row("64167F000002", "failed"),
    ];
    let page = render(&run(), &rows, &[], &Ok(t));
    assert_eq!(page.matches("class=\"tl-row phone-timeline\"").count(), 2);
    assert_eq!(page.matches("class=\"mark mark-reboot\"").count(), 2);
    assert_eq!(page.matches("class=\"mark mark-save\"").count(), 2);
    assert_eq!(page.matches("class=\"mark mark-final ").count(), 2);
    assert!(page.contains("class=\"mark mark-final state-failed\" data-state=\"failed\""));
    fetches_nothing(&page);
}

/// `write_files` writes the page beside the other reports, dry runs included, and says so in the paths it returns.
#[test]
fn write_files_writes_the_page_for_a_dry_run() {
    let dir = std::env::temp_dir().join(format!("polyprov-html-dry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let run = RunInfo {
        dry_run: true,
        ..run()
    };
    let rows = [row("64167F000001", "dry run")];
    let paths = super::super::write_files(&dir, &run, &rows, &[]).expect("reports written");
    assert!(paths.contains(&dir.join("report.html")), "{paths:?}");
    let page = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(page.contains("class=\"banner dry-run\""));
    assert!(page.contains("data-action=\"look\""));
    assert!(page.contains("Dry run only"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A row finds its phone's line by the journal key, then by MAC (a phone that moved), then by host (the default
/// port is left out of the row's address).
#[test]
fn rows_find_their_timeline() {
    let line = |key: &str, mac: &str| {
        format!(
            "{{\"kind\":\"phone\",\"at\":1.0,\"phone\":\"{key}\",\"mac\":\"{mac}\",\"event\":{{\"event\":\"saving\"}}}}\n"
        )
    };
    let j = line("198.18.0.10:443", "64167F000001") + &line("198.18.0.11:8443", "64167F000001");
    let t = timeline::parse(&j).expect("journal");
    let at = |mac: &str, address: &str| {
        let r = Row {
            address: address.into(),
            ..row(mac, "Inactive")
        };
        t.of(&r).map(|p| p.key.clone())
    };
    assert_eq!(
        at("64167F000001", "198.18.0.11:8443").as_deref(),
        Some("198.18.0.11:8443")
    );
    assert_eq!(
        at("64167F000009", "198.18.0.10").as_deref(),
        Some("198.18.0.10:443")
    );
    assert_eq!(
        at("64167F000001", "198.18.0.99").as_deref(),
        Some("198.18.0.10:443")
    );
    assert_eq!(at("64167F000009", "198.18.0.99"), None);
}
