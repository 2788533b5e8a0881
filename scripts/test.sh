#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, unit tests, and the integration and end-to-end
# tests against a real mail stack (Dovecot + Postfix) and a real PostgreSQL, both started here on
# loopback ports (installed from Debian's packages when missing). The servers are left running
# for the next run; stop them with `scripts/mailstack.sh down` and `scripts/pgstack.sh down`.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings

# systemd-analyze checks the unit (tests/it/service.rs); it works without systemd running.
command -v systemd-analyze >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  -o DPkg::Lock::Timeout=300 --no-install-recommends systemd >/dev/null
# nft cuts a private Dovecot's IMAP port off silently in the live-watch fault test (as root).
command -v nft >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  -o DPkg::Lock::Timeout=300 --no-install-recommends nftables >/dev/null

# Debian's Python Prometheus client parses /metrics independently (tests/it/monitoring.rs).
/usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
  --no-install-recommends python3-prometheus-client >/dev/null

scripts/mailstack.sh up
scripts/pgstack.sh up
scripts/caldav.sh up
# shellcheck disable=SC1091
source target/mailstack/env
# shellcheck disable=SC1091
source target/pgstack/env
# shellcheck disable=SC1091
source target/caldav/env

cargo test --locked --all-targets
