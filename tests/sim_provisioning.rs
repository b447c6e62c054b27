//! What a simulated phone does when it boots with a provisioning server set: it really fetches from it, and every
//! way a real site goes wrong ends the way a real phone's does — the failure in its application log, its old
//! configuration kept, no update, no service line label. One scenario per line; each is checked on the
//! simulator's ground truth (the phone's `provisioning` record, its log, and the requests the server answered).

mod common;

use std::time::Duration;

use common::*;
use polyprov::sim::{PhoneSpec, ProvSetup, SimConfig, Simulator};

/// Where the phone is pointed.
enum Url {
    /// The simulated service.
    Service,
    /// Something else, as typed.
    Other(&'static str),
}

struct Scenario {
    /// What the scenario shows, in one sentence.
    name: &'static str,
    url: Url,
    /// Server type of the form when the address has no scheme.
    server_type: &'static str,
    phone: fn(&mut PhoneSpec),
    service: fn(&mut ProvSetup),
    /// `provisioning.last` on the phone.
    last: &'static str,
    phase: &'static str,
    /// Fragments the application log shows after the last boot (`{url}` is the address the phone used).
    log: &'static [&'static str],
}

fn none(_: &mut PhoneSpec) {}
fn nothing(_: &mut ProvSetup) {}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "the service's address loads its configuration: Inactive under the service's label",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: nothing,
        last: "loaded",
        phase: "inactive",
        log: &[
            "|cfg  |4|00|Prov|Starting to provision",
            "|cfg  |4|00|Prov|Finished updating configuration",
        ],
    },
    Scenario {
        name: "a mistyped name that cannot resolve: the phone's DNS fails, the server is unresponsive",
        url: Url::Other("https://does-not-exist.invalid/typo/"),
        server_type: "HTTPS",
        phone: none,
        service: nothing,
        last: "dns",
        phase: "provisioning-failed",
        log: &[
            "Prov|Could not resolve 'does-not-exist.invalid'",
            "Prov|Server 'https://does-not-exist.invalid/typo/' is unresponsive",
            "Prov|Finished updating configuration",
        ],
    },
    Scenario {
        name: "a server nothing listens on (a firewall, a server that is down): unresponsive",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.unreachable = true,
        last: "connect",
        phase: "provisioning-failed",
        log: &[
            "Prov|Could not connect to",
            "Prov|Server '{url}' is unresponsive",
        ],
    },
    Scenario {
        name: "a certificate from a CA the phone does not trust fails the TLS check",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.untrusted_cert = true,
        last: "tls",
        phase: "provisioning-failed",
        log: &[
            "|copy |4|00|Prov|TLS connection to 'prov.sim.test' failed: certificate verify failed (unable to get local issuer certificate)",
            "is unresponsive",
        ],
    },
    Scenario {
        name: "an expired certificate fails the TLS check",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.expired_cert = true,
        last: "tls",
        phase: "provisioning-failed",
        log: &["certificate has expired", "is unresponsive"],
    },
    Scenario {
        name: "a phone whose clock is wrong (no time server) sees every certificate as not yet valid",
        url: Url::Service,
        server_type: "HTTPS",
        phone: |p| p.faults.clock_wrong = true,
        service: nothing,
        last: "tls",
        phase: "provisioning-failed",
        log: &["certificate is not yet valid", "is unresponsive"],
    },
    Scenario {
        name: "a MAC the service does not know: its file and the default master file are both 404",
        url: Url::Service,
        server_type: "HTTPS",
        phone: |p| p.enrolled = false,
        service: nothing,
        last: "missing",
        phase: "provisioning-failed",
        log: &["|res  |4|00|Failed to download file 64167f000701.cfg"],
    },
    Scenario {
        name: "a MAC the service does not know, on a service with a default master file: it loads that one",
        url: Url::Service,
        server_type: "HTTPS",
        phone: |p| p.enrolled = false,
        service: |s| s.default_master = true,
        last: "loaded",
        phase: "inactive",
        log: &["Prov|Finished updating configuration"],
    },
    Scenario {
        name: "the service refuses this device (401): the server credentials are wrong",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.refuse_macs = vec![mac("64167F000701")],
        last: "refused",
        phase: "provisioning-failed",
        log: &["Prov|Server refused '64167f000701.cfg' (HTTP 401)"],
    },
    Scenario {
        name: "a server that wants credentials the phone was not given answers 401",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.credentials = Some(("poly".into(), "prov-secret".into())),
        last: "refused",
        phase: "provisioning-failed",
        log: &["(HTTP 401)"],
    },
    Scenario {
        name: "with the server user and password on the phone, the same server serves it",
        url: Url::Service,
        server_type: "HTTPS",
        phone: |p| {
            p.params.insert("device.prov.user".into(), "poly".into());
            p.params
                .insert("device.prov.password".into(), "prov-secret".into());
        },
        service: |s| s.credentials = Some(("poly".into(), "prov-secret".into())),
        last: "loaded",
        phase: "inactive",
        log: &["Prov|Finished updating configuration"],
    },
    Scenario {
        name: "a server that forbids everything (403)",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.forbidden = true,
        last: "refused",
        phase: "provisioning-failed",
        log: &["(HTTP 403)"],
    },
    Scenario {
        name: "a captive portal answers every file with a web page: the master file does not parse",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.wrong_content = true,
        last: "invalid",
        phase: "provisioning-failed",
        log: &["Prov|Error parsing '64167f000701.cfg'"],
    },
    Scenario {
        name: "the server goes away half-way through the firmware download: the update fails, the firmware stays",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.gone_mid_update = true,
        last: "update-failed",
        phase: "provisioning-failed",
        log: &["Prov|Could not get application name"],
    },
    Scenario {
        name: "a server slower than the phone waits for: the phone gives up and reports it unresponsive",
        url: Url::Service,
        server_type: "HTTPS",
        phone: none,
        service: |s| s.faults.slow_ms = 2_500,
        last: "timeout",
        phase: "provisioning-failed",
        log: &["Prov|Server '{url}' is unresponsive"],
    },
    Scenario {
        name: "a DHCP option 66 overrides the saved server while the boot server is not Static",
        url: Url::Service,
        server_type: "HTTPS",
        phone: |p| p.faults.dhcp_boot_server = Some("http://tftp.lan.test/old/".into()),
        service: nothing,
        last: "dns",
        phase: "provisioning-failed",
        log: &[
            "Provisioning server address is http://tftp.lan.test/old/.",
            "Prov|Server 'http://tftp.lan.test/old/' is unresponsive",
        ],
    },
    Scenario {
        name: "with the boot server Static the saved server wins over DHCP",
        url: Url::Service,
        server_type: "HTTPS",
        phone: |p| {
            p.faults.dhcp_boot_server = Some("http://tftp.lan.test/old/".into());
            p.params
                .insert("device.dhcp.bootSrvUseOpt".into(), "2".into());
        },
        service: nothing,
        last: "loaded",
        phase: "inactive",
        log: &["Provisioning server address is {url}."],
    },
    Scenario {
        name: "a bare host with server type FTP: the simulator does not speak FTP, the phone reports the server unresponsive",
        url: Url::Other("ftp.lan.test/poly"),
        server_type: "FTP",
        phone: none,
        service: nothing,
        last: "unsupported",
        phase: "provisioning-failed",
        log: &["Prov|Server 'ftp.lan.test/poly' is unresponsive"],
    },
];

