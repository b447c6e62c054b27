//! The multi-site lab: a management network (a bridge in its own namespace, 198.19.0.0/24) joining a controller
//! namespace (198.19.0.1) to site-host namespaces (198.19.0.1N), each site host running Debian's openssh-server
//! there with lab-made keys; each site host also has its own LAN (a bridge namespace, 198.18.N.0/24, the site host
//! at .1 on `lan0`) with simulated phones, one namespace each, and the site's provisioning service on the site
//! host's LAN address. Only 198.18.0.0/15 inside namespaces this lab made; everything (processes, namespaces, their
//! interfaces) is removed on drop.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether this machine can build the lab: root, and the programs it runs.
pub fn check() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("not root (network namespaces need CAP_SYS_ADMIN)".into());
    }
    for tool in ["ip", "ssh", "ssh-keygen", "/usr/sbin/sshd", "curl", "tar"] {
        if !which(tool) {
            return Err(format!("{tool} is not installed (`.ci/run` installs it)"));
        }
    }
    if ansible_playbook().is_none() {
        return Err(format!(
            "ansible-playbook is not installed: `.ci/run` installs ansible-core from examples/ansible/requirements.txt \
             into {VENV} (or set POLYPROV_ANSIBLE to a venv holding it)"
        ));
    }
    Ok(())
}

/// Where `.ci/run` installs ansible-core.
pub const VENV: &str = "/opt/polyprov-ansible";

/// ansible-playbook from `$POLYPROV_ANSIBLE/bin`, else the CI venv's.
pub fn ansible_playbook() -> Option<PathBuf> {
    let venv =
        std::env::var_os("POLYPROV_ANSIBLE").map_or_else(|| PathBuf::from(VENV), PathBuf::from);
    let bin = venv.join("bin/ansible-playbook");
    bin.exists().then_some(bin)
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Skips (locally) or fails (in CI, which must run the lab) when the lab cannot be built.
pub fn available(test: &str) -> bool {
    match check() {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the multi-site lab cannot run on CI: {why}")
        }
        Err(why) => {
            eprintln!("{test}: SKIPPED: {why}");
            false
        }
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

/// A simulated phone on a site's LAN.
#[derive(Debug, Clone)]
pub struct Phone {
    pub mac: String,
    pub ip: Ipv4Addr,
    pub ns: String,
}

/// A site: its host (management and LAN addresses), its phones, its provisioning service's CA.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub ns: String,
    pub mgmt_ip: Ipv4Addr,
    pub lan_ip: Ipv4Addr,
    pub phones: Vec<Phone>,
    pub ca: PathBuf,
}

/// The phones' control endpoint port (`polyprov sim --control`).
pub const CONTROL_PORT: u16 = 8080;
/// The provisioning service's name and port, the same URL at every site (pinned to each site's own service).
pub const PROV_NAME: &str = "prov.lab.test";
pub const PROV_PORT: u16 = 8443;
pub const CONTROLLER_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);

pub struct SitesLab {
    pub prefix: String,
    pub dir: PathBuf,
    namespaces: Vec<String>,
    children: Vec<Child>,
    ports: u32,
    /// The SSH key the controller logs in with.
    pub key: PathBuf,
}

