//! The failed logins polyprov itself made on each phone (by MAC), remembered across runs in the user's polyprov
//! state, so a second run inside the phone's lockout window does not spend the attempt that would lock it.
//!
//! Where: `$POLYPROV_HOME`, else `$XDG_STATE_HOME/polyprov`, else `$HOME/.local/state/polyprov`; the file
//! `login-failures.json` (mode 0600) holds, per MAC, the wall-clock times of recent failures — never a password.
//! `provision` and `onboard` share it; failures older than an hour (beyond any phone's window) are dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::mac::Mac;

/// The file inside the state directory.
pub const FILE: &str = "login-failures.json";
/// Failures older than this (seconds) are forgotten: no phone counts wrong passwords over a longer window.
const KEEP_SECS: f64 = 3600.0;

/// The user's polyprov state directory, if one can be named.
pub fn state_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("POLYPROV_HOME")
        .or_else(|| env("XDG_STATE_HOME").map(|d| d.join("polyprov")))
        .or_else(|| env("HOME").map(|h| h.join(".local/state/polyprov")))
}

/// Failed-login memory in one file; the file is read and written whole on each change, under a lock.
#[derive(Debug)]
pub struct Attempts {
    path: PathBuf,
    lock: Mutex<()>,
}

type Failures = BTreeMap<String, Vec<f64>>;

fn now() -> f64 {
    crate::clock::unix_now()
}

impl Attempts {
    /// The memory kept in `dir` (created on the first failure).
    pub fn in_dir(dir: &Path) -> Attempts {
        Attempts {
            path: dir.join(FILE),
            lock: Mutex::new(()),
        }
    }

    /// The user's memory ([`state_dir`]), if a state directory can be named.
    pub fn user() -> Option<Attempts> {
        state_dir().map(|d| Attempts::in_dir(&d))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Our failures on `mac` within the last `window_secs` wall seconds.
    pub fn recent(&self, mac: Mac, window_secs: f64) -> usize {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let since = now() - window_secs;
        self.load()
            .get(&mac.to_string())
            .map_or(0, |times| times.iter().filter(|&&t| t >= since).count())
    }

    /// Remember one failed login on `mac`.
    pub fn failed(&self, mac: Mac) {
        self.change(|all| all.entry(mac.to_string()).or_default().push(now()));
    }

    /// A login on `mac` worked: the phone's count starts over, and so does ours.
    pub fn succeeded(&self, mac: Mac) {
        self.change(|all| {
            all.remove(&mac.to_string());
        });
    }

    fn change(&self, f: impl FnOnce(&mut Failures)) {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = self.load();
        f(&mut all);
        let oldest = now() - KEEP_SECS;
        all.values_mut().for_each(|t| t.retain(|&x| x >= oldest));
        all.retain(|_, t| !t.is_empty());
        if let Err(e) = self.store(&all) {
            tracing::warn!(
                "cannot remember failed logins in {}: {e}",
                self.path.display()
            );
        }
    }

    fn load(&self) -> Failures {
        std::fs::read(&self.path)
            .ok()
            .filter(|b| b.len() <= 1024 * 1024)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn store(&self, all: &Failures) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(all).map_err(std::io::Error::other)?;
        write_private(&self.path, &text)
    }
}

/// Write `bytes` to `path` whole (a partial file renamed into place), readable by the user only (0600).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Each writer its own partial file: runs in other processes may write the same file at the same moment.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.{n}.partial", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Failures are counted per MAC within the window, survive a new handle (a new run), and a success clears them.
    #[test]
    fn failures_are_remembered_per_phone() {
        let dir = std::env::temp_dir().join(format!("polyprov-attempts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a: Mac = "0004F2A1B2C3".parse().unwrap();
        let b: Mac = "0004F2A1B2C4".parse().unwrap();
        let first = Attempts::in_dir(&dir);
        assert_eq!(first.recent(a, 60.0), 0);
        first.failed(a);
        first.failed(a);
        first.failed(b);
        let second = Attempts::in_dir(&dir);
        assert_eq!(second.recent(a, 60.0), 2);
        assert_eq!(second.recent(b, 60.0), 1);
        assert_eq!(second.recent(a, -1.0), 0, "outside the window");
        second.succeeded(a);
        assert_eq!(first.recent(a, 60.0), 0);
        assert_eq!(first.recent(b, 60.0), 1);
        let text = std::fs::read_to_string(first.path()).unwrap();
        assert!(
            text.contains("0004F2A1B2C4") && !text.contains("0004F2A1B2C3"),
            "{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(first.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
