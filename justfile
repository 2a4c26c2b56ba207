# http-rosetta: one HTTP service, six Rust server stacks, one load generator.
# Install just with `cargo install just`.

# List the recipes.
default:
    @just --list --unsorted

# Run one server in release mode: `just serve axum`, `just serve std --addr 127.0.0.1:9000`.
serve NAME *ARGS:
    cargo run --release -p server-{{NAME}} -- {{ARGS}}

# Run every test of the workspace (the README's test command).
test:
    cargo test --workspace

# What CI runs: formatting, lints as errors, and the tests.
ci:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
