//! What a phone does after its provisioning server is saved, under time scaling: it reboots, contacts the
//! server, takes a firmware update with further reboots, and settles as Inactive; activation then registers its
//! line. Outcomes are read from the simulator's control endpoint, never from the client.

mod common;

use std::time::Duration;

use common::*;
use polyprov::sim::Simulator;

/// A fresh VVX on 6.4.5 in a simulator at `scale`, its provisioning server just saved (HTTPS + the simulated
/// service's URL) through its web UI: the simulator, the client, the phone's base URL and the service's URL.
async fn fresh_vvx_saved(
    m: polyprov::mac::Mac,
    scale: f64,
) -> (Simulator, reqwest::Client, String, String) {
    let sim = start(
        vec![phone("poly-vvx-6", "6.4.5.1210", &m.to_string())],
        scale,
    )
    .await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let url = sim.prov_url().unwrap();
    let c = client(m);
    assert_eq!(
        save_provisioning(&c, &base, "482", "480", &url).await,
        "CONF_CHANGE"
    );
    (sim, c, base, url)
}

/// A fresh VVX on 6.4.5 saves HTTPS + the simulated service's URL, goes off the network, comes back with uptime
/// reset, fetches its per-MAC master file from the service, takes the 6.4.7 image it names in two more reboots,
/// fetches again, loads the configuration files and settles as Inactive, its line labelled for activation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_vvx_reboots_updates_and_settles_inactive() {
    let m = mac("64167F000101");
    let (sim, c, base, url) = fresh_vvx_saved(m, 300.0).await;
    wait_for(
        &sim,
        m,
        Duration::from_secs(5),
        "the listener to close",
        |p| p["up"] == false,
    )
    .await;
    assert!(
        c.get(format!("{base}/login.htm")).send().await.is_err(),
        "a rebooting phone refuses connections"
    );
    let r = wait_for(&sim, m, Duration::from_secs(20), "Inactive", |p| {
        p["phase"] == "inactive"
    })
    .await;
    assert_eq!(
        r["reboots"], 3,
        "one reboot for the save, two for the update: {r:#}"
    );
    assert_eq!(r["firmware"], "6.4.7.4560");
    assert_eq!(
        r["firmware-history"],
        serde_json::json!(["6.4.5.1210", "6.4.7.4560"])
    );
    assert_eq!(r["server-type"], "HTTPS");
    assert_eq!(r["server-name"], url);
    assert_eq!(r["line"]["label"], "Inactive");
    assert_eq!(r["provisioning"]["last"], "loaded");
    assert_eq!(
        r["provisioning"]["files"],
        serde_json::json!(["site.cfg", "64167f000101-line.cfg"])
    );
    // What the phone fetched, as the server saw it: the master file, the image, then (on the new firmware)
    // the master file again and the configuration files; always with the phone's own User-Agent.
    let served = sim.prov().unwrap().report().served;
    let paths: Vec<&str> = served
        .iter()
        .map(|r| r.path.trim_start_matches("/poly/"))
        .collect();
    assert_eq!(
        paths,
        [
            "64167f000101.cfg",
            "firmware/6.4.7.4560/sip.ld",
            "64167f000101.cfg",
            "firmware/6.4.7.4560/sip.ld",
            "site.cfg",
            "64167f000101-line.cfg"
        ],
        "{served:#?}"
    );
    assert!(
        served[0]
            .user_agent
            .starts_with("FileTransport PolycomVVX-VVX_411-UA/6.4.5.1210"),
        "{served:#?}"
    );
    assert!(
        served[4]
            .user_agent
            .starts_with("FileTransport PolycomVVX-VVX_411-UA/6.4.7.4560"),
        "{served:#?}"
    );
    assert_eq!(r["line"]["registered"], false);
    assert_eq!(r["up"], true);

    // The phone's own pages agree: new version, a fresh "Initial log entry." per boot, the saved values.
    let s = login_session(&c, &base, PASSWORD).await;
    let get = |path: &str| {
        let req = c
            .get(format!("{base}{path}"))
            .header("Cookie", s.cookie.clone());
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(
        get("/Utilities/softwareUpgrade/getPhoneVersion").await,
        "6.4.7.4560"
    );
    let log = get("/Diagnostics/log?value=app&dummyParam=1").await;
    assert_eq!(log.matches("Initial log entry.").count(), 4, "{log}");
    assert!(
        log.contains(&format!(
            "|cfg  |4|00|Provisioning server address is {url}."
        )),
        "{log}"
    );
    assert!(
        log.contains("|cfg  |4|00|Prov|Upgrading application to 6.4.7.4560"),
        "{log}"
    );
    let last_boot = log.rsplit("Initial log entry.").next().unwrap();
    assert!(
        last_boot.contains("Prov|Starting to provision")
            && last_boot.contains("Prov|Finished updating configuration"),
        "{log}"
    );
    let prov = get("/provConf.htm").await;
    assert!(
        prov.contains(&format!("value=\"{url}\"")),
        "provConf shows the saved URL"
    );
    assert!(
        prov.contains(&format!("config=\"{url}\"")),
        "provConf shows the value the service's files set"
    );
    assert!(
        prov.contains("<option value=\"3\" selected=\"selected\">"),
        "provConf shows HTTPS selected"
    );
    let home = get("/home.htm").await;
    assert!(
        home.contains("6.4.7.4560") && home.contains("64:16:7f:00:01:01"),
        "{home}"
    );
    sim.shutdown().await;
}

