//! Faults on demand, one phone at a time: what a technician's tool meets on a real site. Each test sets a fault
//! and shows how the simulated phone misbehaves, asserting on the wire and on the control endpoint.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::*;
use polyprov::phone::tls::{PhoneVerifier, Trust};

/// Save HTTPS + the simulated service's URL on the phone at `base`.
async fn save(c: &reqwest::Client, base: &str, sim: &polyprov::sim::Simulator) -> String {
    let s = login_session(c, base, PASSWORD).await;
    let url = sim.prov_url().unwrap();
    let body = format!(
        "482=3&480={}",
        url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
    );
    c.post(format!("{base}/form-submit"))
        .header("Cookie", &s.cookie)
        .header("anti-csrf-token", s.csrf.unwrap_or_default())
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn vvx(mac_text: &str) -> polyprov::sim::PhoneSpec {
    phone("poly-vvx-6", "6.4.5.1210", mac_text)
}

/// A response cut off mid-body fails on the client; the next one is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_mid_response() {
    let mut spec = vvx("64167F000201");
    spec.faults.reset_next = 1;
    let sim = start(vec![spec], 1.0).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(mac("64167F000201"));
    // Cut mid-body: the status line and headers arrive, the body does not finish.
    let first = c
        .get(format!("{base}/login.htm"))
        .send()
        .await
        .expect("the head of a cut answer arrives");
    assert_eq!(first.status(), 200);
    assert!(first.text().await.is_err(), "the first answer is cut off");
    let second = c
        .get(format!("{base}/login.htm"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(second.contains("</html>"));
    assert_eq!(
        report(&sim, mac("64167F000201")).await["stats"]["responses-cut"],
        1
    );
    sim.shutdown().await;
}

/// Slow answers arrive, late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_responses() {
    let mut spec = vvx("64167F000202");
    spec.faults.slow_ms = 300;
    let sim = start(vec![spec], 1.0).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let t = Instant::now();
    let r = client(mac("64167F000202"))
        .get(format!("{base}/login.htm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    sim.shutdown().await;
}

/// Server errors for the next requests, then normal service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_then_recovery() {
    let mut spec = vvx("64167F000203");
    spec.faults.server_errors = 2;
    let sim = start(vec![spec], 1.0).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(mac("64167F000203"));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            c.get(format!("{base}/login.htm"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [500, 500, 200]);
    sim.shutdown().await;
}

/// A phone that goes down for its reboot and never comes back: dead, and its port stays closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_comes_back_after_reboot() {
    let mut spec = vvx("64167F000204");
    spec.faults.never_returns = true;
    let sim = start(vec![spec], 300.0).await;
    let m = mac("64167F000204");
    let base = format!("https://{}", sim.phones()[0].web_addr());
    assert_eq!(save(&client(m), &base, &sim).await, "CONF_CHANGE");
    let r = wait_for(&sim, m, Duration::from_secs(10), "death", |p| {
        p["phase"] == "dead"
    })
    .await;
    assert_eq!(r["up"], false);
    assert!(
        tokio::net::TcpStream::connect(sim.phones()[0].web_addr())
            .await
            .is_err()
    );
    sim.shutdown().await;
}

/// An update that never completes: the phone reboots again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_update_loop() {
    let mut spec = vvx("64167F000205");
    spec.faults.update_loop = true;
    let sim = start(vec![spec], 600.0).await;
    let m = mac("64167F000205");
    let base = format!("https://{}", sim.phones()[0].web_addr());
    assert_eq!(save(&client(m), &base, &sim).await, "CONF_CHANGE");
    let r = wait_for(&sim, m, Duration::from_secs(20), "five reboots", |p| {
        p["reboots"].as_u64() >= Some(5)
    })
    .await;
    assert_eq!(r["phase"], "update-loop");
    assert_ne!(r["phase"], "inactive");
    sim.shutdown().await;
}

/// After its reboot the phone comes back on another address (DHCP gave it a new lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_address_after_reboot() {
    let mut spec = vvx("64167F000206");
    let new_ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 206));
    spec.faults.new_ip = Some(new_ip);
    let sim = start(vec![spec], 300.0).await;
    let m = mac("64167F000206");
    let old = sim.phones()[0].web_addr();
    assert_eq!(
        save(&client(m), &format!("https://{old}"), &sim).await,
        "CONF_CHANGE"
    );
    let r = wait_for(&sim, m, Duration::from_secs(20), "Inactive", |p| {
        p["phase"] == "inactive"
    })
    .await;
    assert_eq!(r["ip"], "127.0.0.206");
    let new = sim.phones()[0].web_addr();
    assert_eq!(new.ip(), new_ip);
    assert!(
        tokio::net::TcpStream::connect(old).await.is_err(),
        "nothing answers on the old address"
    );
    let page = client(m)
        .get(format!("https://{new}/login.htm"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    sim.shutdown().await;
}

/// A phone still on its factory password: the site password fails, 456 works, the report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factory_default_password() {
    let mut spec = vvx("64167F000207");
    spec.password = "456".into();
    let sim = start(vec![spec], 1.0).await;
    let m = mac("64167F000207");
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(m);
    let bad = c
        .post(format!("{base}/form-submit/auth.htm"))
        .header("Authorization", basic(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.text().await.unwrap(), "lockparams|INVALID_LOGIN|0");
    let good = c
        .post(format!("{base}/form-submit/auth.htm"))
        .header("Authorization", basic("456"))
        .send()
        .await
        .unwrap();
    assert_eq!(good.text().await.unwrap(), "lockparams|SUCCESS|0");
    assert_eq!(report(&sim, m).await["password-is-factory"], true);
    sim.shutdown().await;
}

/// REST off answers 404; REST on challenges, then reports the provisioning server the web form saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_disabled_and_enabled() {
    let off = vvx("64167F000208");
    let mut on = vvx("64167F000209").provisioned_here();
    on.rest_enabled = true;
    let sim = start(vec![off, on], 1.0).await;
    let info = "/api/v1/mgmt/network/info";
    let a = client(mac("64167F000208"))
        .get(format!("https://{}{info}", sim.phones()[0].web_addr()))
        .header("Authorization", basic(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 404);
    let c = client(mac("64167F000209"));
    let url = format!("https://{}{info}", sim.phones()[1].web_addr());
    let challenge = c.get(&url).send().await.unwrap();
    assert_eq!(challenge.status(), 401);
    assert_eq!(
        challenge.headers()["www-authenticate"],
        "Basic realm=\"API Authentication\""
    );
    let ok: serde_json::Value = c
        .get(&url)
        .header("Authorization", basic(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["Status"], "2000");
    assert_eq!(
        ok["data"]["ProvServerAddress"],
        sim.prov_url().unwrap().as_str()
    );
    assert_eq!(ok["data"]["ProvServerType"], "HTTPS");
    sim.shutdown().await;
}

/// A certificate whose subject is not a Poly phone's is refused by a client that pins phones, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_certificate_is_refused() {
    let mut spec = vvx("64167F00020A");
    spec.faults.foreign_cert = true;
    let sim = start(vec![spec], 1.0).await;
    polyprov::init_tls();
    let verifier = PhoneVerifier::new(Trust::PolyPhone(None));
    let c = reqwest::Client::builder()
        .tls_backend_preconfigured(verifier.client_config().unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let err = c
        .get(format!("https://{}/login.htm", sim.phones()[0].web_addr()))
        .send()
        .await
        .unwrap_err();
    let seen = verifier.seen().expect("the certificate was seen");
    assert_eq!(seen.common_name, "intercept.example.test");
    let chain = format!("{:?}", err);
    assert!(chain.contains("not a Poly phone"), "{chain}");
    sim.shutdown().await;
}

/// A certificate for another MAC is refused when the client knows which phone it expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_of_another_phone_is_refused() {
    let sim = start(vec![vvx("64167F00020B")], 1.0).await;
    let wrong = client(mac("64167F0000FF"));
    let err = wrong
        .get(format!("https://{}/login.htm", sim.phones()[0].web_addr()))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("64167F00020B"), "{err:?}");
    sim.shutdown().await;
}

