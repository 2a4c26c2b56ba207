//! How a run counted what it reports beside the load generator's own figures: the servers' CPU
//! time (a cgroup's `cpu.stat`, the threads' `schedstat`, or, in older runs, `/proc/PID/stat`'s
//! clock ticks) and their peak memory (`memory.peak` or VmHWM). The machine line of the summary
//! and of the page says it.

use crate::analysis::Comparison;
use crate::cgroup::CpuMethod;

/// The counters of older runs, which recorded no method.
const CLOCK_TICKS: &str = "/proc/PID/stat utime + stime (10 ms clock ticks)";

/// How the servers' CPU time was counted, each method once, in the order first used:
/// `cgroup v2 cpu.stat usage_usec (every thread, µs)`; empty when no server ran here.
pub fn cpu_methods(run: &Comparison) -> String {
    let visits = &run.record.measurements.visits;
    let mut methods: Vec<CpuMethod> = Vec::new();
    for method in visits.iter().filter_map(|v| v.cpu_method) {
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    if methods.is_empty() {
        let local = visits.iter().any(|v| v.started && v.rss_peak_kib.is_some());
        return if local {
            CLOCK_TICKS.to_owned()
        } else {
            String::new()
        };
    }
    methods
        .iter()
        .map(|m| m.describe())
        .collect::<Vec<_>>()
        .join("; some visits: ")
}

/// Where the peak memory comes from.
pub fn memory_method(run: &Comparison) -> &'static str {
    if run
        .record
        .measurements
        .visits
        .iter()
        .any(|v| v.memory_peak_kib.is_some())
    {
        "the server's cgroup memory.peak"
    } else {
        "the process's VmHWM (no memory.peak in this kernel's cgroup v2 hierarchy)"
    }
}

/// One sentence for the summary's machine paragraph: how CPU and memory were counted, and
/// the loads measured again; empty when no server ran here and nothing was repeated.
pub fn sentence(run: &Comparison) -> String {
    let cpu = cpu_methods(run);
    // An older run recorded no method: its paragraph stays as it was made.
    let recorded = run
        .record
        .measurements
        .visits
        .iter()
        .any(|v| v.cpu_method.is_some());
    let mut out = if cpu.is_empty() || !recorded {
        String::new()
    } else {
        format!(
            " Server CPU time counted by {cpu}; peak memory from {}.",
            memory_method(run)
        )
    };
    if let Some(repeats) = repeats(run) {
        out.push(' ');
        out.push_str(&repeats);
    }
    out
}

/// How many closed-loop loads were measured again because the machine was disturbed, and by
/// what: `3 closed-loop loads were measured again (steal over 20 %: 2; speed probe over 30 %
/// slower than the fastest: 1; at most 2 repeats each).`; `None` in a run that did not repeat
/// loads.
pub fn repeats(run: &Comparison) -> Option<String> {
    let settings = run.record.settings.repeat?;
    let repeats = &run.record.measurements.repeats;
    if repeats.is_empty() {
        return Some(format!(
            "No load was measured again (a load is repeated, at most {} times, when steal passes {:.0} % or the speed probe is over {:.0} % slower than the run's fastest).",
            settings.limit,
            settings.steal * 100.0,
            settings.slowdown * 100.0
        ));
    }
    let steal = repeats.iter().filter(|r| r.steal > settings.steal).count();
    let slow = repeats
        .iter()
        .filter(|r| r.slowdown > settings.slowdown)
        .count();
    Some(format!(
        "{} closed-loop load{} measured again because the machine was disturbed (steal over {:.0} %: {steal}; speed probe over {:.0} % slower than the run's fastest: {slow}; at most {} repeats each, the last measurement counts; run.json lists each).",
        repeats.len(),
        if repeats.len() == 1 { " was" } else { "s were" },
        settings.steal * 100.0,
        settings.slowdown * 100.0,
        settings.limit
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;
    use crate::results::{RepeatRecord, RepeatSettings, sample};

    #[test]
    fn the_machine_line_says_which_counter_counted() {
        let mut record = sample::record(&[("hyper", "hyper")], &["plaintext"], 1);
        sample::add_round(
            &mut record,
            "hyper",
            "plaintext",
            sample::round(1, 1e5, 10.0, 0.5),
        );
        let older = analyze(record.clone());
        assert!(cpu_methods(&older).contains("clock ticks"));
        assert_eq!(
            sentence(&older),
            "",
            "an older run's paragraph stays as it was"
        );
        record.measurements.visits[0].cpu_method = Some(CpuMethod::Cgroup);
        let cgroup = sentence(&analyze(record.clone()));
        assert!(cgroup.contains("cpu.stat usage_usec"), "{cgroup}");
        assert!(cgroup.contains("VmHWM"), "{cgroup}");
        record.measurements.visits[0].memory_peak_kib = Some(9000);
        let analyzed = analyze(record);
        assert!(sentence(&analyzed).contains("memory.peak"));
        assert_eq!(analyzed.contenders[0].rss_peak_kib, Some(9000));
    }

    #[test]
    fn the_summary_counts_the_repeated_loads_by_cause() {
        let mut record = sample::record(&[("hyper", "hyper")], &["plaintext"], 1);
        assert_eq!(repeats(&analyze(record.clone())), None, "an older run");
        record.settings.repeat = Some(RepeatSettings {
            steal: 0.2,
            slowdown: 0.3,
            limit: 2,
        });
        let none = repeats(&analyze(record.clone())).unwrap();
        assert!(none.starts_with("No load was measured again"), "{none}");
        let repeat = |steal, slowdown| RepeatRecord {
            contender: "hyper".into(),
            scenario: "plaintext".into(),
            round: 1,
            attempt: 1,
            steal,
            slowdown,
            reason: String::new(),
        };
        record.measurements.repeats = vec![repeat(0.5, 0.0), repeat(0.01, 0.9), repeat(0.3, 0.4)];
        let text = sentence(&analyze(record));
        assert!(
            text.contains("3 closed-loop loads were measured again"),
            "{text}"
        );
        assert!(text.contains("steal over 20 %: 2"), "{text}");
        assert!(text.contains("slower than the run's fastest: 2"), "{text}");
    }
}
