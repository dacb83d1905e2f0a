#!/usr/bin/env bash
# The stores measured through the `mdm` binary users run, against the vendor
# simulator in its own process (`mdm simulate`), client-side rate limits off
# (MDM_CLIENT_RATE_LIMITS=off; the server is local):
#
#   - fetch-only: `mdm devices --vendor V --format jsonl > /dev/null` for
#     ABM, Jamf and Kandji in turn (what a sync reads, nothing written);
#   - first sync and no-change resync into SQLite and into PostgreSQL;
#   - one worker syncing one tenant, then 4 workers syncing 4 tenants at
#     once, into one PostgreSQL database.
#
# Each run under /usr/bin/time: wall, user+system CPU, peak RSS. Ratios are
# to fetch-only (syncs) and to one worker (workers).
#
# Usage: scripts/store-bench.sh [--quick]
#   DEVICES (default 100000; --quick 10000), TENANT_DEVICES (25000; --quick 2500),
#   MDM_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test),
#   FETCH_ROUNDS (3: rounds of fetch-only and of the skipping resyncs; the
#   median is reported).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1
if [ $quick = 1 ]; then
  DEVICES=${DEVICES:-10000}
  TENANT_DEVICES=${TENANT_DEVICES:-2500}
else
  DEVICES=${DEVICES:-100000}
  TENANT_DEVICES=${TENANT_DEVICES:-25000}
