#!/usr/bin/env bash
# The whole test suite: installs the outside tools the tests use, then lints and tests
# every crate. Under CI=true a missing tool fails its test instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-tools.sh
cargo clippy --workspace --all-targets --locked -- -D warnings

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
