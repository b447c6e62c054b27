//! Many sites at once, driven by the real Ansible playbook (`examples/ansible/site.yml`), in network namespaces
//! this test creates: a controller and three site hosts on a management network (198.19.0.0/24, SSH to Debian's
//! sshd), each site host on its own LAN (198.18.N.0/24) of simulated phones. One company plan in (split per site
//! by the play), one polyprov run per site, one merged report out; a site whose run is killed mid-way finishes on
//! the next play without saving any phone twice, and a play over finished sites changes nothing.
//!
//! `POLYPROV_LAB_PHONES=100` runs three sites of that many phones each and prints the figures for docs/scale.md.

#[path = "lab/sites.rs"]
mod sites;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sites::{PROV_NAME, PROV_PORT, Site, SitesLab};

/// The phones' admin password: a Vault secret that must never show in Ansible's output.
const PASSWORD: &str = "lab-Vault-9Qx7-never-shown";
/// Phone seconds per wall second, for the phones and for polyprov.
const SCALE: f64 = 60.0;
const SITES: [&str; 3] = ["paris", "lyon", "nantes"];
/// The site whose run is killed mid-way.
const VICTIM: usize = 1;
/// The site with one phone more than the plan names (its last): found on the LAN, never logged into.
const UNPLANNED_AT: usize = 0;

/// The phones the company plan names at site `i`.
fn planned(i: usize, site: &Site) -> &[sites::Phone] {
    let n = site.phones.len() - usize::from(i == UNPLANNED_AT);
    &site.phones[..n]
}

/// The phone on a site's LAN that the plan does not name.
fn stranger(sites: &[Site]) -> (&Site, &sites::Phone) {
    let site = &sites[UNPLANNED_AT];
    (site, site.phones.last().expect("a phone"))
}

/// The extension the plan gives phone `j` of site `i`.
fn extension(i: usize, j: usize) -> usize {
    1000 * (i + 1) + j
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ansible")
}

/// The phones per site: `POLYPROV_LAB_PHONES` each, else 3, 3 and 2.
fn phones_per_site() -> Vec<usize> {
    match std::env::var("POLYPROV_LAB_PHONES")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        Some(n) => vec![n; SITES.len()],
        None => vec![3, 3, 2],
    }
}

/// Every other phone a VVX, the rest CCX, all on the Vault password.
fn fleet(j: usize) -> String {
    let (profile, firmware) = if j % 2 == 0 {
        ("poly-vvx-6", "6.4.5.1210")
    } else {
        ("poly-ccx", "8.1.3.1301")
    };
    format!("profile = \"{profile}\"\nfirmware = \"{firmware}\"\npassword = \"{PASSWORD}\"\n")
}

/// What one site host keeps where: every path a role variable, each site its own tree (one shared filesystem).
fn site_root(lab: &SitesLab, site: &Site) -> PathBuf {
    lab.path(&format!("site-{}", site.name))
}

fn run_dir(lab: &SitesLab, site: &Site) -> PathBuf {
    site_root(lab, site).join("runs").join(&site.name)
}

