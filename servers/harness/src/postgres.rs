//! A throwaway PostgreSQL cluster for the database routes, started from the installed binaries
//! and gone when its [`Postgres`] is, however the harness ends.
//!
//! [`Postgres::start`] makes a cluster in a fresh temporary folder (initdb), starts it on a free
//! loopback port with TechEmpower's settings ([`SETTINGS`]), creates the database `hello_world`
//! owned by `benchmarkdbuser` and loads `contract::DATABASE_SCHEMA` into it as that user.
//! PostgreSQL refuses to run as root, so as root both initdb and the server run as the
//! `postgres` system user.
//!
//! # Nothing outlives the harness
//! - **A normal end or Ctrl-C:** dropping the [`Postgres`] stops the server (a fast shutdown)
//!   and removes the folder.
//! - **SIGKILL of the harness:** the server gets SIGQUIT from the kernel (its parent-death
//!   signal, [`crate::parent_death`]), which is PostgreSQL's immediate shutdown. The folder is
//!   removed by a small reaper, a shell that blocks reading a pipe whose other end only the
//!   harness holds: when the harness dies the kernel closes it, and the reaper waits for the
//!   server's last process to go, then removes the folder. Both run in process groups of their
//!   own, so a Ctrl-C at the terminal reaches the harness, which stops them in order.
//!
//! # An existing database
//! [`check_schema`] checks that a database given by URL (`compare --database-url`) has the
//! schema's tables and rows. It only reads: nothing here ever drops or changes its data.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::{Pid, User, chown};
use thiserror::Error;

/// TechEmpower's PostgreSQL settings (toolset/databases/postgres/postgresql.conf), as `-c`
/// options, beside the ones a throwaway cluster needs. `max_connections` is 2000 there; the
/// servers' pools here open at most a few hundred, so 500 keeps shared memory small.
pub const SETTINGS: &[(&str, &str)] = &[
    // Loopback only, no Unix socket (its default folder belongs to the system's cluster).
    ("listen_addresses", "127.0.0.1"),
    ("unix_socket_directories", ""),
    ("max_connections", "500"),
    ("shared_buffers", "256MB"),
    ("work_mem", "64MB"),
    ("maintenance_work_mem", "512MB"),
    ("checkpoint_completion_target", "0.9"),
    ("effective_cache_size", "8GB"),
    ("random_page_cost", "2"),
    // An update is answered before its WAL reaches the disk, as TechEmpower runs it.
    ("synchronous_commit", "off"),
    // TechEmpower's verifier counts queries with pg_stat_statements, and so do our tests.
    ("shared_preload_libraries", "pg_stat_statements"),
    ("pg_stat_statements.track", "all"),
    ("ssl", "off"),
    ("log_min_messages", "warning"),
];

/// The superuser that initdb makes, and that the harness logs in as to set up and to count.
const SUPERUSER: &str = "postgres";

/// How long the server may take to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a fast shutdown may take before the server gets SIGQUIT, then SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a throwaway PostgreSQL could not be had, or an existing one does not fit.
#[derive(Debug, Error)]
pub enum PostgresError {
    /// No PostgreSQL server binaries on this machine.
    #[error(
        "PostgreSQL is not installed (no initdb and postgres in $PG_BIN, on PATH or in \
         /usr/lib/postgresql/*/bin): apt-get install postgresql"
    )]
    NotInstalled,
    /// As root, the `postgres` system user that PostgreSQL must run as does not exist.
    #[error("running as root, but there is no `postgres` system user to run PostgreSQL as")]
    NoPostgresUser,
    /// A step of setting it up failed.
    #[error("{step}: {source}")]
    Io {
        /// What was being done.
        step: String,
        /// The OS error.
        source: io::Error,
    },
    /// initdb failed.
    #[error("initdb failed ({status}): {output}")]
    Initdb {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        output: String,
    },
    /// The server did not come up.
    #[error("PostgreSQL did not accept connections within {timeout:?}; its log ends with:\n{log}")]
    NotReady {
        /// How long we waited.
        timeout: Duration,
        /// The end of its log.
        log: String,
    },
    /// A query failed.
    #[error("{step}: {}", describe(source))]
    Sql {
        /// What was being done.
        step: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// An existing database lacks what the routes read.
    #[error(
        "the database at {url} does not have the schema of servers/contract/data/database.sql: {problem}"
    )]
    Schema {
        /// The URL, password hidden.
        url: String,
        /// What is missing or different.
        problem: String,
    },
}

