#!/usr/bin/env bash
# schemathesis against every server: generated requests from the contract's OpenAPI document
# (servers/contract/openapi.json), a fixed seed, a bounded number of examples per operation.
#
#   bash servers/contract/schemathesis/run.sh [EXAMPLES] [SERVER...]
#
# EXAMPLES: at most this many generated requests per operation and phase (default 25).
# SERVER: the servers to run (default: all of servers/, Rust and Go).
# Environment:
#   ROSETTA_SEED     the seed (default 20261203): the same seed generates the same requests
#   ROSETTA_PROFILE  release (default, as `just serve` builds) or debug (CI, whose `cargo test`
#                    has just built the debug binaries)
#   ROSETTA_VENV     where schemathesis is installed (default target/schemathesis-venv)
#   CARGO_TARGET_DIR where cargo builds the servers (default target), as cargo itself reads it
#
# The database routes run against one throwaway PostgreSQL (harness's throwaway-postgres),
# shared by the servers in turn. Without PostgreSQL installed they are excluded, and without Go
# the Go servers are skipped, each with a line that says so; under CI=true (as harness::skip
# reads it) either fails at once instead, naming what to install. Every server and the database
# are stopped on exit, Ctrl-C included. The exit status is 1 if schemathesis found anything on
# any server; each server's report (JUnit XML and the NDJSON event stream) is under
# target/schemathesis/<server>/.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
here=servers/contract/schemathesis
examples=${1:-25}
shift || true
seed=${ROSETTA_SEED:-20261203}
profile=${ROSETTA_PROFILE:-release}
venv=${ROSETTA_VENV:-$root/target/schemathesis-venv}
out=$root/target/schemathesis
# The version whose CLI, checks and generation this script and the config were written for.
version=4.32.5
case $examples in '' | *[!0-9]* | 0)
    echo "run.sh: EXAMPLES must be a positive whole number, not '$examples'" >&2
    exit 2
    ;;
esac
case $profile in release) cargo_profile=(--release) ;; debug) cargo_profile=() ;; *)
    echo "run.sh: ROSETTA_PROFILE is release or debug, not '$profile'" >&2
    exit 2
    ;;
esac

# --- the servers: every folder of servers/ that is one (a Go module named go-*, or the cargo
# package server-<folder>), unless named on the command line.
if [ $# -gt 0 ]; then
    servers=("$@")
else
    servers=()
    for dir in servers/*/; do
        name=$(basename "$dir")
        if [ -f "$dir/go.mod" ] && [[ $name == go-* ]]; then
            servers+=("$name")
        elif grep -q "^name = \"server-$name\"" "$dir/Cargo.toml" 2>/dev/null; then
            servers+=("$name")
        fi
    done
fi
# --- the tools the servers and the database routes need, checked before anything is installed
# or built. CI installs both (.ci/run), so under CI=true a missing one is a broken CI, as
# harness::skip has it for the Rust suites: a run that left servers or routes out would pass for
# a whole one. Outside CI the run goes on without them, and says so.
in_ci=false
case ${CI:-} in [Tt][Rr][Uu][Ee] | 1) in_ci=true ;; esac
have_go=false
if command -v go >/dev/null || [ -x /usr/local/go/bin/go ]; then
    have_go=true
fi
have_postgres=false
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null; then
    have_postgres=true
fi
# Fails the run when CI=true: WHAT is missing, INSTALL says how to get it, LEFT_OUT what a run
# without it would leave out.
refuse_in_ci() {
    local what=$1 install=$2 left_out=$3
    if $in_ci; then
        echo "run.sh: CI=true and $what is not installed: install it ($install); without it" \
            "$left_out would be left out" >&2
        exit 1
    fi
}
if ! $have_go; then
    for name in "${servers[@]}"; do
        if [[ $name == go-* ]]; then
            refuse_in_ci "Go (no \`go\` on PATH nor in /usr/local/go/bin)" \
                "Go 1.26 from https://go.dev/dl/ into /usr/local/go" "the Go servers"
            break
        fi
    done
fi
if ! $have_postgres; then
    refuse_in_ci "PostgreSQL (no postgres on PATH nor in /usr/lib/postgresql/*/bin)" \
        "apt-get install postgresql" "the database routes (/db, /queries, /fortunes, /updates)"
fi

# --- schemathesis, in its own virtual environment
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$version"; then
    echo "== installing schemathesis $version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "schemathesis==$version"
