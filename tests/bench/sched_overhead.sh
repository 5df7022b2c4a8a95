#!/usr/bin/env bash
# sched_overhead.sh [--smoke] [--reps N] [--window SECONDS]
#
# What recording costs a scheduler-heavy Go program (sched_workload), in one
# run, side by side: no tracing; each loophound-record mode; and Go's own
# runtime/trace on the same workload (the anchor). Prints a Markdown table:
# throughput of each workload part relative to no tracing (median of the
# repetitions), recorder events per second, lost events and trace bytes per
# event; then the uprobe cost per hit that the execute mode implies, so the
# figures can be scaled to other machines. Needs root and build/bin.
# Modes are the recorder's -e lists (samples carries registers and frame
# bytes, the default) plus samples_noregs (-e samples --no-regs).
# --smoke: one short repetition of three modes (CI checks the script works).
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=3
window=3
modes=(none samples samples_noregs sched goroutines execute states all runtime_trace)
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) reps=1; window=1; modes=(none samples runtime_trace) ;;
    --modes) IFS=, read -r -a modes <<<"$2"; shift ;;
    --reps) reps=$2; shift ;;
    --window) window=$2; shift ;;
    *) echo "ERROR: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go=$(command -v go || echo /usr/local/go/bin/go)
(cd tests/bench/sched_workload && GOTOOLCHAIN=local "$go" build -o "$work/workload" .)
recorder=build/bin/loophound-record
warmup=1

# run_once MODE: prints "pingpong timers mutex events lost bytes seconds"
run_once() {
  local mode=$1 extra=() out=$work/out.txt log=$work/rec.log
  [ "$mode" = runtime_trace ] && extra=(-trace "$work/go.trace")
  "$work/workload" -warmup ${warmup}s -window ${window}s "${extra[@]}" >"$out" &
  local pid=$!
  local events=0 lost=0 bytes=0 seconds=0
  if [ "$mode" != none ] && [ "$mode" != runtime_trace ]; then
    local list=$mode flags=()
    [ "$mode" != samples ] && [ "$mode" != all ] && list="samples,$mode"
    [ "$mode" = samples_noregs ] && list=samples && flags=(--no-regs)
    sleep 0.3
    # Records past the window's end; the target's exit stops it.
    # --no-bundle: bytes per event should count events, not the ~1.4 MiB
    # copy of the executable every trace carries by default.
    "$recorder" -p "$pid" -d $((warmup + window + 2)) -e "$list" "${flags[@]}" --no-bundle -o "$work/t.lhtrace" 2>"$log"
    # "... N samples, M goroutine/thread events, L lost, S stacks, K KiB in T s ..."
    read -r samples other lost kib seconds < <(sed -nE \
      's/.*: ([0-9]+) samples, ([0-9]+) goroutine\/thread events, ([0-9]+) lost, [0-9]+ stacks, ([0-9.]+) KiB in ([0-9.]+) s.*/\1 \2 \3 \4 \5/p' "$log")
    events=$((samples + other))
    bytes=$(awk -v k="$kib" 'BEGIN { printf "%d", k * 1024 }')
  fi
  wait "$pid"
  if [ "$mode" = runtime_trace ]; then
    bytes=$(stat -c %s "$work/go.trace")
  fi
  sed -nE 's/pingpong=([0-9]+) timers=([0-9]+) mutex=([0-9]+).*/\1 \2 \3/p' "$out" | tr '\n' ' '
  echo "$events $lost $bytes $seconds"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A result
for mode in "${modes[@]}"; do : >"$work/$mode.runs"; done
# Repetitions interleave the modes (none, samples, ..., none, samples, ...)
# so a drift of the machine hits every mode alike.
for ((i = 0; i < reps; i++)); do
  for mode in "${modes[@]}"; do run_once "$mode" >>"$work/$mode.runs"; done
done
for mode in "${modes[@]}"; do
  for col in 1 2 3 4 5 6 7; do
    result[$mode,$col]=$(awk -v c=$col '{ print $c }' "$work/$mode.runs" | median)
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
# The three parts share the CPUs, so one part's loss is partly another's
# gain; "overall" is the geometric mean of the three ratios.
echo "| mode | pingpong/s | ratio | timer wakeups/s | ratio | mutex ops/s | ratio | overall | events/s | lost | bytes/event |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for mode in "${modes[@]}"; do
  p=${result[$mode,1]} t=${result[$mode,2]} m=${result[$mode,3]}
  ev=${result[$mode,4]} lost=${result[$mode,5]} bytes=${result[$mode,6]} secs=${result[$mode,7]}
  rate=$(awk -v e="$ev" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", e / s; else print "-" }')
  per=$(awk -v b="$bytes" -v e="$ev" 'BEGIN { if (e > 0) printf "%.1f", b / e; else print "-" }')
  [ "$mode" = none ] && rate=- && lost=- && per=-
  [ "$mode" = runtime_trace ] && rate=- && lost=- && per="$bytes B total"
  rp=$(ratio "$p" "${result[none,1]}") rt=$(ratio "$t" "${result[none,2]}") rm=$(ratio "$m" "${result[none,3]}")
  overall=$(awk -v a="$rp" -v b="$rt" -v c="$rm" 'BEGIN { if (a > 0 && b > 0 && c > 0) printf "%.3f", exp((log(a) + log(b) + log(c)) / 3); else print "~0" }')
  echo "| $mode | $p | $rp | $t | $rt | $m | $rm | $overall | $rate | $lost | $per |"
done

# Per-hit uprobe cost, bounded from the run itself: in the execute mode the
# workload keeps every CPU busy, so the probe cannot cost more than all CPU
# time divided by the hits per second (the rest of the work shrank to
# nearly nothing, so the bound is close).
if [ -n "${result[execute,4]:-}" ] && [ -n "${result[execute,7]:-}" ]; then
  awk -v ev="${result[execute,4]}" -v s="${result[execute,7]}" -v cpus="$(nproc)" 'BEGIN {
    if (ev > 0 && s > 0)
      printf "\nuprobe cost per hit measured in the execute mode: <= %.1f us (%d CPUs / %.0f hits per second; bare metal: about 0.3-1 us)\n",
             cpus * 1e6 / (ev / s), cpus, ev / s }'
fi
