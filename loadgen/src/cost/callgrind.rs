//! valgrind's callgrind: the command that starts a server under it, the monitor command that
//! dumps its counters mid-run (what `callgrind_control --dump` sends through vgdb), and the
//! parser of its output files (the `events:` line names the counters, `totals:` or `summary:`
//! holds their values).
//!
//! Every dump writes a file of its own, `<out>.<n>` for the n-th dump, and zeroes the
//! counters, so one run of a server measures many scenarios: each dump holds exactly the work
//! done since the one before.
//!
//! A dump also counts every call from one function to another (its `calls=` lines), and so the
//! calls into the allocator: the allocations, counted exactly in the same run as the
//! instructions (DHAT, which sees the sizes, cannot be zeroed mid-run).

use std::collections::HashMap;

use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// The event callgrind counts by default: instructions executed, user space only.
pub const INSTRUCTIONS: &str = "Ir";

/// The functions a program calls for a new heap block: the C library's (Rust's default global
/// allocator calls `malloc`, `calloc`, `realloc` and, for large alignments, `posix_memalign`)
/// and the Go runtime's `mallocgc`, which every Go allocation that escapes to the heap goes
/// through (`new`, `make`, appends that grow, conversions to interfaces). None of them calls
/// another of them in glibc or in Go 1.26, so no block is counted twice.
pub const ALLOCATOR_ENTRIES: &[&str] = &[
    "malloc",
    "calloc",
    "realloc",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "runtime.mallocgc",
];

/// What one dump counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpCounts {
    /// Instructions executed (`Ir`).
    pub instructions: u64,
    /// Calls into [`ALLOCATOR_ENTRIES`].
    pub allocations: u64,
}

/// A callgrind file that does not say what it counted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// No `events:` line, or one without `Ir`.
    #[error("no `events:` line naming {INSTRUCTIONS}")]
    NoEvents,
    /// No `totals:` or `summary:` line, or one too short for the events.
    #[error("no `totals:` or `summary:` line with a count for each event")]
    NoTotals,
    /// A `cfn=(id)` that no earlier line of the file named.
    #[error("`cfn=({0})` refers to a function the file never named")]
    UnknownFunction(String),
    /// A `calls=` line whose count is not a number.
    #[error("a `calls=` line without a count: {0:?}")]
    BadCalls(String),
}

