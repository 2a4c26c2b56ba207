//! `build-server NAME`: builds the server NAME if it is missing (for a Go server: always, with the
//! workspace's one `go build`, which Go's cache makes quick) and prints the path of its binary.
//!
//! `just serve go-gin` runs it with `cargo run --release`, so the binary lands in
//! `target/release`, beside the cargo servers'.

use std::process::ExitCode;

use clap::Parser;

/// Builds an http-rosetta server and prints the path of its binary.
#[derive(Debug, Parser)]
#[command(name = "build-server", version, about)]
struct Args {
    /// The server's short name, as `contract::SERVERS` spells it (`axum`, `go-gin`, …).
    name: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if contract::server(&args.name).is_none() {
        let names: Vec<&str> = contract::SERVERS.iter().map(|s| s.name).collect();
        eprintln!(
            "build-server: no server is called {:?}; the servers are {}",
            args.name,
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    match harness::server_binary(&args.name) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("build-server: {err}");
            ExitCode::FAILURE
        }
    }
}