fi
PG=${MDM_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
export MDM_CLIENT_RATE_LIMITS=off

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v psql >/dev/null || { echo "needs psql (apt-get install postgresql-client)" >&2; exit 1; }

cargo build --release --locked -p mdm-examples --bin mdm >&2
MDM=$PWD/target/release/mdm
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for s in bench_first bench_w1 bench_w4; do
    psql "$PG" -qc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# start_sim NAME DEVICES SEED [JAMF_FIRST_ID]: a simulator process; its export block in $work/NAME.env
start_sim() {
  "$MDM" simulate --devices "$2" --seed "$3" --jamf-first-id "${4:-0}" >"$work/$1.out" 2>"$work/$1.err" &
  pids+=($!)
  for _ in $(seq 1 600); do
    if grep -q '^export ABM_PRIVATE_KEY' "$work/$1.out" 2>/dev/null; then
      grep '^export' "$work/$1.out" >"$work/$1.env"
      return 0
    fi
    sleep 0.5
  done
  echo "simulator $1 did not start: $(cat "$work/$1.err")" >&2
  exit 1
}

# timed NAME ENV CMD...: runs CMD with the simulator's environment under
# /usr/bin/time; prints "wall cpu peak_mib"
timed() {
  local name=$1 envf=$2
  shift 2
  ( set -a; . "$envf"; set +a
    /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.log" ) \
    || { echo "$name failed: $(tail -3 "$work/$name.log")" >&2; exit 1; }
  awk '{printf "%.2f %.2f %.1f\n", $1, $2 + $3, $4 / 1024}' "$work/$name.time"
}

pgcount() {
  psql "$PG" -qAtc "SELECT (SELECT COUNT(*) FROM $1.assets) || ' assets, ' || (SELECT COUNT(*) FROM $1.employees) || ' employees'"
}

row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }

echo "# store bench: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $DEVICES devices, tenants of $TENANT_DEVICES"
echo
start_sim main "$DEVICES" 7

# The simulator renders each page once and serves it from memory after: one
# untimed pass, so that no run below pays for the first rendering.
for v in abm jamf kandji; do
  ( set -a; . "$work/main.env"; set +a; "$MDM" devices --vendor "$v" --format jsonl >/dev/null )
done

# fetch-only: the three listings one after another, as a sync reads them.
# FETCH_ROUNDS rounds (default 3); the round of median wall is the
# denominator (one round varies by a fifth on a busy machine).
rounds=()
for _ in $(seq 1 "${FETCH_ROUNDS:-3}"); do
  fw=0; fc=0; fm=0
  for v in abm jamf kandji; do
    read -r w c m < <(timed "fetch-$v" "$work/main.env" "$MDM" devices --vendor "$v" --format jsonl)
    fw=$(echo "$fw + $w" | bc); fc=$(echo "$fc + $c" | bc)
    fm=$(echo "if ($m > $fm) $m else $fm" | bc)
  done
  rounds+=("$fw $fc $fm")
done
all_fw=$(printf '%s\n' "${rounds[@]}" | awk '{print $1}' | sort -n | tr '\n' ' ')
read -r fw fc fm < <(printf '%s\n' "${rounds[@]}" | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')

echo "| run | wall s | CPU s | peak RSS MiB | wall ÷ fetch-only | target |"
echo "|---|---|---|---|---|---|"
row "fetch-only (mdm devices ×3, jsonl to /dev/null; median of rounds: $all_fw)" "$fw" "$fc" "$fm" "1.00" ""

measure() { # NAME DB TARGET [SYNC ARGS...]
  local name=$1 db=$2 target=$3; shift 3
  read -r w c m < <(timed "$name" "$work/main.env" "$MDM" sync --db "$db" --format json "$@")
  row "$name" "$w" "$c" "$m" "$(echo "scale=2; $w / $fw" | bc)" "$target"
}
# measure_median: as measure, for a run that leaves the inventory as it
# found it (a resync that skips), FETCH_ROUNDS times; the median run.
measure_median() { # NAME DB TARGET [SYNC ARGS...]
  local name=$1 db=$2 target=$3; shift 3
  local runs=() all
  for _ in $(seq 1 "${FETCH_ROUNDS:-3}"); do
    runs+=("$(timed "$name" "$work/main.env" "$MDM" sync --db "$db" --format json "$@")")
  done
  all=$(printf '%s\n' "${runs[@]}" | awk '{print $1}' | sort -n | tr '\n' ' ')
  read -r w c m < <(printf '%s\n' "${runs[@]}" | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}')
  row "$name (median of $all)" "$w" "$c" "$m" "$(echo "scale=2; $w / $fw" | bc)" "$target"
}
# The resync the target means reads every source in full (`--full`), as
# fetch-only does; a plain `mdm sync` after the first reads Jamf
# incrementally, shown for information.
# The first resync plans every device and marks the assets it finds up to
# date; the second skips the marked ones (README, "Resyncs skip what did not
# change"): what a scheduled resync of an unchanged fleet costs from then on.
measure "first sync, SQLite" "$work/inv.db" "≤ 3"
measure "no-change resync, SQLite (--full; plans all, marks)" "$work/inv.db" "≤ 1.5" --full
measure_median "no-change resync again, SQLite (--full; skips marked)" "$work/inv.db" "≤ 1.5" --full
measure "no-change resync, SQLite (default: Jamf incremental)" "$work/inv.db" ""
psql "$PG" -qc "DROP SCHEMA IF EXISTS bench_first CASCADE" >/dev/null
measure "first sync, PostgreSQL" "$PG?schema=bench_first" "≤ 3"
measure "no-change resync, PostgreSQL (--full; plans all, marks)" "$PG?schema=bench_first" "≤ 1.5" --full
measure_median "no-change resync again, PostgreSQL (--full; skips marked)" "$PG?schema=bench_first" "≤ 1.5" --full
measure "no-change resync, PostgreSQL (default: Jamf incremental)" "$PG?schema=bench_first" ""
echo
echo "SQLite: $(sqlite3 "$work/inv.db" 'SELECT COUNT(*) FROM assets' 2>/dev/null || echo '?') assets; PostgreSQL: $(pgcount bench_first)"
kill "${pids[0]}" 2>/dev/null || true

# 4 tenants (4 simulators, fleets of other seeds) into one PostgreSQL database.
# Their Jamf ids do not overlap: with the default mapping, Jamf ids are not
# qualified by server, so two Jamf servers both numbering from 1 would be
# matched to each other's assets (see the README, "Several tenants").
for t in 1 2 3 4; do start_sim "t$t" "$TENANT_DEVICES" "$((100 + t))" "$((t * 10000000))"; done
for t in 1 2 3 4; do
  for v in abm jamf kandji; do
    ( set -a; . "$work/t$t.env"; set +a; "$MDM" devices --vendor "$v" --format jsonl >/dev/null )
  done
done
psql "$PG" -qc "DROP SCHEMA IF EXISTS bench_w1 CASCADE; DROP SCHEMA IF EXISTS bench_w4 CASCADE" >/dev/null
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
read -r ob0 ot0 < <(busy)
read -r w1 c1 m1 < <(timed w1 "$work/t1.env" "$MDM" sync --db "$PG?schema=bench_w1" --format json)
read -r ob1 ot1 < <(busy)
# Core-seconds the one worker's run kept busy (mdm, its simulator and
# PostgreSQL together): four such runs need at least four times that.
one_core_s=$(echo "scale=2; ($ob1 - $ob0) / ($ot1 - $ot0) * $(nproc) * $w1" | bc)
# the schema exists before the workers start, as in a running deployment
"$MDM" dedupe --db "$PG?schema=bench_w4" --format json >/dev/null
read -r b0 t0 < <(busy)
start=$(date +%s.%N)
workers=()
for t in 1 2 3 4; do
  timed "w4-$t" "$work/t$t.env" "$MDM" sync --db "$PG?schema=bench_w4" --format json >"$work/w4-$t.res" &
  workers+=($!)
done
for j in "${workers[@]}"; do wait "$j"; done
end=$(date +%s.%N)
read -r b1 t1 < <(busy)
w4=$(echo "$end - $start" | bc)
busy_share=$(echo "scale=2; ($b1 - $b0) / ($t1 - $t0)" | bc)
echo
echo "| run | wall s | ratio to one worker | target |"
echo "|---|---|---|---|"
printf '| one worker, one tenant of %s devices | %.2f | 1.00 | |\n' "$TENANT_DEVICES" "$w1"
printf '| 4 workers, 4 tenants at once | %.2f | %.2f | ≤ 1.5 |\n' "$w4" "$(echo "scale=3; $w4 / $w1" | bc)"
for t in 1 2 3 4; do echo "worker $t: $(cat "$work/w4-$t.res") (wall CPU peak)"; done
echo "all $(nproc) cores busy $busy_share of the time the 4 workers ran (mdm, simulators and PostgreSQL together)"
floor=$(echo "scale=2; 4 * $one_core_s / $(nproc) / $w1" | bc)
echo "one worker kept $one_core_s core-seconds busy: 4 workers need at least 4 × that ÷ $(nproc) cores, a ratio of at least $floor on this machine"
echo "one worker: $(pgcount bench_w1); four workers: $(pgcount bench_w4)"