/// The driver's error with the server's own message, which its `Display` leaves out ("db error").
fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{error}: {} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

fn io_step(step: impl Into<String>) -> impl FnOnce(io::Error) -> PostgresError {
    let step = step.into();
    move |source| PostgresError::Io { step, source }
}

fn sql_step(step: impl Into<String>) -> impl FnOnce(postgres::Error) -> PostgresError {
    let step = step.into();
    move |source| PostgresError::Sql { step, source }
}

/// The folder of the installed server binaries (`initdb`, `postgres`): `$PG_BIN`, then the
/// folder of an `initdb` on `PATH` whose `postgres` sits beside it, then the newest
/// `/usr/lib/postgresql/*/bin` (where Debian's packages put them, off `PATH`).
pub fn installed() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return has_both(&dir).then_some(dir);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter_map(|dir| fs::canonicalize(dir.join("initdb")).ok())
            .filter_map(|initdb| initdb.parent().map(Path::to_path_buf))
            .find(|dir| has_both(dir))
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                has_both(&bin).then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

/// The user the server runs as: `postgres` when we are root (PostgreSQL refuses root), else us.
fn server_user() -> Result<Option<User>, PostgresError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    User::from_name("postgres")
        .ok()
        .flatten()
        .map(Some)
        .ok_or(PostgresError::NoPostgresUser)
}

/// A running throwaway cluster with the `hello_world` database loaded. Dropping it stops the
/// server and removes its folder.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    root: PathBuf,
    user: Option<User>,
    port: u16,
    password: String,
    server: Option<Child>,
    /// `taskset -c LIST` before the server, when it is pinned to CPUs of its own.
    launcher: Vec<String>,
    keeper: Keeper,
    /// The reaper's stdin: closing it (or our death) makes it remove `root`.
    reaper_pipe: Option<ChildStdin>,
    reaper: Child,
}

impl Postgres {
    /// Makes, starts and loads a throwaway cluster. Takes about two seconds.
    pub fn start() -> Result<Self, PostgresError> {
        Self::start_pinned(None)
    }

    /// As [`Self::start`], with the server and every process it starts pinned to `cpus`
    /// (a list as `taskset -c` takes it, `0` or `0-1`) when given.
    pub fn start_pinned(cpus: Option<&str>) -> Result<Self, PostgresError> {
        let bin = installed().ok_or(PostgresError::NotInstalled)?;
        let user = server_user()?;
        let root = tempfile::Builder::new()
            .prefix("rosetta-pg-")
            .tempdir()
            .map_err(io_step("cannot make a temporary folder"))?
            .keep();
        // The reaper first, so that the folder goes whatever happens from here on.
        let (reaper, reaper_pipe) = spawn_reaper(&root)?;
        let password = format!("{:016x}", fastrand::u64(..));
        let mut postgres = Self {
            bin,
            root,
            user,
            port: 0,
            password,
            server: None,
            launcher: cpus
                .map(|list| vec!["taskset".to_owned(), "-c".to_owned(), list.to_owned()])
                .unwrap_or_default(),
            keeper: Keeper::new(),
            reaper_pipe: Some(reaper_pipe),
            reaper,
        };
        postgres.initdb()?;
        postgres.start_server()?;
        postgres.load_schema()?;
        Ok(postgres)
    }

