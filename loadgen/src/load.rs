//! The measuring core: threads, connections, the closed and the open loop, warmup, stopping.
//!
//! Like wrk, the load runs on `threads` OS threads, each with its own single-threaded runtime,
//! its own engine and its own share of the connections; each connection is a worker task with
//! one request in flight. Each thread records into its own [`Tally`] and its own per-thread
//! counter for the progress display; the tallies are merged once, at the end. Nothing here
//! prints: the caller gets [`Progress`] callbacks and a [`LoadOutcome`].

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use thiserror::Error;
use tokio::task::JoinSet;

use crate::engine::{
    After, Answer, Connection, Connector, EngineKind, EngineOptions, H1Connector, HyperConnector,
    ReqwestConnector,
};
use crate::interval_log::IntervalTallies;
use crate::schedule::Schedule;
use crate::stats::{ErrorKind, Tally};
use crate::target::{Target, TargetError};

/// How long a run lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Measure for this long (after the warmup).
    After(Duration),
    /// Send exactly this many requests in total (after the warmup); closed loop only.
    Requests(u64),
}

/// Everything that shapes a load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// What to send.
    pub target: Target,
    /// Which client sends it.
    pub engine: EngineKind,
    /// Connections in total, over all threads.
    pub connections: u32,
    /// Load threads.
    pub threads: u32,
    /// When to stop.
    pub stop: Stop,
    /// Open loop at this many requests per second in total; `None` is the closed loop.
    pub rate: Option<f64>,
    /// Requests written together per connection, their answers read in order (1: none).
    pub pipeline: u32,
    /// Load without recording for this long first.
    pub warmup: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// HTTP/2 (reqwest engine).
    pub http2: bool,
    /// Honour proxy environment variables (reqwest engine).
    pub use_proxy: bool,
}

/// What a load measured.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// Everything recorded, all threads merged.
    pub tally: Tally,
    /// From the end of the warmup to the last answer (or to the stop).
    pub duration: Duration,
    /// How busy each load thread was while measuring (CPU time / wall time, 0.0 to 1.0).
    pub client_cpu: Vec<f64>,
    /// The share of the measured time each load thread was ready to run but waited for a CPU
    /// (the kernel's run delay, from /proc; 0.0 where the kernel does not keep it).
    pub client_waited: Vec<f64>,
    /// Stopped early (Ctrl-C): what was measured so far.
    pub partial: bool,
    /// Whether it was an open-loop run.
    pub open_loop: bool,
    /// Connections of the run.
    pub connections: u32,
    /// Requests written together per connection.
    pub pipeline: u32,
}

pub use crate::stats::{
    CLIENT_BOUND_BUSY, CLIENT_BOUND_TURNAROUND, CLIENT_LAG_BOUND_US, CLIENT_WAITED_BOUND,
};

impl LoadOutcome {
    /// Answers per second.
    pub fn rps(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.tally.responses() as f64 / secs
        } else {
            0.0
        }
    }

    /// Whether the client set the pace, so that the figures are a lower bound for the server.
    ///
    /// Only real work counts: in the closed loop a load thread that was busy
    /// [`CLIENT_BOUND_BUSY`] of the time or more, or connections that spent
    /// [`CLIENT_BOUND_TURNAROUND`] of their time in the client; in the open loop, where pacing
    /// keeps the thread spinning, a send lag over its bound ([`Self::client_lagged`]).
    pub fn client_bound(&self) -> bool {
        if self.open_loop {
            return self.client_lagged();
        }
        self.client_cpu
            .iter()
            .any(|&busy| busy >= CLIENT_BOUND_BUSY)
            || self
                .turnaround()
                .is_some_and(|t| t >= CLIENT_BOUND_TURNAROUND)
    }

    /// Open loop: whether the send lag's 99th percentile exceeds [`CLIENT_LAG_BOUND_US`].
    pub fn client_lagged(&self) -> bool {
        !self.tally.send_lag.is_empty() && self.tally.send_lag.quantile(0.99) > CLIENT_LAG_BOUND_US
    }

    /// Closed loop, by Little's law: the share of each connection's time spent between an
    /// answer and its next request, `1 - throughput × mean latency ÷ requests in flight`.
    /// `None` in the open loop (connections wait for due times there) or without answers.
    pub fn turnaround(&self) -> Option<f64> {
        let in_flight = f64::from(self.connections) * f64::from(self.pipeline);
        let latency_s = self.tally.latency.summary().mean / 1e6;
        (!self.open_loop && !self.tally.latency.is_empty() && in_flight > 0.0)
            .then(|| (1.0 - self.rps() * latency_s / in_flight).clamp(0.0, 1.0))
    }
}

