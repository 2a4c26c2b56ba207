#!/usr/bin/env bash
# Calibrates loadgen's engines against reference clients, side by side in one run.
#
# Each server runs with one thread on CPU 0; every client runs with one thread on CPU 1. In each
# round the clients take turns against the same server, so that the ratios compare figures
# measured minutes apart at most; the median ratio over the rounds is the result.
#
#   clients: wrk, wrk with 16 pipelined requests per write (pipeline.lua), oha (when installed),
#            and loadgen's h1 (plain and --pipeline 16), hyper and reqwest engines
#   pacing:  open-loop h1 against server-hyper at 2,000 req/s on one connection (corrected and
#            uncorrected p50 against the closed-loop mean) and at 20,000 req/s on 64 connections
#            (send-lag p99)
#
# Usage: calibrate.sh CONNECTIONS DURATION ROUNDS (run from the workspace root; `just calibrate`).
set -euo pipefail
connections=${1:-64}
duration=${2:-5s}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is missing: apt-get install python3" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "calibrate pins server and client to two different CPUs: this machine has $(nproc)" >&2; exit 1; }
has_oha=false
command -v oha >/dev/null && has_oha=true

# harness: its die-with-parent binary starts the servers.
cargo build --release -q -p server-hyper -p server-tokio -p loadgen -p harness
bin=${CARGO_TARGET_DIR:-target}/release
tmp=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_server NAME: starts server-NAME on CPU 0 and sets $url. die-with-parent (the workspace's
# one spawner, for scripts) ties it to this shell: the kernel kills it when the script dies, even
# by SIGKILL, when the trap below cannot run. It execs taskset, which execs the server: $! is the
# server's PID. Call it from the script's own shell, not a subshell, since it passes $$.
start_server() {
    "$bin/die-with-parent" --parent $$ -- taskset -c 0 "$bin/server-$1" --threads 1 --addr 127.0.0.1:0 > "$tmp/server.out" &
    server=$!
    for _ in $(seq 50); do grep -q listening "$tmp/server.out" && break; sleep 0.1; done
    url="$(sed -n 's/^listening on //p' "$tmp/server.out")/"
    [ "$url" != "/" ] || { echo "server-$1 did not start" >&2; exit 1; }
}

stop_server() {
    kill "$server" && wait "$server" 2>/dev/null || true
    server=
}

# json FILE EXPRESSION: a field of a JSON file, by a Python expression over `r`.
json() {
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"
}

# busy COMMAND...: runs COMMAND on CPU 1 and prints "RPS CPU%" (wrk's and oha's own figures;
# the CPU share from /usr/bin/time when it is there).
wrk_rps() {
    local out
    out=$(taskset -c 1 /usr/bin/time -f 'cpu %P' wrk -t1 -c"$connections" -d"$duration" "$@" 2>&1)
    printf '%s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '/^cpu/ {print $2}' <<<"$out")"
}

oha_rps() {
    taskset -c 1 /usr/bin/time -o "$tmp/oha.time" -f 'cpu %P' \
        oha -z "$duration" -c "$connections" --no-tui --output-format json "$url" > "$tmp/oha.json" 2>/dev/null
    printf '%s %s\n' "$(json "$tmp/oha.json" "r['summary']['requestsPerSec']")" "$(awk '{print $2}' "$tmp/oha.time")"
}

# loadgen_rps ENGINE [ARGS...]: prints "RPS CPU%".
loadgen_rps() {
    local engine=$1
    shift
    taskset -c 1 "$bin/loadgen" run "$url" -t 1 -c "$connections" -d "$duration" --engine "$engine" \
        --no-progress --json "$tmp/run.json" --force "$@" > /dev/null
    json "$tmp/run.json" "'%.0f %.0f%%' % (r['rps'], r['client_cpu'][0] * 100)"
}

clients=(wrk wrk-p16 h1 h1-p16 hyper reqwest)
$has_oha && clients+=(oha)

measure() {
    case $1 in
        wrk) wrk_rps "$url" ;;
        wrk-p16) wrk_rps -s "$here/pipeline.lua" "$url" -- 16 ;;
        oha) oha_rps ;;
        h1) loadgen_rps h1 ;;
        h1-p16) loadgen_rps h1 --pipeline 16 ;;
        hyper) loadgen_rps hyper ;;
        reqwest) loadgen_rps reqwest ;;
    esac
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "clients on CPU 1 against each server with --threads 1 on CPU 0: $connections connections, $duration each, $rounds rounds, clients alternating"
$has_oha || echo "(oha is not installed: cargo install oha; its row is left out)"
for name in hyper tokio; do
    start_server "$name"
    taskset -c 1 wrk -t1 -c"$connections" -d1s "$url" > /dev/null # warm the server up
    declare -A ratios=()
    for round in $(seq "$rounds"); do
        declare -A rps=()
        line="server-$name round $round:"
        for client in "${clients[@]}"; do
            read -r r cpu < <(measure "$client")
            rps[$client]=$r
            line="$line $client $(printf '%.0f' "$r") ($cpu)"
        done
        echo "$line"
        ratios[h1/wrk]+="$(ratio "${rps[h1]}" "${rps[wrk]}") "
        ratios[h1-p16/wrk-p16]+="$(ratio "${rps[h1-p16]}" "${rps[wrk-p16]}") "
        ratios[hyper/wrk]+="$(ratio "${rps[hyper]}" "${rps[wrk]}") "
        if $has_oha; then
            ratios[reqwest/oha]+="$(ratio "${rps[reqwest]}" "${rps[oha]}") "
            ratios[hyper/oha]+="$(ratio "${rps[hyper]}" "${rps[oha]}") "
        fi
    done
    for key in h1/wrk h1-p16/wrk-p16 hyper/wrk reqwest/oha hyper/oha; do
        [ -n "${ratios[$key]:-}" ] || continue
        printf '  server-%s %-16s median %s  (rounds: %s)\n' "$name" "$key" "$(median <<<"${ratios[$key]% }")" "${ratios[$key]% }"
    done
    unset ratios
    stop_server