/// Point the phone at the scenario's server as if saved earlier, reboot it, and wait for its attempt to end.
async fn run(s: &Scenario) {
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000701");
    (s.phone)(&mut spec);
    let mut setup = ProvSetup::default();
    (s.service)(&mut setup);
    let config = SimConfig {
        time_scale: 600.0,
        seed: 7,
        prov: Some(setup),
        ..SimConfig::default()
    };
    let sim = Simulator::start(catalog(), vec![spec], config)
        .await
        .expect("simulator starts");
    let m = mac("64167F000701");
    // Saved earlier (as if through the web form), not yet rebooted.
    let typed = match s.url {
        Url::Service => sim.prov_url().unwrap(),
        Url::Other(u) => u.to_string(),
    };
    sim.phones()[0].with(|p| {
        let value = p.profile.provisioning.server_type_values[s.server_type].clone();
        p.config.insert("device.prov.serverType".into(), value);
        p.config
            .insert("device.prov.serverName".into(), typed.clone());
    });
    let control = reqwest::Client::builder().no_proxy().build().unwrap();
    let reboot = format!("http://{}/phones/{m}/reboot", sim.control_addr());
    assert_eq!(control.post(&reboot).send().await.unwrap().status(), 202);
    let r = wait_for(&sim, m, Duration::from_secs(30), s.name, |p| {
        p["reboots"].as_u64() >= Some(1)
            && p["provisioning"]["attempts"].as_u64() >= Some(1)
            && ["inactive", "provisioning-failed", "registered"]
                .contains(&p["phase"].as_str().unwrap_or(""))
    })
    .await;
    assert_eq!(r["provisioning"]["last"], s.last, "{}: {r:#}", s.name);
    assert_eq!(r["phase"], s.phase, "{}: {r:#}", s.name);
    let used = r["provisioning"]["server"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let log = app_log(&sim, m).await;
    let last_boot = log.rsplit("Initial log entry.").next().unwrap_or("");
    for want in s.log {
        let want = want.replace("{url}", &used);
        assert!(
            last_boot.contains(&want),
            "{}: no {want:?} in\n{log}",
            s.name
        );
    }
    if s.phase != "inactive" {
        // A failed attempt leaves the firmware and the line as they were.
        assert_eq!(r["firmware"], "6.4.5.1210", "{}", s.name);
        assert_ne!(r["line"]["label"], "Inactive", "{}", s.name);
    } else {
        assert!(r["provisioning"]["inactive-at"].is_number(), "{}", s.name);
    }
    sim.shutdown().await;
}

/// The phone's application log, read through its web UI as any client would.
async fn app_log(sim: &Simulator, m: polyprov::mac::Mac) -> String {
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(m);
    let s = login_session(&c, &base, PASSWORD).await;
    let log = s.page(&c, "/Diagnostics/log?value=app&dummyParam=1").await;
    let _ = c
        .post(format!("{base}/form-submit/logout"))
        .header("Cookie", &s.cookie)
        .header("anti-csrf-token", s.csrf.unwrap_or_default())
        .send()
        .await;
    log
}

/// Every scenario above, each on a simulator of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_outcomes_on_the_phone() {
    for s in SCENARIOS {
        run(s).await;
    }
}