/// A load that cannot start.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The target is malformed.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// No connection could be opened at the start.
    #[error("cannot connect to {addr}: {reason}")]
    Unreachable {
        /// Where.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The rate is not a positive number.
    #[error("--rate must be a positive number of requests per second, not {0}")]
    Rate(f64),
    /// Fewer connections than threads.
    #[error(
        "{connections} connections cannot be spread over {threads} threads: give at least one per thread"
    )]
    TooFewConnections {
        /// Connections asked for.
        connections: u32,
        /// Threads asked for.
        threads: u32,
    },
    /// Pipelining needs an engine that can.
    #[error("--pipeline {0} needs the h1 engine (--engine h1): {1} sends one request at a time")]
    Pipeline(u32, &'static str),
    /// The open loop counts time, not requests.
    #[error("an open-loop run (--rate) lasts a duration (-d), not a number of requests (-n)")]
    RateWithRequestCount,
    /// The engine cannot be set up.
    #[error("cannot set up the {engine:?} engine: {reason}")]
    Engine {
        /// Which.
        engine: EngineKind,
        /// Why.
        reason: String,
    },
    /// A load thread could not run.
    #[error("a load thread failed: {0}")]
    Thread(String),
}

/// A look at a running load, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Since the load started (warmup included).
    pub elapsed: Duration,
    /// Whether the warmup is over.
    pub measuring: bool,
    /// Answers recorded so far.
    pub responses: u64,
}

/// Runs the load described by `spec` until it is done or `stop` is set (then the outcome is
/// marked partial), calling `observe` about ten times a second from the calling thread.
pub fn run(
    spec: &LoadSpec,
    stop: &Arc<AtomicBool>,
    observe: &mut dyn FnMut(Progress),
) -> Result<LoadOutcome, LoadError> {
    run_placed(spec, &Placement::default(), stop, observe).map(|placed| placed.outcome)
}

/// Where a load sits among the shards of one run (see [`crate::shard`]), and when it measures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Placement {
    /// The open-loop schedule starts this much later: shard `I` of a run at `R` requests per
    /// second in total is offset by `I / R`.
    pub schedule_offset: Duration,
    /// Measure from this wall-clock time: every connection opens, and the warmup runs, before
    /// it. `None`: open connections as requests need them and measure after the warmup.
    pub start_at: Option<SystemTime>,
    /// Also tally each interval of this length from the start of the measurement.
    pub interval: Option<Duration>,
}

/// What a placed load measured, beyond [`LoadOutcome`].
#[derive(Debug, Clone)]
pub struct PlacedOutcome {
    /// The usual figures.
    pub outcome: LoadOutcome,
    /// Per interval, when [`Placement::interval`] was set.
    pub intervals: Option<IntervalTallies>,
    /// With a start time: when the last connection opened, from the start of the measurement
    /// (negative: before it); `None` if one never opened, or without a start time.
    pub connected: Option<f64>,
    /// The warmup done before the measurement: shorter than asked when the start time came
    /// too soon for all of it.
    pub warmup_done: Duration,
    /// When the first and the last measured request were sent, seconds from the start of the
    /// measurement: how fast requests left, whatever the last answers took.
    pub sent: Option<(f64, f64)>,
}

