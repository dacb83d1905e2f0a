#!/usr/bin/env bash
# Peer benchmark (BENCHMARKS.md, "Peers"): `mdm devices --vendor jamf`
# against jamf-pro-sdk 0.9a1 (PyPI) and the jamf2snipe pattern (one Classic
# API list, then one GET per computer and per mobile device), each against
# the same `mdm simulate` process, interleaved A B C A B C ...
#
#   scripts/peer-bench.sh           # 10,000 and 100,000 devices, 0 and 20 ms latency
#   scripts/peer-bench.sh --quick   # 10,000 devices, 0 ms, one round
#
# Knobs: PEER_FLEETS ("10000 100000"), PEER_LATENCIES ("0 20"), PEER_ROUNDS (2),
# PEER_SNIPE_MAX (largest fleet the per-device pattern runs at; 10000),
# PEER_PAGE_SIZE (jamf-pro-sdk page size; default the SDK's 100), MDM_BIN
# (an mdm binary to use instead of building the release one).
# Per run it prints requests (the simulator's GET /_counters, before and
# after), wall and CPU seconds and peak RSS (/usr/bin/time -v), and records.
# The sorted (entity, id, serial) sets of every tool must be identical, or
# the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
for arg in "$@"; do
  case "$arg" in
    --quick) quick=true ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
fleets="${PEER_FLEETS:-10000 100000}"
latencies="${PEER_LATENCIES:-0 20}"
rounds="${PEER_ROUNDS:-2}"
snipe_max="${PEER_SNIPE_MAX:-10000}"
if $quick; then fleets=10000; latencies=0; rounds=1; fi

venv=target/peer-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import jamf_pro_sdk, requests' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'jamf-pro-sdk==0.9a1' 'requests>=2.31'
fi
if [ -n "${MDM_BIN:-}" ]; then
  mdm=$MDM_BIN
else
  cargo build --release -q -p mdm-examples --bin mdm
  mdm=target/release/mdm
fi
work=$(mktemp -d)
sim_pid=
cleanup() { if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

echo "## Machine"
echo "CPUs: $(nproc); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$venv/bin/python" -c 'import jamf_pro_sdk, sys; print("python", sys.version.split()[0], "jamf-pro-sdk", jamf_pro_sdk.__version__)'
echo

requests_now() { curl -sf "$root/_counters" | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["jamf"]["requests"])'; }

# run NAME OUTFILE CMD...: one timed run; prints a row of the table.
run() {
  local name=$1 out=$2; shift 2
  local before after
  before=$(requests_now)
  /usr/bin/time -v -o "$work/time" "$@" > "$work/raw" 2> "$work/err" || { cat "$work/err" >&2; echo "$name failed" >&2; exit 1; }
  after=$(requests_now)
  case "$name" in
    mdm) "$venv/bin/python" -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(d["entity"], d["source_id"], d["fields"].get("serial_number") or "", sep="\t")' < "$work/raw" | LC_ALL=C sort > "$out" ;;
    *) LC_ALL=C sort "$work/raw" > "$out" ;;
  esac
  awk -v name="$name" -v req=$((after - before)) -v recs="$(wc -l < "$out")" -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); wall = (n == 3) ? p[1]*3600 + p[2]*60 + p[3] : p[1]*60 + p[2] }
    /User time/ { user = $2 } /System time/ { sys = $2 } /Maximum resident/ { rss = $2 }
    END { printf "| %s | %d | %d | %.2f | %.2f | %.0f |\n", name, req, recs, wall, user + sys, rss / 1024 }' "$work/time"
}

for n in $fleets; do
  for ms in $latencies; do
    "$mdm" simulate --devices "$n" --latency-ms "$ms" > "$work/sim" 2> "$work/sim.err" &
    sim_pid=$!
    for _ in $(seq 1 600); do grep -q '^export JAMF_URL' "$work/sim" 2>/dev/null && break; sleep 0.1; done
    eval "$(grep '^export\|^# export JAMF_' "$work/sim" | sed 's/^# //')"
    root=${JAMF_URL%/jamf}
    echo "## $n devices, ${ms} ms latency (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    # One untimed pass first: the simulator renders each listing page on
    # its first request and serves it from memory after, so without it the
    # tool that runs first in round 1 would also pay for the rendering.
    "$mdm" devices --vendor jamf > /dev/null
    echo "| tool | requests | records | wall s | CPU s | peak RSS MiB |"
    echo "|---|---|---|---|---|---|"
    for r in $(seq 1 "$rounds"); do
      run mdm "$work/mdm.$r" "$mdm" devices --vendor jamf
      run jamf-pro-sdk "$work/sdk.$r" "$venv/bin/python" -W ignore scripts/peer/jamf_pro_sdk_peer.py
      cmp -s "$work/mdm.$r" "$work/sdk.$r" || { echo "records differ: mdm vs jamf-pro-sdk" >&2; diff "$work/mdm.$r" "$work/sdk.$r" | head >&2; exit 1; }
      if [ "$n" -le "$snipe_max" ]; then
        run jamf2snipe-pattern "$work/snipe.$r" "$venv/bin/python" scripts/peer/jamf2snipe_pattern.py
        cmp -s "$work/mdm.$r" "$work/snipe.$r" || { echo "records differ: mdm vs jamf2snipe pattern" >&2; diff "$work/mdm.$r" "$work/snipe.$r" | head >&2; exit 1; }
      fi
    done
    echo "records identical across tools: yes"
    echo
    kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=
  done
done