/// Who asked for what: a phone the service does not know asks for its own file, then the default master file,
/// with its own User-Agent, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_mac_asks_for_its_file_then_the_default() {
    let mut spec = phone("poly-ccx", "8.1.3.1301", "482567000702");
    spec.enrolled = false;
    spec.provisioned = Some(("HTTPS".into(), String::new()));
    let sim = start(vec![spec], 600.0).await;
    let m = mac("482567000702");
    // Its pass at the start of the simulator already failed; the pass after a reboot asks again, the same way.
    let before = sim.prov().unwrap().report().served.len();
    let control = reqwest::Client::builder().no_proxy().build().unwrap();
    let reboot = format!("http://{}/phones/{m}/reboot", sim.control_addr());
    control.post(&reboot).send().await.unwrap();
    wait_for(&sim, m, Duration::from_secs(20), "the attempt", |p| {
        p["reboots"] == 1 && p["phase"] == "provisioning-failed"
    })
    .await;
    let served: Vec<_> = sim
        .prov()
        .unwrap()
        .report()
        .served
        .into_iter()
        .skip(before)
        .collect();
    let seen: Vec<(String, u16)> = served.iter().map(|r| (r.path.clone(), r.status)).collect();
    assert_eq!(
        seen,
        [
            ("/poly/482567000702.cfg".to_string(), 404),
            ("/poly/000000000000.cfg".to_string(), 404)
        ]
    );
    assert!(
        served[0]
            .user_agent
            .starts_with("FileTransport PolyCCX-CCX_"),
        "{served:#?}"
    );
    assert!(served[0].user_agent.contains("(SN:482567000702)"));
    sim.shutdown().await;
}

/// A service that pushes its own admin password (as cloud services often do): the phone applies it, reboots to
/// apply device settings (and says so in its log), loads the configuration again and settles; its web UI then
/// takes the new password and refuses the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_can_change_the_admin_password() {
    let setup = ProvSetup {
        admin_password: Some("cloud-set-pw".into()),
        ..ProvSetup::default()
    };
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000703");
    spec.update_to = Some("6.4.5.1210".into());
    let config = SimConfig {
        time_scale: 600.0,
        seed: 7,
        prov: Some(setup),
        ..SimConfig::default()
    };
    let sim = Simulator::start(catalog(), vec![spec], config)
        .await
        .unwrap();
    let m = mac("64167F000703");
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let url = sim.prov_url().unwrap();
    assert_eq!(
        save_provisioning(&client(m), &base, "482", "480", &url).await,
        "CONF_CHANGE"
    );
    let r = wait_for(&sim, m, Duration::from_secs(20), "Inactive again", |p| {
        p["reboots"] == 2 && p["phase"] == "inactive"
    })
    .await;
    assert_eq!(r["provisioning"]["attempts"], 2, "{r:#}");
    let c = client(m);
    let old = c
        .post(format!("{base}/form-submit/auth.htm"))
        .header("Authorization", basic(PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(old, "lockparams|INVALID_LOGIN|0");
    login_session(&c, &base, "cloud-set-pw").await;
    sim.shutdown().await;
}
