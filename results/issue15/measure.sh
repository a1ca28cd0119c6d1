#!/usr/bin/env bash
# Issue 15 measurements: one 9-repeat baseline, 20 unchanged 5-repeat runs and planted
# slowdowns (rate_iops caps at 90 %, 80 % and 60 % of the baseline's median IOPS of the
# setup they target), interleaved so the machine's load drifts over all kinds alike.
# All with the same profile. Uses a copy of the release binaries (BIN) so rebuilding
# the worktree does not change what is measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/i15-measure}
OUT=results/issue15
PROFILE=(--size 256m --no-plots --setups base,fuse,bypass,bypass-custom,rpc-bypass jobs/rand-read-4k.fio)
run() { # name repeat extra...
  local name=$1 rep=$2; shift 2
  echo "== $(date -u +%FT%TZ) $name (load $(cut -d' ' -f1-3 /proc/loadavg)) $*"
  local t0=$SECONDS
  "$BIN/glusterrs-bench" run --results "$OUT" --name "$name" --repeat "$rep" "${PROFILE[@]}" "$@" \
    > "$OUT/$name.log" 2>&1 || echo "!! $name exited $?"
  echo "   $name took $((SECONDS - t0)) s"
}
median_iops() { # setup -> median IOPS of that setup in the baseline
  awk -F, -v s="$1" '$4==s && $6=="ok" {print $12}' "$OUT/baseline9/results.csv" | sort -g |
    awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
run baseline9 9
bypass_iops=$(median_iops bypass)
rpc_iops=$(median_iops rpc-bypass)
echo "baseline median IOPS: bypass $bypass_iops, rpc-bypass $rpc_iops"
planted() { # level(percent slower) target-setup iops
  local keep=$((100 - $1)) rate
  rate=$(awk -v i="$3" -v k="$keep" 'BEGIN {printf "%d", i * k / 100}')
  run "planted$1-$2" 5 --engine-opt "rate_iops=$rate"
}
n=0
u() { for _ in $(seq "$1"); do n=$((n + 1)); run "$(printf 'unchanged%02d' "$n")" 5; done; }
u 3; planted 10 bypass "$bypass_iops"
u 3; planted 10 rpc-bypass "$rpc_iops"
u 4; planted 20 bypass "$bypass_iops"
u 3; planted 20 rpc-bypass "$rpc_iops"
u 3; planted 40 bypass "$bypass_iops"
u 2; planted 40 rpc-bypass "$rpc_iops"
u 2
echo "== $(date -u +%FT%TZ) all done (load $(cut -d' ' -f1-3 /proc/loadavg))"