    /// The URL the servers get: `postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1:PORT/hello_world`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            contract::DATABASE_USER,
            contract::DATABASE_PASSWORD,
            self.port,
            contract::DATABASE_NAME
        )
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id (the postmaster), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(Child::id)
    }

    /// A connection as the superuser to `hello_world`, for reading `pg_stat_statements` and the
    /// tables behind the servers' backs.
    pub fn admin(&self) -> Result<postgres::Client, PostgresError> {
        self.admin_to(contract::DATABASE_NAME)
    }

    /// `program` of the installed binaries, as the user the server runs as; through the
    /// launcher (`taskset`) when `pinned`.
    fn command(&self, program: &str, pinned: bool) -> Command {
        let program = self.bin.join(program);
        // taskset execs the program, so the parent-death signal set before it carries over.
        let mut command = match self.launcher.split_first() {
            Some((launcher, args)) if pinned => {
                let mut command = Command::new(launcher);
                command.args(args).arg(&program);
                command
            }
            _ => Command::new(&program),
        };
        if let Some(user) = &self.user {
            command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        command.env_remove("PGDATA").env("LC_ALL", "C");
        command
    }

    fn initdb(&self) -> Result<(), PostgresError> {
        let data = self.root.join("data");
        let pwfile = self.root.join("pwfile");
        fs::write(&pwfile, &self.password).map_err(io_step("cannot write the password file"))?;
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))
            .map_err(io_step("cannot restrict the cluster folder"))?;
        if let Some(user) = &self.user {
            for path in [&self.root, &pwfile] {
                chown(path, Some(user.uid), Some(user.gid)).map_err(|errno| {
                    io_step("cannot give the cluster folder to postgres")(errno.into())
                })?;
            }
        }
        let output = self
            .command("initdb", false)
            .arg("--pgdata")
            .arg(&data)
            .args([
                "--username",
                SUPERUSER,
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
            ])
            .args(["--locale", "C", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdin(Stdio::null())
            .output()
            .map_err(io_step("cannot run initdb"))?;
        if !output.status.success() {
            return Err(PostgresError::Initdb {
                status: output.status,
                output: String::from_utf8_lossy(&[output.stdout, output.stderr].concat())
                    .into_owned(),
            });
        }
        Ok(())
    }

    /// Starts the server on the cluster (again, after [`Self::stop_server`]): on a free port the
    /// first time, on the same port after that, so that the servers' URLs stay right.
    pub fn start_server(&mut self) -> Result<(), PostgresError> {
        if self.server.is_some() {
            return Ok(());
        }
        let fresh_port = self.port == 0;
        for _attempt in 0..5 {
            if fresh_port {
                self.port = free_port().map_err(io_step("cannot find a free port"))?;
            }
            let log = fs::File::create(self.root.join("postgres.log"))
                .map_err(io_step("cannot make the server's log"))?;
            let mut command = self.command("postgres", true);
            command
                .arg("-D")
                .arg(self.root.join("data"))
                .args(["-p", &self.port.to_string()]);
            for (name, value) in SETTINGS {
                command.arg("-c").arg(format!("{name}={value}"));
            }
            // Its own process group: a Ctrl-C at the terminal reaches the harness, which stops
            // the server in order, rather than the server on its own.
            command
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(io_step("cannot share the log"))?)
                .stderr(log);
            let child = self.keeper.spawn(command)?;
            self.server = Some(child);
            match self.wait_ready() {
                Ok(()) => return Ok(()),
                Err(err) => {
                    self.kill_server();
                    // Another process may have taken the port between our probe and the
                    // server's bind: try another one.
                    if !(fresh_port && self.log_tail().contains("could not bind")) {
                        return Err(err);
                    }
                }
            }
        }
        Err(PostgresError::NotReady {
            timeout: START_TIMEOUT,
            log: self.log_tail(),
        })
    }

    fn wait_ready(&mut self) -> Result<(), PostgresError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.admin_to("postgres").is_ok() {
                return Ok(());
            }
            let exited = self
                .server
                .as_mut()
                .is_none_or(|child| child.try_wait().ok().flatten().is_some());
            if exited || Instant::now() > deadline {
                return Err(PostgresError::NotReady {
                    timeout: START_TIMEOUT,
                    log: self.log_tail(),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn admin_to(&self, database: &str) -> Result<postgres::Client, PostgresError> {
        let url = format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        );
        postgres::Client::connect(&url, postgres::NoTls)
            .map_err(sql_step("cannot log in as the superuser"))
    }

    fn load_schema(&self) -> Result<(), PostgresError> {
        let mut admin = self.admin_to("postgres")?;
        // Two statements, not one batch: a batch is one transaction, and CREATE DATABASE
        // refuses to run inside one.
        admin
            .batch_execute(&format!(
                "CREATE ROLE {} LOGIN PASSWORD '{}'",
                contract::DATABASE_USER,
                contract::DATABASE_PASSWORD
            ))
            .map_err(sql_step("cannot create the role"))?;
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0",
                contract::DATABASE_NAME,
                contract::DATABASE_USER
            ))
            .map_err(sql_step("cannot create the database"))?;
        // The extension needs the superuser; the tables are the owner's.
        self.admin()?
            .batch_execute("CREATE EXTENSION pg_stat_statements")
            .map_err(sql_step("cannot create pg_stat_statements"))?;
        let mut owner = postgres::Client::connect(&self.url(), postgres::NoTls)
            .map_err(sql_step("cannot log in as benchmarkdbuser"))?;
        owner
            .batch_execute(contract::DATABASE_SCHEMA)
            .map_err(sql_step("cannot load servers/contract/data/database.sql"))?;
        Ok(())
    }

    /// Stops the server (a fast shutdown: open sessions are ended) and keeps the cluster, so
    /// that [`Self::start_server`] brings it back: what the hardening suite does to the servers'
    /// pools under load.
    pub fn stop_server(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        for (sig, wait) in [
            (Signal::SIGINT, STOP_TIMEOUT),
            (Signal::SIGQUIT, STOP_TIMEOUT),
            (Signal::SIGKILL, STOP_TIMEOUT),
        ] {
            let _ = signal::kill(Pid::from_raw(child.id() as i32), sig);
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.wait();
    }

    fn kill_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// CPU time the cluster has used so far: the server process and every process it started
    /// that still runs (the sessions, the checkpointer, the WAL writer …), plus what the ones
    /// that ended used. From `/proc`, in the kernel's clock ticks (10 ms): read it before and
    /// after a load of several seconds. `None` when the server is not running.
    pub fn cpu_time(&self) -> Option<Duration> {
        let pid = self.pid()?;
        let (own, ended) = proc_stat_times(pid)?;
        let children: u64 = fs::read_dir("/proc")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&child| proc_parent(child) == Some(pid))
            .filter_map(|child| proc_stat_times(child).map(|(own, _)| own))
            .sum();
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|&t| t > 0)
            .unwrap_or(100) as u64;
        let total = own + ended + children;
        Some(Duration::from_micros(total * 1_000_000 / ticks))
    }

    /// The server's version, as it reports it (`15.14 (Debian 15.14-0+deb12u1)`).
    pub fn version(&self) -> Option<String> {
        let row = self
            .admin()
            .ok()?
            .query_one("SHOW server_version", &[])
            .ok()?;
        row.try_get(0).ok()
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(self.root.join("postgres.log")) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop_server();
        // EOF on the reaper's stdin: it removes the folder once the server's processes are gone.
        drop(self.reaper_pipe.take());
        let _ = self.reaper.wait();
    }
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces and parentheses).
fn proc_stat_fields(pid: u32) -> Option<Vec<u64>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    // State is a letter; the numbers after it parse, the state becomes 0.
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// A process's own CPU ticks (utime + stime) and its ended children's (cutime + cstime).
fn proc_stat_times(pid: u32) -> Option<(u64, u64)> {
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    let fields = proc_stat_fields(pid)?;
    Some((
        fields.get(11)? + fields.get(12)?,
        fields.get(13)? + fields.get(14)?,
    ))
}

