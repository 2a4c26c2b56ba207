//! The command line: one struct per subcommand, parsed with clap's derive API.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use thiserror::Error;

use crate::engine::EngineKind;
use crate::format::parse_duration;
use crate::merge::Window;
use crate::results::cost::RequestPair;
use crate::shard::ShardArgs;

/// The http-rosetta load generator.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load one URL and report throughput and latency.
    Run(RunArgs),
    /// Merge the JSON results of several runs (for example from several machines) exactly.
    Merge(MergeArgs),
    /// Check a running server against the route contract; exit 1 on any mismatch.
    Verify(VerifyArgs),
    /// Benchmark the servers side by side and write the results to a new folder under results/.
    Compare(CompareArgs),
    /// Render the summary files and charts of a comparison again from its run.json.
    Report(ReportArgs),
    /// Count what one request costs each server: instructions (callgrind), allocations and
    /// bytes (DHAT), syscalls and context switches (the kernel's counters), per scenario.
    Cost(CostArgs),
    /// Make the generated tables of README.md and docs/*.md again from their sources (the
    /// reference run, a cost run, `contract::SERVERS`).
    Docs(DocsArgs),
}

/// `loadgen run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The URL to load. A literal `{id}` in it is replaced by varying u32 ids.
    pub url: String,
    /// Connections, each with one request (or one `--pipeline` batch) in flight.
    #[arg(short = 'c', long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Pipelining: write up to this many requests together on each connection and read their
    /// answers in order (h1 engine). Each answer's latency counts from its own send (closed
    /// loop) or due time (open loop).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub pipeline: u32,
    /// How long to measure, for example `10s`, `500ms`, `1m` [default: 10s].
    #[arg(short = 'd', long, value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Send exactly this many requests in total (closed loop only).
    #[arg(short = 'n', long, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Threads, each with its own single-threaded runtime and its own connections.
    #[arg(short = 't', long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Load without recording for this long first.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub warmup: Duration,
    /// Open loop: send this many requests per second in total, whatever the answers take, and
    /// measure latency from when each request was due.
    #[arg(long, value_name = "REQ_PER_S", conflicts_with = "requests")]
    pub rate: Option<f64>,
    /// Request method.
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// A request header, `Name: value`; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(short = 'b', long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Request body, read from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Give up on a request after this long; it counts as a timeout error.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,
    /// Which client does the requests.
    #[arg(long, value_enum, default_value_t = EngineKind::Reqwest)]
    pub engine: EngineKind,
    /// Use HTTP/2 (reqwest engine only: prior knowledge for http://, ALPN for https://).
    #[arg(long)]
    pub http2: bool,
    /// Honour the proxy environment variables (reqwest engine; off by default).
    #[arg(long)]
    pub use_proxy: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Overwrite the JSON file if it exists.
    #[arg(long)]
    pub force: bool,
    /// No live progress bar (it is also off when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Several load machines: this process's share of the run, and when the shards start.
    #[command(flatten)]
    pub shard: ShardArgs,
}

/// `loadgen merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// JSON files written by `loadgen run --json` (with `--shard`: one per shard, each with its
    /// interval log beside it).
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Merge only this window of the measurement, seconds from the start time: `START..END`
    /// (`5..25`, `5s..25s`), on interval boundaries. Leaves out the warm-up and cool-down.
    #[arg(long, value_name = "START..END", value_parser = crate::merge::parse_window)]
    pub window: Option<Window>,
    /// Write the merged result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Overwrite the JSON file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `loadgen verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The server's base URL, for example `http://127.0.0.1:8084`.
    pub url: String,
    /// The name the `Server` header must carry [default: whatever the first answer says, the
    /// same on every answer].
    #[arg(long)]
    pub server: Option<String>,
    /// Give up on an answer after this long.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub timeout: Duration,
}

