//! Contenders: what a comparison measures. A contender is a server at one build: `hyper` (the
//! working tree) or `hyper@HEAD~1` (that git revision, built in a worktree of its own under
//! `target/contenders/<commit>` with its own target folder, so a second run finds it built;
//! that folder starts as a copy of the workspace's compiled release dependencies, so the first
//! build compiles only the revision's own crates).
//!
//! Getting a contender's binary is one step per [`contract::Build`]: `cargo build --release -p
//! server-<name>` for the Rust servers, `go build -o <target>/release/server-<name>` in
//! `servers/<name>` for the Go ones (Go builds are always optimized), into the same folder, one arm each in [`build_group`]. A contender's [`Checkout`] says which source tree it is built from.

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use crate::results::ContenderRecord;
use crate::workspace::{UnknownName, find_server};

/// A server at one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contender {
    /// How results name it: the text as given (`hyper`, `hyper@HEAD~1`).
    pub label: String,
    /// The server whose contract and code it serves.
    pub server: &'static contract::ServerInfo,
    /// Which source tree it is built from.
    pub checkout: Checkout,
    /// Where its binary is (once built).
    pub binary: PathBuf,
}

/// The source tree a contender is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// This workspace as it stands.
    WorkingTree,
    /// A git revision, in a worktree of its own.
    Revision {
        /// As given: `HEAD~1`, `v0.3`, `abc123`.
        given: String,
        /// Its full commit id.
        commit: String,
    },
    /// None: a server that already runs elsewhere (`compare --targets`), at this base URL.
    Remote {
        /// Its base URL (`http://10.0.0.5:8084`).
        url: String,
    },
}

/// A contender that cannot be measured, said before anything runs.
#[derive(Debug, Error)]
pub enum ContenderError {
    /// Not a server.
    #[error(transparent)]
    Unknown(#[from] UnknownName),
    /// The same label twice.
    #[error("{0} is named twice: each contender is measured once per round")]
    Twice(String),
    /// `NAME@` with nothing after it.
    #[error("{0:?} names no revision: write NAME@REV, for example hyper@HEAD~1")]
    EmptyRevision(String),
    /// git does not know the revision.
    #[error("{label}: {revision:?} is not a git revision here ({detail})")]
    NoRevision {
        /// The contender.
        label: String,
        /// As given.
        revision: String,
        /// What git said.
        detail: String,
    },
    /// The revision has no such server.
    #[error("{label}: revision {commit} has no servers/{server} to build")]
    NoServer {
        /// The contender.
        label: String,
        /// The commit.
        commit: String,
        /// The server.
        server: String,
    },
    /// A git or cargo command failed.
    #[error("{label}: {what} failed: {detail}")]
    Command {
        /// The contender(s).
        label: String,
        /// What was run.
        what: String,
        /// Its exit status and output.
        detail: String,
    },
    /// `--server-bin-dir` lacks a binary.
    #[error(
        "there is no server-{server} in {dir} (build it with `cargo build --release -p server-{server}`, or drop --server-bin-dir to let compare build release binaries)"
    )]
    NotPrebuilt {
        /// The server.
        server: String,
        /// The folder.
        dir: String,
    },
    /// The build ran but the binary is not there.
    #[error("{label}: the build made no {binary}")]
    Missing {
        /// The contender.
        label: String,
        /// Where it was looked for.
        binary: String,
    },
}

/// A contender as given on the command line, before git is asked anything: `hyper` or
/// `hyper@HEAD~1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContenderSpec {
    /// The text as given.
    pub label: String,
    /// The server.
    pub server: &'static contract::ServerInfo,
    /// The revision, if one was given.
    pub revision: Option<String>,
}

impl ContenderSpec {
    /// Parses `NAME` or `NAME@REV`.
    pub fn parse(text: &str) -> Result<Self, ContenderError> {
        let text = text.trim();
        let (name, revision) = match text.split_once('@') {
            Some((_, "")) => return Err(ContenderError::EmptyRevision(text.to_owned())),
            Some((name, revision)) => (name, Some(revision.to_owned())),
            None => (text, None),
        };
        Ok(Self {
            label: text.to_owned(),
            server: find_server(name)?,
            revision,
        })
    }
}

