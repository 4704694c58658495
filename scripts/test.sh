#!/usr/bin/env bash
# The project's one test command: builds the binaries the end-to-end tests start, then
# runs every test in the workspace. Tests that need the real market data read
# $SHMTRADER_DATA (default ../shared/data) and skip visibly when it is missing, unless
# SHMTRADER_REQUIRE_DATA=1 (CI), in which case they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export SHMTRADER_DATA="${SHMTRADER_DATA:-$root/../shared/data}"
if [ ! -d "$SHMTRADER_DATA" ]; then
    echo "test.sh: market data not found at $SHMTRADER_DATA (data-dependent tests will skip)" >&2
fi

# TA-Lib reference values for the indicator tests (generated, never committed).
if [ -f scripts/talib_reference.py ] && [ -d "$SHMTRADER_DATA" ]; then
    export SHMTRADER_TALIB_REF="${SHMTRADER_TALIB_REF:-$root/target/talib-ref}"
    mkdir -p "$SHMTRADER_TALIB_REF"
    if python3 -c "import talib" 2>/dev/null; then
        python3 scripts/talib_reference.py "$SHMTRADER_DATA" "$SHMTRADER_TALIB_REF"
    else
        echo "test.sh: python package ta-lib not installed; TA-Lib comparison tests will skip (pip install ta-lib)" >&2
    fi
fi

cargo build --workspace --bins
cargo test --workspace --no-fail-fast
