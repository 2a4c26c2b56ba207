//! Where a server's binary is, and how it is built when it is not there: cargo for the Rust
//! servers, `go build` for the Go ones.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use thiserror::Error;

use crate::error::StartError;

/// The path of the `server-<name>` binary built in the same profile as the running executable
/// (`target/<profile>/`). `cargo test --workspace` builds the cargo servers (each server package
/// has an integration test of its own binary, and cargo builds a package's binaries for those).
/// When one is missing, for example under `cargo test -p loadgen`, it is built with cargo into a
/// target folder of its own: the running `cargo test` holds the lock on the usual one, so
/// building there would wait forever. A Go server is built with `go build` into the same folder
/// as the cargo binaries, once per process (Go's build cache makes an unchanged one quick), so
/// that it is never older than its source.
pub fn server_binary(name: &str) -> Result<PathBuf, StartError> {
    let exe = std::env::current_exe().unwrap_or_default();
    // Test binaries live in target/<profile>/deps, ordinary binaries in target/<profile>.
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let file = format!("server-{name}");
    let path = dir.join(&file);
    let no_binary = |reason: String| StartError::NoBinary {
        name: name.to_owned(),
        path: path.clone(),
        reason,
    };
    if contract::server(name).is_some_and(|s| s.build == contract::Build::Go) {
        return build_go(&server_source_dir(name), &path).map_err(|err| no_binary(err.to_string()));
    }
    if path.exists() {
        return Ok(path);
    }
    let profile = dir
        .file_name()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "debug".into());
    let nested = dir
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("conformance-build");
    let built = nested.join(&profile).join(&file);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", &file])
        .arg("--target-dir")
        .arg(&nested);
    if profile == "release" {
        build.arg("--release");
    }
    match build.status() {
        Ok(status) if status.success() && built.exists() => Ok(built),
        Ok(status) => Err(no_binary(format!("cargo build ended with {status}"))),
        Err(err) => Err(no_binary(format!("cannot run cargo: {err}"))),
    }
}

/// The `go` command: the one on `PATH`, else the one in `/usr/local/go/bin` (where Go's own
/// archive installs it); `None` without Go.
pub fn go_tool() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("go"))
            .find(|go| go.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from("/usr/local/go/bin/go")).filter(|go| go.is_file()))
}

/// The folder of a server's source: `servers/<name>` of this workspace.
pub fn server_source_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// What a build says when there is no `go` to build with.
pub const NO_GO: &str = "Go is not installed (no `go` on PATH nor in /usr/local/go/bin)";

/// Builds the Go server whose source is in `source` (`servers/<name>` of this workspace, or of a
/// revision's worktree) into `path` with `go build`, once per process: the first call builds
/// (into a temporary name, then renamed, so a reader never sees half a binary), later calls
/// with the same folders return what it did. The one Go build of the workspace: the suites,
/// `compare` and `just serve` all come here.
pub fn build_go(source: &Path, path: &Path) -> Result<PathBuf, GoBuildError> {
    type Built = Vec<((PathBuf, PathBuf), Result<PathBuf, GoBuildError>)>;
    static BUILT: Mutex<Built> = Mutex::new(Vec::new());
    let key = (source.to_owned(), path.to_owned());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, outcome)) = built.iter().find(|(k, _)| *k == key) {
        return outcome.clone();
    }
    let outcome = go_build(source, path);
    built.push((key, outcome.clone()));
    outcome
}

/// Why a Go server could not be built. Kept (and cloned) per folder, as the build is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GoBuildError {
    /// There is no `go`.
    #[error("{NO_GO}")]
    NoGo,
    /// `go` could not be run.
    #[error("cannot run {}: {reason}", go.display())]
    Run {
        /// The `go` found.
        go: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// `go build` failed.
    #[error("go build ended with {status}: {stderr}")]
    Failed {
        /// Its exit status.
        status: String,
        /// What it printed.
        stderr: String,
    },
    /// The built binary could not be moved into place.
    #[error("cannot move the binary: {0}")]
    Move(String),
}