/// [`run`], placed: with a start time, shard's schedule offset and interval tallies.
pub fn run_placed(
    spec: &LoadSpec,
    placement: &Placement,
    stop: &Arc<AtomicBool>,
    observe: &mut dyn FnMut(Progress),
) -> Result<PlacedOutcome, LoadError> {
    check(spec)?;
    let now = Instant::now();
    let clock = Clock::placed(spec, placement, now);
    let results = run_threads(spec, clock, stop, observe)?;
    let records = || results.iter().map(|r| &r.records);
    let mut tally = Tally::default();
    let mut intervals = placement.interval.map(IntervalTallies::new);
    for result in records() {
        tally.merge(&result.tally);
        if let (Some(all), Some(theirs)) = (&mut intervals, &result.intervals) {
            all.merge(theirs);
        }
    }
    let first_sent = records().filter_map(|r| r.sent.map(|s| s.0)).min();
    let last_sent = records().filter_map(|r| r.sent.map(|s| s.1)).max();
    let sent = first_sent.zip(last_sent).map(|(first, last)| {
        (
            signed_seconds(first, clock.measure_start),
            signed_seconds(last, clock.measure_start),
        )
    });
    let connected = records().map(|r| r.connected).sum::<u64>();
    let last_connected = records().filter_map(|r| r.last_connected).max();
    let connected = (placement.start_at.is_some() && connected == u64::from(spec.connections))
        .then(|| last_connected.map(|at| signed_seconds(at, clock.measure_start)))
        .flatten();
    let stopped_at = Instant::now();
    let last = records()
        .filter_map(|r| r.last_done)
        .max()
        .unwrap_or(stopped_at);
    let outcome = LoadOutcome {
        tally,
        duration: last.saturating_duration_since(clock.measure_start),
        client_cpu: results.iter().map(|r| r.usage.busy).collect(),
        client_waited: results.iter().map(|r| r.usage.waited).collect(),
        partial: stop.load(Ordering::Relaxed),
        open_loop: spec.rate.is_some(),
        connections: spec.connections,
        pipeline: spec.pipeline,
    };
    Ok(PlacedOutcome {
        outcome,
        intervals,
        connected,
        warmup_done: clock
            .measure_start
            .saturating_duration_since(clock.start.max(now)),
        sent,
    })
}

impl Clock {
    /// The instants of a load placed by `placement`, starting `now`. With a start time, the
    /// measurement starts then and the warmup just before; a warmup that would have started
    /// before now is cut short.
    fn placed(spec: &LoadSpec, placement: &Placement, now: Instant) -> Self {
        let measure_start = placement.start_at.map_or(now + spec.warmup, |at| {
            now + at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
        Self {
            measure_start,
            end: match spec.stop {
                Stop::After(duration) => Some(measure_start + duration),
                Stop::Requests(_) => None,
            },
            start: measure_start.checked_sub(spec.warmup).unwrap_or(now),
            schedule_offset: placement.schedule_offset,
            connect_first: placement.start_at.is_some(),
            interval: placement.interval,
        }
    }
}

/// Runs the load's threads to `clock`, telling `observe` how far they are about every
/// [`OBSERVE_EVERY`] meanwhile; returns what each thread measured.
fn run_threads(
    spec: &LoadSpec,
    clock: Clock,
    stop: &Arc<AtomicBool>,
    observe: &mut dyn FnMut(Progress),
) -> Result<Vec<ThreadResult>, LoadError> {
    let threads = spec.threads as usize;
    let live: Arc<[PaddedCounter]> = (0..threads).map(|_| PaddedCounter::default()).collect();
    let shared_spec = Arc::new(spec.clone());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let plan = ThreadPlan::new(spec, index);
                let live = Arc::clone(&live);
                let stop = Arc::clone(stop);
                let shared_spec = Arc::clone(&shared_spec);
                std::thread::Builder::new()
                    .name(format!("load-{index}"))
                    .spawn_scoped(scope, move || {
                        load_thread(shared_spec, plan, clock, stop, live, index)
                    })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| LoadError::Thread(e.to_string()))?;
        // Naps end at the load's end, and are short after it, so that a load is over within a
        // millisecond of its threads (a fixed 100 ms nap cost a comparison 50 ms a load).
        let mut observed = clock.start;
        while !handles
            .iter()
            .all(std::thread::ScopedJoinHandle::is_finished)
        {
            let now = Instant::now();
            let nap = match clock.end {
                Some(end) if end > now => OBSERVE_EVERY.min(end - now),
                Some(_) => Duration::from_millis(1),
                None => OBSERVE_EVERY,
            };
            std::thread::sleep(nap);
            let now = Instant::now();
            if now - observed >= OBSERVE_EVERY {
                observed = now;
                observe(Progress {
                    elapsed: now - clock.start,
                    measuring: now >= clock.measure_start,
                    responses: live.iter().map(|c| c.0.load(Ordering::Relaxed)).sum(),
                });
            }
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| LoadError::Thread("a load thread panicked".into()))?
            })
            .collect::<Result<Vec<_>, _>>()
    })
}

/// `at - origin` in seconds, negative when `at` is earlier.
fn signed_seconds(at: Instant, origin: Instant) -> f64 {
    match at.checked_duration_since(origin) {
        Some(after) => after.as_secs_f64(),
        None => -origin.duration_since(at).as_secs_f64(),
    }
}