/// The company plan, the inventory (IP literals only) and the Vault-encrypted secrets.
fn write_play_inputs(lab: &SitesLab, sites: &[Site], use_plan: bool) {
    let mut plan = String::from("mac,site,extension,user,model\n");
    for (i, s) in sites.iter().enumerate() {
        for (j, p) in planned(i, s).iter().enumerate() {
            plan.push_str(&format!(
                "{},{},{},user{i}-{j},\n",
                p.mac,
                s.name,
                extension(i, j)
            ));
        }
    }
    std::fs::write(lab.path("company.csv"), plan).unwrap();
    let cidr_bits = if sites[0].phones.len() > 20 { 25 } else { 27 };
    let mut hosts = serde_json::Map::new();
    for (n, s) in sites.iter().enumerate() {
        let root = site_root(lab, s);
        let mut extra = vec![
            "--time-scale".to_string(),
            format!("{SCALE}"),
            "--print-resources".into(),
        ];
        if cidr_bits == 25 {
            extra.extend(["--rate".into(), "brisk".into()]);
        }
        hosts.insert(
            s.name.clone(),
            json!({
                "ansible_host": s.mgmt_ip.to_string(),
                "polyprov_site": s.name,
                "polyprov_interface": "lan0",
                "polyprov_cidr": format!("198.18.{}.0/{cidr_bits}", n + 1),
                "polyprov_resolve": [format!("{PROV_NAME}:{PROV_PORT}:{}", s.lan_ip)],
                "polyprov_server_ca_src": s.ca.display().to_string(),
                "polyprov_bin": root.join("bin/polyprov").display().to_string(),
                "polyprov_config_dir": root.join("etc").display().to_string(),
                "polyprov_state_dir": root.join("state").display().to_string(),
                "polyprov_runs_dir": root.join("runs").display().to_string(),
                "polyprov_extra_args": extra,
            }),
        );
    }
    let inventory = json!({"all": {"children": {"sites": {"hosts": hosts, "vars": {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": lab.key.display().to_string(),
        "ansible_ssh_common_args": "-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o CheckHostIP=no -o GSSAPIAuthentication=no",
        "ansible_python_interpreter": "/usr/bin/python3",
        "polyprov_install": "binary",
        "polyprov_binary_src": env!("CARGO_BIN_EXE_polyprov"),
        "polyprov_server_url": format!("https://{PROV_NAME}:{PROV_PORT}/poly/"),
        "polyprov_poll": 1,
        "polyprov_use_plan": use_plan,
    }}}}});
    std::fs::write(lab.path("inventory.yml"), inventory.to_string()).unwrap();
    // The secrets, encrypted with ansible-vault as a team keeps them.
    let vars = lab.path("group_vars/sites");
    std::fs::create_dir_all(&vars).unwrap();
    std::fs::write(lab.path("vault-pass"), "lab vault key\n").unwrap();
    std::fs::write(
        vars.join("vault.yml"),
        format!("polyprov_admin_passwords:\n  - \"{PASSWORD}\"\n"),
    )
    .unwrap();
    let vault = sites::ansible_playbook()
        .unwrap()
        .with_file_name("ansible-vault");
    let out = ansible_env(&mut Command::new(vault), lab)
        .args(["encrypt", "--vault-password-file"])
        .arg(lab.path("vault-pass"))
        .arg(vars.join("vault.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !std::fs::read_to_string(vars.join("vault.yml"))
            .unwrap()
            .contains(PASSWORD)
    );
}

/// Ansible's settings for the lab: its own temporary and control-socket directories, no colour, nothing looked up.
fn ansible_env<'a>(c: &'a mut Command, lab: &SitesLab) -> &'a mut Command {
    c.env("ANSIBLE_HOME", lab.path("ansible-home"))
        .env("ANSIBLE_LOCAL_TEMP", lab.path("ansible-tmp"))
        .env("ANSIBLE_REMOTE_TEMP", lab.path("ansible-remote-tmp"))
        .env("ANSIBLE_SSH_CONTROL_PATH_DIR", lab.path("ansible-cp"))
        .env("ANSIBLE_ASYNC_DIR", lab.path("ansible-async"))
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_GATHERING", "explicit")
        .env("ANSIBLE_FORKS", "10")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("ANSIBLE_CONFIG")
        .stdin(Stdio::null())
}

/// One `ansible-playbook site.yml` in the controller's namespace, running.
fn start_play(lab: &SitesLab) -> std::process::Child {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &lab.controller()])
        .arg(sites::ansible_playbook().unwrap());
    ansible_env(&mut c, lab)
        .arg("-v")
        .arg("-i")
        .arg(lab.path("inventory.yml"))
        .arg("--vault-password-file")
        .arg(lab.path("vault-pass"))
        .arg("-e")
        .arg(
            json!({
                "company_plan": lab.path("company.csv"),
                "polyprov_controller_bin": env!("CARGO_BIN_EXE_polyprov"),
                "polyprov_controller_dir": lab.path("controller"),
            })
            .to_string(),
        )
        .arg(examples().join("site.yml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A finished play: its output, and per host its recap's `changed` and `failed`.
struct Play {
    output: String,
    recap: BTreeMap<String, (u32, u32)>,
    took: Duration,
}

fn finish_play(child: std::process::Child, started: Instant) -> Play {
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let count = |line: &str, key: &str| -> u32 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {line:?}"))
    };
    let recap = output
        .split("PLAY RECAP")
        .nth(1)
        .unwrap_or_else(|| panic!("no PLAY RECAP in:\n{output}"))
        .lines()
        .filter(|l| l.contains(" : ok="))
        .map(|l| {
            let host = l.split_whitespace().next().unwrap().to_string();
            (host, (count(l, "changed="), count(l, "failed=")))
        })
        .collect();
    Play {
        output,
        recap,
        took,
    }
}

fn play(lab: &SitesLab) -> Play {
    finish_play(start_play(lab), Instant::now())
}

/// The play, with the victim site's polyprov killed (SIGKILL) once a phone of that site is rebooting.
fn play_killing(lab: &SitesLab, victim: &Site) -> Play {
    let started = Instant::now();
    let child = start_play(lab);
    let journal = run_dir(lab, victim).join("journal.jsonl");
    let bin = site_root(lab, victim)
        .join("bin/polyprov")
        .display()
        .to_string();
    let killed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no phone of {} ever rebooted",
            victim.name
        );
        let rebooting = sites::json_lines(&journal)
            .iter()
            .any(|l| l["event"]["event"] == "rebooting");
        let running: Vec<(u32, String)> = lab
            .processes(&victim.ns, " onboard ")
            .into_iter()
            .filter(|(_, cmd)| cmd.starts_with(&bin))
            .collect();
        if rebooting && !running.is_empty() {
            for (pid, _) in &running {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            break running.len();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(killed, 1, "one polyprov per site run");
    // Killed mid-way: some phone saved and not finished (rebooting), the one a resumed run must not save again.
    let journal = sites::json_lines(&journal);
    let saved = journal
        .iter()
        .filter(|l| l["event"]["event"] == "saved")
        .count();
    assert!(
        saved > finished_in_journal(lab, victim),
        "a phone was mid-reboot when {} was killed",
        victim.name
    );
    finish_play(child, started)
}

/// Phones finished in a site's journal (a `finished` record each).
fn finished_in_journal(lab: &SitesLab, site: &Site) -> usize {
    std::fs::read_to_string(run_dir(lab, site).join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"kind\":\"finished\""))
        .count()
}

/// The role's one line per site: `polyprov SITE: exit N after H:MM:SS.ffffff, …`.
fn site_lines(play: &Play) -> Vec<String> {
    play.output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"msg\": \"polyprov "))
        .map(|l| l.trim_end_matches('"').to_string())
        .collect()
}

