# http-rosetta: one HTTP service, ten Rust server stacks, one load generator.
# Install just with `cargo install just`.

# List the recipes.
default:
    @just --list --unsorted

# Run one server in release mode: `just serve axum`, `just serve std --addr 127.0.0.1:9000`.
serve NAME *ARGS:
    cargo run --release -p server-{{NAME}} -- {{ARGS}}

# Benchmark all ten servers side by side into a new folder under results/ (about 10 minutes).
bench *ARGS:
    cargo run --release -- compare {{ARGS}}

# A first look in under a minute: one round, three short scenarios.
bench-quick:
    cargo run --release -- compare --quick

# Render the summary, charts and page of a results folder again from its run.json.
report DIR:
    cargo run --release -- report {{DIR}}

# Load one URL: `just load http://127.0.0.1:8084/json -c 64 -d 10s --engine hyper`.
load URL *ARGS:
    cargo run --release -- run {{URL}} {{ARGS}}

# Check a running server against the route contract.
verify URL:
    cargo run --release -- verify {{URL}}

# Load the report page in headless Chromium and save screenshots (apt-get install chromium).
browser-test:
    cargo test -p loadgen --test page_browser -- --nocapture

# Run every test of the workspace (the README's test command).
test:
    cargo test --workspace

# What CI runs: formatting, lints as errors, and the tests.
ci:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace

# Measure each loadgen engine against wrk on server-hyper (server on CPU 0, client on CPU 1).
calibrate connections="64" duration="5s" rounds="3":
    #!/usr/bin/env bash
    set -euo pipefail
    command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
    [ "$(nproc)" -ge 2 ] || { echo "calibrate pins server and client to two different CPUs: this machine has $(nproc)"; exit 1; }
    cargo build --release -p server-hyper -p loadgen
    tmp=$(mktemp -d); trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
    taskset -c 0 target/release/server-hyper --threads 1 --addr 127.0.0.1:0 > "$tmp/server.out" &
    server=$!
    for _ in $(seq 50); do grep -q listening "$tmp/server.out" && break; sleep 0.1; done
    url="$(sed -n 's/^listening on //p' "$tmp/server.out")/"
    echo "server-hyper --threads 1 on CPU 0, clients on CPU 1: {{connections}} connections, {{duration}} each, {{rounds}} rounds, alternating"
    taskset -c 1 wrk -t1 -c{{connections}} -d1s "$url" > /dev/null  # warm the server up
    for round in $(seq {{rounds}}); do
        wrk=$(taskset -c 1 wrk -t1 -c{{connections}} -d{{duration}} "$url" | awk '/Requests\/sec/ {print $2}')
        line="round $round: wrk $(printf '%.0f' "$wrk") req/s"
        for engine in hyper reqwest; do
            taskset -c 1 target/release/loadgen run "$url" -t 1 -c {{connections}} -d {{duration}} --engine $engine --no-progress --json "$tmp/$engine.json" --force > /dev/null 2>&1
            rps=$(grep -o '"rps": [0-9.e+]*' "$tmp/$engine.json" | awk '{print $2}')
            line="$line  $engine $(awk -v a="$rps" -v b="$wrk" 'BEGIN {printf "%.2f", a / b}')x"
        done
        echo "$line"
    done
