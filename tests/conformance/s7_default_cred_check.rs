//! S7: l0lsec/PolycomVVX_login_bruteforce, `PolycomVVX_defaultcredcheck.py` (commit cbb3397), Python requests. One
//! request per credential (`Polycom:456`, then `User:123`): `POST /form-submit/auth.htm` over HTTPS with Basic,
//! `X-Requested-With`, `Origin` and `Referer` (with the port), an empty body and no Content-Type. A login counts
//! when the answer contains `lockparams|SUCCESS|0` and sets a `session` cookie; the status is not looked at. It
//! names no model; the answer it parses is the session-login generation's (CCX, VVX 5.9/6.x).

use crate::Persona;
use crate::common::wire::{Target, basic, exchange, host, request};

/// Whether the default credentials `user:password` open a session.
async fn default_works(t: &Target, user: &str, password: &str) -> bool {
    let origin = format!("https://{}", t.addr);
    let a = exchange(
        t,
        &request(
            "POST",
            "/form-submit/auth.htm",
            &[
                ("Host", host(t)),
                ("User-Agent", "python-requests/2.31.0".into()),
                ("Accept-Encoding", "gzip, deflate".into()),
                ("Accept", "*/*".into()),
                ("Connection", "keep-alive".into()),
                ("X-Requested-With", "XMLHttpRequest".into()),
                ("Origin", origin.clone()),
                ("Referer", format!("{origin}/")),
                ("Content-Length", "0".into()),
                ("Authorization", basic(user, password)),
            ],
            b"",
        ),
    )
    .await
    .expect("the phone answers");
    let session = a
        .any_case("Set-Cookie")
        .iter()
        .any(|c| c.trim_start().starts_with("session="));
    a.text().contains("lockparams|SUCCESS|0") && session
}

async fn finds_the_factory_password(profile: &str, firmware: &str, mac: &str) {
    let p = Persona::start(profile, firmware, mac, "456").await;
    assert!(
        default_works(&p.target, "Polycom", "456").await,
        "{profile}/{firmware}"
    );
    p.stop().await;
    let p = Persona::start(profile, firmware, mac, crate::common::PASSWORD).await;
    assert!(!default_works(&p.target, "Polycom", "456").await);
    assert!(!default_works(&p.target, "User", "123").await);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_checks_ccx_8_1() {
    finds_the_factory_password("poly-ccx", "8.1.3.1301", "48256700C701").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_checks_ccx_7_3() {
    finds_the_factory_password("poly-ccx", "7.3.0.16841", "48256700C702").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_checks_vvx_5_9() {
    finds_the_factory_password("poly-vvx-6", "5.9.4.3247", "64167F00C703").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s7_checks_vvx_6_4() {
    finds_the_factory_password("poly-vvx-6", "6.4.5.1210", "64167F00C704").await;
}