/// A failure to talk to a running callgrind.
#[derive(Debug, Error)]
pub enum DumpError {
    /// vgdb could not be run.
    #[error("cannot run {}: {source}", vgdb.display())]
    Spawn {
        /// The vgdb binary.
        vgdb: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// vgdb ran and failed.
    #[error("`vgdb --pid={pid} {command}` failed ({status}): {output}")]
    Failed {
        /// The valgrind process.
        pid: u32,
        /// The monitor command.
        command: String,
        /// vgdb's exit status.
        status: std::process::ExitStatus,
        /// What it printed.
        output: String,
    },
}

/// The valgrind arguments (before the server's binary) that run it under callgrind, writing its
/// dumps to `out` (`out.1`, `out.2`…, or with `per_thread` a file per thread,
/// `out.1-01`, `out.1-02`…) and valgrind's own messages to `log`.
pub fn launcher(valgrind: &Path, out: &Path, log: &Path, per_thread: bool) -> Vec<String> {
    let mut args = vec![
        valgrind.display().to_string(),
        "--tool=callgrind".to_owned(),
        format!("--callgrind-out-file={}", out.display()),
        format!("--log-file={}", log.display()),
        // vgdb reaches a server blocked in a syscall (waiting for a request) through ptrace.
        "--vgdb=yes".to_owned(),
        // Function names in full on every line: each dump can then be read on its own.
        "--compress-strings=no".to_owned(),
    ];
    if per_thread {
        args.push("--separate-threads=yes".to_owned());
    }
    args
}

/// The file of the `n`-th dump (from 1) of a run writing to `out`.
pub fn dump_path(out: &Path, n: u32) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The files of the `n`-th dump (from 1) of a run writing to `out` with a file per thread
/// (`out.n-01`, `out.n-02`…), in thread order.
pub fn thread_dump_paths(out: &Path, n: u32) -> std::io::Result<Vec<PathBuf>> {
    let prefix = format!(
        "{}.{n}-",
        out.file_name().unwrap_or_default().to_string_lossy()
    );
    let dir = out.parent().unwrap_or(Path::new("."));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_prefix(&prefix))
                .is_some_and(|thread| {
                    !thread.is_empty() && thread.bytes().all(|b| b.is_ascii_digit())
                })
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// Asks the callgrind running as `pid` to dump its counters (and zero them), as
/// `callgrind_control --dump=<hint> <pid>` does; returns once the file is written.
pub fn dump(vgdb: &Path, pid: u32, hint: &str) -> Result<(), DumpError> {
    let command = format!("dump {hint}");
    let output = Command::new(vgdb)
        .arg(format!("--pid={pid}"))
        .args(command.split(' '))
        .output()
        .map_err(|source| DumpError::Spawn {
            vgdb: vgdb.to_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(DumpError::Failed {
        pid,
        command,
        status: output.status,
        output: String::from_utf8_lossy(&[output.stdout, output.stderr].concat())
            .trim()
            .to_owned(),
    })
}

/// The instructions (`Ir`) counted in one callgrind output file.
pub fn instructions(text: &str) -> Result<u64, ParseError> {
    let events: Vec<&str> = text
        .lines()
        .find_map(|line| line.strip_prefix("events:"))
        .ok_or(ParseError::NoEvents)?
        .split_whitespace()
        .collect();
    let column = events
        .iter()
        .position(|&e| e == INSTRUCTIONS)
        .ok_or(ParseError::NoEvents)?;
    // `totals:` is the sum over the file; `summary:` is the older name for the same figure.
    let totals = |prefix: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|values| values.split_whitespace().nth(column))
            .and_then(|value| value.parse::<u64>().ok())
    };
    totals("totals:")
        .or_else(|| totals("summary:"))
        .ok_or(ParseError::NoTotals)
}

/// The instructions and the allocations counted in one callgrind output file.
pub fn counts(text: &str) -> Result<DumpCounts, ParseError> {
    Ok(DumpCounts {
        instructions: instructions(text)?,
        allocations: calls_to(text, ALLOCATOR_ENTRIES)?,
    })
}

/// The function a Go program's `sysmon` thread runs for its whole life: it wakes by the clock
/// (every 20 µs to 10 ms) to retake processors, poll the network and force a collection, so its
/// work grows with the time a sample takes, not with its requests.
pub const GO_SYSMON: &str = "runtime.sysmon";

/// The Go scheduler's search for a goroutine to run (`schedule` calls it whenever a goroutine
/// parks or ends): it spins, steals from other processors' queues and polls the network until
/// one is ready, for as long as none is, so its work depends on timing.
pub const GO_SCHEDULER_SEARCH: &str = "runtime.findRunnable";

/// Where a Go server with its collector off (`GOGC=off`) takes fresh pages for a span (an
/// allocator's cache, a goroutine's stack). A running collector would hand back swept spans
/// instead; with none, every span comes from here, and how long the page allocator searches
/// (`runtime.(*pageAlloc).find`) depends on where earlier spans landed: of three runs of
/// go-nethttp's json, one spent almost twice as much here as the other two. The work is the
/// runtime's: the runtime-included run counts it.
pub const GO_FRESH_PAGES: [&str; 2] = ["runtime.(*mheap).alloc", "runtime.(*mheap).allocManual"];

/// The runtime's slow paths of a type assertion and a type switch on an interface. The
/// compiled code looks in a cache at the call site first and calls these only on a miss; they
/// add to that cache at random, on about one miss in 1,024 (`cheaprand`), so whether a site's
/// cache was filled before a sample or during it is chance. A filled cache is never called
/// again: of three runs of go-handler pipelined ×16, one paid a miss here on every request,
/// and another none, its caches filled during the warmup.
pub const GO_ASSERTION_CACHE_MISSES: [&str; 2] = ["runtime.typeAssert", "runtime.interfaceSwitch"];

/// What fills an assertion's call-site cache on one of [`GO_ASSERTION_CACHE_MISSES`]'s random
/// picks: it allocates the new cache, so whether a sample holds that allocation is chance too
/// (go-nethttp's json: one allocation more or less in a sample of 400 requests).
pub const GO_ASSERTION_CACHE_FILLS: [&str; 2] = [
    "runtime.buildTypeAssertCache",
    "runtime.buildInterfaceSwitchCache",
];

/// What a Go server's ranked count leaves out of its serving threads: the scheduler's search
/// ([`GO_SCHEDULER_SEARCH`]), fresh pages ([`GO_FRESH_PAGES`]) and the assertion caches'
/// misses ([`GO_ASSERTION_CACHE_MISSES`]).
pub const GO_LEFT_OUT: [&str; 5] = [
    GO_SCHEDULER_SEARCH,
    GO_FRESH_PAGES[0],
    GO_FRESH_PAGES[1],
    GO_ASSERTION_CACHE_MISSES[0],
    GO_ASSERTION_CACHE_MISSES[1],
];

/// What one dump of a Go server run with `--separate-threads=yes` (a file per thread) counted
/// for its requests: every thread but `sysmon`'s ([`GO_SYSMON`]), less the instructions spent
/// inside the functions of [`GO_LEFT_OUT`]. The allocations are every thread's, less those of
/// the assertion caches' fills ([`GO_ASSERTION_CACHE_FILLS`]).
pub fn go_serving_counts(threads: &[String]) -> Result<DumpCounts, ParseError> {
    let mut total = DumpCounts {
        instructions: 0,
        allocations: 0,
    };
    for text in threads {
        if defines(text, GO_SYSMON) {
            continue;
        }
        // One reading of the file's calls serves both counts.
        let calls = calls(text)?;
        let left_out: u64 = from_outside(&calls, &GO_LEFT_OUT)
            .map(|call| call.instructions)
            .sum();
        total.instructions += instructions(text)?.saturating_sub(left_out);
        let fill = |caller: &str| GO_ASSERTION_CACHE_FILLS.contains(&without_recursion(caller));
        total.allocations += from_outside(&calls, ALLOCATOR_ENTRIES)
            .filter(|call| !call.caller.is_some_and(fill))
            .map(|call| call.count)
            .sum::<u64>();
    }
    Ok(total)
}

/// Whether a callgrind file has a block of the function `name` (`fn=name`, or
/// `fn=(id) name` compressed): whether that function ran in what the file covers.
fn defines(text: &str, name: &str) -> bool {
    text.lines()
        .filter_map(|line| line.strip_prefix("fn="))
        .any(|spec| {
            let spec = spec
                .strip_prefix('(')
                .and_then(|rest| rest.split_once(')'))
                .map_or(spec, |(_, rest)| rest.trim_start());
            spec == name
        })
}

/// The calls counted in one callgrind output file into any of `functions`, by name. Reads both
/// the plain form (`cfn=malloc`) and the compressed one (`cfn=(12) malloc` the first time,
/// `cfn=(12)` after).
///
/// A name is read without callgrind's recursion suffix (`runtime.mallocgc'2`): when a Go
/// goroutine leaves its stack inside a call (callgrind follows the thread, not the goroutine),
/// callgrind keeps that frame open, and every later call into the function on the thread is
/// a "recursive" one, under the suffixed name. Read by the exact name, whole stretches of a
/// Go server's allocations went uncounted (go-echo pipelined: 15.1, 27.0 and 35.8 a request
/// in three runs). A call from one of `functions` into another is inside the first and not
/// counted again.
pub fn calls_to(text: &str, functions: &[&str]) -> Result<u64, ParseError> {
    Ok(from_outside(&calls(text)?, functions)
        .map(|call| call.count)
        .sum())
}

/// The instructions spent inside calls into any of `functions` (callgrind's inclusive cost of
/// each call, its callees' work included), counted once: a call from one of them into another
/// is inside the first. A recursive call's name carries callgrind's `'2` suffix; it is read
/// without it.
pub fn instructions_inside(text: &str, functions: &[&str]) -> Result<u64, ParseError> {
    Ok(from_outside(&calls(text)?, functions)
        .map(|call| call.instructions)
        .sum())
}

/// Of `calls`, those into any of `functions` from outside them, each name read without its
/// recursion suffix: what [`calls_to`] and [`instructions_inside`] count.
fn from_outside<'c, 'a>(
    calls: &'c [Call<'a>],
    functions: &'c [&str],
) -> impl Iterator<Item = &'c Call<'a>> {
    let named = |name: &str| functions.contains(&without_recursion(name));
    calls
        .iter()
        .filter(move |call| named(call.callee) && !call.caller.is_some_and(named))
}

