#!/usr/bin/env bash
# Runs the benchmarks of BENCHMARKS.md and prints the machine they ran on.
#
#   scripts/bench.sh            # fetch, decode and plan benchmarks (see BENCHMARKS.md)
#   scripts/bench.sh --quick    # 10,000 devices instead of 100,000 (about 1 minute)
#   scripts/bench.sh --fuzz     # also a long fuzz run (FUZZ_CASES, default 20000, release build)
#
# Environment knobs of the fetch benchmark: FETCH_DEVICES, FETCH_SYNC_DEVICES,
# FETCH_LATENCY_MS, FETCH_RUNS, FETCH_VENDORS (e.g. jamf,abm), FETCH_SYNC=0
# (skip the full sync into SQLite), FETCH_PREFETCH=1 (add the prefetch
# experiment); of the decode benchmark: DECODE_ROUNDS. The fetch benchmark
# runs the vendor simulator in a process of its own and prints its progress
# on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
fuzz=false
for arg in "$@"; do
  case "$arg" in
    --quick) quick=true ;;
    --fuzz) fuzz=true ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

echo "## Machine"
echo "CPUs (nproc): $(nproc)"
awk '/MemTotal/ {printf "memory: %.1f GiB\n", $2 / 1048576}' /proc/meminfo
grep -m1 'model name' /proc/cpuinfo | sed 's/^model name\s*:\s*/CPU: /' || true
rustc --version
cargo --version
echo

if $quick; then
  export FETCH_DEVICES="${FETCH_DEVICES:-10000}"
  export FETCH_SYNC_DEVICES="${FETCH_SYNC_DEVICES:-10000}"
fi

echo "## cargo bench -p mdm-examples --bench fetch"
cargo bench -p mdm-examples --bench fetch
echo
echo "## cargo bench -p mdm-examples --bench decode"
cargo bench -p mdm-examples --bench decode
if ! $quick; then
  echo
  echo "## cargo bench -p mdm-mapping --bench plan"
  cargo bench -p mdm-mapping --bench plan
fi

if $fuzz; then
  echo
  echo "## FUZZ_CASES=${FUZZ_CASES:-20000} cargo test -p mdm-tests --release --test fuzz"
  FUZZ_CASES="${FUZZ_CASES:-20000}" cargo test -p mdm-tests --release --test fuzz
fi
