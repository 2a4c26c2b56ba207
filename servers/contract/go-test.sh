#!/usr/bin/env bash
# The Go modules' own checks: gofmt, go vet and go test in the contract's Go package and each Go
# server, the servers' database tests included.
#
#   bash servers/contract/go-test.sh
#
# The database tests (TestDatabaseRoutes in each servers/go-*/main_test.go) run against one
# throwaway PostgreSQL, harness's throwaway-postgres, whose URL they get as
# ROSETTA_TEST_DATABASE_URL; it is stopped on exit, Ctrl-C included, and dies with this script
# (die-with-parent) if it is killed. Without PostgreSQL installed they are skipped, with a line
# here that says so; under CI=true they fail instead (contracttest.DatabaseURL), as harness::skip
# fails a Rust suite's skip. `.ci/run` and `just test-go` run this.
#
# Environment: CARGO_TARGET_DIR, where cargo builds the harness (default target), as cargo reads it.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
# GOTOOLCHAIN=local: use the machine's Go; never try to download another toolchain.
export GOTOOLCHAIN=local
go=$(command -v go || echo /usr/local/go/bin/go)
gofmt=$(dirname "$go")/gofmt

tmp=$(mktemp -d)
postgres_pid=
cleanup() {
    if [ -n "$postgres_pid" ]; then
        # throwaway-postgres stops the cluster and removes its folder on SIGTERM.
        kill -TERM "$postgres_pid" 2>/dev/null || true
        wait "$postgres_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null; then
    cargo build -q -p harness --bin throwaway-postgres --bin die-with-parent
    bin=${CARGO_TARGET_DIR:-$root/target}/debug
    started=$(date +%s%N)
    "$bin/die-with-parent" --parent $$ -- "$bin/throwaway-postgres" >"$tmp/postgres.out" 2>"$tmp/postgres.err" &
    postgres_pid=$!
    # Its first line is the URL, once the cluster is up and the schema loaded (about 2 s).
    for _ in $(seq 1 600); do
        if url=$(grep -m1 '^postgres://' "$tmp/postgres.out"); then
            break
        fi
        if ! kill -0 "$postgres_pid" 2>/dev/null; then
            echo "go-test.sh: throwaway-postgres exited before it was ready:" >&2
            cat "$tmp/postgres.err" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [ -z "${url:-}" ]; then
        echo "go-test.sh: throwaway-postgres printed no URL within 60 s" >&2
        exit 1
    fi
    export ROSETTA_TEST_DATABASE_URL=$url
    echo "== the Go database tests against a throwaway PostgreSQL (up in" \
        "$((($(date +%s%N) - started) / 1000000)) ms)"
else
    echo "== PostgreSQL is not installed (apt-get install postgresql): the Go database tests are" \
        "skipped (under CI=true they fail)"
fi

for module in servers/contract servers/go-*; do
    unformatted=$(cd "$module" && "$gofmt" -l .)
    if [ -n "$unformatted" ]; then
        echo "gofmt: not formatted in $module: $unformatted" >&2
        exit 1
    fi
    (cd "$module" && "$go" vet ./... && "$go" test ./...)
done