fn go_build(source: &Path, path: &Path) -> Result<PathBuf, GoBuildError> {
    let go = go_tool().ok_or(GoBuildError::NoGo)?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let output = Command::new(&go)
        .arg("build")
        .arg("-o")
        .arg(&partial)
        .arg(".")
        .current_dir(source)
        // This machine's Go, never a toolchain download.
        .env("GOTOOLCHAIN", "local")
        .output()
        .map_err(|err| GoBuildError::Run {
            go: go.clone(),
            reason: err.to_string(),
        })?;
    if !output.status.success() {
        return Err(GoBuildError::Failed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    std::fs::rename(&partial, path).map_err(|err| GoBuildError::Move(err.to_string()))?;
    Ok(path.to_owned())
}

/// The servers the suites can run here: every cargo server, and the Go servers when Go is
/// installed. Without Go it says so on stderr, in one line per process, and leaves them out.
pub fn runnable_servers() -> Vec<&'static contract::ServerInfo> {
    static SAID: std::sync::Once = std::sync::Once::new();
    let have_go = go_tool().is_some();
    let (runnable, skipped): (Vec<&contract::ServerInfo>, Vec<_>) = contract::SERVERS
        .iter()
        .partition(|s| s.build == contract::Build::Cargo || have_go);
    if !skipped.is_empty() {
        SAID.call_once(|| {
            let names: Vec<&str> = skipped.iter().map(|s| s.name).collect();
            eprintln!(
                "skipping the {} Go servers ({}): {NO_GO}",
                names.len(),
                names.join(", ")
            );
        });
    }
    runnable
}

/// The environment variable that narrows the suites to a few servers while one is being worked
/// on: `ROSETTA_SERVERS=axum,hyper cargo test -p conformance`.
pub const SERVERS_VAR: &str = "ROSETTA_SERVERS";

/// The servers a test of all of them runs against: [`runnable_servers`], with the Go servers'
/// absence reported as a skip of `test` (visible, logged, and a failure under `CI=true`), and
/// narrowed to those [`SERVERS_VAR`] names when it is set. The servers it leaves out are reported
/// as a skip too, so that a narrowed run is never taken for a whole one (and fails under
/// `CI=true`). A name in it that is no server is a mistake, and panics with the list of names.
pub fn servers_to_test(test: &str) -> Vec<&'static contract::ServerInfo> {
    if go_tool().is_none() {
        crate::skip::skip(
            &format!("{test} (the Go servers only)"),
            crate::skip::Missing::Go,
            NO_GO,
        );
    }
    let servers = runnable_servers();
    let only = std::env::var(SERVERS_VAR).unwrap_or_default();
    let names: Vec<&str> = only
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return servers;
    }
    if let Some(unknown) = names.iter().find(|n| contract::server(n).is_none()) {
        let known: Vec<&str> = contract::SERVERS.iter().map(|s| s.name).collect();
        panic!(
            "{SERVERS_VAR} names `{unknown}`, which is not a server; the servers are: {}",
            known.join(", ")
        );
    }
    type Servers = Vec<&'static contract::ServerInfo>;
    let (kept, left_out): (Servers, Servers) =
        servers.into_iter().partition(|s| names.contains(&s.name));
    if !left_out.is_empty() {
        let left_out: Vec<&str> = left_out.iter().map(|s| s.name).collect();
        crate::skip::skip(
            &format!("{test} ({})", left_out.join(", ")),
            crate::skip::Missing::EveryServer,
            format_args!("{SERVERS_VAR}={only}; unset it to test them all"),
        );
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suites run all sixteen servers wherever Go is installed, as it is in CI; without Go
    /// the ten cargo servers, and the skip of the six says so (and fails under `CI=true`).
    #[test]
    fn all_sixteen_servers_are_tested_wherever_go_is_installed() {
        assert_eq!(contract::SERVERS.len(), 16);
        let servers = servers_to_test("all_sixteen_servers_are_tested_wherever_go_is_installed");
        let cargo = contract::SERVERS
            .iter()
            .filter(|s| s.build == contract::Build::Cargo)
            .count();
        let expected = if go_tool().is_some() { 16 } else { cargo };
        assert_eq!(servers.len(), expected, "{servers:?}");
        assert_eq!(cargo, 10);
    }
}
