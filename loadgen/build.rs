//! Finds every server's source for the report page: each `servers/<name>/src/main.rs` (a Rust
//! server) or `servers/<name>/main.go` (a Go server) becomes a row
//! `(name, path, include_str!(…), serve)` of `$OUT_DIR/server_sources.rs`, where `serve` is
//! `Some((path, include_str!(…)))` of its `src/serve.rs` (the plumbing main.rs calls), if any.
//! A new server therefore needs no edit in the load generator: its folder and its row of
//! `contract::SERVERS` are enough (a test checks that every row of `contract::SERVERS` has its
//! source).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let servers = manifest.join("../servers");
    // A directory is scanned whole: a new server folder re-runs this script.
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
                let serve = folder.path().join("src/serve.rs").canonicalize().ok();
                found.push((name.clone(), main, absolute, serve));
            }
        }
    }
    found.sort();
    let mut table = String::from("&[\n");
    for (name, main, absolute, serve) in found {
        let path = format!("servers/{name}/{main}");
        let absolute = absolute.to_string_lossy();
        let serve = match serve {
            Some(serve) => format!(
                "Some(({:?}, include_str!({:?})))",
                format!("servers/{name}/src/serve.rs"),
                serve.to_string_lossy()
            ),
            None => "None".to_owned(),
        };
        let _ = writeln!(
            table,
            "    ({name:?}, {path:?}, include_str!({absolute:?}), {serve}),"
        );
    }
    table.push_str("]\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    fs::write(out.join("server_sources.rs"), table).expect("cannot write to OUT_DIR");
}
