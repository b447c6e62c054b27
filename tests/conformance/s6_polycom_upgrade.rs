//! S6: DatalinkNetworks/PolycomUpgrade, `main.py` (commit 28c7329), python-requests 2.31 over plain HTTP only
//! (`http://<ip>/`). Every request carries `Authorization: Basic …` and the cookie `Authorization=Basic …`; the jar
//! returns the phone's cookies too (never a `Secure` one over plain HTTP, as Python's cookie jar does). Login: `GET
//! /index.htm` must answer 200, then `POST /form-submit/auth.htm` with an empty body and no Content-Type is logged
//! in on 200 with `|SUCCESS|` in the body — or on **406, whatever the body** (a second session). The CSRF token: the
//! first line of index.htm that contains `csrf-token`, `content="(.*)"` greedy on that line, sent back as the header
//! `anti-csrf-token` on every later request; no such line is no token, a line without the match aborts. The model:
//! the distinct `VVX (\d+)` in index.htm (then `Trio (\d+)`), which must be in its table (500, 501, 8500).
//!
//! A phone still on the factory password is first moved to the new one (`POST /form-submit/Settings/ChangePassword`,
//! `oldadminpswd=…&newadminpswd=…&cnfmadminpswd=…`, must answer 200), then the upgrade logs in again and compares
//! `GET /Utilities/softwareUpgrade/getPhoneVersion`, as is (no strip), with the version wanted: equal is "already on
//! version" and the run ends there; otherwise it lists the versions Poly's server offers, which needs the phone to
//! reach the Internet (not simulated). It names the VVX 500/501 going to 5.9.7, so 5.9 phones whose site switched
//! plain HTTP on; a factory 5.9/6.x phone serves HTTPS only (S33) and S6 cannot connect.

use regex::Regex;

use crate::common::wire::{Answer, Target, basic, exchange, request};
use crate::common::{PASSWORD, report, urlencode};
use crate::{Persona, Scheme};
use polyprov::sim::variant::Variant;

/// One `requests.Session` with its auth and cookie set.
struct Session {
    t: Target,
    password: String,
    /// Cookies the jar would return over plain HTTP (name=value).
    jar: Vec<String>,
    csrf: Option<String>,
}

#[derive(Debug, PartialEq)]
enum Said {
    AlreadyOnVersion,
    NeedsUpgrade(String),
    InvalidPassword,
    UnknownModel(Option<String>),
    CsrfNotFound,
    Failed(String),
}