/// A VVX on 5.6 (Authorization cookie) is updated to 6.4.5 and from then on speaks the session-CSRF login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_vvx_update_changes_the_login_generation() {
    let m = mac("0004F2000102");
    let sim = start(
        vec![phone("poly-vvx-5", "5.6.3.1155", "0004F2000102")],
        300.0,
    )
    .await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let url = sim.prov_url().unwrap();
    let c = client(m);
    let cookie = format!("Authorization={}", basic(PASSWORD));
    let answer = c
        .post(format!("{base}/form-submit"))
        .header("Cookie", &cookie)
        .body(format!("422=3&420={}", urlencode(&url)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(answer, "CONF_CHANGE");
    let r = wait_for(&sim, m, Duration::from_secs(20), "Inactive", |p| {
        p["phase"] == "inactive"
    })
    .await;
    assert_eq!(r["profile"], "poly-vvx-6");
    assert_eq!(r["firmware"], "6.4.5.1210");
    assert_eq!(
        r["server-name"], url,
        "the saved server survives the update"
    );
    let s = login_session(&c, &base, PASSWORD).await;
    assert!(s.csrf.is_some(), "6.4.5 pages carry the CSRF meta");
    sim.shutdown().await;
}

/// Activation by MAC in the admin console: the service now serves a registering line (and the firmware it
/// names after activation); told to reboot, the Inactive phone takes the update and comes back with its line
/// registered under its extension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_registers_the_line() {
    let m = mac("482567000103");
    let mut spec = phone("poly-ccx", "8.1.3.1301", "482567000103").provisioned_here();
    // Before activation the service names the firmware the phone runs; activation brings the newer one.
    spec.update_to = Some("8.1.3.1301".into());
    spec.extension = Some("2417".into());
    spec.activation_update = Some("8.2.1.0433".into());
    let sim = start(vec![spec], 300.0).await;
    let before = report(&sim, m).await;
    assert_eq!(before["phase"], "inactive");
    let control = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/phones/{m}/activate", sim.control_addr());
    assert_eq!(control.post(&url).send().await.unwrap().status(), 202);
    let r = wait_for(&sim, m, Duration::from_secs(20), "registration", |p| {
        p["phase"] == "registered"
    })
    .await;
    assert_eq!(
        r["line"],
        serde_json::json!({"registered": true, "label": "2417"})
    );
    assert_eq!(r["firmware"], "8.2.1.0433");
    assert!(r["reboots"].as_u64() >= Some(3), "{r:#}");
    assert!(r["provisioning"]["registered-at"].is_number(), "{r:#}");
    // Activation is refused unless the phone is Inactive.
    let again = control.post(&url).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("not Inactive"));
    sim.shutdown().await;
}

