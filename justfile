# Partners API task runner (https://github.com/casey/just).
# `just --list` shows the recipes. The test recipe matches the README test command.

# Run the API locally (reads .env via dotenvy).
dev:
    cargo run -p partneros-server

# Run the full test suite (needs PostgreSQL; see TEST_DATABASE_URL).
test:
    cargo nextest run --workspace --all-targets
    cargo test --workspace --doc

# Formatting check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the workspace.
fmt:
    cargo fmt --all

# Apply database migrations.
migrate:
    cargo run -p partneros-server -- migrate

# Benchmarks: reads vs /healthz and pgbench; submissions vs pgbench; memory under uploads and
# under a sign-in flood.
bench:
    bash scripts/bench-read.sh
    bash scripts/bench-submit.sh
    bash scripts/bench-upload-memory.sh
    bash scripts/bench-analyze.sh
    bash scripts/bench-signin-flood.sh

# Everything CI runs.
ci:
    bash .ci/run

# Fuzz the pure parsers and validators, one target after another, FUZZ_SECONDS each (default
# 600); `just fuzz cursor form_data` runs only those. Needs cargo-fuzz (see fuzz/README.md).
fuzz *targets:
    bash fuzz/run.sh {{targets}}

# Soak: a fixed-rate mix of reads, partner writes, submissions and cached analyses against the
# release build for DURATION (default 5m; RATE requests/s, default 40); fails on any error and
# reports p50/p99 per route and the server's memory trend.
soak:
    bash scripts/soak.sh
