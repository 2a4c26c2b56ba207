//! The workspace this load generator was built from: where it is, where cargo puts the
//! servers' binaries, and which servers it holds. Both `compare` and `cost` find their servers
//! here.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A name that is not a scenario or a server.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown {what} {name:?}; the {what}s are: {valid}")]
pub struct UnknownName {
    /// "server" or "scenario".
    pub what: &'static str,
    /// What was given.
    pub name: String,
    /// The valid names, comma-separated.
    pub valid: String,
}

/// The workspace this load generator was built from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target folder, where the servers' release binaries go: `CARGO_TARGET_DIR` when it
/// is set (relative to `cwd`, as cargo reads it), else the target folder the running load
/// generator `exe` sits in (`target/<profile>/loadgen`, or `target/<profile>/deps/…` in tests),
/// else `workspace/target`.
pub fn target_dir(
    cargo_target_dir: Option<&OsStr>,
    cwd: &Path,
    exe: &Path,
    workspace: &Path,
) -> PathBuf {
    if let Some(dir) = cargo_target_dir.filter(|d| !d.is_empty()) {
        return cwd.join(dir);
    }
    let mut profile = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if profile.ends_with("deps") {
        profile.pop();
    }
    // Cargo marks every target folder with CACHEDIR.TAG; an installed binary has none above it.
    match profile.parent() {
        Some(target) if target.join("CACHEDIR.TAG").is_file() => target.to_path_buf(),
        _ => workspace.join("target"),
    }
}

/// [`target_dir`] of this process: its `CARGO_TARGET_DIR`, working folder and executable.
pub fn cargo_target_dir() -> PathBuf {
    target_dir(
        std::env::var_os("CARGO_TARGET_DIR").as_deref(),
        &std::env::current_dir().unwrap_or_default(),
        &std::env::current_exe().unwrap_or_default(),
        &workspace_root(),
    )
}

/// Looks a server up by name.
pub fn find_server(name: &str) -> Result<&'static contract::ServerInfo, UnknownName> {
    contract::server(name).ok_or_else(|| UnknownName {
        what: "server",
        name: name.to_owned(),
        valid: contract::SERVERS
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_binaries_are_found_where_cargo_puts_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir_all(target.join("release/deps")).unwrap();
        std::fs::write(
            target.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        let workspace = dir.path().join("ws");
        let cwd = dir.path().join("somewhere");
        // Without CARGO_TARGET_DIR: the target folder of the running binary, tests included.
        let exe = target.join("release/loadgen");
        assert_eq!(target_dir(None, &cwd, &exe, &workspace), target);
        let test_exe = target.join("release/deps/loadgen-0123abcd");
        assert_eq!(target_dir(None, &cwd, &test_exe, &workspace), target);
        // Installed elsewhere: the workspace's own target folder.
        let installed = dir.path().join("bin/loadgen");
        assert_eq!(
            target_dir(None, &cwd, &installed, &workspace),
            workspace.join("target")
        );
        // With CARGO_TARGET_DIR, absolute or relative to where cargo ran.
        let elsewhere = dir.path().join("shared-target");
        assert_eq!(
            target_dir(Some(elsewhere.as_os_str()), &cwd, &exe, &workspace),
            elsewhere
        );
        assert_eq!(
            target_dir(Some(OsStr::new("tgt")), &cwd, &exe, &workspace),
            cwd.join("tgt")
        );
        assert_eq!(
            target_dir(Some(OsStr::new("")), &cwd, &exe, &workspace),
            target
        );
    }
}
