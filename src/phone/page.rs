//! Everything the agent reads off a phone's pages becomes a typed value here, and only here: login answers
//! (`lockparams|STATE|n`), the CSRF token, model/firmware/MAC from the status pages, the provisioning form's
//! fields, boots in the application log. Parsers take untrusted text, never panic, and say what was wrong.

use crate::mac::Mac;

/// What a login call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAnswer {
    Success,
    Invalid,
    OneAttemptLeft,
    /// This attempt locked the web UI for that many seconds.
    LockedFor(u64),
    /// The web UI is locked; that many seconds remain.
    Locked(u64),
}

/// A page that did not say what the agent expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {problem} (got {excerpt:?})")]
pub struct PageError {
    pub what: &'static str,
    pub problem: String,
    pub excerpt: String,
}

fn page_error(what: &'static str, problem: impl Into<String>, body: &str) -> PageError {
    PageError {
        what,
        problem: problem.into(),
        excerpt: body.chars().take(80).collect(),
    }
}

/// Run `parse` on a device's `body` off the async worker threads — on the blocking pool, at most one parse per
/// core at once — so a page that is slow to parse (however far under the size and depth budgets the client
/// holds it to) stalls no other phone's requests, timers or display.
pub async fn off_runtime<T, F>(body: String, parse: F) -> T
where
    T: Default + Send + 'static,
    F: FnOnce(&str) -> T + Send + 'static,
{
    static PARSERS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = std::thread::available_parallelism().map_or(2, |n| n.get());
    let parsers = PARSERS.get_or_init(|| tokio::sync::Semaphore::new(permits));
    // A closed semaphore is never made: without a permit the parse still runs, just unthrottled.
    let _permit = parsers.acquire().await.ok();
    match tokio::task::spawn_blocking(move || parse(&body)).await {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: the runtime is shutting down, and the task waiting for this with it.
        Err(_) => T::default(),
    }
}

/// Parse a `lockparams|STATE|n` login answer.
pub fn parse_lockparams(body: &str) -> Result<LoginAnswer, PageError> {
    let mut parts = body.trim().split('|');
    if parts.next() != Some("lockparams") {
        return Err(page_error("login answer", "not a lockparams answer", body));
    }
    let state = parts.next().unwrap_or("");
    let n = parts.next().and_then(|s| s.trim().parse::<u64>().ok());
    Ok(match state {
        "SUCCESS" => LoginAnswer::Success,
        "INVALID_LOGIN" => LoginAnswer::Invalid,
        "ONE_ATTEMPT_LEFT" => LoginAnswer::OneAttemptLeft,
        "LOCKEDFOR" => LoginAnswer::LockedFor(n.unwrap_or(0)),
        "LOCKED" => LoginAnswer::Locked(n.unwrap_or(0)),
        other => {
            return Err(page_error(
                "login answer",
                format!("unknown state {other:?}"),
                body,
            ));
        }
    })
}

/// The CSRF token of `<meta name="csrf-token" content="…"/>`, if the page has one.
pub fn csrf_token(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("meta[name=\"csrf-token\"]").ok()?;
    let token = doc
        .select(&sel)
        .next()?
        .value()
        .attr("content")?
        .trim()
        .to_string();
    (!token.is_empty()).then_some(token)
}

/// The `<title>` text.
pub fn title(html: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("title").ok()?;
    let t = doc
        .select(&sel)
        .next()?
        .text()
        .collect::<String>()
        .trim()
        .to_string();
    (!t.is_empty()).then_some(t)
}

/// What a phone's status page shows about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub mac: Option<Mac>,
    pub part_number: Option<String>,
}

