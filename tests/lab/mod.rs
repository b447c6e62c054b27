//! The namespace lab: a switch (a Linux bridge in its own network namespace, forwarding LLDP with
//! `group_fwd_mask`), the technician's laptop (namespace `t`, 198.18.0.1/24, `eth0`), and hosts plugged into the
//! switch, each in its own namespace with its own MAC: simulated phones (`polyprov sim` bound to the host's
//! address), real `lldpd` sending Poly-like LLDP-MED or CDP, a real `avahi-daemon`, raw frames (DHCP broadcasts)
//! sent with a packet socket, and hosts that are not phones. Only 198.18.0.0/24 inside namespaces this lab made;
//! everything (processes, namespaces, their interfaces) is removed on drop.
#![allow(dead_code)]

#[path = "../common/schema.rs"]
pub mod schema;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static LABS: AtomicU32 = AtomicU32::new(0);

/// The laptop's MAC and address.
pub const TECH_MAC: &str = "02:00:00:00:00:01";
pub const TECH_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

/// Whether this machine can build the lab: root, and the programs it runs.
pub fn check() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("not root (network namespaces need CAP_SYS_ADMIN)".into());
    }
    for tool in [
        "ip",
        "nft",
        "lldpd",
        "lldpcli",
        "avahi-daemon",
        "python3",
        "tcpdump",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            return Err(format!("{tool} is not installed (`.ci/run` installs it)"));
        }
    }
    Ok(())
}

/// Skips (locally) or fails (in CI, which must run the lab) when the lab cannot be built.
pub fn available(test: &str) -> bool {
    match check() {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the namespace lab cannot run on CI: {why}")
        }
        Err(why) => {
            eprintln!("{test}: SKIPPED: {why}");
            false
        }
    }
}

pub struct Lab {
    pub prefix: String,
    switch: String,
    namespaces: Vec<String>,
    children: Vec<(String, Child)>,
    pub dir: PathBuf,
    ports: u32,
    /// The lab's provisioning service, once started: phones started after it fetch from it.
    pub prov: Option<Prov>,
}

/// The lab's simulated provisioning service (a cloud service stand-in, answering on the technician's address: a
/// host of its own would be one more device in discovery's exact counts).
#[derive(Debug, Clone)]
pub struct Prov {
    pub name: String,
    pub ip: Ipv4Addr,
    pub port: u16,
    /// Its test CA, which the lab's phones and the agent (`--server-ca`) trust.
    pub ca: PathBuf,
}

impl Prov {
    pub fn url(&self) -> String {
        format!("https://{}:{}/poly/", self.name, self.port)
    }