/// `loadgen compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// What to compare: servers by name (`hyper`), a whole side (`rust` or `go`), or a server
    /// at a git revision (`hyper@HEAD~1`, built in a worktree under
    /// target/contenders/<commit>, cached by commit) [default: every server; the Go ones only
    /// when Go is installed].
    #[arg(value_name = "CONTENDER")]
    pub contenders: Vec<String>,
    /// More contenders, comma-separated (the same as naming them as arguments).
    #[arg(long, value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Which client loads the servers. h1, our raw-socket HTTP/1.1 client, is the default
    /// because it is the only one that saturates the fast servers and can pipeline; reqwest
    /// and hyper show what those clients measure (the pipelined scenario is left out).
    #[arg(long, value_enum, default_value_t = EngineKind::H1)]
    pub engine: EngineKind,
    /// Scenarios, comma-separated: plaintext, pipelined, json, html, users, echo, not-found,
    /// error, and the database's db, queries (q=20), fortunes and updates (q=20) [default:
    /// TechEmpower's: plaintext, pipelined, json, db, queries, fortunes, updates, the database
    /// ones when PostgreSQL is installed or --database-url given; with --quick: plaintext,
    /// pipelined, json and db].
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Connections of each load.
    #[arg(short = 'c', long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Measured time of each closed-loop load [default: 300ms; with --quick: 250ms].
    #[arg(short = 'd', long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Load on each freshly started server before its first scenario [default: 200ms; --quick:
    /// 150ms].
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Unrecorded load before each scenario [default: 100ms].
    #[arg(long, value_parser = parse_duration)]
    pub scenario_warmup: Option<Duration>,
    /// Closed-loop rounds; each starts every server afresh, in a new random order [default: 6;
    /// --quick: 2, or 6 when a contender is a git revision].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: Option<u32>,
    /// The open-loop sweep's rates, comma-separated, the same for every server: shares of the
    /// slowest server's closed-loop maximum (`50%`) or requests per second (`5000`)
    /// [default: 10%,25%,50%,75%,90%; --quick: none, so no sweep unless rates are given]. The
    /// middle rate is the one the headline latency is quoted at.
    #[arg(long, value_delimiter = ',')]
    pub rates: Vec<String>,
    /// The scenarios swept in the open loop, comma-separated [default: plaintext,json;
    /// --quick: plaintext].
    #[arg(long, value_delimiter = ',')]
    pub sweep_scenarios: Vec<String>,
    /// Rounds of the sweep [default: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub sweep_rounds: Option<u32>,
    /// Measured time of each open-loop load [default: 400ms; --quick: 300ms, when rates are
    /// given].
    #[arg(long, value_parser = parse_duration)]
    pub sweep_duration: Option<Duration>,
    /// No open-loop sweep: throughput and CPU only.
    #[arg(long, conflicts_with_all = ["rates", "sweep_scenarios", "sweep_rounds"])]
    pub no_sweep: bool,
    /// CPUs for the servers, for example `0` or `0-1` [default: the first half].
    #[arg(long, value_name = "LIST", requires = "client_cpus")]
    pub server_cpus: Option<String>,
    /// CPUs for the load generator [default: the second half].
    #[arg(long, value_name = "LIST", requires = "server_cpus")]
    pub client_cpus: Option<String>,
    /// A first look within 90 seconds for sixteen servers: two rounds of four short scenarios
    /// (plaintext, pipelined, json and, with a database, db), no sweep, no cost phase, and an
    /// idle phase of 1,000 connections.
    #[arg(long)]
    pub quick: bool,
    /// No cost phase (instructions, allocations, syscalls per request after the sweep).
    #[arg(long, conflicts_with_all = ["cost_scenarios", "cost_requests", "cost_load_requests"])]
    pub no_cost: bool,
    /// Idle keep-alive connections each server holds in the idle phase after the rounds (its
    /// memory per connection, and whether a fresh request is still answered within 100 ms);
    /// 0 skips the phase [default: 5000; --quick: 1000].
    #[arg(long, value_name = "N")]
    pub idle_connections: Option<u32>,
    /// Scenarios of the cost phase (`loadgen cost` measures all of them); db and fortunes only
    /// when the run has a database.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "json,pipelined,db,fortunes"
    )]
    pub cost_scenarios: Vec<String>,
    /// Requests of the cost phase's two valgrind samples (callgrind and DHAT), one connection.
    #[arg(long, value_name = "LOW,HIGH", value_parser = parse_pair, default_value = "200,600")]
    pub cost_requests: RequestPair,
    /// Requests of the cost phase's two native samples (syscalls, context switches); halved
    /// on 2026-12-04 (from 2,000 and 6,000) for the default comparison's 15-minute budget.
    #[arg(long, value_name = "LOW,HIGH", value_parser = parse_pair, default_value = "1000,3000")]
    pub cost_load_requests: RequestPair,
    /// The results folder [default: results/<UTC date-time>-<host>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into the results folder even if it exists.
    #[arg(long)]
    pub force: bool,
    /// Use the `server-<name>` binaries in this folder as they are, instead of building
    /// release binaries with cargo (into $CARGO_TARGET_DIR, or the target folder this load
    /// generator runs from).
    #[arg(long, value_name = "DIR")]
    pub server_bin_dir: Option<PathBuf>,
    /// Give up on a request after this long.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub timeout: Duration,
    /// Compare servers that already run elsewhere instead of starting local ones:
    /// `NAME=URL,…` (`hyper=http://10.0.0.5:8084`), NAME a server or `server@label`. Each is
    /// verified first; they are not restarted between rounds, and their CPU time and memory
    /// are not measured.
    #[arg(long, value_name = "NAME=URL,...", conflicts_with_all = ["contenders", "servers", "server_bin_dir"])]
    pub targets: Option<String>,
    /// An existing PostgreSQL with the schema of servers/contract/data/database.sql for the
    /// database scenarios (`postgres://user:password@host:port/hello_world`): its schema is
    /// checked, its data never dropped [default: a throwaway cluster this run starts and
    /// removes, when PostgreSQL is installed].
    #[arg(long, value_name = "URL", conflicts_with = "no_database")]
    pub database_url: Option<String>,
    /// No database scenarios (db, queries, fortunes, updates), and no PostgreSQL started.
    #[arg(long)]
    pub no_database: bool,
    /// CPUs for the throwaway PostgreSQL, for example `2-3` [default: the servers' CPUs].
    #[arg(long, value_name = "LIST", conflicts_with_all = ["database_url", "no_database"])]
    pub db_cpus: Option<String>,
    /// No live progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `loadgen report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A results folder written by `loadgen compare` (it holds run.json).
    pub dir: PathBuf,
    /// Also replace the results section of this README (between `<!-- results:begin -->` and
    /// `<!-- results:end -->`) with this run's headline table.
    #[arg(long, value_name = "FILE")]
    pub update_readme: Option<PathBuf>,
}

