#!/usr/bin/env bash
# Builds shmtrader in release mode and runs the whole system: launcher, mock exchange,
# ingest, analytics and executor, in paper mode on config/default.toml. No keys, no
# internet. Extra arguments go to `shmtrader run` (e.g. --duration 30). Ctrl-C stops.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
    echo "run.sh: cargo not found; install Rust (https://rustup.rs) first" >&2
    exit 1
fi
cargo build --release -p shmtrader
exec target/release/shmtrader run --config config/default.toml "$@"
