#!/usr/bin/env bash
# Adaptive ABM pacing and Kandji's client-side limits against a simulator
# that enforces limits, through the `mdm` binary users run, with the
# client's own pacing on (no MDM_CLIENT_RATE_LIMITS=off):
#
#   ABM: `mdm simulate --abm-limit-per-minute L` (a hidden token bucket of L
#   requests a minute, burst 3) for L in 20, 60, 300; `mdm devices --vendor
#   abm`. The bound is pages ÷ L minutes (pages = ceil(ABM devices ÷ 1000));
#   target: wall ≤ 1.2 × bound, a handful of 429s at most.
#   Kandji: `mdm simulate --kandji-limits` (50 a second, 10,000 an hour);
#   `mdm devices --vendor kandji`; 429s (violations) must be 0.
#
# 429s are the server's count (GET /_counters, `throttled`); wall from
# /usr/bin/time.
#
# Usage: scripts/pacing-bench.sh [--quick]   (DEVICES, default 90000; --quick 9000;
#        LIMITS, default "20 60 300"; MDM, a prebuilt binary instead of the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICES=${DEVICES:-90000}
[ "${1:-}" = "--quick" ] && DEVICES=${DEVICES_QUICK:-9000}
LIMITS=${LIMITS:-"20 60 300"}
unset MDM_CLIENT_RATE_LIMITS MDM_PAGE_SIZE
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

if [ -z "${MDM:-}" ]; then
  cargo build --release --locked -p mdm-examples --bin mdm >&2
  MDM=$PWD/target/release/mdm
fi
work=$(mktemp -d)
sim=""
stop_sim() { if [ -n "$sim" ]; then kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; sim=""; fi; }
cleanup() { stop_sim; rm -rf "$work"; }
trap cleanup EXIT

start_sim() { # ARGS...
  "$MDM" simulate --devices "$DEVICES" --seed 7 "$@" >"$work/sim.out" 2>"$work/sim.err" &
  sim=$!
  for _ in $(seq 1 600); do
    grep -q '^export ABM_PRIVATE_KEY' "$work/sim.out" 2>/dev/null && break
    sleep 0.5
  done
  grep '^export' "$work/sim.out" >"$work/env"
  set -a; . "$work/env"; set +a
  base=$(sed -n 's/^# mdm vendor simulator on \(http[^ ]*\).*/\1/p' "$work/sim.out")
}
throttled() { # VENDOR
  curl -s "$base/_counters" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1']['throttled'])"
}
list() { # VENDOR -> "$work/t" (wall), "$work/n" (devices listed)
  /usr/bin/time -f '%e' -o "$work/t" "$MDM" devices --vendor "$1" --format jsonl 2>"$work/log" | wc -l >"$work/n" \
    || { echo "$1 listing failed: $(tail -3 "$work/log")" >&2; exit 1; }
}

echo "# pacing bench: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $DEVICES devices"
echo
echo "## ABM: adaptive pacing under a hidden limit"
echo
echo "| hidden limit /min | devices | pages | bound s | wall s | wall ÷ bound (target ≤ 1.2) | 429s |"
echo "|---|---|---|---|---|---|---|"
for L in $LIMITS; do
  start_sim --abm-limit-per-minute "$L"
  list abm
  n=$(cat "$work/n"); w=$(cat "$work/t")
  pages=$(( (n + 999) / 1000 ))
  bound=$(echo "scale=2; $pages * 60 / $L" | bc)
  printf '| %s | %s | %s | %s | %s | %.2f | %s |\n' "$L" "$n" "$pages" "$bound" "$w" "$(echo "$w / $bound" | bc -l)" "$(throttled abm)"
  stop_sim
done

echo
echo "## Kandji: client limits (default RateLimits) against enforced 50/s and 10,000/h"
echo
echo "| devices | wall s | 429s (violations, must be 0) |"
echo "|---|---|---|"
start_sim --kandji-limits
list kandji
printf '| %s | %s | %s |\n' "$(cat "$work/n")" "$(cat "$work/t")" "$(throttled kandji)"
stop_sim