fi

cargo_packages=(-p harness)
for name in "${servers[@]}"; do
    [ -f "servers/$name/Cargo.toml" ] && cargo_packages+=(-p "server-$name")
done
echo "== building ${#servers[@]} servers ($profile)"
cargo build -q "${cargo_profile[@]}" "${cargo_packages[@]}"
bin_dir=${CARGO_TARGET_DIR:-$root/target}/$profile

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits for a process's first stdout line matching PATTERN in FILE, and prints it.
await_line() {
    local pid=$1 file=$2 pattern=$3 what=$4
    for _ in $(seq 1 600); do
        if line=$(grep -m1 -E "$pattern" "$file" 2>/dev/null); then
            echo "$line"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "run.sh: $what exited before it was ready:" >&2
            cat "$file" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "run.sh: $what was not ready within 60 s" >&2
    return 1
}

mkdir -p "$out"
# --- one throwaway PostgreSQL for the database routes
database_args=()
exclude_database=()
if $have_postgres; then
    "$bin_dir/throwaway-postgres" >"$out/postgres.out" 2>"$out/postgres.err" &
    postgres_pid=$!
    pids+=("$postgres_pid")
    url=$(await_line "$postgres_pid" "$out/postgres.out" '^postgres://' "throwaway-postgres")
    database_args=(--database-url "$url")
    echo "== the database routes against a throwaway PostgreSQL"
else
    echo "== PostgreSQL is not installed (apt-get install postgresql): the database routes" \
        "(/db, /queries, /fortunes, /updates) are excluded from this run"
    for path in /db /queries /fortunes /updates; do
        exclude_database+=(--exclude-path "$path")
    done
fi

# --- each server in turn
failed=()
skipped=()
summary=()
for name in "${servers[@]}"; do
    if [[ $name == go-* ]] && ! $have_go; then
        echo "skipped: $name (Go is not installed)"
        skipped+=("$name")
        continue
    fi
    if [[ $name == go-* ]]; then
        # The harness's one `go build` (it says why it cannot, Go missing included).
        if ! bin=$("$bin_dir/build-server" "$name"); then
            failed+=("$name (not built)")
            continue
        fi
    else
        bin=$bin_dir/server-$name
    fi
    dir=$out/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    "$bin" --addr 127.0.0.1:0 --threads 2 "${database_args[@]}" >"$dir/server.out" 2>"$dir/server.err" &
    server_pid=$!
    pids+=("$server_pid")
    ready=$(await_line "$server_pid" "$dir/server.out" '^listening on http://' "server-$name")
    address=${ready#listening on }
    echo "== $name at $address: schemathesis, seed $seed, at most $examples examples an operation"
    status=0
    SCHEMATHESIS_HOOKS=$root/$here/hooks.py ROSETTA_SERVER=$name \
        "$venv/bin/schemathesis" --config-file "$root/$here/schemathesis.toml" run \
        servers/contract/openapi.json --url "$address" \
        --seed "$seed" --max-examples "$examples" --workers 1 --no-color \
        --report junit,ndjson --report-junit-path "$dir/junit.xml" \
        --report-ndjson-path "$dir/events.ndjson" "${exclude_database[@]}" \
        >"$dir/schemathesis.txt" 2>&1 || status=$?
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    # The generated requests and what they found: schemathesis's closing lines.
    generated=$(grep -A1 -E '^Test cases:' "$dir/schemathesis.txt" | tail -n1 | sed 's/^ *//')
    summary+=("$(printf '%-18s %s' "$name" "${generated:-no summary: see $dir/schemathesis.txt}")")
    if [ "$status" -ne 0 ]; then
        failed+=("$name")
        echo "-- $name: schemathesis exited $status; what it found:"
        sed -n '/^=\+ FAILURES\|^=\+ ERRORS/,$p' "$dir/schemathesis.txt" | head -150
    fi
done

echo "== schemathesis, seed $seed, at most $examples examples an operation"
printf '%s\n' "${summary[@]}"
passed=$((${#servers[@]} - ${#failed[@]} - ${#skipped[@]}))
if [ ${#failed[@]} -gt 0 ]; then
    echo "schemathesis found problems on: ${failed[*]} (reports under target/schemathesis/)"
fi
echo "schemathesis: $passed passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
[ ${#failed[@]} -eq 0 ]
