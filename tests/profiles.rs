//! Device profiles load into checked values, and a wrong profile is refused with the file, line and field named.

use std::path::Path;

use polyprov::profile::{Generation, Profile, ProfileError, ProfileSet};

fn bundled() -> ProfileSet {
    ProfileSet::bundled().expect("bundled profiles load")
}

const VVX6: &str = include_str!("../device-profiles/poly-vvx-6.toml");

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::parse(Path::new("device-profiles/poly-vvx-6.toml"), text)
}

/// The five families the project supports are there, each with its login generation.
#[test]
fn every_family_has_a_profile() {
    let set = bundled();
    let want = [
        ("poly-ccx", Generation::SessionCsrf),
        ("poly-vvx-6", Generation::SessionCsrf),
        ("poly-vvx-5", Generation::AuthorizationCookie),
        ("soundpoint-ucs4", Generation::AuthHtm),
        ("soundpoint-sip3", Generation::Http401),
    ];
    for (id, generation) in want {
        let p = set.get(id).unwrap_or_else(|| panic!("profile {id}"));
        assert_eq!(p.login.generation, generation, "{id}");
        assert!(!p.builds.is_empty(), "{id} has builds");
    }
    assert_eq!(set.len(), want.len());
}

/// The 8x8 minimum firmware and the MAC-only activation of the IP450 come from the profiles, not from code.
#[test]
fn service_requirements_are_data() {
    let set = bundled();
    let vvx = set.get("poly-vvx-6").unwrap();
    assert_eq!(vvx.service.min_firmware.as_deref(), Some("5.9.4.3247"));
    let sp = set.get("soundpoint-ucs4").unwrap();
    assert_eq!(sp.service.min_firmware.as_deref(), Some("4.0.15.1047"));
    assert!(
        sp.service
            .mac_activation_only
            .iter()
            .any(|m| m == "SoundPoint IP 450")
    );
    let sip3 = set.get("soundpoint-sip3").unwrap();
    assert!(!sip3.provisioning.web);
    assert!(
        sip3.provisioning
            .instead
            .as_deref()
            .unwrap()
            .contains("DHCP option 160")
    );
}

/// A lockout policy outside the phone's own range is refused, naming file, line and field.
#[test]
fn lockout_out_of_range_names_the_line() {
    let text = VVX6.replace("attempts = 5", "attempts = 50");
    let err = parse(&text).unwrap_err().to_string();
    let line = VVX6
        .lines()
        .position(|l| l.starts_with("attempts = 5"))
        .unwrap()
        + 1;
    assert!(err.contains("poly-vvx-6.toml"), "{err}");
    assert!(err.contains(&format!("line {line}")), "{err}");
    assert!(err.contains("`attempts`") && err.contains("3–20"), "{err}");
}

/// A misspelt key is refused by the TOML reader with its line and the expected keys.
#[test]
fn unknown_key_is_refused() {
    let text = VVX6.replace("boot-secs = 150", "boot-second = 150");
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("poly-vvx-6.toml") && err.contains("boot-second"),
        "{err}"
    );
    assert!(err.contains("line"), "{err}");
}

/// The id must match the file name, so fixtures/<id>/ is where the profile's recordings are.
#[test]
fn id_must_match_file_name() {
    let text = VVX6.replace("id = \"poly-vvx-6\"", "id = \"poly-vvx\"");
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("`id`") && err.contains("poly-vvx-6.toml"),
        "{err}"
    );
}

/// A session-csrf profile without login bodies cannot be used.
#[test]
fn session_profile_needs_bodies() {
    let start = VVX6.find("[login.bodies]").unwrap();
    let end = VVX6[start..].find("\n\n").unwrap() + start;
    let text = format!("{}{}", &VVX6[..start], &VVX6[end..]);
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("`bodies`"), "{err}");
}

/// A web-provisioning profile must say which option value means HTTPS.
#[test]
fn https_value_required() {
    let text = VVX6.replace("HTTPS = \"3\", ", "");
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("server-type-values") && err.contains("HTTPS"),
        "{err}"
    );
}

/// A directory without profiles is an error that says what was expected.
#[test]
fn empty_directory() {
    let dir = std::env::temp_dir().join(format!("polyprov-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err = ProfileSet::load_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("no device profiles"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Update targets read as a version of the same profile or `profile/version` of another.
#[test]
fn update_targets() {
    let set = bundled();
    let vvx5 = set.get("poly-vvx-5").unwrap();
    let u = vvx5.builds[0].update().unwrap();
    assert_eq!(u.profile.as_deref(), Some("poly-vvx-6"));
    assert_eq!(u.firmware, "6.4.5.1210");
    let sp = set.get("soundpoint-ucs4").unwrap();
    assert!(
        sp.build("4.0.15.1047").unwrap().update().is_none(),
        "an update to itself is none"
    );
}

/// `text` without the lines that set `key` (or open the table `[key]`).
fn without(text: &str, keys: &[&str]) -> String {
    text.lines()
        .filter(|l| {
            !keys
                .iter()
                .any(|k| l.starts_with(&format!("{k} =")) || l.starts_with(&format!("[{k}]")))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Names that differ per web-UI generation are profile data, not code: the admin password form's fields where the
/// family has that page, and the cache-busting parameter of the log fetch.
#[test]
fn form_field_names_and_cache_buster_are_data() {
    let set = bundled();
    for id in ["poly-ccx", "poly-vvx-6", "poly-vvx-5"] {
        let p = set.get(id).unwrap();
        assert_eq!(
            p.pages.change_password.as_deref(),
            Some("/form-submit/Settings/ChangePassword"),
            "{id}"
        );
        let form = p.change_password.as_ref().unwrap();
        assert_eq!(
            (
                form.old_password.as_str(),
                form.new_password.as_str(),
                form.confirm_password.as_str()
            ),
            ("oldadminpswd", "newadminpswd", "cnfmadminpswd"),
            "{id}"
        );
    }
    for id in ["soundpoint-ucs4", "soundpoint-sip3"] {
        let p = set.get(id).unwrap();
        assert!(p.pages.change_password.is_none(), "{id}");
        assert!(p.change_password.is_none(), "{id}");
    }
    for p in set.iter() {
        let want = p.pages.app_log.as_ref().map(|_| "dummyParam");
        assert_eq!(p.pages.app_log_cache_buster.as_deref(), want, "{}", p.id);
    }
}

/// A session-csrf profile must name its session cookie, CSRF header, conflict marker and the page with the token:
/// the login takes them from the profile and has no fallback of its own.
#[test]
fn session_login_keys_are_required() {
    for key in ["session-cookie", "csrf-header", "conflict-body", "index"] {
        let err = parse(&without(VVX6, &[key])).unwrap_err().to_string();
        assert!(
            err.contains(&format!("`{key}`")) && err.contains("session-csrf"),
            "{key}: {err}"
        );
    }
}

/// A password-change page without the names of its form's fields is refused, the page's line named.
#[test]
fn change_password_page_needs_its_fields() {
    let text = without(
        VVX6,
        &[
            "change-password",
            "old-password",
            "new-password",
            "confirm-password",
        ],
    );
    assert!(
        parse(&text).is_ok(),
        "without page and form: no web password change"
    );
    let text: String = without(VVX6, &["old-password", "new-password", "confirm-password"])
        .lines()
        .filter(|l| !l.starts_with("[change-password]"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = parse(&text).unwrap_err().to_string();
    let line = text
        .lines()
        .position(|l| l.starts_with("change-password ="))
        .unwrap()
        + 1;
    assert!(
        err.contains("`change-password`") && err.contains(&format!("line {line}")),
        "{err}"
    );
}
