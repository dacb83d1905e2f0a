#!/usr/bin/env bash
# Incremental against full syncs of Jamf, through the `mdm` binary users
# run, against the vendor simulator in its own process (`mdm simulate`):
#
#   1. first sync (no watermark yet: a full reading);
#   2. no-change sync (incremental: only the overlap before the watermark;
#      the common case of a frequent schedule);
#   3. `mdm sync --full` (what every sync cost before incremental syncs).
#
# (Changes between runs are measured by the test
# examples/tests/incremental.rs, whose in-process simulator can change
# devices; `mdm simulate` cannot be told to.)
#
# Requests are the server's own count (GET /_counters), cross-checked with
# the run history's per-source count; wall, CPU and peak RSS from
# /usr/bin/time. Target (issue 2.5): a no-change incremental sync makes at
# most 1/20 of a full sync's Jamf requests.
#
# Usage: scripts/incremental-bench.sh [--quick]   (DEVICES, default 100000; --quick 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICES=${DEVICES:-100000}
[ "${1:-}" = "--quick" ] && DEVICES=${DEVICES_QUICK:-10000}
export MDM_CLIENT_RATE_LIMITS=off
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

cargo build --release --locked -p mdm-examples --bin mdm >&2
MDM=$PWD/target/release/mdm
work=$(mktemp -d)
sim=""
cleanup() { [ -n "$sim" ] && kill "$sim" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$MDM" simulate --devices "$DEVICES" --seed 7 >"$work/sim.out" 2>"$work/sim.err" &
sim=$!
for _ in $(seq 1 600); do
  grep -q '^export ABM_PRIVATE_KEY' "$work/sim.out" 2>/dev/null && break
  sleep 0.5
done
grep '^export' "$work/sim.out" >"$work/env"
set -a; . "$work/env"; set +a
base=$(sed -n 's/^# mdm vendor simulator on \(http[^ ]*\).*/\1/p' "$work/sim.out")
jamf_requests() { curl -s "$base/_counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jamf"]["requests"])'; }

db="$work/inv.db"
# One untimed listing: every page rendered once, as on a warm server.
"$MDM" devices --vendor jamf --format jsonl >/dev/null

run() { # NAME ARGS...
  local name=$1; shift
  local before after
  before=$(jamf_requests)
  /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$MDM" sync --db "$db" --source jamf --format json --show none "$@" >/dev/null 2>"$work/log" \
    || { echo "$name failed: $(tail -3 "$work/log")" >&2; exit 1; }
  after=$(jamf_requests)
  local hist
  hist=$("$MDM" history --db "$db" --last 1 --format json | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["read"].get("jamf",0), r["requests"].get("jamf",0), "full" if r["full"] else "incremental")')
  read -r w u s m <"$work/t"
  read -r recs hreq kind <<<"$hist"
  printf '| %s | %s | %s | %s | %s | %.2f | %.2f | %.1f |\n' "$name" "$kind" "$recs" "$((after - before))" "$hreq" "$w" "$(echo "$u + $s" | bc)" "$(echo "$m / 1024" | bc -l)"
  echo "$((after - before)) $w" >"$work/$name.r"
}

echo "# incremental bench: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $DEVICES devices, Jamf only"
echo
echo "| run | reading | Jamf records read | Jamf requests (server) | (history) | wall s | CPU s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
run first
run no-change
run full --full
read -r inc_req inc_wall <"$work/no-change.r"
read -r full_req full_wall <"$work/full.r"
echo
echo "no-change incremental ÷ full: requests $(echo "scale=4; $inc_req / $full_req" | bc) (target ≤ 0.05), wall $(echo "scale=3; $inc_wall / $full_wall" | bc)"