/// Parses every contender given and refuses a label given twice.
pub fn parse_all(texts: &[String]) -> Result<Vec<ContenderSpec>, ContenderError> {
    let specs = texts
        .iter()
        .map(|t| ContenderSpec::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, spec) in specs.iter().enumerate() {
        if specs[..i].iter().any(|s| s.label == spec.label) {
            return Err(ContenderError::Twice(spec.label.clone()));
        }
    }
    Ok(specs)
}

/// Where contenders are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSite {
    /// The workspace (where git runs, and the working tree's source).
    pub workspace: PathBuf,
    /// The working tree's binaries: a cargo target folder's `release/`, or `--server-bin-dir`.
    pub bin_dir: PathBuf,
    /// Cargo's target folder for the working tree; `None` with `--server-bin-dir` (use the
    /// binaries as they are).
    pub target_dir: Option<PathBuf>,
    /// The folder under which each revision gets its worktree: `target/contenders`.
    pub revisions: PathBuf,
    /// The cargo to build with (`$CARGO`, else `cargo`).
    pub cargo: PathBuf,
}

impl BuildSite {
    /// The source tree and the target folder of a revision.
    fn revision_tree(&self, commit: &str) -> (PathBuf, PathBuf) {
        let tree = self.revisions.join(commit);
        let target = tree.join("target");
        (tree, target)
    }
}

/// The contenders `names` give, checked: parsed, each revision resolved to a commit that has
/// its server, and with `--server-bin-dir` each working-tree binary there. Nothing is built.
pub fn contenders(names: &[String], site: &BuildSite) -> Result<Vec<Contender>, ContenderError> {
    let contenders = resolve(&parse_all(names)?, site)?;
    if site.target_dir.is_none()
        && let Some(missing) = contenders
            .iter()
            .find(|c| c.checkout == Checkout::WorkingTree && !c.binary.is_file())
    {
        return Err(ContenderError::NotPrebuilt {
            server: missing.server.name.to_owned(),
            dir: site.bin_dir.display().to_string(),
        });
    }
    Ok(contenders)
}

/// The contenders of `compare --targets`: each target's name is its label, and names its
/// server (`hyper`, or `hyper@box2` for a second one).
pub fn remote(targets: &[crate::remote::RemoteTarget]) -> Result<Vec<Contender>, ContenderError> {
    targets
        .iter()
        .map(|target| {
            let name = target.name.split('@').next().unwrap_or_default();
            Ok(Contender {
                label: target.name.clone(),
                server: find_server(name)?,
                checkout: Checkout::Remote {
                    url: target.url.clone(),
                },
                binary: PathBuf::new(),
            })
        })
        .collect()
}

/// Resolves `specs` to contenders: asks git for each revision's commit and checks that it has
/// the server. Nothing is built yet.
pub fn resolve(
    specs: &[ContenderSpec],
    site: &BuildSite,
) -> Result<Vec<Contender>, ContenderError> {
    specs
        .iter()
        .map(|spec| {
            let name = spec.server.name;
            let (checkout, bin_dir) = match &spec.revision {
                None => (Checkout::WorkingTree, site.bin_dir.clone()),
                Some(given) => {
                    let commit = rev_parse(&site.workspace, &spec.label, given)?;
                    has_server(&site.workspace, &spec.label, &commit, name)?;
                    let (_, target) = site.revision_tree(&commit);
                    let checkout = Checkout::Revision {
                        given: given.clone(),
                        commit,
                    };
                    (checkout, target.join("release"))
                }
            };
            Ok(Contender {
                label: spec.label.clone(),
                server: spec.server,
                checkout,
                binary: bin_dir.join(format!("server-{name}")),
            })
        })
        .collect()
}

