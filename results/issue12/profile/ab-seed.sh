#!/bin/bash
# seed.sh BRICK DIRECT IOT...  (the seed job, 4 files of 256m, depths 4/32/8/16)
B=$1; D=$2; shift 2
for i in 1 2 3 4; do [ -f $B/file$i ] || dd if=/dev/urandom of=$B/file$i bs=1M count=256 status=none; done
for t in "$@"; do
 if [ $t = base ]; then eng="ioengine=libaio"; pre="$B/"
 else eng="ioengine=external:${ENGINE:-target/release/libglusterrs.so}"$'\n'"posix=$B"; pre=""
   case $t in auto) ;; p*) eng="$eng"$'\n'"posix_pool=${t#p}";; *) eng="$eng"$'\n'"posix_io_threads=$t";; esac
 fi
 printf "[global]\n%s\nrw=read\ndirect=$D\ninvalidate=0\nbs=128k\nsize=256m\n" "$eng" > /tmp/seedjob.fio
 n=1; for d in 4 32 8 16; do printf "[file$n]\nfilename=${pre}file$n\niodepth=$d\n" >> /tmp/seedjob.fio; n=$((n+1)); done
 [ $D = 1 ] && sync && echo 3 > /proc/sys/vm/drop_caches
 r=$(fio /tmp/seedjob.fio --group_reporting=1 --output-format=terse 2>/dev/null | grep '^3;' | awk -F';' '{print $7 " KB/s"}')
 echo "$B seed direct=$D iot=$t: $r"
done
