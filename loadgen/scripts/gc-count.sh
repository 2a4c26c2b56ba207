#!/usr/bin/env bash
# Garbage-collection cycles per 100,000 answers of a Go server, for each GOGC given: a count,
# which the machine's load does not change (the Go servers' Tuning tables quote it).
#
#   loadgen/scripts/gc-count.sh BINARY PATH GOGC...
#
# The server runs with GODEBUG=gctrace=1 (one line on stderr per cycle), `--threads 1` on CPU 0;
# `loadgen run --engine h1 -c 64 --pipeline 16` on CPU 1 warms it up for 1 s, then sends
# REQUESTS answers (300,000 unless set), and the cycles in between are counted. Prints one line
# per GOGC: the cycles per 100,000 answers, the raw count, and the last cycle's gctrace fields
# (the heap before -> after -> live, and the collector's share of the CPU since the start).
set -euo pipefail

binary=$1
path=$2
shift 2
requests=${REQUESTS:-300000}
loadgen=${LOADGEN:-target/release/loadgen}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for gogc in "$@"; do
    GOGC=$gogc GODEBUG=gctrace=1 taskset -c 0 "$binary" --addr 127.0.0.1:0 --threads 1 \
        >"$out/server.out" 2>"$out/gctrace" &
    pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$out/server.out")
        [[ -n $port ]] && break
        sleep 0.05
    done
    [[ -n $port ]] || { echo "GOGC=$gogc: no ready line" >&2; kill "$pid"; exit 1; }
    load=(taskset -c 1 "$loadgen" run --engine h1 -c 64 --pipeline 16 --no-progress
        "http://127.0.0.1:$port$path")
    "${load[@]}" -d 1s >/dev/null 2>&1
    before=$(grep -c '^gc ' "$out/gctrace" || true)
    "${load[@]}" -n "$requests" --json "$out/run.json" --force >/dev/null 2>&1
    after=$(grep -c '^gc ' "$out/gctrace" || true)
    answers=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['responses'])" "$out/run.json")
    last=$(grep '^gc ' "$out/gctrace" | tail -1)
    python3 - "$gogc" "$((after - before))" "$answers" "$last" <<'EOF'
import re, sys
gogc, cycles, answers, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
heap = re.search(r"(\d+->\d+->\d+) MB", last)
share = last.split()[3].rstrip(":") if last else "?"
print(f"GOGC={gogc}\t{cycles * 100000 / answers:.1f} cycles per 100k answers\t({cycles} in {answers})"
      f"\theap {heap.group(1) if heap else '?'} MB\tGC share of CPU {share}")
EOF
    kill -TERM "$pid"
    wait "$pid" || true
done
