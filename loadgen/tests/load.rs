//! The measuring core against a server in the same process. Every load lasts a fraction of a
//! second or a bounded number of requests.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bytes::Bytes;
use common::{Faults, TestServer};
use loadgen::engine::EngineKind;
use loadgen::load::{self, LoadOutcome, LoadSpec, Stop};
use loadgen::stats::ErrorKind;
use loadgen::target::Target;

fn spec(url: &str, engine: EngineKind, connections: u32, threads: u32, stop: Stop) -> LoadSpec {
    LoadSpec {
        target: Target::new(url, "GET", &[], Bytes::new()).expect("a valid test URL"),
        engine,
        connections,
        threads,
        stop,
        rate: None,
        pipeline: 1,
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(5),
        http2: false,
        use_proxy: false,
    }
}

fn run(spec: &LoadSpec) -> LoadOutcome {
    load::run(spec, &Arc::new(AtomicBool::new(false)), &mut |_| {}).expect("the load runs")
}

const ENGINES: [EngineKind; 3] = [EngineKind::H1, EngineKind::Hyper, EngineKind::Reqwest];

#[test]
fn n_mode_sends_exactly_n_requests() {
    let server = TestServer::start(Faults::default());
    for engine in ENGINES {
        let before = server.answered.load(std::sync::atomic::Ordering::SeqCst);
        let mut exact = spec(&server.url("/"), engine, 7, 2, Stop::Requests(1001));
        if engine.pipelines() {
            exact.pipeline = 16;
        }
        let outcome = run(&exact);
        assert_eq!(
            outcome.tally.responses() + outcome.tally.failures(),
            1001,
            "{engine:?}"
        );
        assert_eq!(outcome.tally.status.get(&200), Some(&1001), "{engine:?}");
        assert_eq!(outcome.tally.latency.len(), 1001);
        assert_eq!(
            server.answered.load(std::sync::atomic::Ordering::SeqCst) - before,
            1001,
            "{engine:?}"
        );
        assert_eq!(outcome.tally.body_bytes, 2002);
        assert_eq!(outcome.client_cpu.len(), 2);
    }
}

#[test]
fn answers_are_counted_per_status() {
    let server = TestServer::start(Faults::default());
    for engine in ENGINES {
        for (path, status) in [("/error", 500), ("/nope", 404)] {
            let outcome = run(&spec(&server.url(path), engine, 4, 1, Stop::Requests(200)));
            assert_eq!(
                outcome.tally.status.get(&status),
                Some(&200),
                "{engine:?} {path}"
            );
            assert_eq!(outcome.tally.failures(), 0);
        }
    }
}

#[test]
fn a_timed_run_with_warmup_records_only_after_the_warmup() {
    let server = TestServer::start(Faults::default());
    let mut timed = spec(
        &server.url("/"),
        EngineKind::Hyper,
        4,
        2,
        Stop::After(Duration::from_millis(300)),
    );
    timed.warmup = Duration::from_millis(200);
    // What the server had answered at the last look during the warmup: answers that must not
    // be recorded. (Comparing with the total alone would pass on the answers still in flight
    // at the stop.)
    let mut in_warmup = 0;
    let answered = || server.answered.load(std::sync::atomic::Ordering::SeqCst);
    let outcome = load::run(&timed, &Arc::new(AtomicBool::new(false)), &mut |p| {
        if !p.measuring {
            in_warmup = answered();
        }
    })
    .expect("the load runs");
    let total = answered();
    assert!(outcome.tally.responses() > 0);
    // More than the four connections can have in flight, so that recording them would show.
    assert!(in_warmup > 4, "{in_warmup} answers seen in the warmup");
    assert!(
        outcome.tally.responses() + in_warmup <= total,
        "warmup answers were recorded too: {} recorded, {in_warmup} in the warmup, {total} in all",
        outcome.tally.responses()
    );
    assert!(
        outcome.duration >= Duration::from_millis(290)
            && outcome.duration < Duration::from_millis(1500),
        "{:?}",
        outcome.duration
    );
    assert!(!outcome.partial);
}

#[test]
fn a_server_that_dies_mid_run_is_counted_not_fatal() {
    for engine in ENGINES {
        let server = TestServer::start(Faults {
            die_after: Some(300),
            ..Faults::default()
        });
        let outcome = run(&spec(
            &server.url("/"),
            engine,
            4,
            1,
            Stop::After(Duration::from_millis(600)),
        ));
        let tally = &outcome.tally;
        assert!(tally.responses() >= 250, "{engine:?}: {:?}", tally.status);
        assert!(
            tally.failures() > 0,
            "{engine:?}: no failures after the server died"
        );
        let refused_or_reset = tally.errors.get(&ErrorKind::Refused).copied().unwrap_or(0)
            + tally.errors.get(&ErrorKind::Reset).copied().unwrap_or(0);
        assert!(refused_or_reset > 0, "{engine:?}: {:?}", tally.errors);
    }
}