/// Builds every contender's binary: the working tree's in one cargo run (skipped with
/// `--server-bin-dir`), each revision's in its own worktree; then checks each binary is there.
pub fn build_all(contenders: &[Contender], site: &BuildSite) -> Result<(), ContenderError> {
    let working: Vec<&Contender> = contenders
        .iter()
        .filter(|c| c.checkout == Checkout::WorkingTree)
        .collect();
    if let Some(target) = &site.target_dir
        && !working.is_empty()
    {
        build_group(site, (site.workspace.as_path(), target.as_path()), &working)?;
    }
    for contender in contenders {
        if let Checkout::Revision { commit, .. } = &contender.checkout {
            let (tree, target) = site.revision_tree(commit);
            add_worktree(&site.workspace, &tree, commit, &contender.label)?;
            if let Some(workspace_target) = &site.target_dir {
                seed_target(
                    &workspace_target.join("release"),
                    &target.join("release"),
                    &contender.label,
                )?;
            }
            build_group(site, (tree.as_path(), target.as_path()), &[contender])?;
        }
    }
    for contender in contenders {
        if !matches!(contender.checkout, Checkout::Remote { .. }) && !contender.binary.is_file() {
            return Err(ContenderError::Missing {
                label: contender.label.clone(),
                binary: contender.binary.display().to_string(),
            });
        }
    }
    Ok(())
}

/// Builds `contenders` (all from the source tree `root`) into `target`, toolchain by toolchain.
fn build_group(
    site: &BuildSite,
    (root, target): (&Path, &Path),
    contenders: &[&Contender],
) -> Result<(), ContenderError> {
    let labels = contenders
        .iter()
        .map(|c| c.label.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for contender in contenders
        .iter()
        .filter(|c| c.server.build == contract::Build::Go)
    {
        let name = contender.server.name;
        let binary = target.join("release").join(format!("server-{name}"));
        harness::build_go(&root.join("servers").join(name), &binary).map_err(|detail| {
            ContenderError::Command {
                label: contender.label.clone(),
                what: "go build".to_owned(),
                detail: detail.to_string(),
            }
        })?;
    }
    let cargo_built: Vec<&str> = contenders
        .iter()
        .filter(|c| c.server.build == contract::Build::Cargo)
        .map(|c| c.server.name)
        .collect();
    if cargo_built.is_empty() {
        return Ok(());
    }
    let mut command = cargo_build(&site.cargo, (root, target), &cargo_built);
    run(&mut command, &labels, "cargo build --release")
}

/// The `cargo build --release` of the servers `names` from `root` into `target`, without the
/// variables that `cargo run` sets for the program it runs.
fn cargo_build(cargo: &Path, (root, target): (&Path, &Path), names: &[&str]) -> Command {
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--release", "--target-dir"])
        .arg(target);
    for key in cargo_run_vars(std::env::vars_os().map(|(key, _)| key)) {
        command.env_remove(key);
    }
    for name in names {
        command.args(["-p", &format!("server-{name}")]);
    }
    command
}

/// The variables among `keys` that `cargo run -- compare` sets for loadgen: its
/// `CARGO_MANIFEST_DIR`, `CARGO_PKG_*` and, since loadgen has a build script, its `OUT_DIR`.
/// Handed on to the servers' build, they reach the dependencies' build scripts, and ring's
/// tracks every variable it reads (`rerun-if-env-changed`; cargo's fingerprint log says
/// `EnvVarChanged { name: "CARGO_MANIFEST_DIR", old_value: Some("/work/main/loadgen"), .. }`).
/// With them, every `cargo run -- compare` after a plain `cargo build` rebuilt ring, both
/// rustls and rocket's sqlx 0.7 (2 min 37 s of the reference run of 2026-12-03), and the next
/// plain build rebuilt them back.
fn cargo_run_vars(keys: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    keys.filter(|key| {
        key.to_str().is_some_and(|key| {
            key.starts_with("CARGO_PKG_")
                || matches!(
                    key,
                    "OUT_DIR"
                        | "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_MANIFEST_LINKS"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                )
        })
    })
    .collect()
}

/// The parts of a release folder that let cargo reuse a build: the compiled crates, the build
/// scripts' outputs, and the fingerprints that say what each was built from.
const REUSABLE: [&str; 3] = ["deps", "build", ".fingerprint"];

/// Seeds a revision's new release folder `to` from the workspace's `from`, so that its first
/// build reuses the registry crates already compiled there (minutes with fat LTO) instead of
/// compiling them again: cargo finds their fingerprints fresh, and rebuilds only the workspace
/// crates (their paths differ) and whatever the revision's Cargo.lock changes. A folder that is
/// there already keeps its own build; with no workspace build there is nothing to seed from.
fn seed_target(from: &Path, to: &Path, label: &str) -> Result<(), ContenderError> {
    let parts: Vec<PathBuf> = REUSABLE
        .iter()
        .map(|part| from.join(part))
        .filter(|part| part.is_dir())
        .collect();
    if to.exists() || parts.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(|err| ContenderError::Command {
        label: label.to_owned(),
        what: format!("creating {}", to.display()),
        detail: err.to_string(),
    })?;
    // `cp -a` keeps the modification times cargo compares, and clones blocks where the file
    // system can.
    let mut command = Command::new("cp");
    command.arg("-a").args(&parts).arg(to);
    let copied = run(&mut command, label, "seeding its target folder (cp -a)");
    if copied.is_err() {
        // A half copy (a full disk) would never be seeded again: leave none, so the next run
        // starts afresh.
        let _ = std::fs::remove_dir_all(to);
    }
    copied
}

/// `git rev-parse --verify REV^{commit}`.
fn rev_parse(workspace: &Path, label: &str, given: &str) -> Result<String, ContenderError> {
    let output = git(workspace)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{given}^{{commit}}"))
        .output();
    match output {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Ok(out) => Err(ContenderError::NoRevision {
            label: label.to_owned(),
            revision: given.to_owned(),
            detail: format!("git rev-parse: {}", out.status),
        }),
        Err(err) => Err(ContenderError::NoRevision {
            label: label.to_owned(),
            revision: given.to_owned(),
            detail: format!("cannot run git: {err}"),
        }),
    }
}

/// Checks that `commit` has the server's folder.
fn has_server(
    workspace: &Path,
    label: &str,
    commit: &str,
    server: &str,
) -> Result<(), ContenderError> {
    let found = git(workspace)
        .args(["cat-file", "-e"])
        .arg(format!("{commit}:servers/{server}/Cargo.toml"))
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        Ok(())
    } else {
        Err(ContenderError::NoServer {
            label: label.to_owned(),
            commit: commit.to_owned(),
            server: server.to_owned(),
        })
    }
}

