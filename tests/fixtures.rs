//! The recorded web UIs: every build of every profile has a page set and scenarios that load, name their
//! sources, carry the firmware's own provisioning fields, and hold no secret.

mod common;

use std::collections::BTreeSet;

use common::catalog;
use polyprov::fixture::redact::{find_secrets, secret_form_names};
use polyprov::fixture::{FixtureError, PageSet, read_har};

/// Every build of every profile has recordings, and every page set shows the provisioning fields by paramname
/// under the build's own numeric names.
#[test]
fn every_build_is_recorded() {
    let catalog = catalog();
    for p in catalog.profiles.iter() {
        for b in &p.builds {
            let pages = catalog
                .page_set(&p.id, &b.firmware)
                .unwrap_or_else(|| panic!("{}/{}", p.id, b.firmware));
            assert_eq!(pages.recorded.firmware, b.firmware);
            if p.provisioning.web {
                for param in [&p.provisioning.server_type, &p.provisioning.server_name] {
                    let param = param.as_deref().unwrap();
                    let f = pages
                        .field(param)
                        .unwrap_or_else(|| panic!("{}/{}: {param}", p.id, b.firmware));
                    assert!(
                        f.name.bytes().all(|c| c.is_ascii_digit()),
                        "{}/{}: {param} is submitted as {}",
                        p.id,
                        b.firmware,
                        f.name
                    );
                }
            }
        }
    }
}

/// Different firmware builds use different numeric field names, which is why the agent must scrape them.
#[test]
fn field_names_differ_between_builds() {
    let catalog = catalog();
    let a = catalog.page_set("poly-vvx-6", "5.9.4.3247").unwrap();
    let b = catalog.page_set("poly-vvx-6", "6.4.5.1210").unwrap();
    let name = |s: &PageSet| s.field("device.prov.serverType").unwrap().name.clone();
    assert_eq!(name(&a), "445");
    assert_eq!(name(&b), "482");
}

/// Each reconstructed HAR says so and cites its sources; each scenario has a sentence and an outcome.
#[test]
fn reconstructions_are_labelled() {
    let catalog = catalog();
    let builds: Vec<(String, String)> = catalog
        .builds()
        .map(|(p, f)| (p.into(), f.into()))
        .collect();
    let mut n = 0;
    for (p, f) in builds {
        for s in catalog.scenarios(&p, &f).unwrap() {
            n += 1;
            let comment = s.har.log.comment.clone().unwrap_or_default();
            if s.sidecar.reconstructed {
                assert!(
                    comment.contains("Reconstructed") && comment.contains('S'),
                    "{}: {comment}",
                    s.path.display()
                );
                assert!(
                    !s.sidecar.sources.is_empty(),
                    "{}: sources",
                    s.path.display()
                );
            }
            assert!(
                s.sidecar.name.len() > 10,
                "{}: name sentence",
                s.path.display()
            );
        }
    }
    assert!(n >= 40, "only {n} scenarios");
}

/// No password, credential, session cookie or CSRF token appears in any fixture.
#[test]
fn no_secret_in_any_fixture() {
    let root = polyprov::data_dir().join("fixtures");
    let mut hars = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "har") {
                hars.push(path);
            }
        }
    }
    assert!(hars.len() >= 50, "found {} HAR files", hars.len());
    for path in hars {
        let har = read_har(&path).unwrap();
        let mut names = BTreeSet::new();
        for e in &har.log.entries {
            if let Some(t) = &e.response.content.text {
                names.extend(secret_form_names(t));
            }
        }
        for e in &har.log.entries {
            let found = find_secrets(e, &names);
            assert!(found.is_empty(), "{}: {found:?}", path.display());
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for factory in ["Polycom:456", "UG9seWNvbTo0NTY"] {
            assert!(!text.contains(factory), "{}: {factory}", path.display());
        }
    }
}

/// A corrupt HAR is refused with the file, line and column, and what to do.
#[test]
fn corrupt_har_names_the_place() {
    let dir = std::env::temp_dir().join(format!("polyprov-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pages.har");
    std::fs::write(
        &path,
        "{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"entries\": [ oops ]\n  }\n}\n",
    )
    .unwrap();
    let err = read_har(&path).unwrap_err();
    assert!(matches!(err, FixtureError::Json { line: 4, .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("pages.har") && text.contains("line 4") && text.contains("re-export"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A page set whose sidecar lacks the recorded identity is refused with the sidecar named.
#[test]
fn page_set_needs_recorded_identity() {
    let dir = std::env::temp_dir().join(format!("polyprov-sidecar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = polyprov::data_dir().join("fixtures/poly-vvx-6/6.4.5.1210/pages.har");
    std::fs::copy(src, dir.join("pages.har")).unwrap();
    std::fs::write(dir.join("pages.toml"), "name = \"x\"\n").unwrap();
    let err = PageSet::load("poly-vvx-6", "6.4.5.1210", &dir, Some("/provConf.htm"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pages.toml") && err.contains("[recorded]"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
