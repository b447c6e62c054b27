//! The recorder proxies a browser session to a phone and writes it as a HAR with every secret redacted; the
//! recording then loads as a fixture and replays against a fresh simulated phone.

mod common;

use std::collections::BTreeSet;

use common::wire::{Target, assert_same_head, exchange, host, request};
use common::*;
use polyprov::fixture::read_har;
use polyprov::fixture::redact::replace_meta_content;
use polyprov::fixture::redact::{find_secrets, secret_form_names};
use polyprov::record::Recorder;

/// A technician's session through the recorder: login, CSRF, provisioning page, a save with a server password,
/// a password change. Nothing secret reaches the file, and the file replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_session_is_redacted_and_replays() {
    let m = mac("64167F000301");
    let sim = start(vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000301")], 1.0).await;
    let target: url::Url = format!("https://{}/", sim.phones()[0].web_addr())
        .parse()
        .unwrap();
    let out = std::env::temp_dir().join(format!("polyprov-record-{}.har", std::process::id()));
    let rec = Recorder::start(target, "127.0.0.1:0".parse().unwrap(), out.clone())
        .await
        .unwrap();
    let proxy = format!("http://{}", rec.addr());
    let browser = reqwest::Client::builder().no_proxy().build().unwrap();

    assert!(
        browser
            .get(format!("{proxy}/login.htm"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("password")
    );
    let login = browser
        .post(format!("{proxy}/form-submit/auth.htm"))
        .header("Authorization", basic(PASSWORD))
        .send()
        .await
        .unwrap();
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        !set_cookie.contains("Secure"),
        "the browser side is plain HTTP, so Secure is dropped: {set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let token_value = cookie.split_once('=').unwrap().1.to_string();
    assert_eq!(login.text().await.unwrap(), "lockparams|SUCCESS|0");
    let index = browser
        .get(format!("{proxy}/index.htm"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = index
        .split("<meta name=\"csrf-token\" content=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    browser
        .get(format!("{proxy}/provConf.htm"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let saved = browser
        .post(format!("{proxy}/form-submit"))
        .header("Cookie", &cookie)
        .header("anti-csrf-token", &csrf)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("482=3&480=https%3A%2F%2Fprov.example.test%2Fp%2F&474=prov-secret-99")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(saved, "CONF_CHANGE");
    let cert = rec.certificate().expect("the phone's certificate was seen");
    assert_eq!(cert.common_name, "64167F000301");
    let (path, n) = rec.stop().unwrap();
    assert_eq!(n, 5);

    let text = std::fs::read_to_string(&path).unwrap();
    for secret in [
        PASSWORD,
        "prov-secret-99",
        token_value.as_str(),
        csrf.as_str(),
        &basic(PASSWORD)[6..],
    ] {
        assert!(!text.contains(secret), "the recording contains {secret:?}");
    }
    let har = read_har(&path).unwrap();
    let mut names = BTreeSet::new();
    for e in &har.log.entries {
        names.extend(
            e.response
                .content
                .text
                .as_deref()
                .map(secret_form_names)
                .unwrap_or_default(),
        );
    }
    assert!(
        names.contains("474"),
        "the provisioning page marks its password field"
    );
    for e in &har.log.entries {
        assert!(find_secrets(e, &names).is_empty(), "{}", e.request.url);
    }
    assert_eq!(
        har.log.entries[1].request.header("authorization"),
        Some("Basic [REDACTED]")
    );
    assert!(
        har.log.entries[4]
            .request
            .post_data
            .as_ref()
            .unwrap()
            .text
            .contains("474=%5BREDACTED%5D")
    );
    sim.shutdown().await;

    // Replay against a fresh phone, byte for byte: the recorder kept what the phone sent (the status line, every
    // header name as spelled and in order, the bodies), so a fresh phone answers the recorded requests with the
    // same — but for the live session cookie and CSRF token, and the recorder's redactions.
    let sim = start(vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000301")], 1.0).await;
    let target = Target {
        addr: sim.phones()[0].web_addr(),
        tls: true,
        mac: m,
    };
    let mut session = String::new();
    let mut token = String::new();
    for (i, e) in har.log.entries.iter().enumerate() {
        let path = e.request.path_and_query();
        let mut headers: Vec<(&str, String)> = vec![("Host", host(&target))];
        for h in &e.request.headers {
            let value = match h.name.to_ascii_lowercase().as_str() {
                "host" | "content-length" | "connection" | "accept-encoding" => continue,
                "authorization" => basic(PASSWORD),
                "cookie" => format!("session={session}"),
                "anti-csrf-token" => token.clone(),
                _ => h.value.clone(),
            };
            headers.push((h.name.as_str(), value));
        }
        let body = e
            .request
            .post_data
            .as_ref()
            .map(|pd| pd.text.replace("%5BREDACTED%5D", "x"))
            .unwrap_or_default();
        if e.request.method == "POST" {
            headers.push(("Content-Length", body.len().to_string()));
        }
        headers.push(("Connection", "close".into()));
        let a = exchange(
            &target,
            &request(&e.request.method, &path, &headers, body.as_bytes()),
        )
        .await
        .unwrap();
        let at = format!("recorded entry {i} ({} {path})", e.request.method);
        assert_same_head(&at, &a, &e.response);
        if let Some(c) = a.any_case("set-cookie").first() {
            session = c
                .split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
        }
        let text = a.text();
        if let Some(t) = text.split("<meta name=\"csrf-token\" content=\"").nth(1) {
            token = t.split('"').next().unwrap_or_default().to_string();
        }
        assert_eq!(
            replace_meta_content(&text, "[REDACTED]"),
            e.response.body(),
            "{at}: body"
        );
    }
    assert_eq!(report(&sim, m).await["server-type"], "HTTPS");
    sim.shutdown().await;
    std::fs::remove_file(&path).ok();
}

/// The recorder refuses to listen anywhere but loopback: the proxy carries an admin session.
#[tokio::test]
async fn recorder_listens_on_loopback_only() {
    let target: url::Url = "https://198.18.0.10/".parse().unwrap();
    let err = Recorder::start(
        target,
        "0.0.0.0:0".parse().unwrap(),
        std::env::temp_dir().join("x.har"),
    )
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("loopback only"), "{err}");
}

/// Secrets in every shape a browser (or a script) can send reach the phone but never the recording: multipart,
/// JSON and untyped bodies, `pwd=`/`pass=` query and form fields, `Proxy-Authorization` and custom password
/// headers, and the typed password wherever else it shows up. The file is its owner's alone (0600).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shape_of_secret_is_redacted() {
    use std::os::unix::fs::PermissionsExt;
    let sim = start(vec![phone("poly-vvx-6", "6.4.5.1210", "64167F000302")], 1.0).await;
    let target: url::Url = format!("https://{}/", sim.phones()[0].web_addr())
        .parse()
        .unwrap();
    let out =
        std::env::temp_dir().join(format!("polyprov-record-shapes-{}.har", std::process::id()));
    let rec = Recorder::start(target, "127.0.0.1:0".parse().unwrap(), out.clone())
        .await
        .unwrap();
    let proxy = format!("http://{}", rec.addr());
    let browser = reqwest::Client::builder().no_proxy().build().unwrap();
    let secrets = [
        "multipart-secret-1",
        "json-secret-2",
        "untyped-secret-3",
        "query-secret-4",
        "proxy-secret-5",
        "header-secret-6",
        "echoed-secret-7",
    ];
    let boundary = "XyZ123";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nPolycom\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{}\r\n--{boundary}--\r\n",
        secrets[0]
    );
    let sends = [
        browser
            .post(format!("{proxy}/form-submit/upload"))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(multipart),
        browser
            .post(format!("{proxy}/api/v1/login"))
            .header("Content-Type", "application/json")
            .body(format!(
                "{{\"user\":\"Polycom\",\"auth\":{{\"pwd\":\"{}\"}}}}",
                secrets[1]
            )),
        browser
            .post(format!("{proxy}/form-submit/raw"))
            .body(format!("user=Polycom&pass={}", secrets[2])),
        browser.get(format!("{proxy}/login.htm?user=Polycom&pwd={}", secrets[3])),
        browser
            .get(format!("{proxy}/index.htm"))
            .header("Proxy-Authorization", format!("Bearer {}", secrets[4])),
        browser
            .get(format!("{proxy}/index.htm"))
            .header("X-Admin-Password", secrets[5]),
        // A typed password echoed somewhere no rule knows: learned from the Basic credential, redacted anyway.
        browser
            .post(format!("{proxy}/form-submit/auth.htm"))
            .header("Authorization", basic(secrets[6]))
            .header("X-Note", format!("retyped {}", secrets[6])),
    ];
    for req in sends {
        req.send().await.expect("the proxy answers");
    }
    let (path, n) = rec.stop().unwrap();
    assert_eq!(n, 7);
    let text = std::fs::read_to_string(&path).unwrap();
    for s in secrets {
        assert!(!text.contains(s), "the recording contains {s:?}");
    }
    assert!(
        text.contains("user=Polycom") && text.contains("Polycom"),
        "what is not secret stays"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the recording is its owner's alone");
    sim.shutdown().await;
    std::fs::remove_file(&path).ok();
}
