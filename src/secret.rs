//! Secrets (phone admin passwords): read from a file, an environment variable or a prompt — never from the
//! command line — and never printed: `Debug` shows `[secret]` and there is no `Display`.

use std::path::{Path, PathBuf};

/// A password.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The password itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[secret]")
    }
}

/// Why no password could be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read password file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("password file {0} has no password in it (one per line; the first that works is used)")]
    Empty(PathBuf),
    #[error(
        "no admin password given: use --password-file FILE or set {env} (passwords are never taken from the command line)"
    )]
    Missing { env: &'static str },
    #[error(
        "password file {path} is larger than {MAX_FILE_BYTES} bytes: it is not a password file (passwords go one per line)"
    )]
    TooLarge { path: PathBuf },
    #[error("password file {path} is not UTF-8 text: write the password(s) one per line")]
    NotText { path: PathBuf },
    #[error("cannot prompt for the password: {0}")]
    Prompt(std::io::Error),
}

/// Largest password file read: a password file holds a few lines, never more (`/dev/zero` is refused at once).
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// Passwords from a file: one per line, tried in order; blank lines and `#` comments are skipped.
pub fn from_file(path: &Path) -> Result<Vec<Secret>, SecretError> {
    use std::io::Read;
    let read = |source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(read)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(SecretError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| SecretError::NotText {
        path: path.to_path_buf(),
    })?;
    let list: Vec<Secret> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(Secret::new)
        .collect();
    if list.is_empty() {
        return Err(SecretError::Empty(path.to_path_buf()));
    }
    Ok(list)
}

/// Candidates from, in order of preference: a file, the environment variable `env`, a prompt on the terminal.
pub fn candidates(
    file: Option<&Path>,
    env: &'static str,
    prompt: Option<&str>,
) -> Result<Vec<Secret>, SecretError> {
    if let Some(path) = file {
        return from_file(path);
    }
    if let Ok(v) = std::env::var(env) {
        if !v.is_empty() {
            return Ok(vec![Secret::new(v)]);
        }
    }
    match prompt {
        Some(p) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            let pw = rpassword::prompt_password(p).map_err(SecretError::Prompt)?;
            Ok(vec![Secret::new(pw)])
        }
        _ => Err(SecretError::Missing { env }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret never shows itself in debug output.
    #[test]
    fn debug_hides_the_value() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[secret]");
    }

    /// What is not a password file is refused at once, saying so: `/dev/zero` after 64 KiB, binary junk.
    #[test]
    fn files_that_are_no_password_files() {
        let e = from_file(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
        let path = std::env::temp_dir().join(format!("polyprov-pw-bin-{}", std::process::id()));
        std::fs::write(&path, [0xff, 0xfe, 0x00, 0x41]).unwrap();
        let e = from_file(&path).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        std::fs::remove_file(&path).ok();
    }

    /// A password file lists candidates, skipping blanks and comments.
    #[test]
    fn file_candidates() {
        let path = std::env::temp_dir().join(format!("polyprov-pw-{}", std::process::id()));
        std::fs::write(&path, "# site passwords\nfirst\n\nsecond\r\n").unwrap();
        let got = from_file(&path).unwrap();
        assert_eq!(
            got.iter().map(Secret::expose).collect::<Vec<_>>(),
            ["first", "second"]
        );
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(
            from_file(&path)
                .unwrap_err()
                .to_string()
                .contains("no password")
        );
        std::fs::remove_file(&path).ok();
    }
}