#[test]
fn a_stop_signal_ends_the_run_early_and_marks_it_partial() {
    let server = TestServer::start(Faults::default());
    let stop = Arc::new(AtomicBool::new(false));
    let long = spec(
        &server.url("/"),
        EngineKind::Hyper,
        2,
        1,
        Stop::After(Duration::from_secs(30)),
    );
    let flag = Arc::clone(&stop);
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let started = std::time::Instant::now();
    let outcome = load::run(&long, &stop, &mut |_| {}).unwrap();
    setter.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(outcome.partial);
    assert!(outcome.tally.responses() > 0);
}

/// The server blocks once for a second in the middle of an open-loop run at 1,000 req/s. The
/// requests that were due during the stall waited for it: measured from their due time (the
/// corrected figure) the p99 is hundreds of milliseconds; measured from when they finally went
/// out, it stays small, which is exactly the lie coordinated omission tells.
#[test]
fn open_loop_latency_is_corrected_for_coordinated_omission() {
    for engine in [EngineKind::H1, EngineKind::Hyper] {
        let server = TestServer::start(Faults {
            stall_after: Some(Duration::from_millis(400)),
            stall_for: Duration::from_secs(1),
            ..Faults::default()
        });
        let mut open = spec(
            &server.url("/"),
            engine,
            10,
            1,
            Stop::After(Duration::from_millis(2500)),
        );
        open.rate = Some(1000.0);
        let outcome = run(&open);
        let corrected = outcome.tally.latency.quantile(0.99);
        let uncorrected = outcome.tally.latency_uncorrected.quantile(0.99);
        assert!(
            corrected >= 300_000,
            "{engine:?}: corrected p99 {corrected} µs"
        );
        assert!(
            uncorrected < 100_000,
            "{engine:?}: uncorrected p99 {uncorrected} µs"
        );
        // The schedule holds: about 2,500 requests were due and sent.
        let sent = outcome.tally.responses() + outcome.tally.failures();
        assert!((2300..=2510).contains(&sent), "{engine:?}: {sent} requests");
        // The stall is the server's: the requests it held up waited for their connection,
        // which the send lag does not count against the client.
        assert!(
            outcome.tally.send_lag.quantile(0.5) < 1000,
            "{engine:?}: send-lag p50 {} µs",
            outcome.tally.send_lag.quantile(0.5)
        );
    }
}

#[test]
fn answers_slower_than_the_timeout_are_counted_as_timeouts() {
    let server = TestServer::start(Faults::default());
    for engine in ENGINES {
        let mut slow = spec(&server.url("/slow"), engine, 2, 1, Stop::Requests(6));
        slow.timeout = Duration::from_millis(100);
        let outcome = run(&slow);
        assert_eq!(
            outcome.tally.errors.get(&ErrorKind::Timeout),
            Some(&6),
            "{engine:?}: {:?}",
            outcome.tally.errors
        );
        assert_eq!(outcome.tally.responses(), 0);
    }
}

#[test]
fn resets_are_counted_and_the_run_completes() {
    let server = TestServer::start(Faults {
        reset_connections: true,
        ..Faults::default()
    });
    for engine in ENGINES {
        let outcome = run(&spec(&server.url("/"), engine, 2, 1, Stop::Requests(20)));
        assert_eq!(outcome.tally.failures(), 20, "{engine:?}");
        let resets = outcome
            .tally
            .errors
            .get(&ErrorKind::Reset)
            .copied()
            .unwrap_or(0);
        // The server reads each request whole, then resets: every failure is a reset, none a
        // timeout, a refused connection or a parse error.
        assert_eq!(resets, 20, "{engine:?}: {:?}", outcome.tally.errors);
    }
}

#[test]
fn a_server_that_restarts_mid_run_is_served_again() {
    for engine in ENGINES {
        let server = TestServer::start(Faults {
            die_after: Some(200),
            restart_after: Some(Duration::from_millis(150)),
            ..Faults::default()
        });
        let outcome = run(&spec(
            &server.url("/"),
            engine,
            2,
            1,
            Stop::After(Duration::from_millis(900)),
        ));
        let tally = &outcome.tally;
        assert!(
            tally.failures() > 0,
            "{engine:?}: no failure while it was gone"
        );
        let after_restart = server
            .answered
            .load(std::sync::atomic::Ordering::SeqCst)
            .saturating_sub(200);
        assert!(
            after_restart > 50,
            "{engine:?}: only {after_restart} answers after the restart"
        );
        assert!(tally.responses() > 250, "{engine:?}: {:?}", tally.status);
    }
}