impl SitesLab {
    /// The management network and the controller.
    pub fn new(tag: &str) -> SitesLab {
        let prefix = format!("pms{}{tag}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab directory");
        let mut lab = SitesLab {
            key: dir.join("id_ed25519"),
            prefix,
            dir,
            namespaces: Vec::new(),
            children: Vec::new(),
            ports: 0,
        };
        lab.bridge("mg");
        let c = lab.ns("c");
        lab.netns(&c);
        lab.plug("mg", &c, "eth0", "02:00:00:00:01:01", CONTROLLER_IP);
        let key = lab.key.display().to_string();
        run(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "lab",
            "-f",
            &key,
        ]);
        lab
    }

    pub fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    pub fn controller(&self) -> String {
        self.ns("c")
    }

    fn netns(&mut self, ns: &str) {
        run(&["ip", "netns", "add", ns]);
        self.namespaces.push(ns.to_string());
        // No IPv6: nothing but what the lab asks for is sent.
        run(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
        ]);
        run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
    }

    /// A switch: a bridge `br0` in namespace `name`, STP off.
    fn bridge(&mut self, name: &str) {
        let ns = self.ns(name);
        self.netns(&ns);
        run(&[
            "ip",
            "-n",
            &ns,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
        ]);
        run(&["ip", "-n", &ns, "link", "set", "br0", "up"]);
    }

    /// Plugs namespace `ns` into switch `bridge`: interface `ifname` with `mac` and `ip`/24.
    fn plug(&mut self, bridge: &str, ns: &str, ifname: &str, mac: &str, ip: Ipv4Addr) {
        let sw = self.ns(bridge);
        self.ports += 1;
        let port = format!("p{}", self.ports);
        run(&[
            "ip", "link", "add", ifname, "netns", ns, "type", "veth", "peer", "name", &port,
            "netns", &sw,
        ]);
        run(&["ip", "-n", &sw, "link", "set", &port, "master", "br0", "up"]);
        run(&["ip", "-n", ns, "link", "set", ifname, "address", mac]);
        run(&[
            "ip",
            "-n",
            ns,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            ifname,
        ]);
        run(&["ip", "-n", ns, "link", "set", ifname, "up"]);
    }

    /// Site `n` (1…): its host on the management network (sshd) and on its own LAN (`lan0`), its provisioning
    /// service, and `phones` simulated phones (`fleet` gives each one's `[[phone]]` fields but its MAC and address).
    pub fn site(
        &mut self,
        n: u8,
        name: &str,
        phones: usize,
        fleet: impl Fn(usize) -> String,
        scale: f64,
    ) -> Site {
        let ns = self.ns(&format!("s{n}"));
        self.netns(&ns);
        let mgmt_ip = Ipv4Addr::new(198, 19, 0, 10 + n);
        let lan_ip = Ipv4Addr::new(198, 18, n, 1);
        self.plug(
            "mg",
            &ns,
            "eth0",
            &format!("02:00:00:00:02:{n:02x}"),
            mgmt_ip,
        );
        let lan = format!("b{n}");
        self.bridge(&lan);
        self.plug(
            &lan,
            &ns,
            "lan0",
            &format!("02:00:00:00:03:{n:02x}"),
            lan_ip,
        );
        self.sshd(&ns, n, mgmt_ip);
        let ca = self.dir.join(format!("prov-ca-{n}.pem"));
        let bin = env!("CARGO_BIN_EXE_polyprov");
        let (ip, port, ca_path) = (
            lan_ip.to_string(),
            PROV_PORT.to_string(),
            ca.display().to_string(),
        );
        self.spawn(
            &ns,
            &format!("prov-{n}"),
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
                PROV_NAME,
                "--prov-port",
                &port,
                "--prov-default-master",
                "--ca-out",
                &ca_path,
            ],
        );
        self.wait_tcp(&ns, lan_ip, PROV_PORT);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ca.exists() {
            assert!(
                Instant::now() < deadline,
                "site {n}'s provisioning CA was not written"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut site = Site {
            name: name.into(),
            ns: ns.clone(),
            mgmt_ip,
            lan_ip,
            phones: Vec::new(),
            ca,
        };
        for j in 0..phones {
            let pns = self.ns(&format!("s{n}p{j}"));
            self.netns(&pns);
            let mac = format!("64167F{n:02X}{j:04X}");
            let ip = Ipv4Addr::new(198, 18, n, 10 + j as u8);
            let colons: Vec<String> = (0..6).map(|k| mac[2 * k..2 * k + 2].to_string()).collect();
            self.plug(&lan, &pns, "eth0", &colons.join(":"), ip);
            let file = self.dir.join(format!("fleet-{n}-{j}.toml"));
            std::fs::write(
                &file,
                format!(
                    "time-scale = {scale:.1}\n[[phone]]\n{}mac = \"{mac}\"\nip = \"{ip}\"\nhttps-port = 443\nhttp-port = 80\n",
                    fleet(j)
                ),
            )
            .expect("fleet file");
            let (f, bind, ca) = (
                file.display().to_string(),
                ip.to_string(),
                site.ca.display().to_string(),
            );
            self.spawn(
                &pns,
                &format!("phone-{n}-{j}"),
                &[
                    bin,
                    "sim",
                    "--fleet",
                    &f,
                    "--bind",
                    &bind,
                    "--control",
                    &format!("{ip}:{CONTROL_PORT}"),
                    "--no-prov-server",
                    "--host",
                    &format!("{PROV_NAME}={lan_ip}"),
                    "--trust-ca",
                    &ca,
                ],
            );
            site.phones.push(Phone { mac, ip, ns: pns });
        }
        for p in &site.phones {
            self.wait_tcp(&p.ns, p.ip, 443);
        }
        site
    }

    /// Debian's sshd on the site host's management address: lab host key, the lab's key authorized for root.
    fn sshd(&mut self, ns: &str, n: u8, ip: Ipv4Addr) {
        let host_key = self.dir.join(format!("ssh_host_{n}"));
        run(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &host_key.display().to_string(),
        ]);
        let authorized = self.dir.join("authorized_keys");
        std::fs::copy(self.key.with_extension("pub"), &authorized).expect("authorized key");
        let conf = self.dir.join(format!("sshd-{n}.conf"));
        std::fs::write(
            &conf,
            format!(
                "ListenAddress {ip}:22\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\nUseDNS no\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n",
                host_key.display(),
                authorized.display(),
                self.dir.join(format!("sshd-{n}.pid")).display()
            ),
        )
        .expect("sshd config");
        // sshd's privilege separation directory (Debian's unit makes it; no sshd runs on the host).
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let conf = conf.display().to_string();
        self.spawn(
            ns,
            &format!("sshd-{n}"),
            &["/usr/sbin/sshd", "-D", "-e", "-f", &conf],
        );
        self.wait_tcp(ns, ip, 22);
    }

    /// Runs a program in a namespace in the background until the lab is dropped; its output goes to `<log>.log`.
    pub fn spawn(&mut self, ns: &str, log: &str, args: &[&str]) {
        let file = std::fs::File::create(self.dir.join(format!("{log}.log"))).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        self.children.push(child);
    }

    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// Waits until `ns` accepts TCP on `ip:port`.
    pub fn wait_tcp(&self, ns: &str, ip: Ipv4Addr, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
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

    /// A phone's state as its simulator's control endpoint reports it (asked from the site host).
    pub fn phone_report(&self, site: &Site, phone: &Phone) -> serde_json::Value {
        let url = format!("http://{}:{CONTROL_PORT}/phones/{}", phone.ip, phone.mac);
        let out = self.exec(
            &site.ns,
            &["curl", "-sS", "--noproxy", "*", "--max-time", "10", &url],
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{url}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
    }

    /// The processes running in a namespace whose command line contains `word` (pid, command line).
    pub fn processes(&self, ns: &str, word: &str) -> Vec<(u32, String)> {
        let out = run(&["ip", "netns", "pids", ns]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|pid| {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                let pid: u32 = pid.parse().ok()?;
                cmd.contains(word).then_some((pid, cmd))
            })
            .collect()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Reads a file's JSON lines.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

impl Drop for SitesLab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
        }
        for child in &mut self.children {
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
        // Whatever still runs inside (sshd's session processes, a site's polyprov) dies with its namespace.
        for ns in self.namespaces.iter().rev() {
            if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        if std::env::var_os("POLYPROV_KEEP_LAB").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