/// Someone has the web UI open: a second login gets the session conflict until that session expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_already_in_use() {
    let mut spec = vvx("64167F00020C");
    spec.faults.busy_secs = 60;
    let sim = start(vec![spec], 100.0).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(mac("64167F00020C"));
    let login = || {
        c.post(format!("{base}/form-submit/auth.htm"))
            .header("Authorization", basic(PASSWORD))
            .send()
    };
    let busy = login().await.unwrap();
    assert_eq!(busy.status(), 406);
    assert_eq!(busy.text().await.unwrap(), "SessionAlreadyActive");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        login().await.unwrap().text().await.unwrap(),
        "lockparams|SUCCESS|0"
    );
    sim.shutdown().await;
}

/// A phone locked by someone else's wrong passwords refuses even the right one until the lock elapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_phone_waits_out_the_lock() {
    let mut spec = vvx("64167F00020D");
    spec.faults.locked = true;
    let sim = start(vec![spec], 100.0).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(mac("64167F00020D"));
    let login = || {
        c.post(format!("{base}/form-submit/auth.htm"))
            .header("Authorization", basic(PASSWORD))
            .send()
    };
    let locked = login().await.unwrap().text().await.unwrap();
    assert!(locked.starts_with("lockparams|LOCKED|"), "{locked}");
    let secs: u64 = locked.rsplit('|').next().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{locked}");
    assert!(
        report(&sim, mac("64167F00020D")).await["locked-for"]
            .as_u64()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        login().await.unwrap().text().await.unwrap(),
        "lockparams|SUCCESS|0"
    );
    sim.shutdown().await;
}

/// A form posted without the CSRF token is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_csrf_token_is_refused() {
    let sim = start(vec![vvx("64167F00020E")], 1.0).await;
    let m = mac("64167F00020E");
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(m);
    let s = login_session(&c, &base, PASSWORD).await;
    let r = c
        .post(format!("{base}/form-submit"))
        .header("Cookie", &s.cookie)
        .body("482=3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let rep = report(&sim, m).await;
    assert_eq!(rep["server-type"], "HTTP");
    assert_eq!(rep["stats"]["csrf-rejections"], 1);
    sim.shutdown().await;
}

/// An idle session expires; pages then answer "Authorization failed. Please login here."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_session_expires() {
    let sim = start(vec![vvx("64167F00020F")], 2000.0).await;
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(mac("64167F00020F"));
    let s = login_session(&c, &base, PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = c
        .get(format!("{base}/provConf.htm"))
        .header("Cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.text().await.unwrap(),
        "Authorization failed. Please login here."
    );
    sim.shutdown().await;
}

/// Faults can be changed while the simulator runs, through the control endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_change_at_run_time() {
    let sim = start(vec![vvx("64167F000210")], 1.0).await;
    let m = mac("64167F000210");
    let control = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/phones/{m}/faults", sim.control_addr());
    let r = control
        .put(&url)
        .body(r#"{"server-errors": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let base = format!("https://{}", sim.phones()[0].web_addr());
    let c = client(m);
    assert_eq!(
        c.get(format!("{base}/login.htm"))
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
    assert_eq!(
        c.get(format!("{base}/login.htm"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let bad = control
        .put(&url)
        .body(r#"{"no-such-fault": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("no-such-fault"));
    sim.shutdown().await;
}