/// Read `home.htm`: cells by id (`phoneModelInformationTd`, `UCS_software_version`), the rest by the label's
/// `textId` (292 model, 293 part number, 294 MAC, 1023 version), the value being the row's second cell.
pub fn parse_home(html: &str) -> DeviceInfo {
    let doc = scraper::Html::parse_document(html);
    let by_id = |id: &str| -> Option<String> {
        let sel = scraper::Selector::parse(&format!("#{id}")).ok()?;
        let t = doc
            .select(&sel)
            .next()?
            .text()
            .collect::<String>()
            .trim()
            .to_string();
        (!t.is_empty()).then_some(t)
    };
    let by_text_id = |id: &str| -> Option<String> {
        let rows = scraper::Selector::parse("tr").ok()?;
        let label =
            scraper::Selector::parse(&format!("span[textId=\"{id}\"], span[textid=\"{id}\"]"))
                .ok()?;
        let cells = scraper::Selector::parse("td").ok()?;
        doc.select(&rows)
            .find(|r| r.select(&label).next().is_some())
            .and_then(|r| r.select(&cells).nth(1))
            .map(|c| c.text().collect::<String>().trim().to_string())
            .filter(|t| !t.is_empty())
    };
    DeviceInfo {
        model: by_id("phoneModelInformationTd").or_else(|| by_text_id("292")),
        firmware: by_id("UCS_software_version").or_else(|| by_text_id("1023")),
        mac: by_text_id("294").and_then(|m| m.parse().ok()),
        part_number: by_text_id("293"),
    }
}

/// The model named by a logged-in page's title, `Polycom - VVX 411 Configuration Utility`.
pub fn model_from_title(html: &str) -> Option<String> {
    let t = title(html)?;
    let rest = t
        .strip_prefix("Polycom - ")
        .or_else(|| t.strip_prefix("Poly - "))?;
    let model = rest.strip_suffix(" Configuration Utility")?.trim();
    (!model.is_empty()).then(|| model.to_string())
}

/// One form control of the provisioning page: submitted `name` ↔ `paramname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The firmware's own (numeric) form name.
    pub name: String,
    pub paramname: String,
    /// Current value (the selected option of a select).
    pub value: String,
    pub is_select: bool,
    /// Option values of a select.
    pub options: Vec<String>,
    /// The value the provisioning server's configuration files set, from the control's `config` attribute
    /// (S56: a Teams-provisioned VVX shows the URL its configuration pushed there).
    pub config: Option<String>,
}

/// Form controls carrying a `paramname` (any case) in a provisioning page, in page order.
pub fn parse_fields(html: &str) -> Vec<Field> {
    let doc = scraper::Html::parse_document(html);
    let (Ok(sel), Ok(opt)) = (
        scraper::Selector::parse("input[paramname], select[paramname]"),
        scraper::Selector::parse("option"),
    ) else {
        return Vec::new();
    };
    doc.select(&sel)
        .filter_map(|el| {
            let v = el.value();
            let name = v.attr("name")?.to_string();
            let paramname = v.attr("paramname")?.to_string();
            let is_select = v.name() == "select";
            let options: Vec<String> = el
                .select(&opt)
                .filter_map(|o| o.value().attr("value").map(str::to_string))
                .collect();
            let value = if is_select {
                el.select(&opt)
                    .find(|o| o.value().attr("selected").is_some())
                    .and_then(|o| o.value().attr("value"))
                    .unwrap_or("")
                    .to_string()
            } else {
                v.attr("value").unwrap_or("").to_string()
            };
            let config = v
                .attr("config")
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty());
            Some(Field {
                name,
                paramname,
                value,
                is_select,
                options,
                config,
            })
        })
        .collect()
}

/// Boots recorded in an application log: lines whose message is the phone's `Initial log entry.`.
pub fn log_boots(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("Initial log entry."))
        .count()
}