#[test]
fn one_plan_in_every_site_onboarded_by_ansible_one_merged_report_out() {
    if !sites::available("multisite_lab") {
        return;
    }
    let mut lab = SitesLab::new("ans");
    let counts = phones_per_site();
    let built = Instant::now();
    let sites: Vec<Site> = SITES
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(i, (name, n))| {
            let extra = usize::from(i == UNPLANNED_AT);
            lab.site(i as u8 + 1, name, n + extra, fleet, SCALE)
        })
        .collect();
    eprintln!(
        "lab: {} sites, {counts:?} planned phones (+1 unplanned at {}), built in {:.1?}",
        sites.len(),
        SITES[UNPLANNED_AT],
        built.elapsed()
    );
    write_play_inputs(&lab, &sites, true);
    let victim = &sites[VICTIM];
    let (stranger_site, stranger) = stranger(&sites);

    // First play: every site runs; the victim's polyprov is killed while a phone of its site is rebooting.
    let first = play_killing(&lab, victim);
    eprintln!(
        "first play ({:.1?}):\n{}",
        first.took,
        site_lines(&first).join("\n")
    );
    for (i, s) in sites.iter().enumerate() {
        let (_, failed) = first.recap[&s.name];
        if i == VICTIM {
            assert_eq!(failed, 1, "the killed site's play fails:\n{}", first.output);
        } else {
            assert_eq!(failed, 0, "{} ran through:\n{}", s.name, first.output);
            assert_eq!(finished_in_journal(&lab, s), s.phones.len());
        }
    }
    assert!(
        finished_in_journal(&lab, victim) < victim.phones.len(),
        "the killed run was cut short"
    );

    // Second play: the killed site's run is resumed and finishes; the finished sites change nothing. Its run is
    // still locked when the play gets there, as by a polyprov an earlier play left running (the controller died
    // mid-play): the play waits for the lock to be released instead of failing with exit code 4 (busy).
    let second = {
        let lock = run_dir(&lab, victim).join("run.lock");
        // --no-fork: the process killed below is the one holding the lock (a forked `sleep` would keep it).
        let mut holder = Command::new("flock")
            .arg("--no-fork")
            .arg(&lock)
            .args(["sleep", "600"])
            .spawn()
            .unwrap();
        let started = Instant::now();
        let child = start_play(&lab);
        while lab.processes(&victim.ns, "flock --wait").is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "the play never waited for {}'s locked run",
                victim.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = holder.kill();
        let _ = holder.wait();
        finish_play(child, started)
    };
    eprintln!(
        "second play ({:.1?}):\n{}",
        second.took,
        site_lines(&second).join("\n")
    );
    for (i, s) in sites.iter().enumerate() {
        let (changed, failed) = second.recap[&s.name];
        assert_eq!(failed, 0, "{} finishes:\n{}", s.name, second.output);
        if i == VICTIM {
            assert!(changed > 0, "the resumed site reports its phones");
        } else {
            assert_eq!(
                changed, 0,
                "{} was already finished:\n{}",
                s.name, second.output
            );
        }
    }

    // Every planned phone is Inactive, saved exactly once, the killed site's included; the phone the plan does
    // not name was never contacted.
    for (i, s) in sites.iter().enumerate() {
        for p in planned(i, s) {
            let r = lab.phone_report(s, p);
            assert_eq!(r["phase"], "inactive", "{} {}: {r:#}", s.name, p.mac);
            assert_eq!(
                r["stats"]["conf-changes"], 1,
                "{} {} saved once: {r:#}",
                s.name, p.mac
            );
        }
    }
    // (Discovery's web fingerprint, part of the sweep of --cidr, reads its login page: 2 requests; no login.)
    let r = lab.phone_report(stranger_site, stranger);
    assert_eq!(r["stats"]["logins"], 0, "the unplanned phone: {r:#}");
    assert_eq!(r["stats"]["conf-changes"], 0, "the unplanned phone: {r:#}");

    // The merged report on the controller: each planned phone once, under its site, with the plan's extension;
    // the unplanned phone listed as such; no planned phone missing.
    let merged: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lab.path("controller/merged/report.json")).unwrap(),
    )
    .unwrap();
    for (i, s) in sites.iter().enumerate() {
        let section = merged["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["site"] == s.name.as_str())
            .unwrap_or_else(|| panic!("{} in the merged report: {merged:#}", s.name));
        let rows = section["phones"].as_array().unwrap();
        for (j, p) in planned(i, s).iter().enumerate() {
            let found: Vec<&serde_json::Value> =
                rows.iter().filter(|r| r["mac"] == p.mac.as_str()).collect();
            assert_eq!(found.len(), 1, "{} {} once: {section:#}", s.name, p.mac);
            assert_eq!(found[0]["state"], "Inactive", "{:#}", found[0]);
            assert_eq!(found[0]["extension"], extension(i, j).to_string());
        }
        let others: Vec<&serde_json::Value> = rows
            .iter()
            .filter(|r| !planned(i, s).iter().any(|p| r["mac"] == p.mac.as_str()))
            .collect();
        if i == UNPLANNED_AT {
            assert_eq!(others.len(), 1, "{others:#?}");
            assert_eq!(others[0]["mac"], stranger.mac.as_str());
            assert_eq!(others[0]["state"], "skipped");
        } else {
            assert!(others.is_empty(), "{others:#?}");
        }
    }
    assert_eq!(
        merged["unplanned"],
        json!([{"mac": stranger.mac, "site": stranger_site.name}])
    );
    assert_eq!(merged["summary"]["inactive"], counts.iter().sum::<usize>());
    assert_eq!(merged["never-seen"], json!([]), "{merged:#}");
    let activation = std::fs::read_to_string(lab.path("controller/merged/activation.csv")).unwrap();
    assert_eq!(
        activation.lines().count(),
        counts.iter().sum::<usize>() + 1,
        "{activation}"
    );

    // Third play: nothing left to do, nothing changed anywhere (the controller's tasks included).
    let third = play(&lab);
    eprintln!(
        "third play ({:.1?}):\n{}",
        third.took,
        site_lines(&third).join("\n")
    );
    for (host, (changed, failed)) in &third.recap {
        assert_eq!(
            (*changed, *failed),
            (0, 0),
            "{host} changed nothing:\n{}",
            third.output
        );
    }
    for (i, s) in sites.iter().enumerate() {
        for p in planned(i, s) {
            assert_eq!(lab.phone_report(s, p)["stats"]["conf-changes"], 1);
        }
    }
    assert_eq!(
        lab.phone_report(stranger_site, stranger)["stats"]["logins"],
        0
    );

    // The secret went from Vault to 0600 files only: never in Ansible's output (run with -v), nor in a site file.
    for (n, p) in [&first, &second, &third].iter().enumerate() {
        assert!(
            !p.output.contains(PASSWORD),
            "play {} showed the password",
            n + 1
        );
    }
    for s in &sites {
        let etc = site_root(&lab, s).join("etc");
        let file = etc.join("admin-passwords");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{PASSWORD}\n")
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(
            !std::fs::read_to_string(etc.join("site.toml"))
                .unwrap()
                .contains(PASSWORD)
        );
    }
    eprintln!(
        "figures: {counts:?} phones per site; plays took {:.1?} (killed), {:.1?} (resumed), {:.1?} (nothing to do)",
        first.took, second.took, third.took
    );
}
