#!/usr/bin/env bash
# samples/evaluate.sh: runs loophound over the sample corpus and scores the
# findings against the ground truth written in each sample's source.
#
#   samples/evaluate.sh [--go VERSION] [--events LIST] [--only NAME]... [--traces DIR]
#
# For every samples/<name>/main.go with a `loophound:expect` line: build it
# (the machine's Go, or VERSION through scripts/go-toolchain.sh), start it,
# wait 1 s, record it for 5 s with
#   build/bin/loophound-record -q -p PID -d 5 -e LIST -o TRACE   (LIST: samples)
# stop it, run `build/bin/loophound analyze TRACE --format json` and compare.
#
# Ground truth, in the sample's source (samples/README.md has the details):
#   loophound:expect kind=K function=F      one expected finding per function=
#                                           (several lines: several findings);
#                                           kind=K1|K2: either kind is right
#   loophound:expect none                   a decoy: no finding at all
#   loophound:loop [function=F]             on the loop's `for` line (or the
#                                           recursive call); function= says
#                                           whose loop it is when there are
#                                           several expected functions
#   loophound:decoy function=F ...          a decoy's hot functions (informative)
#
# Each result line ends with [busy: ...], the goroutines that had at least
# 5% of a CPU in the recording (id, start function, share), to read a miss
# by (a loaded machine gives a spinner less than a whole CPU).
#
# Scoring. A finding is for an expected function when the names are equal
# once every [type arguments] is replaced by [...] (generic shape names
# differ between Go versions). Per expected finding:
#   FOUND       a finding with the expected kind whose [line, end_line]
#               contains the loophound:loop line
#   WRONG_LINE  the right function and kind, but the range misses the line
#   WRONG_KIND  the right function and line, another kind
#   WRONG_KIND+LINE  the right function, both wrong
#   MISSED      no finding for the function
# A false report is any finding for a decoy, or in a loop program any
# finding whose function is not an expected one.
# Summary: recall = FOUND / expected findings; precision = findings that are
# FOUND-correct / all findings reported; line_accuracy and kind_accuracy =
# expected findings whose function was reported at all and whose line
# (resp. kind) was right / those whose function was reported.
#
# Needs root (recording uses eBPF), jq, and a built project
# (./scripts/build.sh). Exits 0 whatever the scores; 2 on bad usage; 1
# when the evaluation itself could not be done (missing tools, or a sample
# that did not build, run, record or analyze: those print ERROR and score
# as missed).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
samples_dir=$root/samples
recorder=$root/build/bin/loophound-record
analyzer=$root/build/bin/loophound

usage() {
  sed -n '4p' "$0" | sed 's/^# *//' >&2
  exit 2
}