/// The realm of a `WWW-Authenticate` challenge.
pub fn realm(www_authenticate: &str) -> Option<String> {
    let at = www_authenticate.find("realm=\"")? + "realm=\"".len();
    let len = www_authenticate[at..].find('"')?;
    Some(www_authenticate[at..at + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The four lockout answers and success read as values; anything else is an error naming it.
    #[test]
    fn lockparams() {
        assert_eq!(
            parse_lockparams("lockparams|SUCCESS|0"),
            Ok(LoginAnswer::Success)
        );
        assert_eq!(
            parse_lockparams("lockparams|INVALID_LOGIN|0"),
            Ok(LoginAnswer::Invalid)
        );
        assert_eq!(
            parse_lockparams("lockparams|ONE_ATTEMPT_LEFT|0"),
            Ok(LoginAnswer::OneAttemptLeft)
        );
        assert_eq!(
            parse_lockparams("lockparams|LOCKEDFOR|60"),
            Ok(LoginAnswer::LockedFor(60))
        );
        assert_eq!(
            parse_lockparams("lockparams|LOCKED|41"),
            Ok(LoginAnswer::Locked(41))
        );
        let e = parse_lockparams("<html>oops</html>").unwrap_err();
        assert!(e.to_string().contains("not a lockparams answer"), "{e}");
        assert!(parse_lockparams("lockparams|WHAT|1").is_err());
    }

    /// The status page gives model, firmware and MAC.
    #[test]
    fn home_page() {
        let html = r#"<table><tr><td><span textId="292">Phone Model</span>:</td><td id="phoneModelInformationTd">VVX 411</td></tr>
            <tr><td><span textId="294">MAC Address</span>:</td><td>64:16:7f:a1:b6:45</td></tr>
            <tr><td><span textId="1023">UC Software Version</span>:</td><td id="UCS_software_version">6.4.5.1210</td></tr></table>"#;
        let info = parse_home(html);
        assert_eq!(info.model.as_deref(), Some("VVX 411"));
        assert_eq!(info.firmware.as_deref(), Some("6.4.5.1210"));
        assert_eq!(info.mac, Some("64167FA1B645".parse().unwrap()));
    }

    /// CSRF token, model from title, realm.
    #[test]
    fn small_pieces() {
        let html = "<html><head><title>Polycom - CCX 500 Configuration Utility</title><meta name=\"csrf-token\" content=\"abc=\"/></head></html>";
        assert_eq!(csrf_token(html).as_deref(), Some("abc="));
        assert_eq!(model_from_title(html).as_deref(), Some("CCX 500"));
        assert_eq!(csrf_token("<html/>"), None);
        assert_eq!(
            realm("Basic realm=\"SPIP Configuration\", Digest realm=\"SPIP Configuration\"")
                .as_deref(),
            Some("SPIP Configuration")
        );
    }

    proptest! {
        #![proptest_config(crate::testing::device_cases(512))]

        #[test]
        fn lockparams_never_panics(s in ".{0,64}") {
            let _ = parse_lockparams(&s);
        }

        #[test]
        fn lockparams_roundtrip(state in prop::sample::select(vec!["SUCCESS", "INVALID_LOGIN", "ONE_ATTEMPT_LEFT", "LOCKEDFOR", "LOCKED"]), n in 0u64..100_000) {
            let parsed = parse_lockparams(&format!("lockparams|{state}|{n}")).unwrap();
            match parsed {
                LoginAnswer::LockedFor(x) | LoginAnswer::Locked(x) => prop_assert_eq!(x, n),
                _ => {}
            }
        }

        /// Real recorded pages, mutated at up to 24 places, read without a panic by every page parser.
        #[test]
        fn mutated_recorded_pages_never_panic(s in crate::testing::mutated(crate::testing::recorded_bodies())) {
            let _ = parse_home(&s);
            let _ = parse_fields(&s);
            let _ = csrf_token(&s);
            let _ = model_from_title(&s);
            let _ = log_boots(&s);
            let _ = parse_lockparams(&s);
            let _ = crate::phone::client::html_budget(&s);
        }

        #[test]
        fn html_parsers_never_panic(s in "(<[a-z]{1,6}( [a-z]{1,8}=\"[^\"]{0,8}\")*/?>|[^<]{0,12}|</[a-z]{1,6}>){0,30}") {
            let _ = parse_home(&s);
            let _ = parse_fields(&s);
            let _ = csrf_token(&s);
            let _ = model_from_title(&s);
            let _ = log_boots(&s);
            let _ = realm(&s);
        }
    }
}
