#!/bin/bash
# usage: p12.sh BRICKDIR JOB(rr|seq) DIRECT SETUP...   SETUP: base | N (posix_io_threads=N) | pN (posix_pool=N) | auto
B=$1; J=$2; D=$3; shift 3
for t in "$@"; do
 if [ $t = base ]; then eng="ioengine=libaio"$'\n'"filename=$B/f1"
 else
   eng="ioengine=external:${ENGINE:-target/release/libglusterrs.so}"$'\n'"posix=$B"$'\n'"filename=f1"
   case $t in auto) ;; p*) eng="$eng"$'\n'"posix_pool=${t#p}";; *) eng="$eng"$'\n'"posix_io_threads=$t";; esac
 fi
 if [ $J = rr ]; then w="rw=randread"$'\n'"bs=4k"; else w="rw=read"$'\n'"bs=128k"; fi
 printf "[global]\n%s\nsize=256m\ndirect=$D\ninvalidate=0\n%s\niodepth=32\ntime_based=1\nruntime=4\n[j]\n" "$eng" "$w" > /tmp/p12job.fio
 r=$(fio /tmp/p12job.fio --output-format=terse 2>/dev/null | grep '^3;' | awk -F';' '{printf "%s KB/s %s iops", $7, $8}')
 echo "$B $J direct=$D $t: $r"
done
