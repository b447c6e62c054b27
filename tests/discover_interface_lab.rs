//! The technician's interface, diagnosed on real interfaces in network namespaces this test creates (198.18.0.0/15
//! only): a cable unplugged at the switch (up, no carrier), no IPv4 address, two addresses of which only the second
//! is in `--cidr`, a `--cidr` on none of the interface's subnets, a web server that hangs on 443 but serves plain
//! HTTP, and Ctrl-C in the middle of a discovery. Needs root and the packages `.ci/run` installs; skipped (saying
//! why) locally without them, never on CI.

mod lab;

use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lab::{Lab, device, polyprov, summary};

const VVX411: &str = "64:16:7f:00:00:11";
const HANGS: &str = "64:16:7f:00:00:20";

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, last)
}

fn run(lab: &Lab, args: &[&str]) -> Output {
    polyprov(lab, args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The technician's eth0 with exactly these addresses, in this order.
fn addresses(lab: &Lab, list: &[&str]) {
    let tech = lab.tech();
    assert!(
        lab.exec(&tech, &["ip", "addr", "flush", "dev", "eth0"])
            .status
            .success()
    );
    for a in list {
        let out = lab.exec(&tech, &["ip", "addr", "add", a, "dev", "eth0"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
}

/// A simulated VVX 411 on its own host at 198.18.0.11, serving HTTPS on 443.
fn phone(lab: &mut Lab) {
    let ns = lab.host("p11", VVX411, Some(ip(11)));
    let fleet = format!(
        "time-scale = 300.0\n[[phone]]\nprofile = \"poly-vvx-6\"\nfirmware = \"6.4.5.1210\"\nmac = \"{}\"\nmodel = \"VVX 411\"\nip = \"{}\"\nhttps-port = 443\nhttp-port = 80\n",
        VVX411.replace(':', ""),
        ip(11)
    );
    lab.sim(&ns, "sim11", &fleet, ip(11));
    lab.wait_tcp(&ns, ip(11), 443, Duration::from_secs(20));
}

fn onboard_args(state: &str) -> Vec<String> {
    [
        "onboard",
        "--interface",
        "eth0",
        "--cidr",
        "198.18.0.0/24",
        "--server-url",
        "https://prov.lab.test/poly/",
        "--skip-server-check",
        "--yes",
        "--state-dir",
        state,
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn an_interface_up_without_carrier_is_refused_before_anything_is_sent() {
    if !lab::available("discover_interface_lab") {
        return;
    }
    let lab = Lab::new("n");
    lab.unplug("t");
    let link = lab.exec(&lab.tech(), &["ip", "link", "show", "eth0"]);
    let link = text(&link.stdout);
    assert!(
        link.contains("NO-CARRIER") && link.contains(",UP"),
        "the lab's eth0 is up without carrier: {link}"
    );
    let out = run(
        &lab,
        &[
            "discover",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.0/24",
            "--rate",
            "fast",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("interface eth0 is up but has no link (no carrier)")
            && stderr.contains("check the cable")
            && stderr.contains("switch port")
            && stderr.contains("ip link show eth0"),
        "{stderr}"
    );
    // Refused before the announcement: nothing was about to be sent.
    assert!(!stderr.contains("sweeping"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
}

#[test]
fn without_ipv4_the_sweep_runs_from_zero_but_no_web_ui_is_probed_and_onboard_refuses() {
    if !lab::available("discover_interface_lab") {
        return;
    }
    let mut lab = Lab::new("z");
    phone(&mut lab);
    addresses(&lab, &[]);
    let sweep = [
        "discover",
        "--interface",
        "eth0",
        "--cidr",
        "198.18.0.0/24",
        "--rate",
        "fast",
    ];

    // JSON: a note up front, the phone found by the sweep's RFC 5227 probes, its web UI not checked, and why.
    let out = run(&lab, &[&sweep[..], &["--json"]].concat());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let lines = lab::schema::json_lines(&stdout);
    let note = lines
        .iter()
        .position(|l| {
            l["event"] == "note"
                && l["note"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("eth0 has no IPv4 address"))
        })
        .unwrap_or_else(|| panic!("no note about the missing address: {stdout}"));
    let first_device = lines.iter().position(|l| l["event"] == "device");
    assert!(
        first_device.is_none_or(|d| note < d),
        "the note comes first: {stdout}"
    );
    let s = summary(out.stdout.as_slice());
    let d = device(&s, VVX411).unwrap_or_else(|| panic!("the phone answered the sweep: {s}"));
    assert_eq!(d["address"], "198.18.0.11", "{d}");
    assert!(d["device"]["web"].is_null(), "no web request: {d}");
    assert_eq!(d["provisionable"]["state"], "not-checked", "{d}");
    assert_eq!(
        d["provisionable"]["detail"], "web UI not probed: eth0 has no IPv4 address",
        "{d}"
    );
    assert!(
        s["stats"]
            .as_str()
            .is_some_and(|t| t.contains("web UIs not checked: eth0 has no IPv4 address")),
        "{s}"
    );
    assert_eq!(s["interrupted"], false);

    // Text: the warning before the sweep, the reason in the table.
    let out = run(&lab, &[&sweep[..], &["--no-mdns"]].concat());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "warning: eth0 has no IPv4 address: the ARP sweep still runs (asking from 0.0.0.0"
        ) && stderr.contains("Fix: give eth0 an address"),
        "{stderr}"
    );
    assert!(
        stdout.contains("not checked: web UI not probed: eth0 has no IPv4 address"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("booting, or the web server is disabled"),
        "{stdout}"
    );

    // onboard: nothing could be reached, so it refuses before sending anything.
    let state = lab.path("runs").display().to_string();
    let before = lab.frames_sent_by("t");
    let args = onboard_args(&state);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&lab, &args);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("interface eth0 has no IPv4 address")
            && stderr.contains("nothing can be onboarded")
            && stderr.contains("sudo ip addr add"),
        "{stderr}"
    );
    assert_eq!(lab.frames_sent_by("t") - before, 0, "onboard sent frames");
}

#[test]
fn the_sweep_asks_from_the_address_inside_the_range_not_the_first() {
    if !lab::available("discover_interface_lab") {
        return;
    }
    let mut lab = Lab::new("s");
    phone(&mut lab);
    addresses(&lab, &["198.19.77.1/24", "198.18.0.1/24"]);
    let shown = text(
        &lab.exec(&lab.tech(), &["ip", "-4", "addr", "show", "eth0"])
            .stdout,
    );
    let (a, b) = (
        shown.find("198.19.77.1").expect("first address"),
        shown.find("198.18.0.1").expect("second address"),
    );
    assert!(a < b, "the address outside the range comes first: {shown}");
    let log = lab.path("arp.txt").display().to_string();
    let tech = lab.tech();
    lab.spawn(
        &tech,
        "tcpdump",
        &[
            "sh",
            "-c",
            &format!("exec tcpdump -i eth0 -l -n arp > {log}"),
        ],
    );
    lab.wait_log("tcpdump", "listening on");
    let out = run(
        &lab,
        &[
            "discover",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.0/24",
            "--rate",
            "fast",
            "--no-mdns",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_millis(300));
    let arp = std::fs::read_to_string(&log).unwrap_or_default();
    let from_range: std::collections::HashSet<&str> = arp
        .lines()
        .filter_map(|l| asked_by(l, "198.18.0.1"))
        .collect();
    assert!(
        from_range.len() >= 250,
        "the sweep's requests say `tell 198.18.0.1` ({} targets): {arp}",
        from_range.len()
    );
    assert!(!arp.contains("tell 198.19.77.1"), "{arp}");
    // Its web UI was reached from the address in the range too.
    let s = summary(&out.stdout);
    let d = device(&s, VVX411).expect("the phone");
    assert_eq!(d["provisionable"]["state"], "ready", "{d}");
}

/// The target of an ARP request line of `tcpdump -n` when its sender is `from`:
/// `Request who-has 198.18.0.7 tell 198.18.0.1, length 28` → `198.18.0.7`.
fn asked_by<'a>(line: &'a str, from: &str) -> Option<&'a str> {
    let (target, rest) = line.split_once("who-has ")?.1.split_once(" tell ")?;
    (rest.split(',').next()? == from).then_some(target)
}

#[test]
fn a_range_on_none_of_the_interfaces_subnets_is_a_warning_for_discover_and_an_error_for_onboard() {
    if !lab::available("discover_interface_lab") {
        return;
    }
    let lab = Lab::new("o");
    addresses(&lab, &["198.19.77.1/24"]);
    let out = run(
        &lab,
        &[
            "discover",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.0/28",
            "--rate",
            "fast",
            "--no-mdns",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "warning: 198.18.0.0/28 is not on eth0's network (its addresses: 198.19.77.1/24)"
        ) && stderr.contains("may still answer ARP")
            && stderr.contains("routed away from eth0")
            && stderr
                .contains("use the interface on that network, or add an address in that subnet"),
        "{stderr}"
    );
    let state = lab.path("runs").display().to_string();
    let args = onboard_args(&state);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&lab, &args);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("198.18.0.0/24 is not on eth0's network (its addresses: 198.19.77.1/24)")
            && stderr.contains("cannot be onboarded from here"),
        "{stderr}"
    );
}

#[test]
fn a_web_server_that_hangs_on_443_is_fingerprinted_over_plain_http() {
    if !lab::available("discover_interface_lab") {
        return;
    }
    let mut lab = Lab::new("h");
    let ns = lab.host("p20", HANGS, Some(ip(20)));
    // 443 completes the TLS handshake and then never answers; 80 serves a page.
    let key = rcgen::generate_simple_self_signed(vec![ip(20).to_string()]).unwrap();
    let (cert, pem) = (lab.path("hang.crt"), lab.path("hang.key"));
    std::fs::write(&cert, key.cert.pem()).unwrap();
    std::fs::write(&pem, key.signing_key.serialize_pem()).unwrap();
    let www = lab.path("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        "<html><head><title>Hello</title></head></html>",
    )
    .unwrap();
    let hang = format!(
        "import socket,ssl\nctx=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\nctx.load_cert_chain('{}','{}')\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{}',443))\ns.listen(16)\nkeep=[]\nwhile True:\n  c,_=s.accept()\n  try: keep.append(ctx.wrap_socket(c,server_side=True))\n  except Exception: pass\n",
        cert.display(),
        pem.display(),
        ip(20)
    );
    lab.spawn(&ns, "hang443", &["python3", "-c", &hang]);
    let dir = www.display().to_string();
    let bind = ip(20).to_string();
    lab.spawn(
        &ns,
        "http80",
        &[
            "python3",
            "-m",
            "http.server",
            "80",
            "--bind",
            &bind,
            "--directory",
            &dir,
        ],
    );
    lab.wait_tcp(&ns, ip(20), 443, Duration::from_secs(10));
    lab.wait_tcp(&ns, ip(20), 80, Duration::from_secs(10));
    let out = run(
        &lab,
        &[
            "discover",
            "--interface",
            "eth0",
            "--cidr",
            "198.18.0.20/32",
            "--rate",
            "fast",
            "--no-mdns",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = summary(&out.stdout);
    let d = device(&s, HANGS).unwrap_or_else(|| panic!("the host: {s}"));
    let web = &d["device"]["web"]["value"];
    assert_eq!(web["url"], "http://198.18.0.20/", "{d}");
    assert_eq!(web["login-title"], "Hello", "{d}");
}

#[test]
fn ctrl_c_ends_discovery_with_a_partial_summary_and_exit_130() {
    if !lab::available("discover_interface_lab") {
        return;
    }
    let lab = Lab::new("i");
    for json in [true, false] {
        let mut args = vec!["discover", "--interface", "eth0", "--passive", "60"];
        if json {
            args.push("--json");
        }
        let child = polyprov(&lab, &args).spawn().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let started = Instant::now();
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "it stopped at once"
        );
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
        if json {
            let s = summary(&out.stdout);
            assert_eq!(s["interrupted"], true, "{s}");
        } else {
            assert!(
                stdout.contains(
                    "Interrupted (Ctrl-C) before discovery was done: this inventory is partial"
                ),
                "{stdout}"
            );
        }
    }
    // onboard stopped while it discovers: nothing is onboarded from a partial inventory (the polite sweep of a /24
    // takes 25 s, so Ctrl-C lands in the middle of it).
    let state = lab.path("runs").display().to_string();
    let args = onboard_args(&state);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = polyprov(&lab, &args).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Interrupted (Ctrl-C) during discovery: no phone was touched."),
        "{stdout}"
    );
    assert!(!lab.path("runs").exists(), "no run was started");
}
