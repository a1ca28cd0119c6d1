#!/bin/bash
# usage: VOL=volume cpu.sh JOBFILE [fio args...] -> throughput, p99, client (cgroup) and brick CPU per IO
job=$1; shift
cg=/sys/fs/cgroup/cpuacct/grs$VOL; mkdir -p $cg
bp=$(pgrep -f "glusterfsd.*$VOL" | head -1)
tk=$(getconf CLK_TCK)
echo 3 > /proc/sys/vm/drop_caches
b0=$(awk '{print $14+$15}' /proc/$bp/stat); c0=$(cat $cg/cpuacct.usage)
s=$(date +%s.%N)
sh -c "echo \$\$ > $cg/cgroup.procs; exec fio $job $* --output-format=json+" > /tmp/grsperf.json 2>/tmp/grsperf.err
e=$(date +%s.%N)
b1=$(awk '{print $14+$15}' /proc/$bp/stat); c1=$(cat $cg/cpuacct.usage)
python3 - "$b0" "$b1" "$tk" "$c0" "$c1" "$s" "$e" "$job" <<'PY'
import json,sys
b0,b1,tk,c0,c1=map(int,sys.argv[1:6]); s,e=map(float,sys.argv[6:8])
t=open('/tmp/grsperf.json').read(); t=t[t.index('{'):]
d=json.loads(t)
ios=sum(j['read']['total_ios']+j['write']['total_ios'] for j in d['jobs'])
byt=sum(j['read']['io_bytes']+j['write']['io_bytes'] for j in d['jobs'])
rt=max(max(j['read']['runtime'],j['write']['runtime']) for j in d['jobs'])
cu=(c1-c0)/1e9; br=(b1-b0)/tk
p99=max(j['read']['clat_ns']['percentile'].get('99.000000',0) for j in d['jobs'])
print(f"{sys.argv[8]:<16} MB/s={byt/rt/1000:5.0f} IOPS={ios*1000/rt:6.0f} p99={p99/1000:6.0f}us client={cu:5.2f}s {cu*1e6/ios:5.1f}us/io brick={br:5.2f}s {br*1e6/ios:5.1f}us/io wall={e-s:5.1f}")
PY