fn proc_parent(pid: u32) -> Option<u32> {
    proc_stat_fields(pid)?
        .get(1)
        .and_then(|&p| u32::try_from(p).ok())
}

/// A free port on 127.0.0.1, as the kernel picks one for port 0.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The reaper: `sh` blocked on reading its stdin, whose write end only we hold. At EOF (we
/// closed it, or died) it waits until the process named in `postmaster.pid` is gone, then
/// removes `root`. It runs as us (root may remove the postgres user's files). The shell and the
/// tools it calls are the system's own, whatever `PATH` the caller has (a test runs compare with
/// a `PATH` that holds nothing but `taskset`).
fn spawn_reaper(root: &Path) -> Result<(Child, ChildStdin), PostgresError> {
    const SCRIPT: &str = r#"
        read -r _ignored
        pidfile="$1/data/postmaster.pid"
        while [ -f "$pidfile" ] && kill -0 "$(head -n 1 "$pidfile")" 2>/dev/null; do
            sleep 0.1
        done
        rm -rf "$1"
    "#;
    let mut child = Command::new("/bin/sh")
        .args(["-c", SCRIPT, "rosetta-pg-reaper"])
        .env("PATH", "/usr/bin:/bin")
        .arg(root)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(io_step("cannot start the cluster's reaper (/bin/sh)"))?;
    let pipe = child.stdin.take().ok_or_else(|| PostgresError::Io {
        step: "the reaper has no stdin".into(),
        source: io::ErrorKind::BrokenPipe.into(),
    })?;
    Ok((child, pipe))
}

