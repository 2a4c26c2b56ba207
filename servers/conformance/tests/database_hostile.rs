//! The database routes under what production does to them: the database stopped and started
//! again under load, a pool exhausted by slow queries, and hostile `q` values. No server may
//! crash, hang past its pool's timeout, or stay broken once the database is back.
//!
//! Without PostgreSQL installed the tests say so in one line and pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use conformance::CheckError;
use conformance::database::{cluster_or_skip, get, servers_under_test, start_server};
use harness::ServerProcess;

/// The longest any answer may take while the database is down or locked: the servers' pool
/// and query timeouts are a few seconds (each README names its own), plus a margin for this
/// two-core machine.
const ANSWER_WITHIN: Duration = Duration::from_secs(12);
/// How long a server may take to answer `/db` with 200 again once the database is back.
const RECOVERY_WITHIN: Duration = Duration::from_secs(20);

/// One request's answer: its status and how long it took, or why there was none.
type Outcome = Result<(u16, Duration), CheckError>;

/// Load on `path` from `clients` threads until `stop`: every answer's status and the slowest
/// answer, counted.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<Vec<Outcome>>>,
}

impl Load {
    fn start(server: &ServerProcess, path: &'static str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..clients)
            .map(|_| {
                let stop = Arc::clone(&stop);
                let addr = server.addr();
                thread::spawn(move || {
                    let mut outcomes = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        outcomes.push(get(addr, path).map(|r| (r.status, started.elapsed())));
                    }
                    outcomes
                })
            })
            .collect();
        Self { stop, threads }
    }

    /// Stops the load; every outcome.
    fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_default())
            .collect()
    }
}