done

echo "pacing of the h1 engine's open loop against server-hyper ($duration each)"
start_server hyper
taskset -c 1 "$bin/loadgen" run "$url" -c 1 -d "$duration" --engine h1 --no-progress --json "$tmp/closed.json" --force > /dev/null
taskset -c 1 "$bin/loadgen" run "$url" -c 1 -d "$duration" --engine h1 --rate 2000 --no-progress --json "$tmp/open2k.json" --force > /dev/null
taskset -c 1 "$bin/loadgen" run "$url" -c 64 -d "$duration" --engine h1 --rate 20000 --no-progress --json "$tmp/open20k.json" --force > /dev/null
closed_mean=$(json "$tmp/closed.json" "r['latency_us']['mean']")
read -r p50 raw50 lag50 lag99 < <(json "$tmp/open2k.json" "r['latency_us']['p50'], r['latency_uncorrected_us']['p50'], r['send_lag_us']['p50'], r['send_lag_us']['p99']" | tr -d '(),')
printf '  2,000 req/s, 1 connection: corrected p50 %s µs, uncorrected p50 %s µs, closed-loop mean %.0f µs; send lag p50 %s p99 %s µs\n' "$p50" "$raw50" "$closed_mean" "$lag50" "$lag99"
printf '    corrected/uncorrected p50 %s (target <= 1.2), corrected p50/closed mean %s (target <= 1.5)\n' "$(ratio "$p50" "$raw50")" "$(ratio "$p50" "$closed_mean")"
read -r rate lag50 lag99 lagged < <(json "$tmp/open20k.json" "round(r['achieved_rate']), r['send_lag_us']['p50'], r['send_lag_us']['p99'], r['client_lagged']" | tr -d '(),')
printf '  20,000 req/s, 64 connections: sent %s req/s; send lag p50 %s µs, p99 %s µs (target <= 50); client-lagged: %s\n' "$rate" "$lag50" "$lag99" "$lagged"