/// A function's name without the `'N` callgrind gives a recursive call's frames.
fn without_recursion(name: &str) -> &str {
    match name.rsplit_once('\'') {
        Some((base, depth)) if !depth.is_empty() && depth.bytes().all(|b| b.is_ascii_digit()) => {
            base
        }
        _ => name,
    }
}

/// One `calls=` line of a callgrind file: who called whom, how often, and the instructions
/// those calls spent (the cost line after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Call<'a> {
    caller: Option<&'a str>,
    callee: &'a str,
    count: u64,
    instructions: u64,
}

/// Every call a callgrind file records.
fn calls(text: &str) -> Result<Vec<Call<'_>>, ParseError> {
    // The cost line after `calls=` holds the positions (`positions:`, `line` by default), then
    // a value per event of `events:`; trailing zeros may be left out.
    let positions = text
        .lines()
        .find_map(|line| line.strip_prefix("positions:"))
        .map_or(1, |p| p.split_whitespace().count());
    let column = text
        .lines()
        .find_map(|line| line.strip_prefix("events:"))
        .and_then(|events| events.split_whitespace().position(|e| e == INSTRUCTIONS))
        .map(|i| positions + i);
    let mut names: HashMap<&str, &str> = HashMap::new();
    let (mut caller, mut callee): (Option<&str>, Option<&str>) = (None, None);
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (is_callee, spec) = if let Some(spec) = line.strip_prefix("cfn=") {
            (true, spec)
        } else if let Some(spec) = line.strip_prefix("fn=") {
            (false, spec)
        } else if let Some(calls) = line.strip_prefix("calls=") {
            let count = calls
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| ParseError::BadCalls(line.to_owned()))?;
            let instructions = match (lines.next(), column) {
                (Some(cost), Some(column)) => cost
                    .split_whitespace()
                    .nth(column)
                    .map_or(Ok(0), str::parse::<u64>)
                    .map_err(|_| ParseError::BadCalls(format!("{line} / {cost}")))?,
                _ => 0,
            };
            if let Some(callee) = callee {
                out.push(Call {
                    caller,
                    callee,
                    count,
                    instructions,
                });
            }
            continue;
        } else {
            continue;
        };
        // A compressed name's id is a number: `(below main)` is a name.
        let compressed = spec
            .strip_prefix('(')
            .and_then(|rest| rest.split_once(')'))
            .filter(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        let name = match compressed {
            Some((id, "")) => *names
                .get(id)
                .ok_or_else(|| ParseError::UnknownFunction(id.to_owned()))?,
            Some((id, name)) => {
                let name = name.trim_start();
                names.insert(id, name);
                name
            }
            None => spec,
        };
        if is_callee {
            callee = Some(name);
        } else {
            // A new function's block: its calls name their callee afresh.
            caller = Some(name);
            callee = None;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_instructions_of_a_real_dump() {
        // A dump taken on this project's machine (`vgdb --pid=PID dump json-1000`, what
        // `callgrind_control --dump` sends) of the debug server-tokio after 1,000 `GET /json` on
        // one connection; the per-function lines are cut after the first function.
        let text = include_str!("fixtures/callgrind.out.1");
        assert_eq!(instructions(text), Ok(29_636_022));
    }

    #[test]
    fn counts_the_allocations_of_real_dumps_of_a_rust_and_a_go_server() {
        // Dumps taken on this project's machine with the launcher's options (names in full),
        // of the release server-hyper and server-go-gin (GODEBUG=asyncpreemptoff=1) after
        // 100 unmeasured and then 200 measured `GET /json` on one connection. The functions
        // that call no allocator are cut, and of the others every call but the allocator's
        // and one more; `totals:` and the allocator calls are as callgrind wrote them (a
        // script summed those over the whole dump: 1,612 and 4,542).
        let hyper = include_str!("fixtures/callgrind-hyper-json.out");
        assert_eq!(
            counts(hyper),
            Ok(DumpCounts {
                instructions: 2_048_503,
                allocations: 1_612,
            })
        );
        let go = include_str!("fixtures/callgrind-go-gin-json.out");
        assert_eq!(
            counts(go),
            Ok(DumpCounts {
                instructions: 8_262_881,
                allocations: 4_542,
            })
        );
    }

    #[test]
    fn only_calls_into_the_allocator_are_counted_in_either_form_of_names() {
        let plain = "events: Ir\nfn=main\ncfn=malloc\ncalls=3 10\n* 9\ncfn=free\ncalls=5 11\n\
                     * 4\nfn=(below main)\ncfn=(below main)\ncalls=1 2\n* 1\ncfn=calloc\ncalls=2 3\n* 1\n";
        assert_eq!(calls_to(plain, ALLOCATOR_ENTRIES), Ok(5));
        let compressed = "fn=(1) main\ncfn=(2) malloc\ncalls=3 10\n* 9\ncfn=(3) free\ncalls=5 11\n\
                          * 4\nfn=(3)\ncfn=(2)\ncalls=7 1\n* 2\n";
        assert_eq!(calls_to(compressed, ALLOCATOR_ENTRIES), Ok(10));
        assert_eq!(
            calls_to("fn=(1) a\ncfn=(9)\ncalls=1 2\n", ALLOCATOR_ENTRIES),
            Err(ParseError::UnknownFunction("9".into()))
        );
        assert!(matches!(
            calls_to("cfn=malloc\ncalls=x 2\n", ALLOCATOR_ENTRIES),
            Err(ParseError::BadCalls(_))
        ));
    }

    #[test]
    fn calls_under_a_frame_callgrind_kept_open_are_counted_by_the_functions_name() {
        // One thread's file of one dump (`--separate-threads=yes`) of the release
        // server-go-handler under callgrind, cut as the other fixtures are. callgrind kept a
        // call from `net/http.(*conn).serve` into `runtime.mallocgc` open (0 calls returned,
        // the thread's whole cost inside it), so each of the thread's 1,381 allocations is a
        // call into `runtime.mallocgc'2`; read by the exact name, none was counted.
        let stale = include_str!("fixtures/callgrind-go-handler-stale-frame-thread.out");
        assert_eq!(
            calls_to(stale, &["runtime.mallocgc"]),
            Ok(898 + 276 + 138 + 69)
        );
        // True recursion is one allocation: mallocgc's own call into mallocgc'2 is inside it.
        let nested = "fn=main\ncfn=runtime.mallocgc\ncalls=2 1\n* 9\nfn=runtime.mallocgc\n\
                      cfn=runtime.mallocgc'2\ncalls=1 1\n* 3\nfn=f\ncfn=malloc'3\ncalls=4 1\n* 1\n";
        assert_eq!(calls_to(nested, ALLOCATOR_ENTRIES), Ok(2 + 4));
    }

    #[test]
    fn a_go_servers_serving_count_leaves_out_sysmon_and_the_schedulers_search() {
        // Two of the files per thread of one dump (`--separate-threads=yes`) of the release
        // server-go-gin under GOGC=off, after 600 more `GET /` pipelined ×16: the sysmon
        // thread's, and a thread that served requests. Cut as the other fixtures are: every
        // call but those into the allocator and into the scheduler's search is left out; the
        // totals are callgrind's. A script that read the whole files found the same: 428,588
        // instructions inside `runtime.findRunnable`, 4,943 calls into `runtime.mallocgc`.
        let sysmon = include_str!("fixtures/callgrind-go-gin-sysmon-thread.out");
        let serving = include_str!("fixtures/callgrind-go-gin-serving-thread.out");
        assert!(defines(sysmon, GO_SYSMON) && !defines(serving, GO_SYSMON));
        assert_eq!(instructions(sysmon), Ok(1_429_641));
        assert_eq!(
            instructions_inside(serving, &[GO_SCHEDULER_SEARCH]),
            Ok(428_588)
        );
        assert_eq!(
            go_serving_counts(&[sysmon.to_owned(), serving.to_owned()]),
            Ok(DumpCounts {
                instructions: 7_784_824 - 428_588,
                // Two of them filled an assertion cache (`runtime.buildTypeAssertCache`).
                allocations: 4_943 - 2,
            })
        );
    }

    #[test]
    fn a_go_servers_serving_count_leaves_out_fresh_pages_and_assertion_cache_misses() {
        // The file of the thread that served most of the requests, one dump
        // (`--separate-threads=yes`) of the release server-go-handler under GOGC=off after 600
        // more `GET /` pipelined ×16 (idle first), cut as the other fixtures are: every call
        // but those into the allocator, the scheduler's search, the heap's fresh pages and the
        // assertions' slow paths is left out; the totals are callgrind's.
        let thread = include_str!("fixtures/callgrind-go-handler-pipelined-thread.out");
        let search = 334_064;
        let fresh_pages = 61_565;
        let assertion_misses = 20_777 + 16_470 + 20_856 + 20_856;
        assert_eq!(
            instructions_inside(thread, &GO_FRESH_PAGES),
            Ok(fresh_pages)
        );
        assert_eq!(
            instructions_inside(thread, &GO_ASSERTION_CACHE_MISSES),
            Ok(assertion_misses)
        );
        assert_eq!(
            go_serving_counts(&[thread.to_owned()]),
            Ok(DumpCounts {
                instructions: 9_354_743 - search - fresh_pages - assertion_misses,
                allocations: 3_420 + 1_052 + 526 + 263,
            })
        );
    }

    #[test]
    fn an_assertion_caches_fill_is_no_allocation_of_the_ranked_count() {
        // The file of the thread that served the requests, one dump of the release
        // server-go-nethttp under GOGC=off after 600 more `GET /json` (idle first), cut as the
        // other fixtures are. A call site's assertion cache was filled in this sample: one
        // call from `runtime.buildTypeAssertCache` into the allocator.
        let thread = include_str!("fixtures/callgrind-go-nethttp-json-thread.out");
        let every = 1 + 571 + 1_713 + 7_423 + 571 + 1_142 + 1_142;
        assert_eq!(calls_to(thread, ALLOCATOR_ENTRIES), Ok(every));
        let left_out = 1_612_793 + 45_109 + 45_109 + 7_312 + 125_459;
        assert_eq!(instructions_inside(thread, &GO_LEFT_OUT), Ok(left_out));
        assert_eq!(
            go_serving_counts(&[thread.to_owned()]),
            Ok(DumpCounts {
                instructions: 24_726_631 - left_out,
                allocations: every - 1,
            })
        );
    }

    #[test]
    fn work_inside_a_function_is_counted_once_and_recursion_is_read_without_its_suffix() {
        // main calls search twice (100 instructions inside), search calls itself (a frame
        // named search'2, inside the 100 already) and poll, which calls search once more
        // (inside poll's 40, but poll is not one of the functions asked for).
        let text = "positions: line\nevents: Ir\nfn=(1) main\ncfn=(2) search\ncalls=2 5\n7 100\n\
                    fn=(2)\ncfn=(3) search'2\ncalls=1 5\n9 30\ncfn=(4) poll\ncalls=1 8\n10 40\n\
                    fn=(4)\ncfn=(2)\ncalls=1 5\n+1 25\n";
        assert_eq!(instructions_inside(text, &["search"]), Ok(125));
        assert_eq!(instructions_inside(text, &["poll"]), Ok(40));
        assert_eq!(calls_to(text, &["search"]), Ok(3));
        // Two position columns (`--dump-instr=yes`): the count is the third.
        let text =
            "positions: instr line\nevents: Ir Dr\nfn=a\ncfn=b\ncalls=1 0x10 5\n0x20 6 77 3\n";
        assert_eq!(instructions_inside(text, &["b"]), Ok(77));
        assert!(matches!(
            instructions_inside("events: Ir\nfn=a\ncfn=b\ncalls=1 5\n* x\n", &["b"]),
            Err(ParseError::BadCalls(_))
        ));
        assert_eq!(without_recursion("f'12"), "f");
        assert_eq!(without_recursion("f'"), "f'");
    }

    #[test]
    fn a_dump_per_thread_is_found_by_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("callgrind.out");
        for name in [
            "callgrind.out.2-01",
            "callgrind.out.2-02",
            "callgrind.out.12-01",
            "callgrind.out.2",
            "callgrind.out.2-x",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = thread_dump_paths(&out, 2)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["callgrind.out.2-01", "callgrind.out.2-02"]);
        assert!(
            launcher(Path::new("valgrind"), &out, &out, true)
                .contains(&"--separate-threads=yes".to_owned())
        );
        assert!(
            !launcher(Path::new("valgrind"), &out, &out, false)
                .iter()
                .any(|a| a.contains("separate"))
        );
    }

    #[test]
    fn the_instructions_column_is_found_by_name() {
        let text = "events: Dr Ir Dw\nsummary: 5 7 9\n";
        assert_eq!(instructions(text), Ok(7));
        let text = "events: Ir\nsummary: 11\ntotals: 12\n";
        assert_eq!(instructions(text), Ok(12));
        assert_eq!(instructions("summary: 5\n"), Err(ParseError::NoEvents));
        assert_eq!(
            instructions("events: Dr\nsummary: 5\n"),
            Err(ParseError::NoEvents)
        );
        assert_eq!(
            instructions("events: Dr Ir\nsummary: 5\n"),
            Err(ParseError::NoTotals)
        );
        assert_eq!(instructions("events: Ir\n"), Err(ParseError::NoTotals));
    }

    #[test]
    fn dumps_are_numbered_after_the_output_file() {
        assert_eq!(
            dump_path(Path::new("/tmp/x/callgrind.out"), 3),
            PathBuf::from("/tmp/x/callgrind.out.3")
        );
    }
}