/// Activated without being told to reboot (8x8: "if the device does not reboot itself … power cycle"), the phone
/// stays Inactive until someone reboots it; then it loads the registering line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_waits_for_a_reboot_when_the_phone_is_not_told() {
    let m = mac("64167F000106");
    let mut spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000106").provisioned_here();
    spec.extension = Some("2418".into());
    let sim = start(vec![spec], 300.0).await;
    let control = reqwest::Client::builder().no_proxy().build().unwrap();
    let activate = format!("http://{}/phones/{m}/activate", sim.control_addr());
    let r = control
        .post(&activate)
        .body(r#"{"reboot": false}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(report(&sim, m).await["phase"], "inactive");
    let reboot = format!("http://{}/phones/{m}/reboot", sim.control_addr());
    assert_eq!(control.post(&reboot).send().await.unwrap().status(), 202);
    let r = wait_for(&sim, m, Duration::from_secs(20), "registration", |p| {
        p["phase"] == "registered"
    })
    .await;
    assert_eq!(r["line"]["label"], "2418");
    sim.shutdown().await;
}

/// A phone that is up obeys a restart at once, even in the middle of a provisioning pass: it never finishes the
/// pass it was told to abandon (settling Inactive first and rebooting afterwards would let a client read a verdict
/// the phone is about to throw away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_provisioning_pass_is_obeyed_at_once() {
    let m = mac("64167F000107");
    let (sim, ..) = fresh_vvx_saved(m, 100.0).await;
    // Back from the save's reboot, waiting to contact the server (30 s of phone time, 0.3 s here).
    wait_for(&sim, m, Duration::from_secs(10), "the first boot", |p| {
        p["reboots"] == 1 && p["up"] == true
    })
    .await;
    let control = reqwest::Client::builder().no_proxy().build().unwrap();
    let reboot = format!("http://{}/phones/{m}/reboot", sim.control_addr());
    assert_eq!(control.post(&reboot).send().await.unwrap().status(), 202);
    let r = wait_for(&sim, m, Duration::from_secs(30), "Inactive", |p| {
        p["phase"] == "inactive"
    })
    .await;
    assert_eq!(
        r["reboots"], 4,
        "the save's, the restart's and the update's two, before it settles: {r:#}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = report(&sim, m).await;
    assert_eq!(
        (r["phase"].as_str(), r["reboots"].as_u64()),
        (Some("inactive"), Some(4))
    );
    sim.shutdown().await;
}

/// Saving the same values again changes nothing and schedules no reboot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_the_same_values_is_no_change() {
    let m = mac("64167F000104");
    let spec = phone("poly-vvx-6", "6.4.5.1210", "64167F000104").provisioned_here();
    let sim = start(vec![spec], 300.0).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let url = sim.prov_url().unwrap();
    let c = client(m);
    assert_eq!(
        save_provisioning(&c, &base, "482", "480", &url).await,
        "CONF_NO_CHANGE"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = report(&sim, m).await;
    assert_eq!(r["reboots"], 0);
    assert_eq!(r["up"], true);
    assert_eq!(r["stats"]["conf-changes"], 0);
    sim.shutdown().await;
}

/// The same seed gives the same session tokens, so a failing run can be repeated exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_makes_runs_reproducible() {
    let mut cookies = Vec::new();
    for _ in 0..2 {
        let sim = start(vec![phone("poly-ccx", "7.3.0.16841", "482567000105")], 1.0).await;
        let base = format!("https://{}", sim.phones()[0].web_addr());
        let s = login_session(&client(mac("482567000105")), &base, PASSWORD).await;
        cookies.push((s.cookie, s.csrf));
        sim.shutdown().await;
    }
    assert_eq!(cookies[0], cookies[1]);
}
