//! Finds every server's source for the report page: each `servers/<name>/src/main.rs` (a Rust
//! server) or `servers/<name>/main.go` (a Go server) becomes a row
//! `(name, path, include_str!(…), others)` of `$OUT_DIR/server_sources.rs`, where `others` are
//! `(path, include_str!(…))` of the server's other files a reader compares: `src/serve.rs` (the
//! plumbing main.rs calls) and `src/db.rs` first, then any other module, `db.go` and the other
//! Go files (tests left out), and its templates (`templates/*`).
//! A new server therefore needs no edit in the load generator: its folder and its row of
//! `contract::SERVERS` are enough (a test checks that every row of `contract::SERVERS` has its
//! source).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// The other files of a server whose main file is `main` (`src/main.rs` or `main.go`), as
/// paths relative to its folder, in reading order.
fn other_files(folder: &Path, main: &str) -> Vec<String> {
    let listed = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder.join(dir))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                }
            })
            .collect()
    };
    let code: Vec<String> = if main == "main.go" {
        listed("")
            .into_iter()
            .filter(|f| f.ends_with(".go") && f != "main.go" && !f.ends_with("_test.go"))
            .collect()
    } else {
        listed("src")
            .into_iter()
            .filter(|f| f.ends_with(".rs") && f != "src/main.rs")
            .collect()
    };
    // serve.rs, then db.rs / db.go, then the rest, then the templates.
    let rank = |f: &String| match f.rsplit('/').next().unwrap_or(f) {
        "serve.rs" => 0,
        "db.rs" | "db.go" => 1,
        _ => 2,
    };
    let mut code = code;
    code.sort_by_key(rank);
    code.extend(listed("templates"));
    code
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let servers = manifest.join("../servers");
    // A directory is scanned whole: a new server folder re-runs this script. The folders of
    // the files found are watched too, so a new db.rs or template is picked up.
    println!("cargo:rerun-if-changed={}", servers.display());
    let mut found = Vec::new();
    let folders = fs::read_dir(&servers)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", servers.display()));
    for folder in folders.flatten() {
        let name = folder.file_name().to_string_lossy().into_owned();
        for main in ["src/main.rs", "main.go"] {
            let file = folder.path().join(main);
            if file.is_file() {
                let absolute = file.canonicalize().unwrap_or(file);
                let others = other_files(&folder.path(), main);
                found.push((name.clone(), main, absolute, others, folder.path()));
            }
        }
    }
    found.sort();
    let mut table = String::from("&[\n");
    for (name, main, absolute, others, folder) in found {
        let path = format!("servers/{name}/{main}");
        let absolute = absolute.to_string_lossy();
        let mut rows = String::from("&[");
        for other in others {
            let file = folder.join(&other);
            let file = file.canonicalize().unwrap_or(file);
            let _ = write!(
                rows,
                "({:?}, include_str!({:?})), ",
                format!("servers/{name}/{other}"),
                file.to_string_lossy()
            );
        }
        rows.push(']');
        let _ = writeln!(
            table,
            "    ({name:?}, {path:?}, include_str!({absolute:?}), {rows}),"
        );
    }
    table.push_str("]\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    fs::write(out.join("server_sources.rs"), table).expect("cannot write to OUT_DIR");
}