/// Refuses what cannot run, before any thread starts: bad settings, an engine that cannot be
/// built, and a target where no connection opens (fail fast rather than count refusals).
fn check(spec: &LoadSpec) -> Result<(), LoadError> {
    if let Some(rate) = spec.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(LoadError::Rate(rate));
        }
        if matches!(spec.stop, Stop::Requests(_)) {
            return Err(LoadError::RateWithRequestCount);
        }
    }
    if spec.pipeline == 0 || (spec.pipeline > 1 && !spec.engine.pipelines()) {
        return Err(LoadError::Pipeline(spec.pipeline, spec.engine.name()));
    }
    if spec.connections < spec.threads {
        return Err(LoadError::TooFewConnections {
            connections: spec.connections,
            threads: spec.threads,
        });
    }
    let options = engine_options(spec, spec.connections as usize);
    let engine_error = |reason: String| LoadError::Engine {
        engine: spec.engine,
        reason,
    };
    match spec.engine {
        EngineKind::H1 => H1Connector::new(&spec.target, &options).map(drop)?,
        EngineKind::Hyper => HyperConnector::new(&spec.target, &options).map(drop)?,
        EngineKind::Reqwest => ReqwestConnector::new(&spec.target, &options)
            .map(drop)
            .map_err(|e| engine_error(e.to_string()))?,
    }
    if spec.use_proxy {
        return Ok(());
    }
    let addr = spec.target.socket_addr()?;
    std::net::TcpStream::connect_timeout(&addr, spec.timeout.min(Duration::from_secs(5)))
        .map(drop)
        .map_err(|e| LoadError::Unreachable {
            addr,
            reason: e.to_string(),
        })
}

fn engine_options(spec: &LoadSpec, connections: usize) -> EngineOptions {
    EngineOptions {
        connections,
        pipeline: spec.pipeline as usize,
        timeout: spec.timeout,
        http2: spec.http2,
        use_proxy: spec.use_proxy,
    }
}

/// The instants every thread works to, fixed before the threads start.
#[derive(Debug, Clone, Copy)]
struct Clock {
    start: Instant,
    measure_start: Instant,
    /// The end of the measurement, in a timed run.
    end: Option<Instant>,
    /// Added to every open-loop due time (this shard's place in the run's schedule).
    schedule_offset: Duration,
    /// Open every connection before the start (a start time was given).
    connect_first: bool,
    /// Tally each interval of this length too.
    interval: Option<Duration>,
}

/// One thread's share of the load.
#[derive(Debug, Clone, Copy)]
struct ThreadPlan {
    /// Index of this thread's first connection among all connections.
    first_connection: u64,
    connections: u64,
    /// This thread's share of `-n`.
    requests: Option<u64>,
}

impl ThreadPlan {
    /// Spreads connections and requests as evenly as they go: the first threads take one more.
    fn new(spec: &LoadSpec, index: usize) -> Self {
        let threads = u64::from(spec.threads);
        let index = index as u64;
        let share = |total: u64, of: u64| total / threads + u64::from(of < total % threads);
        let connections = u64::from(spec.connections);
        Self {
            first_connection: (0..index).map(|i| share(connections, i)).sum(),
            connections: share(connections, index),
            requests: match spec.stop {
                Stop::Requests(n) => Some(share(n, index)),
                Stop::After(_) => None,
            },
        }
    }
}

/// What one load thread hands back: what its workers recorded, and its CPU use while
/// measuring.
#[derive(Debug)]
struct ThreadResult {
    records: Records,
    usage: Usage,
}

/// A counter alone on its cache line, so that threads bumping neighbouring counters do not
/// slow each other down.
#[derive(Debug, Default)]
#[repr(align(128))]
struct PaddedCounter(AtomicU64);

/// What the workers of one thread share (on that thread only).
#[derive(Debug)]
struct ThreadContext {
    spec: Arc<LoadSpec>,
    clock: Clock,
    stop: Arc<AtomicBool>,
    /// All threads' progress counters; this thread writes only its own.
    live: Arc<[PaddedCounter]>,
    thread: usize,
    /// The thread's records. Its tasks never run at once (one thread, one runtime), so the
    /// lock is never contended; it is there because tasks on tokio's scheduler must be `Send`.
    records: Mutex<Records>,
    /// Requests of `-n` this thread may still send.
    tickets: Option<AtomicU64>,
}

