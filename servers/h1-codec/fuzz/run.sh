#!/usr/bin/env bash
# Runs every fuzz target of h1-codec for SECONDS each (default 60): CI runs it with 60,
# `just fuzz` with 600. Fails if a target crashes (a panic, a failed property, a disagreement
# with hyper), and shows the input; prints the executions and the coverage of each target.
#
# Needs a nightly Rust (cargo-fuzz builds with -Zsanitizer) and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). A missing nightly is installed with
# `rustup toolchain install nightly --profile minimal`; if that cannot download, the run fails.
#
# The committed seeds (seeds/TARGET, written by `cargo run -p h1-codec --example fuzz_seeds`)
# are read, never written: what libFuzzer finds goes to corpus/TARGET, which git ignores and a
# later run starts from.
set -euo pipefail
seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS per target, default 60]" >&2
    exit 2
fi
cd "$(dirname "$0")"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "== no nightly Rust: rustup toolchain install nightly --profile minimal"
    if ! rustup toolchain install nightly --profile minimal; then
        echo "error: cargo-fuzz needs a nightly Rust and it could not be installed:" \
            "run 'rustup toolchain install nightly' and try again" >&2
        exit 1
    fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed: run 'cargo install cargo-fuzz --locked'" >&2
    exit 1
fi
echo "== $(rustup run nightly rustc --version), $(cargo fuzz --version)"

echo "== the harness's own tests (reference decoder, hyper driven in memory)"
cargo +nightly test --lib --quiet

echo "== build (release, debug assertions, AddressSanitizer)"
cargo +nightly fuzz build

failed=()
summary=()
for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    log="corpus/$target.log"
    echo "== $target: ${seconds}s"
    # -timeout: one input that runs for 10 s is a hang, and a failure.
    if cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -dict=http.dict -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1; then
        :
    else
        failed+=("$target")
        # The panic (the property or the disagreement, with both verdicts), then libFuzzer's end.
        grep -A6 'panicked at' "$log" | grep -v '^stack backtrace' | head -12 || true
        grep -E '^(SUMMARY|stat::)' "$log" || true
        # libFuzzer's random seed: `-seed=N` retraces the run as far as it repeats.
        grep -m1 -E '^INFO: Seed: [0-9]+' "$log" || true
        for input in "artifacts/$target"/*; do
            [ -f "$input" ] || continue
            echo "-- the input, $input (a regression test takes these bytes):"
            od -An -c "$input" | head -20
        done
    fi
    # libFuzzer's last status line: coverage (cov), features (ft), corpus; then the totals.
    done_line=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -1 || true)
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
    echo "${done_line:-(no DONE line: it stopped early)}"
    summary+=("$(printf '%-18s runs %-10s %s' "$target" "${runs:-?}" \
        "$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*|exec/s: [0-9]+' <<<"$done_line" | tr '\n' ' ')")")
done

echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]} (inputs under servers/h1-codec/fuzz/artifacts/)" >&2
    exit 1
fi