    /// The agent's flags for it: URL, `--resolve` pin, `--server-ca`.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--server-url".into(),
            self.url(),
            "--resolve".into(),
            format!("{}:{}:{}", self.name, self.port, self.ip),
            "--server-ca".into(),
            self.ca.display().to_string(),
        ]
    }
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Lab {
    /// The switch and the technician's laptop.
    pub fn new(tag: &str) -> Lab {
        let n = LABS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("ppl{}{tag}{n}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab directory");
        let switch = format!("{prefix}-sw");
        run(&["ip", "netns", "add", &switch]);
        let mut lab = Lab {
            prefix,
            switch: switch.clone(),
            namespaces: vec![switch.clone()],
            children: Vec::new(),
            dir,
            ports: 0,
            prov: None,
        };
        run(&["ip", "-n", &switch, "link", "add", "br0", "type", "bridge"]);
        // Forward LLDP (01:80:c2:00:00:0e, bit 14) like a hub or mirror port does; STP off so ports forward at once.
        run(&[
            "ip",
            "-n",
            &switch,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "group_fwd_mask",
            "0x4000",
            "stp_state",
            "0",
        ]);
        run(&["ip", "-n", &switch, "link", "set", "br0", "up"]);
        lab.host("t", TECH_MAC, Some(TECH_IP));
        lab
    }

    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// The technician's namespace.
    pub fn tech(&self) -> String {
        self.ns("t")
    }

    /// A host on the switch: namespace `name`, interface `eth0` with `mac`, and `ip`/24 when it has an address.
    pub fn host(&mut self, name: &str, mac: &str, ip: Option<Ipv4Addr>) -> String {
        let ns = self.ns(name);
        run(&["ip", "netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        self.ports += 1;
        let port = format!("p{}", self.ports);
        run(&[
            "ip",
            "link",
            "add",
            "eth0",
            "netns",
            &ns,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.switch,
        ]);
        run(&[
            "ip",
            "-n",
            &self.switch,
            "link",
            "set",
            &port,
            "master",
            "br0",
            "up",
        ]);
        // No IPv6: no router solicitations or DAD probes, so "sends nothing" can be counted exactly.
        run(&[
            "ip",
            "netns",
            "exec",
            &ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
        ]);
        run(&["ip", "-n", &ns, "link", "set", "eth0", "address", mac]);
        if let Some(ip) = ip {
            run(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{ip}/24"),
                "dev",
                "eth0",
            ]);
        }
        run(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
        run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// The host's port on the switch.
    fn port_of(&self, name: &str) -> String {
        let idx = self
            .namespaces
            .iter()
            .position(|n| *n == self.ns(name))
            .expect("a host of this lab");
        format!("p{idx}")
    }

    /// Unplugs the host at the switch end: its port goes down, so the host's eth0 stays up with no carrier.
    pub fn unplug(&self, name: &str) {
        run(&[
            "ip",
            "-n",
            &self.switch,
            "link",
            "set",
            &self.port_of(name),
            "down",
        ]);
    }

    /// Frames the host has sent so far (its switch port's receive counter).
    pub fn frames_sent_by(&self, name: &str) -> u64 {
        let port = self.port_of(name);
        let out = run(&["ip", "-n", &self.switch, "-s", "-j", "link", "show", &port]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j");
        v[0]["stats64"]["rx"]["packets"]
            .as_u64()
            .expect("rx packets")
    }

    /// Runs a program in a namespace in the background until the lab is dropped; its output goes to `<log>.log`.
    pub fn spawn(&mut self, ns: &str, log: &str, args: &[&str]) {
        let path = self.dir.join(format!("{log}.log"));
        let file = std::fs::File::create(&path).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        self.children.push((log.to_string(), child));
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Runs a program in a namespace to completion.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// The lab's provisioning service: `polyprov sim` with no phones, its server on the technician's address,
    /// a default master file for the phones it does not know by MAC; returns once it listens.
    pub fn provisioning_service(&mut self) -> Prov {
        let prov = Prov {
            name: "prov.lab.test".into(),
            ip: TECH_IP,
            port: 8443,
            ca: self.dir.join("prov-ca.pem"),
        };
        let bin = env!("CARGO_BIN_EXE_polyprov");
        let (ip, port, ca) = (
            prov.ip.to_string(),
            prov.port.to_string(),
            prov.ca.display().to_string(),
        );
        let tech = self.tech();
        self.spawn(
            &tech,
            "prov",
            &[
                bin,
                "sim",
                "--phones",
                "0",
                "--bind",
                &ip,
                "--control",
                &format!("{ip}:0"),
                "--prov-name",
                &prov.name,
                "--prov-port",
                &port,
                "--prov-default-master",
                "--ca-out",
                &ca,
            ],
        );
        self.wait_tcp(&tech, prov.ip, prov.port, Duration::from_secs(20));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !prov.ca.exists() {
            assert!(
                Instant::now() < deadline,
                "the lab's provisioning CA was not written"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.prov = Some(prov.clone());
        prov
    }

    /// Simulated phones from a fleet file (`polyprov sim`), listening on the host's address; once the lab has a
    /// provisioning service, they resolve its name and trust its CA.
    pub fn sim(&mut self, ns: &str, name: &str, fleet: &str, ip: Ipv4Addr) {
        let path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&path, fleet).expect("fleet file");
        let bin = env!("CARGO_BIN_EXE_polyprov");
        let (p, bind) = (path.display().to_string(), ip.to_string());
        let mut args: Vec<String> = [
            bin,
            "sim",
            "--fleet",
            &p,
            "--bind",
            &bind,
            "--control",
            &format!("{ip}:0"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        match &self.prov {
            Some(prov) => args.extend([
                "--no-prov-server".into(),
                "--host".into(),
                format!("{}={}", prov.name, prov.ip),
                "--trust-ca".into(),
                prov.ca.display().to_string(),
            ]),
            None => args.push("--no-prov-server".into()),
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn(ns, name, &args);
    }

    /// A real lldpd on the host's eth0, sending every second (the LLDP-MED fast-start rate).
    pub fn lldpd(&mut self, ns: &str, name: &str, args: &[&str], hostname: &str) {
        self.lldpd_every(ns, name, args, hostname, 1);
    }

    /// A real lldpd on the host's eth0, sending at once and then every `secs` (30: a phone after fast start).
    pub fn lldpd_every(&mut self, ns: &str, name: &str, args: &[&str], hostname: &str, secs: u32) {
        self.lldpd_with(ns, name, args, hostname, secs, "");
    }

    /// A real lldpd as [`Lab::lldpd_every`], with more `lldpcli` configuration lines (`configure med policy …`,
    /// `configure ports eth0 lldp vlan-tx 20`).
    pub fn lldpd_with(
        &mut self,
        ns: &str,
        name: &str,
        args: &[&str],
        hostname: &str,
        secs: u32,
        extra: &str,
    ) {
        let conf = self.dir.join(format!("{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "configure lldp tx-interval {secs}\nconfigure system hostname {hostname}\n{extra}\n"
            ),
        )
        .expect("lldpd conf");
        let sock = self.dir.join(format!("{name}.sock")).display().to_string();
        let pid = self.dir.join(format!("{name}.pid")).display().to_string();
        let conf = conf.display().to_string();
        let mut all = vec![
            "lldpd", "-d", "-u", &sock, "-p", &pid, "-I", "eth0", "-O", &conf,
        ];
        all.extend_from_slice(args);
        self.spawn(ns, name, &all);
    }

    /// A real avahi-daemon answering for `hostname` and announcing `services` (name, type, port), with its own
    /// runtime and service directories (bind-mounted inside the namespace's private mount table).
    pub fn avahi(&mut self, ns: &str, name: &str, hostname: &str, services: &[(&str, &str, u16)]) {
        let svc = self.dir.join(format!("{name}-services"));
        std::fs::create_dir_all(&svc).expect("services dir");
        for (i, (title, ty, port)) in services.iter().enumerate() {
            std::fs::write(
                svc.join(format!("{i}.service")),
                format!(
                    "<?xml version=\"1.0\" standalone='no'?>\n<!DOCTYPE service-group SYSTEM \"avahi-service.dtd\">\n<service-group><name>{title}</name><service><type>{ty}</type><port>{port}</port></service></service-group>\n"
                ),
            )
            .expect("service file");
        }
        let conf = self.dir.join(format!("{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "[server]\nhost-name={hostname}\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=eth0\nenable-dbus=no\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-workstation=no\npublish-hinfo=no\n"
            ),
        )
        .expect("avahi conf");
        let script = format!(
            "mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && mount --bind {} /etc/avahi/services && exec avahi-daemon -f {} --no-drop-root --no-chroot --no-rlimits",
            svc.display(),
            conf.display()
        );
        self.spawn(ns, name, &["sh", "-c", &script]);
    }

    /// Sends raw Ethernet frames from a host's eth0 (a packet socket; DHCP broadcasts of a booting phone).
    pub fn send_frames(&self, ns: &str, frames: &[Vec<u8>]) {
        let hex: Vec<String> = frames
            .iter()
            .map(|f| f.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        let mut args = vec![
            "python3",
            "-c",
            "import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind(('eth0',0))\nfor h in sys.argv[1:]: s.send(bytes.fromhex(h))",
        ];
        args.extend(hex.iter().map(String::as_str));
        let out = self.exec(ns, &args);
        assert!(
            out.status.success(),
            "sending frames: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Drops `percent` % of the frames the switch forwards, at random (an nftables bridge rule).
    pub fn lossy(&self, percent: u32) {
        let rules = format!(
            "table bridge lab {{\n  chain lossy {{\n    type filter hook forward priority 0; policy accept;\n    numgen random mod 100 < {percent} drop\n  }}\n}}\n"
        );
        let path = self.dir.join("lossy.nft");
        std::fs::write(&path, rules).expect("nft rules");
        run(&[
            "ip",
            "netns",
            "exec",
            &self.switch,
            "nft",
            "-f",
            &path.display().to_string(),
        ]);
    }

    pub fn lossless(&self) {
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.switch,
                "nft",
                "delete",
                "table",
                "bridge",
                "lab",
            ])
            .output();
    }

    /// Waits until `ns` accepts TCP on `ip:port` (a simulated phone's web server).
    pub fn wait_tcp(&self, ns: &str, ip: Ipv4Addr, port: u16, within: Duration) {
        let deadline = Instant::now() + within;
        let probe = format!(
            "import socket\ns=socket.socket()\ns.settimeout(0.5)\ns.connect(('{ip}',{port}))"
        );
        while Instant::now() < deadline {
            if self.exec(ns, &["python3", "-c", &probe]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{ip}:{port} in {ns} never listened");
    }

    /// Waits until a spawned program's log says `text` (tcpdump's "listening on").
    pub fn wait_log(&self, log: &str, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log(log).contains(text) {
            assert!(Instant::now() < deadline, "{log} never said {text:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Captures, on the switch side of the technician's port, every ARP frame the laptop sends, into `file`.
    pub fn capture_port_arp(&mut self, file: &str) {
        let (sw, filter) = (self.ns("sw"), format!("arp and ether src {TECH_MAC}"));
        self.spawn(
            &sw,
            "tcpdump-port",
            &["tcpdump", "-i", "p1", "-U", "-n", "-w", file, &filter],
        );
        self.wait_log("tcpdump-port", "listening on");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
        }
        for (_, child) in &mut self.children {
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // Whatever still runs inside (lldpd's privilege-separated child, avahi) dies with its namespace's pids.
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "pids", ns])
                .output()
                .map(|o| {
                    for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                        let _ = Command::new("kill").args(["-9", pid]).status();
                    }
                });
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        if std::env::var_os("POLYPROV_KEEP_LAB").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

mod read;
pub use read::*;
