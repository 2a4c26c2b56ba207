//! `throwaway-postgres`: starts a throwaway PostgreSQL cluster with the `hello_world` database
//! of the database routes loaded (see `harness::postgres`), prints its URL, and keeps it
//! until Ctrl-C or SIGTERM. Then the cluster is stopped and its
//! folder removed; a SIGKILL of this program ends the cluster too.
//!
//! `just db` runs it; point a server at it with `--database-url` or `DATABASE_URL`:
//!
//! ```sh
//! just db &
//! DATABASE_URL=postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1:PORT/hello_world just serve axum
//! ```

use std::process::ExitCode;

use harness::postgres::Postgres;
use nix::sys::signal::{SigSet, Signal};

fn main() -> ExitCode {
    // Block SIGINT and SIGTERM before any thread starts, so that only the waiting thread below
    // takes them and the cluster is stopped in order.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    if let Err(err) = signals.thread_block() {
        eprintln!("error: cannot block SIGINT and SIGTERM: {err}");
        return ExitCode::FAILURE;
    }
    let postgres = match Postgres::start() {
        Ok(postgres) => postgres,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", postgres.url());
    match signals.wait() {
        Ok(signal) => eprintln!("stopping the throwaway PostgreSQL on {signal}"),
        Err(err) => eprintln!("stopping the throwaway PostgreSQL: {err}"),
    }
    drop(postgres);
    ExitCode::SUCCESS
}