/// Makes the worktree of `commit` at `tree`, unless it is there already.
fn add_worktree(
    workspace: &Path,
    tree: &Path,
    commit: &str,
    label: &str,
) -> Result<(), ContenderError> {
    if tree.join("Cargo.toml").is_file() {
        return Ok(());
    }
    let mut command = git(workspace);
    command
        .args(["worktree", "add", "--detach", "--force"])
        .arg(tree)
        .arg(commit);
    run(&mut command, label, "git worktree add")
}

fn git(workspace: &Path) -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(workspace);
    command
}

/// Runs `command`; its output goes to our stderr, and a failure names `what` and `label`.
fn run(command: &mut Command, label: &str, what: &str) -> Result<(), ContenderError> {
    let failed = |detail: String| ContenderError::Command {
        label: label.to_owned(),
        what: what.to_owned(),
        detail,
    };
    let status = command
        .status()
        .map_err(|err| failed(format!("cannot run it: {err}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(failed(format!("{status} (its output is above)")))
    }
}

impl Contender {
    /// What `run.json` records of it; `stderr_log` relative to the results folder.
    pub fn record(&self, stderr_log: &str) -> ContenderRecord {
        let (revision, commit) = match &self.checkout {
            Checkout::WorkingTree | Checkout::Remote { .. } => (None, None),
            Checkout::Revision { given, commit } => (Some(given.clone()), Some(commit.clone())),
        };
        ContenderRecord {
            label: self.label.clone(),
            server: self.server.name.to_owned(),
            revision,
            commit,
            binary: self.binary.display().to_string(),
            stderr_log: self.remote_url().is_none().then(|| stderr_log.to_owned()),
            remote_url: self.remote_url().map(str::to_owned),
        }
    }

    /// The base URL of a contender that runs elsewhere.
    pub fn remote_url(&self) -> Option<&str> {
        match &self.checkout {
            Checkout::Remote { url } => Some(url),
            _ => None,
        }
    }

    /// Its stderr log's path relative to the results folder: `servers/<label>.stderr.log`, the
    /// label made safe for a file name.
    pub fn stderr_log(&self) -> String {
        let safe: String = self
            .label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("servers/{safe}.stderr.log")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_variables_of_cargo_run_do_not_reach_the_servers_build() {
        let keys = [
            "OUT_DIR",
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO",
            "PATH",
            "RUSTFLAGS",
        ]
        .map(std::ffi::OsString::from);
        assert_eq!(
            cargo_run_vars(keys.into_iter()),
            [
                "OUT_DIR",
                "CARGO_MANIFEST_DIR",
                "CARGO_PKG_NAME",
                "CARGO_PKG_VERSION_MAJOR",
                "CARGO_PRIMARY_PACKAGE"
            ],
            "the user's own cargo settings (CARGO_HOME, CARGO_TARGET_DIR, RUSTFLAGS) stay"
        );
        let command = cargo_build(
            Path::new("cargo"),
            (Path::new("/src"), Path::new("/src/target")),
            &["axum", "rocket"],
        );
        // cargo sets CARGO_MANIFEST_DIR for this test as `cargo run` does for loadgen.
        assert!(
            command
                .get_envs()
                .any(|(key, value)| key == "CARGO_MANIFEST_DIR" && value.is_none()),
            "the build runs without the package variables it was started with"
        );
        let args: Vec<_> = command.get_args().map(std::ffi::OsStr::to_owned).collect();
        assert_eq!(
            args,
            [
                "build",
                "--release",
                "--target-dir",
                "/src/target",
                "-p",
                "server-axum",
                "-p",
                "server-rocket"
            ]
        );
    }

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A git repository with `servers/hyper` and no `servers/std`, its one commit, and a fake
    /// cargo that "builds" each `-p` package into `--target-dir/release` and logs each call.
    fn repository(cargo_fails: bool) -> (tempfile::TempDir, BuildSite, String) {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("servers/hyper")).unwrap();
        std::fs::write(repo.join("servers/hyper/Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(repo.join("Cargo.toml"), "[workspace]\n").unwrap();
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .unwrap();
            assert!(status.status.success(), "git {args:?}: {status:?}");
            String::from_utf8_lossy(&status.stdout).trim().to_owned()
        };
        git(&["init", "-q"]);
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "a throwaway commit"]);
        let commit = git(&["rev-parse", "HEAD"]);
        let cargo = dir.path().join("cargo");
        let log = dir.path().join("cargo.log");
        std::fs::write(
            &cargo,
            format!(
                "#!/bin/sh\necho \"$PWD $*\" >> {log}\n{fail}\nwhile [ $# -gt 0 ]; do\n  case $1 in\n    --target-dir) target=$2; shift ;;\n    -p) mkdir -p \"$target/release\"; touch \"$target/release/$2\"; shift ;;\n  esac\n  shift\ndone\n",
                log = log.display(),
                fail = if cargo_fails { "echo 'error: no' >&2; exit 101" } else { "" }
            ),
        )
        .unwrap();
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
        let site = BuildSite {
            workspace: repo.clone(),
            bin_dir: repo.join("target/release"),
            target_dir: Some(repo.join("target")),
            revisions: repo.join("target/contenders"),
            cargo,
        };
        (dir, site, commit)
    }

    #[test]
    fn a_revision_is_built_in_its_own_worktree_once_and_found_again() {
        let (dir, site, commit) = repository(false);
        let specs = parse_all(&["hyper@HEAD".into()]).unwrap();
        let contenders = resolve(&specs, &site).unwrap();
        let tree = site.revisions.join(&commit);
        assert_eq!(
            contenders[0].checkout,
            Checkout::Revision {
                given: "HEAD".into(),
                commit: commit.clone()
            }
        );
        assert_eq!(
            contenders[0].binary,
            tree.join("target/release/server-hyper")
        );
        // The workspace's release build, which the revision's new target folder is seeded from.
        let release = site.target_dir.as_ref().unwrap().join("release");
        for file in [
            "deps/libbytes-1.rlib",
            "build/ring-2/output",
            ".fingerprint/bytes-1/lib",
        ] {
            std::fs::create_dir_all(release.join(file).parent().unwrap()).unwrap();
            std::fs::write(release.join(file), file).unwrap();
        }
        std::fs::write(release.join("server-hyper"), "the working tree's binary").unwrap();
        build_all(&contenders, &site).unwrap();
        assert!(
            tree.join("servers/hyper/Cargo.toml").is_file(),
            "the worktree"
        );
        assert!(contenders[0].binary.is_file());
        let seeded = tree.join("target/release");
        for file in [
            "deps/libbytes-1.rlib",
            "build/ring-2/output",
            ".fingerprint/bytes-1/lib",
        ] {
            let (ours, theirs) = (release.join(file), seeded.join(file));
            assert_eq!(std::fs::read_to_string(&theirs).unwrap(), file, "seeded");
            assert_eq!(
                std::fs::metadata(&theirs).unwrap().modified().unwrap(),
                std::fs::metadata(&ours).unwrap().modified().unwrap(),
                "cargo compares modification times: {file} keeps its own"
            );
        }
        assert_eq!(
            std::fs::read(&contenders[0].binary).unwrap(),
            b"",
            "the binary is the revision's own build, not the working tree's"
        );
        // Cached by commit: the second time the worktree is there, its target folder is not
        // seeded again, and cargo has nothing to do.
        std::fs::write(release.join("deps/libhttp-3.rlib"), "later").unwrap();
        build_all(&contenders, &site).unwrap();
        assert!(!seeded.join("deps/libhttp-3.rlib").exists(), "seeded once");
        let log = std::fs::read_to_string(dir.path().join("cargo.log")).unwrap();
        let calls: Vec<&str> = log.lines().collect();
        assert_eq!(calls.len(), 2, "{log}");
        for call in calls {
            assert!(
                call.starts_with(&tree.display().to_string()),
                "built in the worktree: {call}"
            );
            assert!(
                call.contains(&format!("--target-dir {}", tree.join("target").display())),
                "with a target folder of its own: {call}"
            );
        }
    }

    #[test]
    fn a_revision_that_lacks_the_server_or_does_not_build_is_refused_before_measuring() {
        let (_dir, site, commit) = repository(true);
        let resolve_one = |text: &str| resolve(&parse_all(&[text.into()]).unwrap(), &site);
        let err = resolve_one("std@HEAD").unwrap_err().to_string();
        assert!(
            err.contains(&format!("revision {commit} has no servers/std")),
            "{err}"
        );
        let err = resolve_one("hyper@no-such-branch").unwrap_err().to_string();
        assert!(
            err.contains("\"no-such-branch\" is not a git revision"),
            "{err}"
        );
        let contenders = resolve_one("hyper@HEAD").unwrap();
        let err = build_all(&contenders, &site).unwrap_err().to_string();
        assert!(
            err.starts_with("hyper@HEAD: cargo build --release failed"),
            "{err}"
        );
    }

    #[test]
    fn each_server_is_built_by_its_own_toolchain() {
        let of = |name| contract::server(name).unwrap().build;
        assert_eq!(of("axum"), contract::Build::Cargo);
        assert_eq!(of("go-gin"), contract::Build::Go);
        assert_eq!(
            contract::SERVERS
                .iter()
                .filter(|s| s.build == contract::Build::Go)
                .count(),
            6
        );
    }

    #[test]
    fn contenders_parse_as_name_or_name_at_revision() {
        let plain = ContenderSpec::parse("hyper").unwrap();
        assert_eq!(
            (plain.label.as_str(), plain.server.name, plain.revision),
            ("hyper", "hyper", None)
        );
        let at = ContenderSpec::parse(" hyper@HEAD~1 ").unwrap();
        assert_eq!(at.label, "hyper@HEAD~1");
        assert_eq!(at.revision.as_deref(), Some("HEAD~1"));
        assert!(matches!(
            ContenderSpec::parse("hyper@"),
            Err(ContenderError::EmptyRevision(_))
        ));
        assert!(matches!(
            ContenderSpec::parse("gin@HEAD"),
            Err(ContenderError::Unknown(_))
        ));
        let twice = parse_all(&["hyper".into(), "std".into(), "hyper".into()]).unwrap_err();
        assert!(
            twice.to_string().contains("hyper is named twice"),
            "{twice}"
        );
        assert!(parse_all(&["hyper".into(), "hyper@HEAD".into()]).is_ok());
    }

    #[test]
    fn stderr_logs_have_safe_names() {
        let contender = Contender {
            label: "hyper@HEAD~1/x".into(),
            server: find_server("hyper").unwrap(),
            checkout: Checkout::WorkingTree,
            binary: PathBuf::from("/bin/true"),
        };
        assert_eq!(contender.stderr_log(), "servers/hyper@HEAD_1_x.stderr.log");
    }
}
