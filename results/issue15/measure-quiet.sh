#!/usr/bin/env bash
# Issue 15, a short quiet-machine set (the other helpers' load had stopped): its own
# 9-repeat baseline, 3 unchanged runs and 10 % / 20 % caps on bypass from that
# baseline's IOPS, same profile as measure.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/i15-measure}
OUT=results/issue15/quiet
mkdir -p "$OUT"
PROFILE=(--size 256m --no-plots --setups base,fuse,bypass,bypass-custom,rpc-bypass jobs/rand-read-4k.fio)
run() { # name repeat extra...
  local name=$1 rep=$2; shift 2
  echo "== $(date -u +%FT%TZ) $name (load $(cut -d' ' -f1-3 /proc/loadavg)) $*"
  local t0=$SECONDS
  "$BIN/glusterrs-bench" run --results "$OUT" --name "$name" --repeat "$rep" "${PROFILE[@]}" "$@" \
    > "$OUT/$name.log" 2>&1 || echo "!! $name exited $?"
  echo "   $name took $((SECONDS - t0)) s"
}
run qbaseline9 9
iops=$(awk -F, '$4=="bypass" && $6=="ok" {print $12}' "$OUT/qbaseline9/results.csv" | sort -g |
  awk '{a[NR]=$1} END {print a[(NR+1)/2]}')
echo "quiet baseline median IOPS: bypass $iops"
run qunchanged01 5
run qplanted10-bypass 5 --engine-opt "rate_iops=$(awk -v i="$iops" 'BEGIN {printf "%d", i * 0.9}')"
run qunchanged02 5
run qplanted20-bypass 5 --engine-opt "rate_iops=$(awk -v i="$iops" 'BEGIN {printf "%d", i * 0.8}')"
run qunchanged03 5
echo "== $(date -u +%FT%TZ) quiet done (load $(cut -d' ' -f1-3 /proc/loadavg))"