/// A thread that spawns the server and then lives as long as the [`Postgres`]: the kernel's
/// parent-death signal follows the spawning *thread* ([`crate::parent_death`]), so the server
/// must not be spawned from a test's thread or a pool's, which may end first.
#[derive(Debug)]
struct Keeper {
    requests: Option<mpsc::Sender<(Command, mpsc::Sender<io::Result<Child>>)>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Keeper {
    fn new() -> Self {
        let (requests, inbox) = mpsc::channel::<(Command, mpsc::Sender<io::Result<Child>>)>();
        let thread = thread::Builder::new()
            .name("postgres-keeper".into())
            .spawn(move || {
                for (mut command, reply) in inbox {
                    crate::parent_death::die_with_this_thread_by(&mut command, Signal::SIGQUIT);
                    let _ = reply.send(command.spawn());
                }
            })
            .ok();
        Self {
            requests: Some(requests),
            thread,
        }
    }

    fn spawn(&self, command: Command) -> Result<Child, PostgresError> {
        let (reply, answer) = mpsc::channel();
        let gone = || io::Error::other("the keeper thread is gone");
        self.requests
            .as_ref()
            .ok_or_else(gone)
            .and_then(|requests| requests.send((command, reply)).map_err(|_| gone()))
            .and_then(|()| answer.recv().map_err(|_| gone())?)
            .map_err(io_step("cannot start postgres"))
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Checks that the database at `url` has what the routes read: `World` with 10,000 rows whose
/// ids are 1..=10000 and numbers in range, and `Fortune` with its twelve rows. Reads only.
pub fn check_schema(url: &str) -> Result<(), PostgresError> {
    let shown = hide_password(url);
    let schema = |problem: String| PostgresError::Schema {
        url: shown.clone(),
        problem,
    };
    let mut client = postgres::Client::connect(url, postgres::NoTls)
        .map_err(sql_step(format!("cannot connect to {shown}")))?;
    let world = client
        .query_one(
            "SELECT count(*), min(id), max(id), min(randomnumber), max(randomnumber) FROM world",
            &[],
        )
        .map_err(|err| schema(format!("cannot read the table World: {err}")))?;
    let (rows, min_id, max_id, min_n, max_n): (i64, i32, i32, i32, i32) = (
        world.get(0),
        world.get(1),
        world.get(2),
        world.get(3),
        world.get(4),
    );
    let n = contract::WORLD_ROWS;
    if rows != i64::from(n) || min_id != 1 || max_id != n || min_n < 1 || max_n > n {
        return Err(schema(format!(
            "World has {rows} rows, ids {min_id}..={max_id}, numbers {min_n}..={max_n}; \
             it should have {n} rows, ids and numbers in 1..={n}"
        )));
    }
    let fortunes: i64 = client
        .query_one("SELECT count(*) FROM fortune", &[])
        .map_err(|err| schema(format!("cannot read the table Fortune: {err}")))?
        .get(0);
    if fortunes != contract::FORTUNE_ROWS as i64 {
        let mut problem = String::new();
        let _ = write!(
            problem,
            "Fortune has {fortunes} rows, not {}",
            contract::FORTUNE_ROWS
        );
        return Err(schema(problem));
    }
    Ok(())
}

/// `url` with its password replaced by `***`, for messages.
pub fn hide_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            hide_password("postgres://u:secret@127.0.0.1:5432/db"),
            "postgres://u:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            hide_password("postgres://127.0.0.1/db"),
            "postgres://127.0.0.1/db"
        );
    }
}