impl Session {
    fn new(t: &Target, password: &str) -> Session {
        Session {
            t: t.clone(),
            password: password.into(),
            jar: Vec::new(),
            csrf: None,
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> std::io::Result<Answer> {
        let b = basic("Polycom", &self.password);
        let mut cookies = vec![format!("Authorization={b}")];
        cookies.extend(self.jar.iter().cloned());
        let mut h = vec![
            ("Host", self.t.addr.to_string()),
            ("User-Agent", "python-requests/2.31.0".to_string()),
            ("Accept-Encoding", "gzip, deflate".into()),
            ("Accept", "*/*".into()),
            ("Connection", "keep-alive".into()),
        ];
        if let Some(t) = &self.csrf {
            h.push(("anti-csrf-token", t.clone()));
        }
        h.push(("Cookie", cookies.join("; ")));
        if method == "POST" {
            h.push(("Content-Length", body.map_or(0, str::len).to_string()));
        }
        if body.is_some() {
            h.push(("Content-Type", "application/x-www-form-urlencoded".into()));
        }
        h.push(("Authorization", b));
        let a = exchange(
            &self.t,
            &request(method, path, &h, body.unwrap_or("").as_bytes()),
        )
        .await?;
        for c in a.any_case("Set-Cookie") {
            let secure = c
                .split(';')
                .skip(1)
                .any(|attr| attr.trim().eq_ignore_ascii_case("secure"));
            if let (false, Some(pair)) = (secure, c.split(';').next()) {
                self.jar.push(pair.trim().to_string());
            }
        }
        Ok(a)
    }

    /// `login()`: index.htm 200, then the auth POST: 406, or 200 with `|SUCCESS|`.
    async fn login(&mut self) -> std::io::Result<bool> {
        if self.send("GET", "/index.htm", None).await?.status != 200 {
            return Ok(false);
        }
        let a = self.send("POST", "/form-submit/auth.htm", None).await?;
        Ok(a.status == 406 || (a.status == 200 && a.text().contains("|SUCCESS|")))
    }

    /// `get_csrf_token()`.
    async fn csrf(&mut self) -> std::io::Result<Result<(), Said>> {
        let a = self.send("GET", "/index.htm", None).await?;
        if a.status != 200 {
            return Ok(Err(Said::Failed(format!("index.htm {}", a.status))));
        }
        let text = a.text();
        let Some(line) = text
            .lines()
            .find(|l| l.to_ascii_lowercase().contains("csrf-token"))
        else {
            return Ok(Ok(()));
        };
        let re = Regex::new(r#"content="(.*)""#).expect("regex");
        match re.captures(line) {
            Some(c) => {
                self.csrf = Some(c[1].to_string());
                Ok(Ok(()))
            }
            None => Ok(Err(Said::CsrfNotFound)),
        }
    }

    /// `get_model()`: the distinct `VVX (\d+)` (else `Trio (\d+)`) of index.htm; more than one is a coin toss.
    async fn model(&mut self) -> std::io::Result<Option<String>> {
        let text = self.send("GET", "/index.htm", None).await?.text();
        for pattern in [r"VVX (\d+)", r"Trio (\d+)"] {
            let mut found: Vec<String> = Regex::new(pattern)
                .expect("regex")
                .captures_iter(&text)
                .map(|c| c[1].to_string())
                .collect();
            found.sort();
            found.dedup();
            assert!(
                found.len() <= 1,
                "index.htm names several models {found:?}: S6 would pick one at random"
            );
            if let Some(m) = found.pop() {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }
}

/// Its whole run for one phone: the default-password change, then the upgrade up to the version check.
async fn run(t: &Target, new_password: &str, wanted: &str) -> std::io::Result<Said> {
    let mut probe = Session::new(t, "456");
    if probe.login().await? {
        let mut s = Session::new(t, "456");
        if !s.login().await? {
            return Ok(Said::InvalidPassword);
        }
        if let Err(said) = s.csrf().await? {
            return Ok(said);
        }
        let body = format!(
            "oldadminpswd=456&newadminpswd={}&cnfmadminpswd={}",
            urlencode(new_password),
            urlencode(new_password)
        );
        let a = s
            .send("POST", "/form-submit/Settings/ChangePassword", Some(&body))
            .await?;
        if a.status != 200 {
            return Ok(Said::Failed(format!("password change {}", a.status)));
        }
    }
    let mut s = Session::new(t, new_password);
    if !s.login().await? {
        return Ok(Said::InvalidPassword);
    }
    if let Err(said) = s.csrf().await? {
        return Ok(said);
    }
    match s.model().await? {
        Some(m) if ["500", "501", "8500"].contains(&m.as_str()) => {}
        other => return Ok(Said::UnknownModel(other)),
    }
    let v = s
        .send("GET", "/Utilities/softwareUpgrade/getPhoneVersion", None)
        .await?;
    if v.status != 200 {
        return Ok(Said::Failed(format!("getPhoneVersion {}", v.status)));
    }
    Ok(if v.text() == wanted {
        Said::AlreadyOnVersion
    } else {
        Said::NeedsUpgrade(v.text())
    })
}

async fn vvx_501_on_5_9(mac: &str, password: &str) -> Persona {
    Persona::custom(
        "poly-vvx-6",
        "5.9.4.3247",
        mac,
        password,
        Scheme::Http,
        |s| {
            s.model = Some("VVX 501".into());
            s.variants = vec![Variant::PlainHttp];
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_moves_a_factory_password_and_finds_the_version_vvx_5_9() {
    let p = vvx_501_on_5_9("0004F200C601", "456").await;
    let said = run(&p.target, "4567", "5.9.4.3247")
        .await
        .expect("the phone answers");
    assert_eq!(said, Said::AlreadyOnVersion);
    let r = report(&p.sim, p.target.mac).await;
    assert_eq!(
        r["password-is-factory"], false,
        "the factory password was changed"
    );
    assert_eq!(r["stats"]["password-changes"], 1);
    // A second run: 456 no longer works, so it goes straight to the upgrade with the new password.
    let again = run(&p.target, "4567", "5.9.7.4477")
        .await
        .expect("the phone answers");
    assert_eq!(again, Said::NeedsUpgrade("5.9.4.3247".into()));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_wrong_password_is_invalid_vvx_5_9() {
    let p = vvx_501_on_5_9("0004F200C602", PASSWORD).await;
    let said = run(&p.target, "4567", "5.9.4.3247")
        .await
        .expect("the phone answers");
    assert_eq!(said, Said::InvalidPassword);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_skips_a_model_outside_its_table_vvx_5_9() {
    let p = Persona::custom(
        "poly-vvx-6",
        "5.9.4.3247",
        "0004F200C603",
        PASSWORD,
        Scheme::Http,
        |s| {
            s.model = Some("VVX 411".into());
            s.variants = vec![Variant::PlainHttp];
        },
    )
    .await;
    let said = run(&p.target, PASSWORD, "5.9.4.3247")
        .await
        .expect("the phone answers");
    assert_eq!(said, Said::UnknownModel(Some("411".into())));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_cannot_connect_to_factory_https_only_vvx_5_9_and_6_4() {
    for (firmware, mac) in [
        ("5.9.4.3247", "0004F200C604"),
        ("6.4.5.1210", "0004F200C605"),
    ] {
        let p = Persona::custom("poly-vvx-6", firmware, mac, PASSWORD, Scheme::Http, |_| {}).await;
        let got = run(&p.target, "4567", firmware).await;
        assert!(got.is_err(), "{firmware}: {got:?}");
        p.stop().await;
    }
}