/// `loadgen docs`.
#[derive(Debug, Clone, Args)]
pub struct DocsArgs {
    /// Change nothing: name the documents whose generated blocks differ, and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// The workspace root, which holds README.md and docs/.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub root: PathBuf,
}

/// `loadgen cost`.
#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// Servers of the workspace to measure, comma-separated [default: all of them, unless
    /// --binary is given].
    #[arg(long, value_delimiter = ',')]
    pub servers: Vec<String>,
    /// Any other server binary that speaks the contract's command line, as `NAME=PATH`;
    /// repeat for more.
    #[arg(long, value_name = "NAME=PATH")]
    pub binary: Vec<String>,
    /// Scenarios, comma-separated: plaintext, pipelined, json, html, users, echo, error, and
    /// the database's db and fortunes (against a throwaway PostgreSQL) [default: all].
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// The folder of the `server-<name>` binaries [default: the release folder of the target
    /// folder this load generator runs from].
    #[arg(long, value_name = "DIR")]
    pub server_bin_dir: Option<PathBuf>,
    /// Requests of callgrind's two samples, on one connection.
    #[arg(long, value_name = "LOW,HIGH", value_parser = parse_pair, default_value = "1000,3000")]
    pub requests: RequestPair,
    /// Requests of DHAT's two samples, on one connection (each sample is a run of its own).
    #[arg(long, value_name = "LOW,HIGH", value_parser = parse_pair, default_value = "1000,3000")]
    pub dhat_requests: RequestPair,
    /// Requests of the two native samples, under the closed-loop load.
    #[arg(long, value_name = "LOW,HIGH", value_parser = parse_pair, default_value = "20000,60000")]
    pub load_requests: RequestPair,
    /// Connections of the closed-loop load.
    #[arg(short = 'c', long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Unmeasured requests before each scenario's first sample.
    #[arg(long, default_value_t = 100)]
    pub warmup_requests: u64,
    /// Measurements of every figure, each in a fresh server process.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// The servers' `--threads`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// The results folder (cost.json, cost.md) [default: results/cost-<UTC date-time>-<host>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into the results folder even if it exists.
    #[arg(long)]
    pub force: bool,
}

/// A `LOW,HIGH` that is not two request counts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PairError {
    /// No comma.
    #[error("{0:?} is not LOW,HIGH (two request counts)")]
    NotAPair(String),
    /// A side that is not a number.
    #[error("{count:?} in {text:?} is not a request count: {source}")]
    NotACount {
        /// The side.
        count: String,
        /// The whole text.
        text: String,
        /// Why.
        source: std::num::ParseIntError,
    },
    /// Zero, or the second not the larger.
    #[error("{0:?}: the counts must be LOW,HIGH with 0 < LOW < HIGH")]
    Order(String),
}

/// Parses `LOW,HIGH`: two request counts, the second the larger.
pub fn parse_pair(text: &str) -> Result<RequestPair, PairError> {
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|source| PairError::NotACount {
                count: s.to_owned(),
                text: text.to_owned(),
                source,
            })
    };
    let (low, high) = text
        .split_once(',')
        .ok_or_else(|| PairError::NotAPair(text.to_owned()))?;
    let pair = RequestPair {
        low: parse(low)?,
        high: parse(high)?,
    };
    if pair.low == 0 || pair.high <= pair.low {
        return Err(PairError::Order(text.to_owned()));
    }
    Ok(pair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_rejects_conflicting_and_empty_settings() {
        let parse =
            |args: &[&str]| Cli::try_parse_from([&["loadgen", "run", "http://x/"], args].concat());
        assert!(parse(&["-c", "0"]).is_err());
        assert!(parse(&["-d", "1s", "-n", "10"]).is_err());
        assert!(parse(&["--rate", "100", "-n", "10"]).is_err());
        assert!(parse(&["-t", "0"]).is_err());
        assert!(parse(&["-c", "8", "-t", "2", "-d", "1s", "--engine", "hyper"]).is_ok());
    }

    #[test]
    fn request_pairs_are_low_then_high() {
        assert_eq!(
            parse_pair("1000,3000"),
            Ok(RequestPair {
                low: 1000,
                high: 3000
            })
        );
        assert!(parse_pair("3000,1000").is_err());
        assert!(parse_pair("0,10").is_err());
        assert!(parse_pair("1000").is_err());
        assert!(parse_pair("a,b").is_err());
    }
}
