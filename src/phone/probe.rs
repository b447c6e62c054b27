//! Recognising a phone before logging in: its `Server` header, a 401 realm, the login page's title and the
//! login script's calls are matched against every device profile's `[recognise]` table; the best match wins.
//! Nothing is written and no password is sent.

use std::collections::BTreeSet;

use super::client::{ClientError, PhoneClient};
use super::page;
use crate::profile::{Profile, ProfileSet};

/// What the unauthenticated pages showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    pub server: Option<String>,
    pub realm: Option<String>,
    pub login_title: Option<String>,
    /// Login scripts fetched, by path.
    pub scripts: Vec<(String, String)>,
}

/// Why a device could not be recognised.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "{target} does not look like a supported Poly phone (Server {server:?}, login title {title:?}, realm {realm:?}). Fix: check the address; if it is a Poly phone on new firmware, record its web UI with `polyprov record` and add a profile"
    )]
    Unknown {
        target: String,
        server: Option<String>,
        title: Option<String>,
        realm: Option<String>,
    },
}

/// Fetch the unauthenticated signals: `/`, then the login pages and scripts the profiles name.
pub async fn signals(client: &PhoneClient, profiles: &ProfileSet) -> Result<Signals, ClientError> {
    let root = client.get_retrying("/", &[], 3).await?;
    if root.status >= 500 {
        // An error page says nothing about the family: never match it against the profiles.
        return Err(ClientError::Other {
            target: client.base().to_string(),
            reason: format!(
                "its web server answered HTTP {} (a server error) three times in a row. Fix: the phone may still be starting up; wait a minute and run polyprov again, or restart the phone",
                root.status
            ),
        });
    }
    let mut s = Signals {
        server: root.header("server").map(str::to_string),
        realm: root.header("www-authenticate").and_then(page::realm),
        ..Signals::default()
    };
    if root.status == 401 {
        return Ok(s);
    }
    s.login_title = page::off_runtime(root.body, page::title).await;
    let logins: BTreeSet<&str> = profiles
        .iter()
        .map(|p| p.pages.login.as_str())
        .filter(|p| *p != "/")
        .collect();
    for path in logins {
        if s.login_title.is_some() {
            break;
        }
        let r = client.get_retrying(path, &[], 2).await?;
        if r.status == 200 {
            s.login_title = page::off_runtime(r.body, page::title).await;
        }
    }
    let scripts: BTreeSet<&str> = profiles
        .iter()
        .filter_map(|p| p.pages.login_script.as_deref())
        .collect();
    for path in scripts {
        let r = client.get_retrying(path, &[], 2).await?;
        if r.status == 200 {
            s.scripts.push((path.to_string(), r.body));
        }
    }
    Ok(s)
}

/// How well a profile matches the signals; `None` when something contradicts it.
pub fn score(p: &Profile, s: &Signals) -> Option<u32> {
    let r = &p.recognise;
    let mut score = 0;
    if s.server.as_deref() == Some(r.server_header.as_str()) {
        score += 1;
    }
    match (&r.realm, &s.realm) {
        (Some(want), Some(got)) if want == got => score += 10,
        (Some(_), _) | (None, Some(_)) => return None,
        (None, None) => {}
    }
    if let (Some(want), Some(got)) = (&r.login_title, &s.login_title) {
        if want == got {
            score += 2;
        } else {
            return None;
        }
    }
    if !r.login_script_markers.is_empty() {
        let path = p.pages.login_script.as_deref()?;
        let (_, script) = s.scripts.iter().find(|(sp, _)| sp == path)?;
        if r.login_script_markers
            .iter()
            .all(|m| script.contains(m.as_str()))
        {
            score += 3;
        } else {
            return None;
        }
    }
    Some(score)
}

/// The best-matching profile, if any matches well enough (a realm, or title plus script).
pub fn best<'a>(profiles: &'a ProfileSet, s: &Signals) -> Option<&'a Profile> {
    profiles
        .iter()
        .filter_map(|p| score(p, s).map(|sc| (sc, p)))
        .filter(|(sc, _)| *sc >= 4)
        .max_by_key(|(sc, p)| (*sc, std::cmp::Reverse(p.id.clone())))
        .map(|(_, p)| p)
}

/// Recognise the phone behind `client`.
pub async fn recognise(
    client: &PhoneClient,
    profiles: &ProfileSet,
) -> Result<(Profile, Signals), ProbeError> {
    let s = signals(client, profiles).await?;
    match best(profiles, &s) {
        Some(p) => Ok((p.clone(), s)),
        None => Err(ProbeError::Unknown {
            target: client.base().to_string(),
            server: s.server,
            title: s.login_title,
            realm: s.realm,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(server: &str, title: Option<&str>, script: &str, realm: Option<&str>) -> Signals {
        Signals {
            server: Some(server.into()),
            realm: realm.map(str::to_string),
            login_title: title.map(str::to_string),
            scripts: vec![("/js/login.js".into(), script.into())],
        }
    }

    /// The CCX and the VVX 6 share their login page; the Server header tells them apart.
    #[test]
    fn ccx_and_vvx6_differ_by_server_header() {
        let set = ProfileSet::bundled().unwrap();
        let script = r#"$.ajax({ type: "POST", url: "form-submit/auth.htm" })"#;
        let title = Some("Poly - Configuration Utility");
        let ccx = best(
            &set,
            &signals("Poly CCX Telephone HTTPd", title, script, None),
        )
        .unwrap();
        assert_eq!(ccx.id, "poly-ccx");
        let vvx = best(
            &set,
            &signals("Polycom SoundPoint IP Telephone HTTPd", title, script, None),
        )
        .unwrap();
        assert_eq!(vvx.id, "poly-vvx-6");
    }

    /// A 401 with realm "SPIP Configuration" is a SoundPoint on SIP 3.x.
    #[test]
    fn realm_means_sip3() {
        let set = ProfileSet::bundled().unwrap();
        let s = Signals {
            server: Some("Polycom SoundPoint IP Telephone HTTPd".into()),
            realm: Some("SPIP Configuration".into()),
            ..Signals::default()
        };
        assert_eq!(best(&set, &s).unwrap().id, "soundpoint-sip3");
    }

    proptest::proptest! {
        #![proptest_config(crate::testing::device_cases(256))]

        /// Login scripts, titles, realms and Server headers as a device sends them — real recorded ones mutated —
        /// are matched against every profile without a panic, and a match is always a bundled profile.
        #[test]
        fn mutated_login_signals_never_panic(
            body in crate::testing::mutated(crate::testing::recorded_bodies()),
            server in "\\PC{0,40}",
        ) {
            static SET: std::sync::OnceLock<ProfileSet> = std::sync::OnceLock::new();
            let set = SET.get_or_init(|| ProfileSet::bundled().unwrap());
            let s = Signals {
                server: Some(server),
                realm: page::realm(&body),
                login_title: page::title(&body),
                scripts: set
                    .iter()
                    .filter_map(|p| p.pages.login_script.clone())
                    .map(|path| (path, body.clone()))
                    .collect(),
            };
            if let Some(p) = best(set, &s) {
                proptest::prop_assert!(set.get(&p.id).is_some());
            }
        }
    }

    /// A web server that is not a phone matches nothing.
    #[test]
    fn foreign_server_is_unknown() {
        let set = ProfileSet::bundled().unwrap();
        assert!(best(&set, &signals("nginx", Some("Welcome to nginx!"), "", None)).is_none());
    }
}
