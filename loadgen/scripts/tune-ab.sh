#!/usr/bin/env bash
# Interleaved A/B runs of one server's tuning variants, with the release load generator: the
# method behind the Go servers' Tuning tables (servers/go-*/README.md).
#
#   loadgen/scripts/tune-ab.sh ROUNDS PATH LABEL=BINARY[,ENV=VALUE...] ...
#
# The first variant is the baseline. In each round every variant runs in turn (in reverse order
# in even rounds, so that a drift of the machine's load does not always favour the same one):
# the server is started with `--threads 1` pinned to CPU 0, then loaded by `loadgen run --engine
# h1 -c 64` pinned to CPU 1, not pipelined and then 16 pipelined (1 s of warm-up, then
# DURATION, 5 s unless set). The server's CPU time per answer is read from /proc/PID/stat
# (utime + stime, all its threads) around the measured run; resident memory (VmRSS, and the
# peak VmHWM) after it. Prints one tab-separated line per run:
#
#   round  variant  pipeline  req/s  cpu-us-per-answer  p50-us  p99-us  rss-KiB  hwm-KiB
set -euo pipefail

rounds=$1
path=$2
shift 2
duration=${DURATION:-5s}
loadgen=${LOADGEN:-target/release/loadgen}
tick_us=$((1000000 / $(getconf CLK_TCK)))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_kib() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }

# run_variant ROUND LABEL BINARY[,ENV=VALUE...]
run_variant() {
    local round=$1 label=$2 spec=$3
    local binary=${spec%%,*} envs=()
    [[ $spec == *,* ]] && IFS=, read -r -a envs <<<"${spec#*,}"
    # stdout goes to a file: the ready line is read from it (and a logging variant writes there).
    env "${envs[@]}" taskset -c 0 "$binary" --addr 127.0.0.1:0 --threads 1 >"$out/server.out" 2>&1 &
    local pid=$!
    local port=""
    for _ in $(seq 100); do
        port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$out/server.out")
        [[ -n $port ]] && break
        sleep 0.05
    done
    [[ -n $port ]] || { echo "$label: no ready line" >&2; kill "$pid"; return 1; }
    for pipeline in 1 16; do
        local load=(taskset -c 1 "$loadgen" run --engine h1 -c 64 --pipeline "$pipeline" --no-progress
            "http://127.0.0.1:$port$path")
        "${load[@]}" -d 1s >/dev/null
        local before after
        before=$(cpu_ticks "$pid")
        "${load[@]}" -d "$duration" --json "$out/run.json" --force >/dev/null
        after=$(cpu_ticks "$pid")
        python3 - "$out/run.json" "$round" "$label" "$pipeline" "$(((after - before) * tick_us))" \
            "$(status_kib "$pid" VmRSS)" "$(status_kib "$pid" VmHWM)" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
round_, label, pipeline, cpu_us, rss, hwm = sys.argv[2:]
print(round_, label, pipeline, f"{run['rps']:.0f}", f"{int(cpu_us) / max(run['responses'], 1):.2f}",
      run['latency_us']['p50'], run['latency_us']['p99'], rss, hwm, sep="\t")
EOF
    done
    kill -TERM "$pid"
    wait "$pid" || true
}

variants=("$@")
for round in $(seq "$rounds"); do
    order=("${variants[@]}")
    if ((round % 2 == 0)); then
        order=()
        for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[$i]}"); done
    fi
    echo "# round $round: $(uptime)" >&2
    for variant in "${order[@]}"; do
        run_variant "$round" "${variant%%=*}" "${variant#*=}"
    done
done