go_version=""
events=samples
only=()
traces_dir=""
while [ $# -gt 0 ]; do
  case $1 in
    --go) [ $# -ge 2 ] || usage; go_version=$2; shift 2 ;;
    --events) [ $# -ge 2 ] || usage; events=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || usage; only+=("$2"); shift 2 ;;
    --traces) [ $# -ge 2 ] || usage; traces_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,47p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ERROR: unknown argument '$1'" >&2; usage ;;
  esac
done

die() { echo "ERROR: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "recording needs root (eBPF): run as root"
command -v jq >/dev/null 2>&1 || die "jq is missing (apt-get install jq, or ./scripts/install-deps.sh)"
[ -x "$recorder" ] && [ -x "$analyzer" ] || die "'$recorder' or '$analyzer' missing: run ./scripts/build.sh first"

if [ -n "$go_version" ]; then
  go=$("$root/scripts/go-toolchain.sh" "$go_version") || die "no Go toolchain '$go_version'"
else
  go=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$go" ] || die "no Go toolchain on PATH"
fi

work=$(mktemp -d /tmp/loophound-evaluate.XXXXXX)
running_pid=""
cleanup() {
  if [ -n "$running_pid" ]; then kill "$running_pid" 2>/dev/null || true; wait "$running_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "$traces_dir" ]; then mkdir -p "$traces_dir"; fi
# Work on copies, so that a rebuild of build/ during the run changes nothing.
mkdir "$work/tools" && cp "$recorder" "$analyzer" "$work/tools/" || die "cannot copy the tools to '$work/tools'"
recorder=$work/tools/loophound-record
analyzer=$work/tools/loophound

# The sample's markers as JSON:
#   {"none":bool, "expected":[{kind,function,loop_line}], "decoys":[...], "problems":[...]}
expectation_of() {
  awk '
    function after(marker) { s = $0; sub(".*" marker, "", s); return s }
    /loophound:expect/ {
      n = split(after("loophound:expect"), w, /[ \t]+/); kind = ""
      for (i = 1; i <= n; i++) if (w[i] ~ /^kind=/) kind = substr(w[i], 6)
      for (i = 1; i <= n; i++) {
        if (w[i] == "none") print "none"
        else if (w[i] ~ /^function=/) print "expect\t" kind "\t" substr(w[i], 10)
      }
      next
    }
    /loophound:decoy/ {
      n = split(after("loophound:decoy"), w, /[ \t]+/)
      for (i = 1; i <= n; i++) if (w[i] ~ /^function=/) print "decoy\t" substr(w[i], 10)
      next
    }
    /loophound:loop/ {
      n = split(after("loophound:loop"), w, /[ \t]+/); f = ""
      for (i = 1; i <= n; i++) if (w[i] ~ /^function=/) f = substr(w[i], 10)
      print "loop\t" NR "\t" f
    }
  ' "$1" | jq -R -s '
    [split("\n")[] | select(. != "") | split("\t")] as $rows
    | [$rows[] | select(.[0] == "loop") | {line: (.[1] | tonumber), function: .[2]}] as $loops
    | [$loops[] | select(.function == "")] as $bare
    | {
        none: any($rows[]; .[0] == "none"),
        decoys: [$rows[] | select(.[0] == "decoy") | .[1]],
        expected: [$rows[] | select(.[0] == "expect") | {kind: .[1], function: .[2]}
                   | .function as $f
                   | ([$loops[] | select(.function == $f) | .line]
                      + (if ($bare | length) == 1 then [$bare[0].line] else [] end)) as $l
                   | . + {loop_line: ($l[0] // 0)}]
      }
    | .problems = ([.expected[] | select(.loop_line == 0) | "no loophound:loop line for \(.function)"]
                   + (if .none and (.expected | length) > 0 then ["both expect none and expected functions"] else [] end)
                   + (if (.none | not) and (.expected | length) == 0 then ["no expected function"] else [] end))'
}

# Scores one report against one expectation; prints the verdict line, then
# a line of counts: expected found wrong_kind wrong_line missed false
# findings correct reported line_ok kind_ok.
score() { # NAME EXPECTATION_JSON REPORT_JSON
  jq -r -n --arg name "$1" --argjson e "$2" --argjson r "$3" '
    def norm: if test("\\[[^\\[\\]]*\\]") then gsub("\\[[^\\[\\]]*\\]"; "@@") | norm else gsub("@@"; "[...]") end;
    def file: (.file // "?") | split("/") | last;
    def show: "\(.kind) \(.function) \(file):\(.line)-\(.end_line) cpu=\(.cpu_share)";
    def line_ok($x): .line <= $x.loop_line and $x.loop_line <= .end_line;
    def kind_ok($x): .kind as $k | $x.kind | split("|") | any(. == $k);
    ($r.findings // []) as $fs
    | [$fs[] | . + {nf: (.function | norm)}] as $fs
    | [$e.expected[] | . + {nf: (.function | norm)}] as $xs
    | [$xs[] | . as $x | [$fs[] | select(.nf == $x.nf)] as $c
       | {x: $x,
          reported: ($c | length > 0),
          found: any($c[]; kind_ok($x) and line_ok($x)),
          kind_ok: any($c[]; kind_ok($x)),
          line_ok: any($c[]; line_ok($x)),
          cands: $c}
       | .status = (if .found then "FOUND"
                    elif (.reported | not) then "MISSED"
                    elif .kind_ok then "WRONG_LINE"
                    elif .line_ok then "WRONG_KIND"
                    else "WRONG_KIND+LINE" end)] as $v
    | [$fs[] | select(.nf as $n | all($xs[]; .nf != $n))] as $false
    | [$fs[] | . as $f | select(any($xs[]; . as $x | .nf == $f.nf and ($f | kind_ok($x)) and ($f | line_ok($x))))] as $correct
    | (if ($fs | length) == 0 then "nothing" else ([$fs[] | show] | join("; ")) end) as $all
    | ([$v[] |
        if .status == "FOUND" then "FOUND \(.x.kind) \(.x.function) at \(.x.loop_line)"
        elif .status == "MISSED" then "MISSED \(.x.kind) \(.x.function) at \(.x.loop_line) (reported: \($all))"
        else "\(.status) \(.x.kind) \(.x.function) at \(.x.loop_line) (reported: \([.cands[] | show] | join("; ")))" end]
       | join(" | ")) as $verdicts
    | (if ($false | length) > 0 then "FALSE (\([$false[] | show] | join("; ")))" else "" end) as $falses
    | (if $e.none then (if $falses == "" then "OK (no finding)" else $falses end)
       else $verdicts + (if $falses == "" then "" else " | " + $falses end) end) as $line
    | "\($name): \($line)",
      ([($xs | length),
        ([$v[] | select(.status == "FOUND")] | length),
        ([$v[] | select(.status == "WRONG_KIND" or .status == "WRONG_KIND+LINE")] | length),
        ([$v[] | select(.status == "WRONG_LINE" or .status == "WRONG_KIND+LINE")] | length),
        ([$v[] | select(.status == "MISSED")] | length),
        ($false | length), ($fs | length), ($correct | length),
        ([$v[] | select(.reported)] | length),
        ([$v[] | select(.reported and .line_ok)] | length),
        ([$v[] | select(.reported and .kind_ok)] | length)] | map(tostring) | join(" "))'
}

# Totals, in the order of score's count line.
t_expected=0 t_found=0 t_wrong_kind=0 t_wrong_line=0 t_missed=0 t_false=0
t_findings=0 t_correct=0 t_reported=0 t_line_ok=0 t_kind_ok=0
programs=0 decoys=0 decoys_clean=0 errors=0

add_counts() {
  local c=($1)
  t_expected=$((t_expected + c[0])); t_found=$((t_found + c[1])); t_wrong_kind=$((t_wrong_kind + c[2]))
  t_wrong_line=$((t_wrong_line + c[3])); t_missed=$((t_missed + c[4])); t_false=$((t_false + c[5]))
  t_findings=$((t_findings + c[6])); t_correct=$((t_correct + c[7])); t_reported=$((t_reported + c[8]))
  t_line_ok=$((t_line_ok + c[9])); t_kind_ok=$((t_kind_ok + c[10]))
}

# An evaluation step failed: say so; its expected findings count as missed.
fail() { # NAME EXPECTATION_JSON MESSAGE
  echo "$1: ERROR ($3)"
  local n
  n=$(jq '.expected | length' <<<"$2")
  t_expected=$((t_expected + n)); t_missed=$((t_missed + n))
  errors=$((errors + 1))
}

evaluate() { # NAME
  local name=$1 source=$samples_dir/$1/main.go exp problems binary trace report
  exp=$(expectation_of "$source")
  if [ "$(jq '.none' <<<"$exp")" = true ]; then decoys=$((decoys + 1)); else programs=$((programs + 1)); fi
  problems=$(jq -r '.problems | join("; ")' <<<"$exp")
  if [ -n "$problems" ]; then fail "$name" "$exp" "bad markers in $source: $problems"; return; fi

  binary=$work/$name
  if ! (cd "$samples_dir" && "$go" build -o "$binary" "./$name") >"$work/$name.build" 2>&1; then
    fail "$name" "$exp" "go build failed: $(tail -3 "$work/$name.build" | tr '\n' ' ')"; return
  fi
  trace=${traces_dir:-$work}/$name.lhtrace
  "$binary" -exit-after 2m >"$work/$name.out" 2>&1 &
  running_pid=$!
  sleep 1
  if ! kill -0 "$running_pid" 2>/dev/null; then
    wait "$running_pid" 2>/dev/null || true; running_pid=""
    fail "$name" "$exp" "exited within 1 s: $(tail -3 "$work/$name.out" | tr '\n' ' ')"; return
  fi
  local recorded=0
  "$recorder" -q -p "$running_pid" -d 5 -e "$events" -o "$trace" >"$work/$name.record" 2>&1 || recorded=$?
  kill "$running_pid" 2>/dev/null || true
  wait "$running_pid" 2>/dev/null || true
  running_pid=""
  if [ "$recorded" -ne 0 ]; then
    fail "$name" "$exp" "loophound-record exited $recorded: $(tail -3 "$work/$name.record" | tr '\n' ' ')"; return
  fi
  if ! report=$("$analyzer" analyze "$trace" --format json 2>"$work/$name.analyze"); then
    fail "$name" "$exp" "loophound analyze failed: $(tail -3 "$work/$name.analyze" | tr '\n' ' ')"; return
  fi
  if ! jq -e '.findings | type == "array"' >/dev/null 2>&1 <<<"$report"; then
    fail "$name" "$exp" "loophound analyze printed no {\"findings\":[...]}: $(head -c 200 <<<"$report")"; return
  fi
  local out busy
  out=$(score "$name" "$exp" "$report")
  # Context for reading a miss: the busiest goroutines (by start function)
  # and their share of a CPU over the recording.
  busy=$("$analyzer" query "$trace" "SELECT goid, start_function, cpu_share FROM goroutine_cpu WHERE cpu_share >= 0.05 LIMIT 3" 2>/dev/null |
    tail -n +2 | awk -F'\t' '{ printf "%sg%s %s %d%%", (NR > 1 ? ", " : ""), $1, $2, $3 * 100 + 0.5 }') || busy=""
  echo "$(head -1 <<<"$out") [busy: ${busy:-none}]"
  add_counts "$(tail -1 <<<"$out")"
  if [ "$(jq '.none' <<<"$exp")" = true ] && [ "$(tail -1 <<<"$out" | cut -d' ' -f7)" = 0 ]; then
    decoys_clean=$((decoys_clean + 1))
  fi
}

names=()
for dir in "$samples_dir"/*/; do
  name=$(basename "$dir")
  [ -f "$dir/main.go" ] && grep -q "loophound:expect" "$dir/main.go" || continue
  if [ ${#only[@]} -gt 0 ]; then
    keep=0
    for o in "${only[@]}"; do [ "$o" = "$name" ] && keep=1; done
    [ $keep -eq 1 ] || continue
  fi
  names+=("$name")
done
[ ${#names[@]} -gt 0 ] || die "no sample matches (--only ${only[*]:-})"

echo "evaluating ${#names[@]} samples with $("$go" env GOVERSION), events '$events'," \
  "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in "${names[@]}"; do evaluate "$name"; done

echo "counts: programs=$programs expected=$t_expected found=$t_found wrong_kind=$t_wrong_kind" \
  "wrong_line=$t_wrong_line missed=$t_missed false=$t_false findings=$t_findings" \
  "decoys_clean=$decoys_clean/$decoys errors=$errors"
echo "recall=$t_found/$t_expected precision=$t_correct/$t_findings" \
  "line_accuracy=$t_line_ok/$t_reported kind_accuracy=$t_kind_ok/$t_reported"
[ "$errors" -eq 0 ] || exit 1
