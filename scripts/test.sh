#!/usr/bin/env bash
# The whole test suite: installs the outside tools the tests use, then lints and tests
# every crate. Under CI=true a missing tool fails its test instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-tools.sh
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
