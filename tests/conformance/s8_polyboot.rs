//! S8: Kibbles/polyboot, `polyboot.py` (request as built at commit 1449ec3; HEAD cabbd29 builds the same curl
//! command), curl over HTTPS with certificate checks off. `reboot`: `POST /form-submit/Reboot` with both
//! `Authorization: Basic …` and `Cookie: Authorization=Basic …` (user `Polycom`), `Content-Length: 0` and a form
//! Content-Type; it never reads the answer. It names the VVX 300 and the SoundPoint IP 331: the cookie generations.

use crate::Persona;
use crate::common::PASSWORD;
use crate::common::wire::{basic, exchange, host, request};

async fn reboots(profile: &str, firmware: &str, mac: &str) {
    let p = Persona::start(profile, firmware, mac, PASSWORD).await;
    let b = basic("Polycom", PASSWORD);
    let _ = exchange(
        &p.target,
        &request(
            "POST",
            "/form-submit/Reboot",
            &[
                ("Host", host(&p.target)),
                ("User-Agent", "curl/7.88.1".into()),
                ("Accept", "*/*".into()),
                ("Authorization", b.clone()),
                ("Cookie", format!("Authorization={b}")),
                ("Content-Type", "application/x-www-form-urlencoded".into()),
                ("Content-Length", "0".into()),
            ],
            b"",
        ),
    )
    .await;
    p.rebooted().await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_reboots_vvx_5_6() {
    reboots("poly-vvx-5", "5.6.3.1155", "0004F200C801").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_reboots_soundpoint_ip_331() {
    reboots("soundpoint-ucs4", "4.0.15.1047", "0004F200C802").await;
}
