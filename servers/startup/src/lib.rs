//! What every http-rosetta Rust server does on start-up, before its stack takes over: the shared
//! command line ([`ServerArgs`]), the listening socket ([`bind_listener`]), the ready line that
//! harnesses wait for ([`print_ready_line`]) and the logging switch ([`log_requests`]).
//!
//! The data every server answers with (bodies, payload types, the route table) lives in
//! `contract`; this crate is the little runtime code they share. It never routes, extracts or
//! answers a request, and it does not handle signals: each server does that in its own stack's
//! idiom.

use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use contract::server;

/// Environment variable that turns on request logging (to stderr); off by default so that
/// nothing is written on the request path while a benchmark runs.
pub const LOG_ENV: &str = "ROSETTA_LOG";

/// The command line every server takes: `server-<name> [--addr HOST:PORT] [--threads N]`.
#[derive(Debug, Clone, Parser)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: SocketAddr,
    /// Worker threads [default: the available cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// How long a client may take to send a whole request head (and, for the hand-written
    /// servers, its body) before the connection is dropped: the defence against slowloris.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "10s")]
    pub header_timeout: Duration,
    /// PostgreSQL URL of the database routes (`postgres://user:password@host:port/db`); without
    /// one they answer 503 and the rest of the service works as before.
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most database connections in the pool [default: the stack's own recommendation, which
    /// the server's README names].
    #[arg(long, value_name = "N")]
    pub pool_size: Option<NonZeroUsize>,
}

/// Why `--header-timeout` was refused; clap prints it after the flag's name.
#[derive(Debug, thiserror::Error)]
enum TimeoutError {
    /// A zero timeout would drop every connection at once.
    #[error("the timeout must be longer than zero")]
    Zero,
    /// Not a duration at all.
    #[error("{text:?} is not a duration like 10s or 500ms: {source}")]
    NotADuration {
        /// What was given.
        text: String,
        /// humantime's reason.
        source: humantime::DurationError,
    },
}

fn parse_timeout(text: &str) -> Result<Duration, TimeoutError> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err(TimeoutError::Zero),
        Err(source) => Err(TimeoutError::NotADuration {
            text: text.to_owned(),
            source,
        }),
    }
}

/// The servers whose stack has no header read timeout: they accept `--header-timeout` (so
/// every server takes the same command line) and say in `--help` that it has no effect.
pub const WITHOUT_HEADER_TIMEOUT: &[&str] = &["rocket", "may-minihttp"];

impl ServerArgs {
    /// Parses the process arguments for the server called `name`, whose default address is
    /// `127.0.0.1:<its port>`. Prints usage and exits on bad input, as clap does.
    pub fn parse_for(name: &str) -> Self {
        let port = server(name).map_or(0, |s| s.port);
        let mut command = Self::command()
            .name(format!("server-{name}"))
            .about(format!("The http-rosetta service, written with {name}."))
            .mut_arg("addr", |arg| arg.default_value(format!("127.0.0.1:{port}")));
        if WITHOUT_HEADER_TIMEOUT.contains(&name) {
            command = command.mut_arg("header_timeout", |arg| {
                arg.help(format!(
                    "Accepted for a common command line, but has no effect: {name} has no header read timeout (a known deviation; see its README)"
                ))
            });
        }
        Self::from_arg_matches(&command.get_matches()).unwrap_or_else(|err| err.exit())
    }

    /// The number of worker threads: `--threads`, or the cores this process may run on.
    pub fn threads(&self) -> usize {
        self.threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }
}

/// Length of the listening socket's queue of connections not yet accepted. std and tokio ask for
/// 128; a burst of new clients then overflows it and each dropped SYN costs a client a second.
/// nginx asks for 511, actix-web for 1024 (the kernel caps it at `net.core.somaxconn`).
pub const LISTEN_BACKLOG: i32 = 1024;

/// Binds a listening TCP socket on `addr` with [`LISTEN_BACKLOG`] and `SO_REUSEADDR` (so a
/// restarted server can bind while old connections linger in TIME_WAIT). Blocking, as std
/// makes it; tokio servers call `set_nonblocking(true)` and `TcpListener::from_std`.
pub fn bind_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Prints the line harnesses wait for, `listening on http://<addr>`, and flushes it.
pub fn print_ready_line(addr: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout must not stop the server: the line is for whoever is watching.
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();
}

/// Whether logging was asked for with [`LOG_ENV`] (read once; cheap to call per request).
pub fn log_requests() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os(LOG_ENV).is_some_and(|v| !v.is_empty() && v != "0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_timeout_is_a_duration_longer_than_zero() {
        assert_eq!(
            parse_timeout("500ms").ok(),
            Some(Duration::from_millis(500))
        );
        assert!(matches!(parse_timeout("0s"), Err(TimeoutError::Zero)));
        let refused = parse_timeout("soon").unwrap_err();
        assert!(matches!(refused, TimeoutError::NotADuration { .. }));
        assert!(refused.to_string().contains("not a duration"), "{refused}");
    }
}