/// What a thread's workers record.
#[derive(Debug, Default)]
struct Records {
    tally: Tally,
    intervals: Option<IntervalTallies>,
    last_done: Option<Instant>,
    /// Connections opened before their first request ([`Clock::connect_first`]).
    connected: u64,
    /// When the last of those opened.
    last_connected: Option<Instant>,
    /// When its first and last measured requests were sent.
    sent: Option<(Instant, Instant)>,
}

fn load_thread(
    spec: Arc<LoadSpec>,
    plan: ThreadPlan,
    clock: Clock,
    stop: Arc<AtomicBool>,
    live: Arc<[PaddedCounter]>,
    thread: usize,
) -> Result<ThreadResult, LoadError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadError::Thread(e.to_string()))?;
    let options = engine_options(&spec, plan.connections as usize);
    let engine = spec.engine;
    let engine_error = |reason: String| LoadError::Engine { engine, reason };
    let context = Arc::new(ThreadContext {
        spec: Arc::clone(&spec),
        clock,
        stop,
        live,
        thread,
        records: Mutex::new(Records {
            intervals: clock.interval.map(IntervalTallies::new),
            ..Records::default()
        }),
        tickets: plan.requests.map(AtomicU64::new),
    });
    let usage = match engine {
        EngineKind::H1 => {
            let connector = H1Connector::new(&spec.target, &options)?;
            drive(&runtime, Arc::new(connector), &context, plan)
        }
        EngineKind::Hyper => {
            let connector = HyperConnector::new(&spec.target, &options)?;
            drive(&runtime, Arc::new(connector), &context, plan)
        }
        EngineKind::Reqwest => {
            let connector = ReqwestConnector::new(&spec.target, &options)
                .map_err(|e| engine_error(e.to_string()))?;
            drive(&runtime, Arc::new(connector), &context, plan)
        }
    };
    Ok(ThreadResult {
        records: std::mem::take(&mut *lock(&context.records)),
        usage,
    })
}

/// How a load thread used its CPU while measuring, as shares of the wall time.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    /// On a CPU.
    busy: f64,
    /// Ready to run but waiting for a CPU (the kernel's run delay): the client fell behind
    /// for want of CPU, whatever it was doing.
    waited: f64,
}

/// The CPU time and run delay of the calling thread so far.
#[derive(Debug, Clone, Copy)]
struct Clocks {
    wall: Instant,
    cpu: Duration,
    run_delay: Duration,
}

impl Clocks {
    fn now() -> Self {
        Self {
            wall: Instant::now(),
            cpu: thread_cpu_time(),
            run_delay: thread_run_delay(),
        }
    }

    fn usage_since(self, start: Self) -> Usage {
        let wall = self.wall.duration_since(start.wall).as_secs_f64();
        if wall <= 0.0 {
            return Usage::default();
        }
        let share = |d: Duration| (d.as_secs_f64() / wall).min(1.0);
        Usage {
            busy: share(self.cpu.saturating_sub(start.cpu)),
            waited: share(self.run_delay.saturating_sub(start.run_delay)),
        }
    }
}

/// Runs this thread's workers to the end of the load (or the stop) and returns how the thread
/// used its CPU while measuring.
fn drive<C: Connector>(
    runtime: &tokio::runtime::Runtime,
    connector: Arc<C>,
    context: &Arc<ThreadContext>,
    plan: ThreadPlan,
) -> Usage {
    runtime.block_on(async {
        let cpu_start = Cell::new(None);
        // One task per connection, as in wrk: tokio polls only the ones that are woken.
        let mut workers = JoinSet::new();
        for i in 0..plan.connections {
            workers.spawn(worker(
                Arc::clone(&connector),
                Arc::clone(context),
                plan.first_connection + i,
            ));
        }
        let all_done = async { while workers.join_next().await.is_some() {} };
        let measure_cpu = async {
            tokio::time::sleep_until(context.clock.measure_start.into()).await;
            cpu_start.set(Some(Clocks::now()));
            std::future::pending::<()>().await;
        };
        // Requests in flight when the stop comes are abandoned, not waited for.
        let stopped = async {
            while !context.stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            () = all_done => {}
            () = stopped => {}
            () = measure_cpu => {}
        }
        cpu_start
            .get()
            .map_or_else(Usage::default, |start| Clocks::now().usage_since(start))
    })
}

/// One request of a batch.
#[derive(Debug, Clone, Copy)]
struct Request {
    variant: usize,
    /// When it was due: its place in the open loop's schedule, or when the closed loop took it.
    due: Instant,
    /// Part of the measurement (not the warmup).
    measuring: bool,
}

