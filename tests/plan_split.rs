//! `polyprov plan split`: a company's plan of every phone into one plan file per site, and each mistake in the
//! plan named by line before anything is written.

use assert_cmd::Command;

/// A fresh directory of this test's own.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("polyprov-plan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn polyprov() -> Command {
    let mut c = Command::cargo_bin("polyprov").expect("binary");
    c.env_remove("POLYPROV_LOG");
    c
}

const PLAN: &str = "\
MAC,Site,Extension,User,Model
64:16:7f:00:00:11,paris,201,\"Lima, Ana\",VVX 411
64:16:7f:00:00:12,lyon,301,Marc Roy,CCX 500
# the Paris reception desk
64:16:7f:00:00:13,paris,202,,VVX 250
";

/// Every site the inventory names gets its file, the phones planned there in plan order, and the output says
/// where each went.
#[test]
fn splits_the_company_plan_one_file_per_site() {
    let dir = scratch("split");
    let plan = dir.join("company.csv");
    std::fs::write(&plan, PLAN).unwrap();
    let out_dir = dir.join("sites");
    let out = polyprov()
        .args(["plan", "split", "--plan"])
        .arg(&plan)
        .args(["--sites", "paris,lyon,nice", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&dir.display().to_string(), "DIR");
    insta::assert_snapshot!("plan-split", stdout);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("paris.csv")).unwrap(),
        "mac,site,extension,user,model\n64167F000011,paris,201,\"Lima, Ana\",VVX 411\n64167F000013,paris,202,,VVX 250\n"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("nice.csv")).unwrap(),
        "mac,site,extension,user,model\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A phone planned for a site the inventory does not have fails the split, naming the line, and writes nothing.
#[test]
fn a_site_not_in_the_inventory_fails_naming_the_row() {
    let dir = scratch("unknown-site");
    let plan = dir.join("company.csv");
    std::fs::write(&plan, PLAN).unwrap();
    let out_dir = dir.join("sites");
    let out = polyprov()
        .args(["plan", "split", "--plan"])
        .arg(&plan)
        .args(["--sites", "paris,nice", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("\"lyon\"") && stderr.contains("paris, nice"),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}
