//! What a company plan must look like, and how each mistake in one is named.

use std::path::Path;

use proptest::prelude::*;

use super::*;

fn plan(text: &str) -> Result<Vec<Planned>, PlanError> {
    parse(Path::new("company.csv"), text, None)
}

fn sites(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Columns come in any order and any case, `ext` is `extension`, and empty optional cells are absent.
#[test]
fn columns_in_any_order() {
    let p = plan(
        "Site,User,MAC,Ext,Model\nparis,Ana Lima,64:16:7f:00:00:11,201,VVX 411\nlyon,,0004F2000012,,\n",
    )
    .unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].mac.to_string(), "64167F000011");
    assert_eq!(
        (
            p[0].site.as_str(),
            p[0].extension.as_deref(),
            p[0].user.as_deref()
        ),
        ("paris", Some("201"), Some("Ana Lima"))
    );
    assert_eq!(p[0].model.as_deref(), Some("VVX 411"));
    assert_eq!(
        (p[1].line, p[1].extension.clone(), p[1].user.clone()),
        (3, None, None)
    );
}

/// The header is required: a plan that starts with a phone says which column is missing.
#[test]
fn a_missing_header_is_named() {
    let e = plan("64:16:7f:00:00:11,paris\n").unwrap_err().to_string();
    assert!(e.contains("column") && e.contains("company.csv"), "{e}");
    let e = plan("mac,extension\n64:16:7f:00:00:11,201\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no site column"), "{e}");
}

/// A column name the plan does not know (a typo) is refused, with the known ones.
#[test]
fn an_unknown_column_is_refused() {
    let e = plan("mac,site,extention\n64:16:7f:00:00:11,paris,201\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"extention\"") && e.contains("mac, site, extension, user, model"),
        "{e}"
    );
}

/// A phone for a site that is not in the inventory is refused, naming the row, the phone and the sites.
#[test]
fn a_site_not_given_names_the_row() {
    let text = "mac,site\n64:16:7f:00:00:11,paris\n64:16:7f:00:00:12,pairs\n";
    let e = parse(
        Path::new("company.csv"),
        text,
        Some(&sites(&["paris", "lyon"])),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("line 3")
            && e.contains("64167F000012")
            && e.contains("\"pairs\"")
            && e.contains("paris, lyon"),
        "{e}"
    );
}

/// One phone, one row: a MAC planned twice names both lines, in any spelling.
#[test]
fn a_duplicate_mac_names_both_rows() {
    let e = plan("mac,site\n64:16:7f:00:00:11,paris\n64167F000011,lyon\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 3") && e.contains("first on line 2"), "{e}");
}

/// Malformed rows: a bad MAC, a missing site, a cell too many, an unsafe site name.
#[test]
fn malformed_rows_are_named() {
    for (text, expect) in [
        ("mac,site\nnot-a-mac,paris\n", "line 2"),
        ("mac,site\n64:16:7f:00:00:11,\n", "site is empty"),
        (
            "mac,site\n64:16:7f:00:00:11,paris,extra\n",
            "3 cells where the header names 2",
        ),
        ("mac,site\n64:16:7f:00:00:11,../etc\n", "not a usable name"),
        ("mac,site\n", "lists no phone"),
    ] {
        let e = plan(text).unwrap_err().to_string();
        assert!(e.contains(expect), "{text:?}: {e}");
    }
}

/// Quoted cells with commas survive, and comment and blank lines are skipped.
#[test]
fn quoted_cells_and_comments() {
    let p = plan("mac,site,user\n# the Paris office\n\n64:16:7f:00:00:11,paris,\"Lima, Ana\"\n")
        .unwrap();
    assert_eq!(p[0].user.as_deref(), Some("Lima, Ana"));
    assert_eq!(p[0].line, 4);
    // A comment above the header is not the header.
    let p = plan(
        "# exported 2026-12-01
mac,site
64:16:7f:00:00:11,paris
not-a-mac,paris
",
    )
    .unwrap_err()
    .to_string();
    assert!(p.contains("line 4"), "{p}");
}

/// Split by site, every given site present (empty where nothing is planned), and each site file reads back as
/// that site's plan.
#[test]
fn split_and_read_back() {
    let p = plan("mac,site,extension\n64:16:7f:00:00:11,paris,201\n64:16:7f:00:00:12,lyon,301\n64:16:7f:00:00:13,paris,202\n")
        .unwrap();
    let by = split(&p, Some(&sites(&["paris", "lyon", "nice"])));
    assert_eq!(
        by.keys().cloned().collect::<Vec<_>>(),
        sites(&["lyon", "nice", "paris"])
    );
    assert_eq!(by["paris"].len(), 2);
    assert!(by["nice"].is_empty());
    let csv = site_csv(&by["paris"]);
    assert_eq!(
        csv,
        "mac,site,extension,user,model\n64167F000011,paris,201,,\n64167F000013,paris,202,,\n"
    );
    let back = plan(&csv).unwrap();
    assert_eq!(
        back.iter().map(|b| b.mac).collect::<Vec<_>>(),
        by["paris"].iter().map(|b| b.mac).collect::<Vec<_>>()
    );
}

proptest! {
    /// Whatever bytes a plan holds, reading it never panics: it is a plan or an error naming the file.
    #[test]
    fn any_text_is_a_plan_or_an_error(text in ".{0,400}") {
        if let Err(e) = plan(&text) {
            prop_assert!(e.to_string().contains("company.csv"));
        }
    }

    /// Any plan written per site reads back the same phones, quoting whatever the cells hold.
    #[test]
    fn site_files_round_trip(rows in proptest::collection::vec(("[a-z]{1,8}", "\\PC{0,12}", "\\PC{0,12}"), 1..20)) {
        let phones: Vec<Planned> = rows
            .iter()
            .enumerate()
            .map(|(i, (site, ext, user))| Planned {
                mac: Mac([0x64, 0x16, 0x7f, 0, (i >> 8) as u8, i as u8]),
                site: site.clone(),
                extension: Some(ext.trim().to_string()).filter(|e| !e.is_empty()),
                user: Some(user.trim().to_string()).filter(|u| !u.is_empty() && !u.starts_with('#')),
                model: None,
                line: 0,
            })
            .collect();
        let back = plan(&site_csv(&phones)).unwrap();
        prop_assert_eq!(back.len(), phones.len());
        for (b, p) in back.iter().zip(&phones) {
            prop_assert_eq!((&b.mac, &b.site, &b.extension, &b.user), (&p.mac, &p.site, &p.extension, &p.user));
        }
    }
}