/// One connection's loop: gather the next batch (up to `--pipeline` requests: in the open
/// loop, the next one at its due time and any others already due), send it, record each answer
/// or the failure.
async fn worker<C: Connector>(connector: Arc<C>, context: Arc<ThreadContext>, connection: u64) {
    let spec = &*context.spec;
    let depth = spec.pipeline.max(1) as usize;
    let mut pacer = Pacer {
        context: &context,
        schedule: spec
            .rate
            .map(|rate| Schedule::new(rate, connection, u64::from(spec.connections))),
        depth,
        variants: spec.target.urls.len(),
        variant: connection as usize % spec.target.urls.len(),
        next: 0,
    };
    let mut link = Link {
        connector,
        conn: None,
        opened: false,
    };
    let mut batch: Vec<Request> = Vec::with_capacity(depth);
    let mut indexes: Vec<usize> = Vec::with_capacity(depth);
    let mut answers: Vec<Answer> = Vec::with_capacity(depth);
    // When the connection last became free to send: a request is ready from then or from its
    // due time, whichever is later, and the send lag counts from there.
    let mut free_since = context.clock.start;
    if context.clock.connect_first {
        link.connect_first(&context).await;
        tokio::time::sleep_until(context.clock.start.into()).await;
        pacer.skip_missed();
        free_since = Instant::now();
    }
    while !context.stop.load(Ordering::Relaxed) {
        if !pacer.fill(&mut batch).await {
            break;
        }
        indexes.clear();
        indexes.extend(batch.iter().map(|r| r.variant));
        let sent = Instant::now();
        let result = link
            .send(&context, &indexes, &mut answers, spec.timeout)
            .await;
        let recorded = record(&context, &batch, &answers, &result, sent, free_since);
        match result {
            Ok(After::Open) => batch.clear(),
            // The server said it closes: what it did not answer goes again on a new
            // connection, at the front of the next batch.
            Ok(After::Closed) => {
                link.conn = None;
                batch.drain(..answers.len());
            }
            Err(kind) => {
                // A failed connection is never reused: the next request opens a new one.
                link.conn = None;
                batch.clear();
                // A refusing target answers at once; pause so the loop does not spin.
                if kind == ErrorKind::Refused {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        free_since = Instant::now();
        if recorded > 0 {
            context.live[context.thread]
                .0
                .fetch_add(recorded, Ordering::Relaxed);
        }
    }
}

/// Which requests a connection sends next: the open loop's schedule or the closed loop's
/// next free moment, the URL variants in turn, and `-n`'s tickets.
struct Pacer<'a> {
    context: &'a ThreadContext,
    /// The open loop's schedule of this connection; `None` in the closed loop.
    schedule: Option<Schedule>,
    /// Requests per batch (`--pipeline`).
    depth: usize,
    variants: usize,
    /// The URL variant of the next request.
    variant: usize,
    /// The next request's place in the schedule.
    next: u64,
}

impl Pacer<'_> {
    /// Warmup requests whose time passed before the start was reached are not sent late all at
    /// once: the schedule resumes with the next one due.
    fn skip_missed(&mut self) {
        let clock = self.context.clock;
        if let Some(schedule) = self.schedule {
            let now = Instant::now();
            while clock.start + clock.schedule_offset + schedule.due(self.next)
                < now.min(clock.measure_start)
            {
                self.next += 1;
            }
        }
    }

    /// Adds the next request, due at `due`, to the batch, unless `-n` has run out.
    fn take(&mut self, batch: &mut Vec<Request>, due: Instant) -> bool {
        let measuring = due >= self.context.clock.measure_start;
        if measuring && !take_ticket(&self.context.tickets) {
            return false;
        }
        batch.push(Request {
            variant: self.variant,
            due,
            measuring,
        });
        self.variant = (self.variant + 1) % self.variants;
        true
    }

    /// Fills `batch` up to the depth: in the open loop, waits for the next request's due time
    /// when the batch is empty, then adds those already due; in the closed loop, adds requests
    /// now. Returns false when this connection's load is over (its end, or `-n` used up).
    async fn fill(&mut self, batch: &mut Vec<Request>) -> bool {
        let clock = self.context.clock;
        let Some(schedule) = self.schedule else {
            let now = Instant::now();
            if clock.end.is_some_and(|end| now >= end) {
                return false;
            }
            while batch.len() < self.depth && self.take(batch, now) {}
            return !batch.is_empty();
        };
        let due_of = |k: u64| clock.start + clock.schedule_offset + schedule.due(k);
        let past_end = |due: Instant| clock.end.is_some_and(|end| due >= end);
        if batch.is_empty() {
            let due = due_of(self.next);
            if past_end(due) {
                return false;
            }
            pace_until(due).await;
            if !self.take(batch, due) {
                return false;
            }
            self.next += 1;
        }
        let now = Instant::now();
        while batch.len() < self.depth {
            let due = due_of(self.next);
            if due > now || past_end(due) || !self.take(batch, due) {
                break;
            }
            self.next += 1;
        }
        true
    }
}

/// A connection's socket: open, or opened by the next send.
struct Link<C: Connector> {
    connector: Arc<C>,
    conn: Option<C::Conn>,
    /// A connection was opened before: opening another is a reconnect.
    opened: bool,
}

impl<C: Connector> Link<C> {
    /// With a start time: be connected before it, so that no measured request pays for the
    /// handshake; a failure here is retried by the first request, as usual.
    async fn connect_first(&mut self, context: &ThreadContext) {
        if let Ok(open) = self.connector.connect().await {
            self.conn = Some(open);
            self.opened = true;
            let mut records = lock(&context.records);
            records.connected += 1;
            records.last_connected = Some(Instant::now());
        }
    }

    /// Sends the requests of `indexes` on the open connection, or on a new one, and reads
    /// their answers into `answers`.
    async fn send(
        &mut self,
        context: &ThreadContext,
        indexes: &[usize],
        answers: &mut Vec<Answer>,
        timeout: Duration,
    ) -> Result<After, ErrorKind> {
        if let Some(open) = self.conn.as_mut() {
            return send(open, indexes, answers, timeout).await;
        }
        match self.connector.connect().await {
            Ok(open) => {
                if self.opened {
                    lock(&context.records).tally.reconnects += 1;
                }
                self.opened = true;
                send(self.conn.insert(open), indexes, answers, timeout).await
            }
            Err(kind) => {
                answers.clear();
                Err(kind)
            }
        }
    }
}

/// Records a batch sent at `sent`: each answer, and each request left unanswered by an error;
/// returns how many answers were recorded.
fn record(
    context: &ThreadContext,
    batch: &[Request],
    answers: &[Answer],
    result: &Result<After, ErrorKind>,
    sent: Instant,
    free_since: Instant,
) -> u64 {
    let open_loop = context.spec.rate.is_some();
    let mut records = lock(&context.records);
    let mut recorded = 0;
    let measure_start = context.clock.measure_start;
    let records = &mut *records;
    if batch.iter().any(|r| r.measuring) {
        records.sent = Some(
            records
                .sent
                .map_or((sent, sent), |(first, _)| (first, sent)),
        );
    }
    for (request, answer) in batch.iter().zip(answers).filter(|(r, _)| r.measuring) {
        records.last_done = Some(answer.done);
        let interval = records
            .intervals
            .as_mut()
            .map(|i| i.at(answer.done.saturating_duration_since(measure_start)));
        for tally in std::iter::once(&mut records.tally).chain(interval) {
            tally.record_status(answer.exchange.status, answer.exchange.body_bytes);
            tally.latency.record(micros(answer.done - request.due));
            if open_loop {
                tally.latency_uncorrected.record(micros(answer.done - sent));
                let ready = request.due.max(free_since);
                tally
                    .send_lag
                    .record(micros(sent.saturating_duration_since(ready)));
            }
        }
        recorded += 1;
    }
    if let Err(kind) = result {
        let failed = batch[answers.len()..]
            .iter()
            .filter(|r| r.measuring)
            .count();
        let now = Instant::now();
        let mut interval = records
            .intervals
            .as_mut()
            .map(|i| i.at(now.saturating_duration_since(measure_start)));
        for _ in 0..failed {
            records.tally.record_error(*kind);
            if let Some(tally) = interval.as_mut() {
                tally.record_error(*kind);
            }
        }
        if failed > 0 {
            records.last_done = Some(now);
        }
    }
    recorded
}

/// How often [`run`] calls its observer.
const OBSERVE_EVERY: Duration = Duration::from_millis(100);

/// How long before its due time a request stops waiting on tokio's timer and starts yielding
/// to the runtime until the instant comes. tokio's timer wakes on millisecond ticks and can be
/// up to a tick late, so the margin is two ticks.
const SPIN_MARGIN: Duration = Duration::from_millis(2);

/// Waits until `due`, to the microsecond: on tokio's timer until shortly before, then by
/// yielding, so that the runtime keeps reading answers and sending others' requests meanwhile.
async fn pace_until(due: Instant) {
    if let Some(early) = due.checked_sub(SPIN_MARGIN)
        && Instant::now() < early
    {
        tokio::time::sleep_until(early.into()).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

async fn send<T: Connection>(
    conn: &mut T,
    batch: &[usize],
    answers: &mut Vec<Answer>,
    timeout: Duration,
) -> Result<After, ErrorKind> {
    tokio::time::timeout(timeout, conn.send(batch, answers))
        .await
        .unwrap_or(Err(ErrorKind::Timeout))
}

/// Takes one of the thread's `-n` requests; false when they are all gone.
fn take_ticket(tickets: &Option<AtomicU64>) -> bool {
    tickets.as_ref().is_none_or(|left| {
        left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    })
}

/// Locks the records; a worker that panicked holding them leaves them usable.
fn lock(records: &Mutex<Records>) -> std::sync::MutexGuard<'_, Records> {
    records
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// How long the calling thread has waited, ready to run, for a CPU: the second field of
/// /proc/thread-self/schedstat, in ns. Zero where the kernel does not keep it.
fn thread_run_delay() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1)?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu_time() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_THREAD).map_or(Duration::ZERO, |usage| {
        let as_duration = |tv: nix::sys::time::TimeVal| {
            Duration::new(
                u64::try_from(tv.tv_sec()).unwrap_or(0),
                u32::try_from(tv.tv_usec()).unwrap_or(0) * 1000,
            )
        };
        as_duration(usage.user_time()) + as_duration(usage.system_time())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(connections: u32, threads: u32, stop: Stop) -> LoadSpec {
        LoadSpec {
            target: Target::new("http://127.0.0.1:9/", "GET", &[], bytes::Bytes::new()).unwrap(),
            engine: EngineKind::Hyper,
            connections,
            threads,
            stop,
            rate: None,
            pipeline: 1,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(1),
            http2: false,
            use_proxy: false,
        }
    }

    #[test]
    fn connections_and_requests_are_spread_exactly_over_threads() {
        let s = spec(10, 3, Stop::Requests(100));
        let plans: Vec<ThreadPlan> = (0..3).map(|i| ThreadPlan::new(&s, i)).collect();
        assert_eq!(
            plans.iter().map(|p| p.connections).collect::<Vec<_>>(),
            [4, 3, 3]
        );
        assert_eq!(
            plans.iter().map(|p| p.first_connection).collect::<Vec<_>>(),
            [0, 4, 7]
        );
        assert_eq!(plans.iter().map(|p| p.requests.unwrap()).sum::<u64>(), 100);
    }

    #[test]
    fn impossible_loads_are_refused_before_they_start() {
        let never = &mut |_| {};
        let stop = Arc::new(AtomicBool::new(false));
        let err = run(
            &spec(1, 2, Stop::After(Duration::from_secs(1))),
            &stop,
            never,
        )
        .unwrap_err();
        assert!(matches!(err, LoadError::TooFewConnections { .. }), "{err}");
        let mut bad_rate = spec(1, 1, Stop::After(Duration::from_secs(1)));
        bad_rate.rate = Some(0.0);
        assert!(matches!(
            run(&bad_rate, &stop, never),
            Err(LoadError::Rate(_))
        ));
        bad_rate.rate = Some(10.0);
        bad_rate.stop = Stop::Requests(5);
        assert!(matches!(
            run(&bad_rate, &stop, never),
            Err(LoadError::RateWithRequestCount)
        ));
        // A port that was just free: nothing listens there, so fail fast, before any load.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut closed = spec(1, 1, Stop::Requests(5));
        closed.target = Target::new(
            &format!("http://127.0.0.1:{port}/"),
            "GET",
            &[],
            bytes::Bytes::new(),
        )
        .unwrap();
        let err = run(&closed, &stop, never).unwrap_err();
        assert!(matches!(err, LoadError::Unreachable { .. }), "{err}");
    }

    #[test]
    fn tickets_run_out_exactly() {
        let tickets = Some(AtomicU64::new(2));
        assert!(take_ticket(&tickets));
        assert!(take_ticket(&tickets));
        assert!(!take_ticket(&tickets));
        assert!(take_ticket(&None));
    }
}
