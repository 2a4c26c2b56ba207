#!/usr/bin/env bash
# The targets of "Several load machines", measured on one machine: a server in one network
# namespace, the load in two others, joined by veth pairs on 198.18.0.0/15 (nothing leaves the
# namespaces). Needs root and iproute2; run from the workspace root after
# `cargo build --release -p loadgen -p server-tokio` (`just shards-bench`).
#
#   open loop: one process at RATE, then two shards at RATE in total (`--shard I/2 --start-at`,
#              merged); the corrected p50 of each, and the send-lag p99 of every shard
#   pipelined: one shard, then two, closed loop with --pipeline 16 against server-tokio; the
#              merged throughput of two against one's
#
# The server runs with one thread on CPU 0 and every client on CPU 1 (the machine has 2 cores:
# two shards share CPU 1, and say so in the report).
#
# Usage: shards-bench.sh RATE DURATION ROUNDS
set -euo pipefail
rate=${1:-20000}
duration=${2:-5s}
rounds=${3:-3}
bin=${CARGO_TARGET_DIR:-target}/release
tag=lgb$$
srv=$tag-srv
out=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    for ns in "$srv" "$tag-c0" "$tag-c1"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$out"
}
trap cleanup EXIT

# The topology of loadgen/tests/shards.rs: the server's address on its loopback, one veth pair
# and one route to it per client namespace.
ip netns add "$srv"
ip -n "$srv" link set lo up
ip -n "$srv" addr add 198.18.0.1/32 dev lo
for i in 0 1; do
    ns=$tag-c$i net=$((i + 1))
    ip netns add "$ns"
    ip link add "${tag}s$i" type veth peer name "${tag}c$i"
    ip link set "${tag}s$i" netns "$srv"
    ip link set "${tag}c$i" netns "$ns"
    ip -n "$srv" addr add "198.18.$net.1/30" dev "${tag}s$i"
    ip -n "$ns" addr add "198.18.$net.2/30" dev "${tag}c$i"
    ip -n "$srv" link set "${tag}s$i" up
    ip -n "$ns" link set "${tag}c$i" up
    ip -n "$ns" link set lo up
    ip -n "$ns" route add 198.18.0.1/32 via "198.18.$net.1"
done

ip netns exec "$srv" taskset -c 0 "$bin/server-tokio" --threads 1 --addr 198.18.0.1:8080 > "$out/server.out" &
server=$!
for _ in $(seq 50); do grep -q listening "$out/server.out" && break; sleep 0.1; done
url=http://198.18.0.1:8080/

# json FILE EXPRESSION: a field of a JSON file, by a Python expression over `r`.
json() {
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"
}

# shards N NAME ARGS...: runs N shards (client namespaces c0, c1) on CPU 1 from a start time
# 2 s ahead, then merges them into $out/NAME.json (a single run for N = 1).
shards() {
    local n=$1 name=$2 start pids=()
    shift 2
    start=$(date -u -d '+2 sec' +%s)
    for i in $(seq 0 $((n - 1))); do
        ip netns exec "$tag-c$i" taskset -c 1 "$bin/loadgen" run "$url" --engine h1 --no-progress \
            --shard "$i/$n" --start-at "$start" --json "$out/$name-$i.json" --force "$@" > /dev/null &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    if [ "$n" = 1 ]; then
        cp "$out/$name-0.json" "$out/$name.json"
    else
        "$bin/loadgen" merge "$out/$name"-?.json --json "$out/$name.json" --force > /dev/null
    fi
}

printf 'round | one process p50 | two shards p50 | ratio | send-lag p99 (one; shard 0, shard 1) | rate sent (one; two) | pipelined one shard | two shards | ratio\n'
for round in $(seq "$rounds"); do
    shards 1 open1 -c 64 --rate "$rate" -d "$duration" --warmup 1s
    shards 2 open2 -c 64 --rate "$rate" -d "$duration" --warmup 1s
    shards 1 pipe1 -c 64 --pipeline 16 -d "$duration" --warmup 1s
    shards 2 pipe2 -c 64 --pipeline 16 -d "$duration" --warmup 1s
    p1=$(json "$out/open1.json" "r['latency_us']['p50']")
    p2=$(json "$out/open2.json" "r['latency_us']['p50']")
    lag1=$(json "$out/open1.json" "r['send_lag_us']['p99']")
    lag20=$(json "$out/open2-0.json" "r['send_lag_us']['p99']")
    lag21=$(json "$out/open2-1.json" "r['send_lag_us']['p99']")
    sent1=$(json "$out/open1.json" "round(r['achieved_rate'])")
    sent2=$(json "$out/open2.json" "round(r['achieved_rate'])")
    t1=$(json "$out/pipe1.json" "round(r['rps'])")
    t2=$(json "$out/pipe2.json" "round(r['rps'])")
    printf '%s | %s µs | %s µs | %s | %s; %s, %s µs | %s; %s | %s | %s | %s\n' "$round" "$p1" "$p2" \
        "$(python3 -c "print(f'{$p2/$p1:.2f}')")" "$lag1" "$lag20" "$lag21" "$sent1" "$sent2" \
        "$t1" "$t2" "$(python3 -c "print(f'{$t2/$t1:.2f}')")"
done
