# http-rosetta: one HTTP service, ten Rust server stacks and the Go article's six, one load generator.
# Install just with `cargo install just`.

# List the recipes.
default:
    @just --list --unsorted

# Run one server in release mode: `just serve axum`, `just serve go-gin --addr 127.0.0.1:9000`.
serve NAME *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ -f servers/{{NAME}}/go.mod ]; then
        # A Go server: the harness's one `go build`, into the folder where cargo puts the Rust
        # servers' binaries; it prints the binary's path.
        bin=$(cargo run -q --release -p harness --bin build-server -- {{NAME}})
        exec "$bin" {{ARGS}}
    fi
    exec cargo run --release -p server-{{NAME}} -- {{ARGS}}

# A throwaway PostgreSQL with the database routes' schema, until Ctrl-C: it prints the URL to give a server (`--database-url` or DATABASE_URL).
db:
    cargo run -q --release -p harness --bin throwaway-postgres

# Benchmark all sixteen servers side by side into a new folder under results/ (how long the reference run took: docs/results.md).
bench *ARGS:
    cargo run --release -- compare {{ARGS}}

# A first look within 90 seconds: two rounds of plaintext, pipelined, json and db, no sweep, no cost phase (docs/method.md).
bench-quick:
    cargo run --release -- compare --quick

# Make the generated tables of README.md and docs/*.md again from their sources (docs/testing.md).
docs:
    cargo run --release -- docs

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

# Run every test of the workspace (the README's test command), then count the skipped tests.
test:
    cargo run -q -p harness --bin skips -- clear
    cargo test --workspace
    cargo run -q -p harness --bin skips -- report

# The Go servers' own checks: gofmt, go vet and go test in each Go module, the database tests against a throwaway PostgreSQL (needs Go 1.26).
test-go:
    bash servers/contract/go-test.sh

# Fuzz h1-codec, each target for SECONDS (CI runs 60): needs cargo-fuzz and a nightly Rust.
fuzz seconds="600":
    bash servers/h1-codec/fuzz/run.sh {{seconds}}

# Generated requests from the contract's OpenAPI document against every server (or those named), fixed seed: `just schemathesis 200 axum` (CI runs 10 examples an operation).
schemathesis examples="100" *SERVERS:
    bash servers/contract/schemathesis/run.sh {{examples}} {{SERVERS}}

# What CI runs: formatting, lints as errors, and the tests.
ci:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    just test
    just test-go

# Calibrate loadgen's engines against wrk (plain and pipelined) and oha, server on CPU 0, clients on CPU 1.
calibrate connections="64" duration="5s" rounds="3":
    bash loadgen/scripts/calibrate.sh {{connections}} {{duration}} {{rounds}}

# Two load shards in two network namespaces against one, open loop and pipelined (root, iproute2).
shards-bench rate="20000" duration="5s" rounds="3":
    cargo build --release -q -p loadgen -p server-tokio
    bash loadgen/scripts/shards-bench.sh {{rate}} {{duration}} {{rounds}}

# Check the launch recipes offline: the Kubernetes manifest against the schema (pip install kubernetes-validate).
check-deploy:
    bash loadgen/deploy/check.sh
