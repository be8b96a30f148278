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

# Benchmarks: reads vs /healthz and pgbench; submissions vs pgbench; memory under uploads.
bench:
    bash scripts/bench-read.sh
    bash scripts/bench-submit.sh
    bash scripts/bench-upload-memory.sh
    bash scripts/bench-analyze.sh

# Everything CI runs.
ci:
    bash .ci/run
