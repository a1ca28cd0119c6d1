#!/usr/bin/env bash
# Issue 15, second set of planted slowdowns: the machine got slower while
# measure.sh ran (other helpers' builds and tests), so caps derived from the
# baseline's IOPS barely bound for 10 % (bypass) and not at all for rpc-bypass.
# These caps are derived from the median IOPS of the unchanged runs instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/i15-measure}
OUT=results/issue15
PROFILE=(--size 256m --no-plots --setups base,fuse,bypass,bypass-custom,rpc-bypass jobs/rand-read-4k.fio)
unchanged_median_iops() { # setup
  cat "$OUT"/unchanged*/results.csv | awk -F, -v s="$1" '$4==s && $6=="ok" {print $12}' | sort -g |
    awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
bypass_iops=$(unchanged_median_iops bypass)
rpc_iops=$(unchanged_median_iops rpc-bypass)
echo "unchanged runs' median IOPS: bypass $bypass_iops, rpc-bypass $rpc_iops"
for spec in "10 rpc-bypass $rpc_iops" "20 rpc-bypass $rpc_iops" "10 bypass $bypass_iops"; do
  read -r level setup iops <<<"$spec"
  rate=$(awk -v i="$iops" -v k=$((100 - level)) 'BEGIN {printf "%d", i * k / 100}')
  name="plantedu$level-$setup"
  echo "== $(date -u +%FT%TZ) $name (load $(cut -d' ' -f1-3 /proc/loadavg)) rate_iops=$rate"
  t0=$SECONDS
  "$BIN/glusterrs-bench" run --results "$OUT" --name "$name" --repeat 5 "${PROFILE[@]}" \
    --engine-opt "rate_iops=$rate" > "$OUT/$name.log" 2>&1 || echo "!! $name exited $?"
  echo "   $name took $((SECONDS - t0)) s"
done
echo "== $(date -u +%FT%TZ) extra done"