/// `/db` answers 200 again within [`RECOVERY_WITHIN`].
fn recovers(server: &ServerProcess) -> Result<(), String> {
    let deadline = Instant::now() + RECOVERY_WITHIN;
    loop {
        match get(server.addr(), "/db") {
            Ok(r) if r.status == 200 => return Ok(()),
            other if Instant::now() > deadline => {
                return Err(format!(
                    "/db did not answer 200 within {RECOVERY_WITHIN:?} of the database's return: {other:?}"
                ));
            }
            _ => thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Every outcome is an answer (200 while the database is up, 503 or 500 while it is not)
/// within [`ANSWER_WITHIN`].
fn all_answered(outcomes: &[Outcome]) -> Result<(), String> {
    let mut problems = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok((200 | 500 | 503, took)) if *took <= ANSWER_WITHIN => {}
            Ok((status, took)) => problems.push(format!("status {status} after {took:?}")),
            Err(err) => problems.push(err.to_string()),
        }
    }
    problems.dedup();
    match problems.len() {
        0 => Ok(()),
        _ => Err(format!(
            "{} of {} requests: {}",
            problems.len(),
            outcomes.len(),
            problems[..problems.len().min(3)].join("; ")
        )),
    }
}

#[test]
fn the_database_stopped_and_started_under_load_is_survived() {
    let Some(mut postgres) =
        cluster_or_skip("the_database_stopped_and_started_under_load_is_survived")
            .expect("a throwaway PostgreSQL starts where it is installed")
    else {
        return;
    };
    let url = postgres.url();
    let mut failures = Vec::new();
    for info in servers_under_test() {
        let outcome = start_server(info.name, Some(&url))
            .map_err(|e| e.to_string())
            .and_then(|mut server| {
                let load = Load::start(&server, "/db", 4);
                thread::sleep(Duration::from_millis(500));
                postgres.stop_server();
                thread::sleep(Duration::from_secs(2));
                // While it is down, the other routes go on.
                match get(server.addr(), "/json") {
                    Ok(r) if r.status == 200 => {}
                    other => return Err(format!("/json while the database is down: {other:?}")),
                }
                postgres
                    .start_server()
                    .map_err(|e| format!("cannot restart the database: {e}"))?;
                thread::sleep(Duration::from_millis(500));
                let outcomes = load.finish();
                if server.has_exited() {
                    return Err("the server died".to_owned());
                }
                all_answered(&outcomes)?;
                recovers(&server)
            });
        if let Err(failure) = outcome {
            failures.push(format!("server-{}: {failure}", info.name));
            // The next server needs the database up.
            let _ = postgres.start_server();
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_pool_exhausted_by_slow_queries_keeps_the_server_answering() {
    let Some(postgres) =
        cluster_or_skip("a_pool_exhausted_by_slow_queries_keeps_the_server_answering")
            .expect("a throwaway PostgreSQL starts where it is installed")
    else {
        return;
    };
    let url = postgres.url();
    let mut failures = Vec::new();
    for info in servers_under_test() {
        let outcome = start_server(info.name, Some(&url))
            .map_err(|e| e.to_string())
            .and_then(|mut server| {
                let mut admin = postgres.admin().map_err(|e| e.to_string())?;
                // Every query of World waits on this lock: more waiting requests than any pool has
                // connections.
                let mut lock = admin.transaction().map_err(|e| e.to_string())?;
                lock.batch_execute("LOCK TABLE world IN ACCESS EXCLUSIVE MODE")
                    .map_err(|e| e.to_string())?;
                let load = Load::start(&server, "/db", 48);
                thread::sleep(Duration::from_secs(2));
                // The routes without the database answer at once meanwhile.
                let started = Instant::now();
                match get(server.addr(), "/json") {
                    Ok(r) if r.status == 200 && started.elapsed() < Duration::from_secs(2) => {}
                    other => {
                        return Err(format!(
                            "/json with the pool exhausted: {other:?} after {:?}",
                            started.elapsed()
                        ));
                    }
                }
                lock.rollback().map_err(|e| e.to_string())?;
                thread::sleep(Duration::from_millis(500));
                let outcomes = load.finish();
                if server.has_exited() {
                    return Err("the server died".to_owned());
                }
                all_answered(&outcomes)?;
                recovers(&server)
            });
        if let Err(failure) = outcome {
            failures.push(format!("server-{}: {failure}", info.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// `q` values no client should send: each gets an answer (200 with 1 to 500 rows, or 400 for
/// a query string the stack refuses), and the server lives on.
const HOSTILE_Q: &[&str] = &[
    "/queries?q=-99999999999999999999999999",
    "/queries?q=99999999999999999999999999999999999999999999999999",
    "/queries?q=%00",
    "/queries?q=%ff%fe",
    "/queries?q=1e3",
    "/queries?q=0x10",
    "/queries?q=%2B7",
    "/queries?q=5&q=6",
    "/queries?q[]=5",
    "/queries?q=%",
    "/queries?q=\u{3000}7",
    "/updates?q=-1",
    "/updates?q=NaN",
];

#[test]
fn hostile_q_values_get_an_answer() {
    let Some(postgres) = cluster_or_skip("hostile_q_values_get_an_answer")
        .expect("a throwaway PostgreSQL starts where it is installed")
    else {
        return;
    };
    let url = postgres.url();
    let mut failures = Vec::new();
    for info in servers_under_test() {
        let outcome = start_server(info.name, Some(&url))
            .map_err(|e| e.to_string())
            .and_then(|mut server| {
                let mut problems = Vec::new();
                for path in HOSTILE_Q {
                    match get(server.addr(), path) {
                        Ok(r) if r.status == 400 => {}
                        Ok(r) if r.status == 200 => {
                            let rows = serde_json::from_slice::<Vec<contract::World>>(&r.body)
                                .map(|v| v.len());
                            if !matches!(rows, Ok(1..=500)) {
                                problems.push(format!("{path}: 200 with {rows:?} rows"));
                            }
                        }
                        Ok(r) => problems.push(format!("{path}: status {}", r.status)),
                        Err(err) => problems.push(err.to_string()),
                    }
                }
                if server.has_exited() {
                    problems.push("the server died".to_owned());
                }
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(problems.join("; "))
                }
            });
        if let Err(failure) = outcome {
            failures.push(format!("server-{}: {failure}", info.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
